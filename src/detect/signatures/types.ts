// Signatures as data: the JSON shape of a pack (checked by signatures/schema.json) and its compiled form.
import type { Confidence, Severity, Transport } from '../finding.js';
import type { FieldValue, ObservationKind } from '../observation.js';

export type Role = 'primary' | 'supporting';

export type TransportHint = 'streamable-http' | 'legacy-sse' | 'websocket' | 'ndjson-tcp' | 'tls' | 'dns-only';

/** Leaf operators. Exactly one per leaf. */
export const LEAF_OPERATORS = [
  'equals',
  'in',
  'prefix',
  'suffix',
  'contains',
  'domain',
  'regex',
  'exists',
  'lt',
  'le',
  'gt',
  'ge',
] as const;
export type LeafOperator = (typeof LEAF_OPERATORS)[number];

/** A condition as written in a pack: a combinator (all/any/not) or a leaf `{field, <op>: value, nocase?}`. */
export interface ConditionSpec {
  all?: ConditionSpec[];
  any?: ConditionSpec[];
  not?: ConditionSpec;
  field?: string;
  nocase?: boolean;
  equals?: string | number | boolean;
  in?: Array<string | number>;
  prefix?: string | string[];
  suffix?: string | string[];
  contains?: string | string[];
  domain?: string | string[];
  regex?: string;
  exists?: boolean;
  lt?: number;
  le?: number;
  gt?: number;
  ge?: number;
}

export type CaseFields = Record<string, FieldValue>;

export interface SignatureSpec {
  id: string;
  version: number;
  title: string;
  description: string;
  references: string[];
  confidence: Confidence;
  severity: Severity;
  tags: string[];
  role: Role;
  transport?: TransportHint;
  /** Observation kinds to check; derived from the fields when absent. */
  kinds?: ObservationKind[];
  match: ConditionSpec;
  cases: { match: CaseFields[]; nomatch: CaseFields[] };
}

export interface PackSpec {
  pack: string;
  description?: string;
  signatures: SignatureSpec[];
}


/**
 * The index gate of a signature: a field that must hold one of `values` (lowercased when `nocase`)
 * for the signature to match, or merely exist when `values` is absent. Lets the matcher skip it cheaply.
 */
export interface Gate {
  field: string;
  values?: Array<string | number | boolean>;
  nocase: boolean;
  /** Instead of one field: at least one of these must be present (an `any` of positive conditions). */
  anyOf?: string[];
}

export interface CompiledSignature {
  spec: SignatureSpec;
  id: string;
  /** Pack file it came from. */
  file: string;
  kinds: ObservationKind[];
  /** Every field the condition reads, in order of first use (for evidence text). */
  fields: string[];
  gate?: Gate;
  /** The compiled condition over an observation's fields. */
  test(fields: Record<string, unknown>): boolean;
  /** The longest entry of the signature's `domain` lists that is `name` or a parent of it (mcp.linear.app for x.mcp.linear.app). */
  listEntry(name: string): string | undefined;
  p: number;
}

export interface PackInfo {
  file: string;
  pack: string;
  description?: string;
  count: number;
}

export interface SignatureSet {
  signatures: CompiledSignature[];
  packs: PackInfo[];
}

export const CONFIDENCE_P: Record<Confidence, number> = { high: 0.9, medium: 0.5, low: 0.25 };

export type { Transport };
