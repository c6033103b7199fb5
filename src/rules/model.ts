// Findings → the set of block and allow rules every target renders from. All values in the set
// passed a validator (validate.ts); anything refused is listed with a reason and never rendered.
import { Anomalies } from '../core/anomalies.js';
import { LIMITS } from '../config/limits.js';
import { CONFIDENCE_RANK, type Confidence, type Finding } from '../detect/finding.js';
import { Safe, word, WORD_RE } from './safe.js';
import {
  validateCommentToken,
  validateDomain,
  validateFindingId,
  validateIp,
  validatePath,
  validatePort,
} from './validate.js';

export type BlockWhat = 'servers' | 'domains' | 'ports' | 'all';

export interface ModelOptions {
  /** Non-approved findings below this are not blocked. Default 'medium'. */
  minConfidence?: Confidence;
  /** What to block. Default servers + domains (port rules are blunt: opt in). */
  block?: BlockWhat[];
}

export type NameScope = 'exact' | 'subtree';

export type RuleSubject =
  /** A host name: `exact` = that name only; `subtree` = the name and every subdomain. */
  | { kind: 'name'; name: Safe; scope: NameScope; origin: 'server' | 'registry' }
  /** A server address, with the TCP port it served on when known. */
  | { kind: 'endpoint'; ip: Safe; family: 4 | 6; n: bigint; port?: Safe; portN?: number }
  /** A TCP port, on any address (bridge and dev-tool ports). */
  | { kind: 'port'; port: Safe; portN: number }
  /** An HTTP MCP endpoint: host plus the paths it was reached on. */
  | { kind: 'http'; host: Safe; paths: Safe[] };

export type SubjectKind = RuleSubject['kind'];

export interface RuleEntry<K extends SubjectKind = SubjectKind> {
  action: 'block' | 'allow';
  subject: Extract<RuleSubject, { kind: K }>;
  /** Finding ids, sorted. */
  because: Safe[];
  /** `shadowtap finding <id> <confidence> <transport>: <evidence>`; only validated tokens and fixed words. */
  comment: Safe;
  /** Stable identity of the subject, for dedup and names derived from it. */
  key: string;
}

export type BlockRule = RuleEntry & { action: 'block' };
export type AllowRule = RuleEntry & { action: 'allow' };

export interface Refusal {
  /** Validated finding id, or '?' when the id itself was refused. */
  findingId: string;
  field: string;
  reason: string;
  /** JSON-escaped, shortened view of the refused value for the summary; never rendered into rules. */
  preview: string;
}

export interface RuleSet {
  /** Allows first, then blocks; inside each by kind then subject: deterministic. */
  rules: RuleEntry[];
  refusals: Refusal[];
  anomalies: Anomalies;
  counts: { findings: number; used: number; belowConfidence: number; approved: number; malformed: number };
  /** Increases with the newest finding: a DNS zone serial that is stable for the same input. */
  serial: number;
}

const TRANSPORTS = new Set(['streamable-http', 'legacy-sse', 'websocket', 'ndjson-tcp', 'http', 'tls', 'dns-only', 'conn-only']);
const HTTP_TRANSPORTS = new Set(['streamable-http', 'legacy-sse', 'http', 'websocket']);
/**
 * Ports never blocked port-wide: doing so would cut SSH, DNS, all web traffic or every local dev server.
 * Servers on them are still blocked by address and port (`--block servers`).
 */
export const PORTS_NEVER_BLOCKED_WHOLE = new Set([22, 53, 80, 443, 853, 3000, 5000, 8000, 8080, 8443, 8888]);
const KIND_ORDER: Record<SubjectKind, number> = { name: 0, http: 1, endpoint: 2, port: 3 };

export function buildRuleSet(input: readonly unknown[], opts: ModelOptions = {}): RuleSet {
  const minRank = CONFIDENCE_RANK[opts.minConfidence ?? 'medium'];
  const sel = new Set(opts.block && opts.block.length > 0 ? opts.block : ['servers', 'domains']);
  const all = sel.has('all');
  const want = { servers: all || sel.has('servers'), domains: all || sel.has('domains'), ports: all || sel.has('ports') };

  const anomalies = new Anomalies();
  const refusals: Refusal[] = [];
  const counts = { findings: input.length, used: 0, belowConfidence: 0, approved: 0, malformed: 0 };
  const acc = new Map<string, Draft>();
  let newest = 0;

  const refuse = (findingId: string, field: string, reason: string, raw: unknown): void => {
    anomalies.add(`rules.refused_${field}`, { detail: findingId });
    refusals.push({ findingId, field, reason, preview: preview(raw) });
  };

  const list = input.length > LIMITS.rulesMaxFindings ? input.slice(0, LIMITS.rulesMaxFindings) : input;
  if (list.length < input.length) anomalies.add('rules.too_many_findings', { detail: `${input.length - list.length} not read` });

  for (const f of list) {
    if (!isRecord(f) || !isRecord(f.subject)) {
      counts.malformed++;
      refuse('?', 'finding', 'not a finding object', f);
      continue;
    }
    const idc = validateFindingId(f.id);
    if (!idc.ok) {
      counts.malformed++;
      refuse('?', 'id', idc.reason, f.id);
      continue;
    }
    const id = idc.id;
    const conf = f.confidence;
    if (conf !== 'low' && conf !== 'medium' && conf !== 'high') {
      counts.malformed++;
      refuse(id.value, 'confidence', 'confidence is not low, medium or high', conf);
      continue;
    }
    const approved = f.approved === true;
    if (!approved && CONFIDENCE_RANK[conf] < minRank) {
      counts.belowConfidence++;
      continue;
    }
    counts.used++;
    if (approved) counts.approved++;
    if (typeof f.lastSeen === 'number' && Number.isFinite(f.lastSeen)) newest = Math.max(newest, f.lastSeen);

    const action = approved ? 'allow' : 'block';
    const note = findingNote(f as unknown as Finding, id, conf);
    const add = (subject: RuleSubject): void => addDraft(acc, action, subject, id, note);
    const subject = f.subject as Record<string, unknown>;
    const transport = typeof f.transport === 'string' ? f.transport : '';

    // Names: exact server names (a `*.x` name from a certificate becomes a subtree of x).
    const names: Safe[] = [];
    const rawNames = Array.isArray(subject.names) ? subject.names : [];
    if (rawNames.length > LIMITS.rulesMaxNamesPerFinding) anomalies.add('rules.names_capped', { detail: id.value });
    for (const raw of rawNames.slice(0, LIMITS.rulesMaxNamesPerFinding)) {
      const d = validateDomain(raw, { allowWildcard: true });
      if (!d.ok) {
        refuse(id.value, 'name', d.reason, raw);
        continue;
      }
      if (!d.wildcard) names.push(d.name);
      if (approved || want.servers) add({ kind: 'name', name: d.name, scope: d.wildcard ? 'subtree' : 'exact', origin: 'server' });
    }
    if (subject.domain !== undefined && subject.domain !== null && subject.domain !== '') {
      const d = validateDomain(subject.domain, { allowWildcard: true });
      if (d.ok) {
        if (approved || want.domains) add({ kind: 'name', name: d.name, scope: 'subtree', origin: 'registry' });
      } else {
        refuse(id.value, 'domain', d.reason, subject.domain);
        // Junk in front of a list entry must not cost the block of the entry itself. Blocks only: an
        // allow made from a refused name would widen what a hostile sighting exempts.
        if (!approved && want.domains && subject.listEntry !== undefined) {
          const e = validateDomain(subject.listEntry);
          if (!e.ok) refuse(id.value, 'listEntry', e.reason, subject.listEntry);
          else add({ kind: 'name', name: e.name, scope: 'subtree', origin: 'registry' });
        }
      }
    }

    let port: { port: Safe; n: number } | undefined;
    if (subject.port !== undefined && subject.port !== null) {
      const p = validatePort(subject.port);
      if (!p.ok) refuse(id.value, 'port', p.reason, subject.port);
      else port = p;
    }
    if (subject.ip !== undefined && subject.ip !== null && subject.ip !== '') {
      const ip = validateIp(subject.ip);
      if (!ip.ok) refuse(id.value, 'ip', ip.reason, subject.ip);
      else if (approved || want.servers)
        add({ kind: 'endpoint', ip: ip.ip, family: ip.family, n: ip.n, port: port?.port, portN: port?.n });
    }
    // An approved server exempts its own endpoint, not its port everywhere: no port-wide allow.
    if (port && !approved && want.ports) {
      if (PORTS_NEVER_BLOCKED_WHOLE.has(port.n)) {
        refuse(id.value, 'port', `port ${port.n} is not blocked as a port-wide rule (it would cut all such traffic)`, port.n);
      } else add({ kind: 'port', port: port.port, portN: port.n });
    }

    if (HTTP_TRANSPORTS.has(transport) && (approved || want.servers)) {
      const paths: Safe[] = [];
      const rawPaths = Array.isArray(f.paths) ? f.paths : [];
      if (rawPaths.length > LIMITS.rulesMaxPathsPerFinding) anomalies.add('rules.paths_capped', { detail: id.value });
      for (const raw of rawPaths.slice(0, LIMITS.rulesMaxPathsPerFinding)) {
        const p = validatePath(raw);
        if (!p.ok) refuse(id.value, 'path', p.reason, raw);
        else paths.push(p.path);
      }
      if (paths.length > 0) for (const host of names) add({ kind: 'http', host, paths: [...paths] });
    }
  }

  // An approved subject is never blocked, whatever another finding says about it.
  // A blocked name equal to an approved name (either scope), or inside an approved subtree, is dropped too.
  const allowedNames = new Set<string>();
  const allowedTrees: string[] = [];
  for (const d of acc.values()) {
    if (d.action !== 'allow' || d.subject.kind !== 'name') continue;
    allowedNames.add(d.subject.name.value);
    if (d.subject.scope === 'subtree') allowedTrees.push(d.subject.name.value);
  }
  const approvedName = (s: RuleSubject): boolean =>
    s.kind === 'name' && (allowedNames.has(s.name.value) || allowedTrees.some((t) => s.name.value.endsWith('.' + t)));
  for (const [key, d] of acc) {
    if (d.action !== 'block') continue;
    const allowKey = 'allow|' + key.slice('block|'.length);
    if (acc.has(allowKey) || approvedName(d.subject)) {
      acc.delete(key);
      const why = 'approved by another finding, so not blocked';
      for (const id of d.because) refusals.push({ findingId: id.value, field: d.subject.kind, reason: why, preview: JSON.stringify(subjectText(d.subject)) });
      anomalies.add('rules.block_overridden_by_approval', { detail: key });
    }
  }

  const rules = [...acc.values()].map(finish).sort(compareRules);
  refusals.sort((a, b) => cmp(a.findingId, b.findingId) || cmp(a.field, b.field) || cmp(a.reason, b.reason) || cmp(a.preview, b.preview));
  return { rules, refusals: dedupRefusals(refusals), anomalies, counts, serial: zoneSerial(newest) };
}

/** Rules of one action and kind, in set order. */
export function select<K extends SubjectKind>(set: RuleSet, action: 'block' | 'allow', kind: K): Array<RuleEntry<K>> {
  return set.rules.filter((r) => r.action === action && r.subject.kind === kind) as unknown as Array<RuleEntry<K>>;
}

/** Plain text for a subject, for summaries (its parts are validated, so it is safe to print). */
export function subjectText(s: RuleSubject): string {
  switch (s.kind) {
    case 'name':
      return s.scope === 'subtree' ? `${s.name.value} and subdomains` : s.name.value;
    case 'endpoint':
      return s.port ? (s.family === 6 ? `[${s.ip.value}]:${s.port.value}` : `${s.ip.value}:${s.port.value}`) : s.ip.value;
    case 'port':
      return `tcp port ${s.port.value}`;
    case 'http':
      return `${s.host.value} ${s.paths.map((p) => p.value).join(' ')}`;
  }
}

// ---- internals -------------------------------------------------------------------------------

interface Draft {
  action: 'block' | 'allow';
  subject: RuleSubject;
  because: Safe[];
  notes: Map<string, string>;
}

function subjectKey(s: RuleSubject): string {
  switch (s.kind) {
    case 'name':
      return `name|${s.scope}|${s.name.value}`;
    case 'endpoint':
      return `endpoint|${s.ip.value}|${s.port?.value ?? ''}`;
    case 'port':
      return `port|${s.port.value}`;
    case 'http':
      return `http|${s.host.value}`;
  }
}

function addDraft(acc: Map<string, Draft>, action: 'block' | 'allow', subject: RuleSubject, id: Safe, note: string): void {
  const key = `${action}|${subjectKey(subject)}`;
  const d = acc.get(key);
  if (!d) {
    acc.set(key, { action, subject, because: [id], notes: new Map([[id.value, note]]) });
    return;
  }
  if (!d.notes.has(id.value)) {
    d.because.push(id);
    d.notes.set(id.value, note);
  }
  if (subject.kind === 'http' && d.subject.kind === 'http') {
    const seen = new Set(d.subject.paths.map((p) => p.value));
    for (const p of subject.paths) if (!seen.has(p.value)) d.subject.paths.push(p);
  }
  // The origin with the wider meaning wins (a registry domain also seen as a server name).
  if (subject.kind === 'name' && d.subject.kind === 'name' && subject.origin === 'registry') d.subject.origin = 'registry';
}

function finish(d: Draft): RuleEntry {
  const because = [...d.because].sort((a, b) => cmp(a.value, b.value));
  if (d.subject.kind === 'http') d.subject.paths.sort((a, b) => cmp(a.value, b.value));
  const first = d.notes.get(because[0]!.value)!;
  const more = because.length > 1 ? ` (+${because.length - 1} more finding${because.length > 2 ? 's' : ''}: ${because.slice(1, 4).map((b) => b.value).join(' ')}${because.length > 4 ? ' ...' : ''})` : '';
  return { action: d.action, subject: d.subject, because, comment: commentOf(first, more), key: subjectKey(d.subject) };
}

function commentOf(first: string, more: string): Safe {
  let text = first + more;
  const max = LIMITS.rulesCommentMaxChars;
  if (text.length > max) text = text.slice(0, max - 4).replace(/[ ,]+[^ ,]*$/, '') + ' ...';
  return word(text); // throws if a character outside the comment charset slipped in
}

/** `shadowtap finding <id> <confidence> <transport>: <sig> at <file> frame N, ...` from validated tokens only. */
function findingNote(f: Finding, id: Safe, conf: Confidence): string {
  const transport = typeof f.transport === 'string' && TRANSPORTS.has(f.transport) ? f.transport : 'unknown-transport';
  const evidence: string[] = [];
  const signals = Array.isArray(f.signals) ? (f.signals as unknown[]).filter(isRecord) : [];
  const sigs = signals
    .map((s) => ({ sig: validateCommentToken(s.signatureId), ev: Array.isArray(s.evidence) ? s.evidence.filter(isRecord) : [] }))
    .filter((s) => s.sig.ok)
    .sort((a, b) => cmp(tok(a.sig), tok(b.sig)));
  for (const s of sigs.slice(0, 2)) {
    const where = s.ev.map(evidenceWhere).filter((w): w is string => w !== undefined).sort()[0];
    evidence.push(where ? `${tok(s.sig)} at ${where}` : tok(s.sig));
  }
  const text = `shadowtap finding ${id.value} ${conf} ${transport}${evidence.length ? ': ' + evidence.join(', ') : ''}`;
  return WORD_RE.test(text) ? text : `shadowtap finding ${id.value} ${conf}`;
}

function tok(c: ReturnType<typeof validateCommentToken>): string {
  return c.ok ? c.token.value : '';
}

function evidenceWhere(e: Record<string, unknown>): string | undefined {
  const src = e.source;
  if (!isRecord(src)) return undefined;
  const base = typeof src.file === 'string' ? src.file.split(/[\\/]/).pop() : undefined;
  const file = validateCommentToken(base);
  const name = file.ok ? file.token.value : 'input';
  if (typeof src.frame === 'number' && Number.isInteger(src.frame) && src.frame >= 0) return `${name} frame ${src.frame}`;
  if (typeof src.line === 'number' && Number.isInteger(src.line) && src.line >= 0) return `${name} line ${src.line}`;
  return name;
}

function compareRules(a: RuleEntry, b: RuleEntry): number {
  if (a.action !== b.action) return a.action === 'allow' ? -1 : 1;
  const ka = KIND_ORDER[a.subject.kind];
  const kb = KIND_ORDER[b.subject.kind];
  if (ka !== kb) return ka - kb;
  const sa = a.subject;
  const sb = b.subject;
  if (sa.kind === 'endpoint' && sb.kind === 'endpoint') {
    if (sa.family !== sb.family) return sa.family - sb.family;
    if (sa.n !== sb.n) return sa.n < sb.n ? -1 : 1;
    return (sa.portN ?? 0) - (sb.portN ?? 0);
  }
  if (sa.kind === 'port' && sb.kind === 'port') return sa.portN - sb.portN;
  if (sa.kind === 'name' && sb.kind === 'name') return cmp(sa.name.value, sb.name.value) || cmp(sa.scope, sb.scope);
  return cmp(a.key, b.key);
}

function zoneSerial(newest: number): number {
  // lastSeen may be seconds or milliseconds since the epoch; a serial is a uint32 of seconds.
  let s = newest;
  while (s > 1e11) s /= 1000;
  s = Math.floor(s);
  return s >= 1 && s <= 0xffffffff ? s : 1;
}

function dedupRefusals(list: Refusal[]): Refusal[] {
  const out: Refusal[] = [];
  let last = '';
  for (const r of list) {
    const k = `${r.findingId}|${r.field}|${r.reason}|${r.preview}`;
    if (k !== last) out.push(r);
    last = k;
  }
  return out;
}

function preview(raw: unknown): string {
  if (typeof raw === 'string') {
    // JSON escapes quotes and controls; \u-escape the rest of non-ASCII too (bidi overrides, lookalikes).
    const j = JSON.stringify(raw.length > 80 ? raw.slice(0, 80) + '...' : raw);
    return j.replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  if (typeof raw === 'number' || typeof raw === 'boolean' || raw === null) return String(raw);
  return typeof raw;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
