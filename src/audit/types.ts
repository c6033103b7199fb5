// What the audit stage produces: one record per MCP request, data-loss hits and behaviour alerts.
// Secrets never appear whole in any of these: a hit carries only its masked form.
import type { Severity } from '../detect/finding.js';

export type DlpCategory = 'secret' | 'pci' | 'pii' | 'marker' | 'custom';

/** Which part of an exchange a value was found in. */
export type MessagePart = 'request' | 'response' | 'error' | 'notification';

export interface DlpLocation {
  file?: string;
  frame: number;
  ts: number;
  /** `client:port->server:port` of the carrying flow. */
  flow: string;
  part: MessagePart;
  /** The request's method (for a response: the method of the request it answers, when paired). */
  method?: string;
  id?: string | number | null;
  /** JSONPath of the value inside the JSON-RPC message, e.g. `$.params.arguments.api_key`. */
  path: string;
}

export interface DlpHit {
  /** Stable detector id: `secret.github_token`, `pci.card_number`, `pii.email_bulk`, `marker`, `custom.<id>`. */
  detector: string;
  title: string;
  category: DlpCategory;
  severity: Severity;
  /** The value masked: first 4 characters, then its length (`ghp_…(40)`); markers are shown as configured. */
  masked: string;
  /** How many times this (detector, value, server, path) was seen; bulk hits: how many distinct values. */
  count: number;
  /** Server endpoint `ip:port` and client ip of the exchange. */
  server: string;
  client: string;
  where: DlpLocation;
}

export type AlertKind = 'tool_call_burst' | 'tool_call_unusual' | 'resource_enumeration' | 'large_result' | 'many_servers' | 'new_server';

export interface AlertEvidence {
  file?: string;
  frame: number;
  ts: number;
}

export interface BehaviourAlert {
  kind: AlertKind;
  title: string;
  severity: Severity;
  client: string;
  /** Server endpoints involved (`ip:port`): one for most alerts, several for many_servers. */
  servers: string[];
  /** Tool name, resource prefix or other subject of the alert. */
  subject?: string;
  /** Peak value reached (calls, distinct resources, bytes, servers) and the threshold (configured, or learned for tool_call_unusual). */
  value: number;
  threshold: number;
  windowSeconds: number;
  firstTs: number;
  lastTs: number;
  detail: string;
  evidence: AlertEvidence[];
}

export interface AuditRecord {
  ts: number;
  file?: string;
  frame: number;
  /** Who sent the request: the client (c2s) or the server (s2c: sampling, roots, elicitation, ping). */
  from: 'client' | 'server';
  type: 'request' | 'notification';
  client: { ip: string; port: number; name?: string; version?: string };
  server: { ip: string; port: number; host?: string; name?: string; version?: string };
  carrier: string;
  method: string;
  id?: string | number | null;
  /** Tool, resource URI or prompt name the request is about. */
  target?: string;
  /** Compact JSON of the arguments, cut for display (the whole value was inspected). */
  args: string;
  argsBytes: number;
  status: 'ok' | 'error' | 'tool-error' | 'no-response' | 'notification';
  responseTs?: number;
  responseFrame?: number;
  durationMs?: number;
  resultBytes?: number;
  error?: { code: number; message: string };
  dlp: DlpHit[];
}

// ---------- configuration (shadowtap.config.json `dlp` and `alerts`) ----------

export interface DlpPatternConfig {
  id: string;
  regex: string;
  /** Regex flags, e.g. "i". `g` is added. */
  flags?: string;
  title?: string;
  severity?: Severity;
  /** Show the matched text unmasked (for non-secret markers). Default false. */
  reveal?: boolean;
}

export interface DlpConfig {
  enabled?: boolean;
  /** Detector ids to switch off (`secret.jwt`, `pii.phone_bulk`, ...). */
  disable?: string[];
  /** Distinct emails / phone numbers in one message before it counts as bulk. */
  bulkEmails?: number;
  bulkPhones?: number;
  /** Words that mark classified text (matched case-sensitively on word boundaries). */
  markers?: string[];
  patterns?: DlpPatternConfig[];
  /** Values (exact) never reported, e.g. documented test keys a team uses on purpose. */
  allow?: string[];
}

export interface AlertsConfig {
  enabled?: boolean;
  toolCallBurst?: { windowSeconds?: number; maxCalls?: number };
  /** A window's calls of one tool against the client's own usual count: at least max(minCalls, factor × median of its
   * earlier busy windows), once minWindows of them were seen (in this run, and in earlier ones with --db). */
  toolCallUnusual?: { windowSeconds?: number; factor?: number; minWindows?: number; minCalls?: number };
  resourceEnumeration?: { windowSeconds?: number; maxDistinct?: number };
  largeResult?: { maxBytes?: number };
  manyServers?: { windowSeconds?: number; maxDistinct?: number };
  /** Servers first seen today, against a baseline: this file of servers seen before (updated when `update` is true), else the inventory of `--db`. */
  newServer?: { baseline?: string; update?: boolean };
}

/** What a scan report carries about the traffic's content. */
export interface AuditSection {
  records: number;
  requests: number;
  notifications: number;
  errors: number;
  unanswered: number;
  dlpHits: number;
  alerts: BehaviourAlert[];
  /** Hits on servers no finding was made for (kept so nothing is lost). */
  unattachedDlp: DlpHit[];
}
