// What detection concludes: one finding per MCP server endpoint or name.
import type { SourceRef } from './observation.js';
import type { BehaviourAlert, DlpHit } from '../audit/types.js';

export type Confidence = 'low' | 'medium' | 'high';
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Order of confidences and severities, for comparing and picking the higher. */
export const CONFIDENCE_RANK: Readonly<Record<Confidence, number>> = { low: 1, medium: 2, high: 3 };
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export type Transport =
  | 'streamable-http'
  | 'legacy-sse'
  | 'websocket'
  | 'ndjson-tcp'
  | 'http'
  | 'tls'
  | 'dns-only'
  | 'conn-only';

export interface Evidence {
  source: SourceRef;
  ts: number;
  /** Short human text: the method, header, name or port that matched. */
  detail: string;
}

export interface Signal {
  signatureId: string;
  title: string;
  confidence: Confidence;
  severity: Severity;
  count: number;
  /** First few pieces of evidence (frame numbers or log lines). */
  evidence: Evidence[];
}

export interface FindingClient {
  ip: string;
  name?: string;
  version?: string;
  userAgent?: string;
}

export interface Finding {
  /** Stable id derived from the subject, so reruns and imports agree. */
  id: string;
  subject: {
    /** Server endpoint, when traffic to it was seen. */
    ip?: string;
    port?: number;
    /** Host names learned from SNI, Host headers and DNS answers pointing at ip, or the queried name. */
    names: string[];
    /** Registry or hosted-MCP domain this subject matched, if any. */
    domain?: string;
    /**
     * The signature-list entry `domain` matched under (mcp.linear.app for x.mcp.linear.app): a name from the
     * signature pack, not from traffic, so a rule can still block it when `domain` itself is refused.
     */
    listEntry?: string;
  };
  transport: Transport;
  clients: FindingClient[];
  server: { name?: string; version?: string; protocolVersion?: string };
  /** HTTP paths the MCP endpoint was reached on (e.g. /mcp, /sse, /messages). */
  paths: string[];
  methods: Record<string, number>;
  tools: Record<string, number>;
  signals: Signal[];
  confidence: Confidence;
  /** 0..1, rises with independent signals. */
  score: number;
  severity: Severity;
  firstSeen: number;
  lastSeen: number;
  /** Which kinds of input saw it. */
  sources: Array<'pcap' | 'log'>;
  approved: boolean;
  /** The approved-registry entry that matched. */
  approvedBy?: string;
  /** Data-loss hits in this server's MCP traffic (masked), from the audit stage. */
  dlp?: DlpHit[];
  /** Behaviour alerts involving this server, from the audit stage. */
  alerts?: BehaviourAlert[];
}
