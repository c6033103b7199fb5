// ConditionSpec → predicate, compiled once at load. Semantic checks the JSON Schema cannot express
// (known field names, one operator per leaf, valid regexes) are reported as "path: what is wrong".
import { fieldSpec } from '../fields.js';
import { accessor, type Fields } from './access.js';
import type { ObservationKind } from '../observation.js';
import {
  CONFIDENCE_P,
  LEAF_OPERATORS,
  type CompiledSignature,
  type ConditionSpec,
  type Gate,
  type LeafOperator,
  type SignatureSpec,
} from './types.js';

type Predicate = (fields: Fields) => boolean;

const COMBINATORS = ['all', 'any', 'not'] as const;
const STRING_OPS = new Set<LeafOperator>(['equals', 'in', 'prefix', 'suffix', 'contains', 'regex']);
/** Kinds whose observations also carry the request's method/path/host. */
const CARRIES_REQUEST = new Set<ObservationKind>(['http.response', 'sse.event', 'ws.text', 'jsonrpc']);

const ALL_KINDS: ObservationKind[] = ['conn', 'http.request', 'http.response', 'sse.event', 'ws.text', 'jsonrpc', 'dns', 'tls.client_hello'];
const REQUEST_LINE = new Set(['http.request.method', 'http.request.path', 'http.request.host']);

/** Kinds of observation on which a condition can be true: leaves by field, all = intersection, any = union. */
function kindsOf(cond: ConditionSpec): Set<ObservationKind> {
  if (cond.field !== undefined) {
    const k = fieldSpec(cond.field)?.kind as ObservationKind | undefined;
    if (!k) return new Set();
    if (cond.exists === false) return new Set(ALL_KINDS);
    return REQUEST_LINE.has(cond.field) ? new Set<ObservationKind>(['http.request', ...CARRIES_REQUEST]) : new Set([k]);
  }
  if (cond.not !== undefined) return new Set(ALL_KINDS);
  if (cond.any) {
    const out = new Set<ObservationKind>();
    for (const c of cond.any) for (const k of kindsOf(c)) out.add(k);
    return out;
  }
  let out = new Set<ObservationKind>(ALL_KINDS);
  for (const c of cond.all ?? []) {
    const ks = kindsOf(c);
    out = new Set([...out].filter((k) => ks.has(k)));
  }
  return out;
}

export interface CompileError {
  path: string;
  message: string;
}

/** Compile one signature; errors are appended with JSON paths relative to `base`. */
export function compileSignature(
  spec: SignatureSpec,
  file: string,
  base: string,
  errors: CompileError[],
): CompiledSignature | undefined {
  const fields: string[] = [];
  const before = errors.length;
  const test = compileCondition(spec.match, `${base}/match`, errors, fields);
  let kinds: ObservationKind[];
  if (spec.kinds && spec.kinds.length > 0) {
    kinds = [...spec.kinds];
  } else {
    const set = kindsOf(spec.match);
    // Request-line fields alone: check the request itself, not every message that carries its line too.
    if (set.has('http.request') && [...CARRIES_REQUEST].every((k) => set.has(k))) for (const k of CARRIES_REQUEST) set.delete(k);
    kinds = set.size === ALL_KINDS.length ? [] : [...set].sort();
  }
  if (kinds.length === 0 && errors.length === before) {
    errors.push({ path: `${base}/match`, message: 'condition fits no single observation kind (fields of different kinds under "all", or only "not"); set "kinds"' });
  }
  checkCases(spec, base, errors);
  if (errors.length > before || !test) return undefined;
  const entries = listEntries(spec.match);
  return {
    spec,
    id: spec.id,
    file,
    kinds,
    fields,
    gate: gateOf(spec.match),
    test,
    listEntry: (name) => (entries.size === 0 ? undefined : coveringEntry(entries, name)),
    p: CONFIDENCE_P[spec.confidence],
  };
}

function checkCases(spec: SignatureSpec, base: string, errors: CompileError[]): void {
  const cases = spec.cases;
  if (!cases || !Array.isArray(cases.match) || cases.match.length === 0) {
    errors.push({ path: `${base}/cases/match`, message: 'needs at least one match case' });
  }
  if (!cases || !Array.isArray(cases.nomatch) || cases.nomatch.length === 0) {
    errors.push({ path: `${base}/cases/nomatch`, message: 'needs at least one no-match case' });
  }
  for (const key of ['match', 'nomatch'] as const) {
    const list = cases?.[key];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      for (const name of Object.keys(c)) {
        if (!fieldSpec(name)) errors.push({ path: `${base}/cases/${key}/${i}`, message: `unknown field "${name}"` });
      }
    });
  }
}

export function compileCondition(
  cond: ConditionSpec,
  path: string,
  errors: CompileError[],
  fields: string[],
): Predicate | undefined {
  if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) {
    errors.push({ path, message: 'condition must be an object' });
    return undefined;
  }
  const keys = Object.keys(cond);
  const combinators = COMBINATORS.filter((c) => keys.includes(c));
  const hasField = keys.includes('field');
  if (combinators.length + (hasField ? 1 : 0) !== 1) {
    errors.push({ path, message: 'condition must have exactly one of all, any, not or field' });
    return undefined;
  }
  if (combinators.length === 1) {
    const c = combinators[0];
    const extra = keys.filter((k) => k !== c);
    if (extra.length > 0) {
      errors.push({ path, message: `"${c}" cannot be combined with ${extra.map((k) => `"${k}"`).join(', ')}` });
      return undefined;
    }
    if (c === 'not') {
      const inner = compileCondition(cond.not as ConditionSpec, `${path}/not`, errors, fields);
      return inner && ((f) => !inner(f));
    }
    const list = cond[c];
    if (!Array.isArray(list) || list.length === 0) {
      errors.push({ path: `${path}/${c}`, message: `"${c}" needs a non-empty list of conditions` });
      return undefined;
    }
    const parts = list.map((x, i) => compileCondition(x, `${path}/${c}/${i}`, errors, fields));
    if (parts.some((p) => !p)) return undefined;
    const preds = parts as Predicate[];
    if (c === 'all') {
      return (f) => {
        for (const p of preds) if (!p(f)) return false;
        return true;
      };
    }
    return (f) => {
      for (const p of preds) if (p(f)) return true;
      return false;
    };
  }
  return compileLeaf(cond, path, errors, fields);
}

function compileLeaf(cond: ConditionSpec, path: string, errors: CompileError[], fields: string[]): Predicate | undefined {
  const field = cond.field;
  if (typeof field !== 'string' || !fieldSpec(field)) {
    errors.push({ path: `${path}/field`, message: `unknown field "${String(field)}"` });
    return undefined;
  }
  if (!fields.includes(field)) fields.push(field);
  const ops = LEAF_OPERATORS.filter((op) => Object.prototype.hasOwnProperty.call(cond, op));
  const unknown = Object.keys(cond).filter(
    (k) => k !== 'field' && k !== 'nocase' && !(LEAF_OPERATORS as readonly string[]).includes(k),
  );
  if (unknown.length > 0) {
    errors.push({ path, message: `unknown operator ${unknown.map((k) => `"${k}"`).join(', ')}` });
    return undefined;
  }
  if (ops.length !== 1) {
    errors.push({ path, message: `a leaf needs exactly one operator (${LEAF_OPERATORS.join(', ')}), found ${ops.length}` });
    return undefined;
  }
  const op = ops[0];
  const get = accessor(field);
  const nocase = cond.nocase === true;
  if (cond.nocase !== undefined && !STRING_OPS.has(op)) {
    errors.push({ path: `${path}/nocase`, message: `nocase does not apply to "${op}"` });
    return undefined;
  }
  const fold = (s: string): string => (nocase ? s.toLowerCase() : s);
  const raw = (cond as Record<string, unknown>)[op];
  const elementTest = leafElementTest(op, raw, nocase, fold, `${path}/${op}`, errors);
  if (!elementTest) return undefined;
  if (op === 'exists') {
    const want = raw === true;
    return (f) => (get(f) !== undefined) === want;
  }
  return (f) => {
    const v = get(f);
    if (v === undefined || v === null) return false;
    if (Array.isArray(v)) {
      for (const el of v) if (elementTest(el)) return true;
      return false;
    }
    return elementTest(v);
  };
}

function strings(raw: unknown): string[] | undefined {
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'string')) return raw as string[];
  return undefined;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function leafElementTest(
  op: LeafOperator,
  raw: unknown,
  nocase: boolean,
  fold: (s: string) => string,
  path: string,
  errors: CompileError[],
): ((v: unknown) => boolean) | undefined {
  switch (op) {
    case 'exists':
      if (typeof raw !== 'boolean') break;
      return () => true;
    case 'equals': {
      if (typeof raw === 'string') {
        const want = fold(raw);
        return (v) => typeof v === 'string' && fold(v) === want;
      }
      if (typeof raw === 'number') return (v) => asNumber(v) === raw;
      if (typeof raw === 'boolean') return (v) => v === raw;
      break;
    }
    case 'in': {
      if (!Array.isArray(raw) || raw.length === 0 || !raw.every((x) => typeof x === 'string' || typeof x === 'number')) break;
      const strs = new Set(raw.filter((x): x is string => typeof x === 'string').map(fold));
      const nums = new Set(raw.filter((x): x is number => typeof x === 'number'));
      return (v) => {
        if (typeof v === 'string') return strs.has(fold(v)) || (nums.size > 0 && nums.has(asNumber(v) as number));
        if (typeof v === 'number') return nums.has(v);
        return false;
      };
    }
    case 'prefix':
    case 'suffix':
    case 'contains': {
      const list = strings(raw)?.map(fold);
      if (!list) break;
      if (op === 'prefix') return (v) => typeof v === 'string' && list.some((s) => fold(v).startsWith(s));
      if (op === 'suffix') return (v) => typeof v === 'string' && list.some((s) => fold(v).endsWith(s));
      return (v) => typeof v === 'string' && list.some((s) => fold(v).includes(s));
    }
    case 'domain': {
      const list = strings(raw)?.map(domainEntry);
      if (!list) break;
      const set = new Set(list);
      return (v) => typeof v === 'string' && coveringEntry(set, v) !== undefined;
    }
    case 'regex': {
      if (typeof raw !== 'string') break;
      let re: RegExp;
      try {
        re = new RegExp(raw, nocase ? 'i' : '');
      } catch (e) {
        errors.push({ path, message: `invalid regex: ${(e as Error).message}` });
        return undefined;
      }
      return (v) => typeof v === 'string' && re.test(v);
    }
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      if (typeof raw !== 'number') break;
      const cmp =
        op === 'lt' ? (n: number) => n < raw : op === 'le' ? (n: number) => n <= raw : op === 'gt' ? (n: number) => n > raw : (n: number) => n >= raw;
      return (v) => {
        const n = asNumber(v);
        return n !== undefined && cmp(n);
      };
    }
  }
  errors.push({ path, message: `bad value for "${op}": ${JSON.stringify(raw)}` });
  return undefined;
}

function domainEntry(d: string): string {
  return d.toLowerCase().replace(/\.$/, '');
}

/** The longest entry of `set` that is `name` or a parent domain of it, if any. */
function coveringEntry(set: ReadonlySet<string>, name: string): string | undefined {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  // Walk the name's suffixes label by label: cost grows with the name, not the list.
  for (let at = 0; at >= 0; ) {
    const suffix = at === 0 ? n : n.slice(at);
    if (set.has(suffix)) return suffix;
    const dot = n.indexOf('.', at);
    at = dot < 0 ? -1 : dot + 1;
  }
  return undefined;
}

/** Entries of every `domain` leaf outside a `not` (a name listed under `not` is one the signature does not flag). */
function listEntries(cond: ConditionSpec, out = new Set<string>()): Set<string> {
  if (cond.field !== undefined) for (const d of strings(cond.domain) ?? []) out.add(domainEntry(d));
  for (const c of [...(cond.all ?? []), ...(cond.any ?? [])]) listEntries(c, out);
  return out;
}

/** The cheapest necessary condition of a signature, for the matcher's index. */
function gateOf(cond: ConditionSpec): Gate | undefined {
  if (cond.any) {
    // Each branch needs some field present; the union is a presence gate.
    const fields: string[] = [];
    for (const branch of cond.any) {
      const g = gateOf(branch);
      if (!g) return undefined;
      for (const f of g.anyOf ?? [g.field]) if (!fields.includes(f)) fields.push(f);
    }
    return { field: fields[0], nocase: false, anyOf: fields };
  }
  const leaves: ConditionSpec[] = cond.field !== undefined ? [cond] : cond.all ? cond.all.filter((c) => c.field !== undefined) : [];
  for (const leaf of leaves) {
    if (typeof leaf.equals === 'string' || typeof leaf.equals === 'number') {
      const nocase = leaf.nocase === true && typeof leaf.equals === 'string';
      return { field: leaf.field!, values: [nocase ? (leaf.equals as string).toLowerCase() : leaf.equals], nocase };
    }
    if (Array.isArray(leaf.in)) {
      const nocase = leaf.nocase === true;
      return { field: leaf.field!, values: leaf.in.map((x) => (nocase && typeof x === 'string' ? x.toLowerCase() : x)), nocase };
    }
  }
  // Any positive leaf implies its field is present.
  for (const leaf of leaves) {
    if (leaf.exists === false) continue;
    return { field: leaf.field!, nocase: false };
  }
  // An `all` whose leaves gave nothing: a nested `any` may still gate it.
  for (const c of cond.all ?? []) {
    if (c.field !== undefined || c.not !== undefined) continue;
    const g = gateOf(c);
    if (g) return g;
  }
  return undefined;
}
