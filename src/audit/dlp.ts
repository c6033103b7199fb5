// Data-loss checks on MCP payloads: every string (and long integer) inside params, result and error of a
// JSON-RPC message is matched against secret, card, bulk-PII, marker and user patterns. Each hit names the
// JSONPath it was found at and carries the value only in masked form.
import { LIMITS } from '../config/limits.js';
import type { Severity } from '../detect/finding.js';
import type { DlpCategory, DlpConfig, DlpHit, DlpLocation } from './types.js';

export class DlpConfigError extends Error {
  override name = 'DlpConfigError';
}

export const DLP_DEFAULTS = { bulkEmails: 10, bulkPhones: 10 } as const;

/** First 4 characters and the length (`ghp_…(40)`); values shorter than 12 show only their length. */
export function mask(value: string): string {
  return value.length >= 12 ? `${value.slice(0, 4)}…(${value.length})` : `…(${value.length})`;
}

/** Luhn checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Card brands by issuer prefix and length: a Luhn-valid number outside these is not reported. */
function cardBrand(d: string): string | undefined {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '4' && (n === 13 || n === 16 || n === 19)) return 'visa';
  if (n === 16 && ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))) return 'mastercard';
  if (n === 15 && (p2 === 34 || p2 === 37)) return 'amex';
  if (n >= 16 && n <= 19 && (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649))) return 'discover';
  if (n >= 16 && n <= 19 && p4 >= 3528 && p4 <= 3589) return 'jcb';
  if (n === 14 && (p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305))) return 'diners';
  return undefined;
}

function validCard(m: string): boolean {
  const seps = m.replace(/\d/g, '');
  if (seps.length && !/^( +|-+)$/.test(seps)) return false; // mixed separators: not a card layout
  const d = m.replace(/\D/g, '');
  if (d.length < 13 || d.length > 19 || /^(\d)\1+$/.test(d)) return false;
  return cardBrand(d) !== undefined && luhnValid(d);
}

function validJwt(m: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(m.slice(0, m.indexOf('.')), 'base64url').toString('utf8')) as unknown;
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** A token body that is not a word or a hyphenated phrase: needs digits and both letter cases. */
const mixed = (s: string): boolean => /\d/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s);

export interface TextDetector {
  id: string;
  title: string;
  category: DlpCategory;
  severity: Severity;
  /** Global regex; `group` selects the secret when the match includes context (a key name). */
  re: RegExp;
  group?: number;
  validate?(secret: string): boolean;
  maskWith?(secret: string): string;
}

const privateKeyMask = (s: string): string => `${s.slice(0, s.indexOf('-----', 5) + 5)}…(${s.length})`;

/** Built-in detectors. Patterns follow the vendors' documented token formats. */
export const SECRET_DETECTORS: readonly TextDetector[] = [
  { id: 'secret.aws_access_key_id', title: 'AWS access key id', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  { id: 'secret.aws_secret_access_key', title: 'AWS secret access key', category: 'secret', severity: 'critical',
    re: /aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi, group: 1 },
  { id: 'secret.github_token', title: 'GitHub token', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])/g },
  { id: 'secret.slack_token', title: 'Slack token', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9])xox[abposr]-(?:\d{6,}-){1,3}[A-Za-z0-9-]{8,}(?![A-Za-z0-9-])/g },
  { id: 'secret.slack_webhook', title: 'Slack webhook URL', category: 'secret', severity: 'medium',
    re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g },
  { id: 'secret.google_api_key', title: 'Google API key', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g },
  { id: 'secret.google_oauth_token', title: 'Google OAuth access token', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9_-])ya29\.[0-9A-Za-z_-]{30,}(?![A-Za-z0-9_-])/g, validate: (s) => mixed(s.slice(5)) },
  { id: 'secret.stripe_key', title: 'Stripe secret key', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,}(?![A-Za-z0-9_])/g },
  { id: 'secret.openai_style_key', title: 'OpenAI-style API key (sk-…)', category: 'secret', severity: 'high',
    re: /(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-api03-|ant-admin01-)?[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/g,
    validate: (s) => mixed(s) },
  { id: 'secret.jwt', title: 'JSON Web Token', category: 'secret', severity: 'medium',
    re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?![A-Za-z0-9_-])/g, validate: validJwt },
  { id: 'secret.private_key', title: 'Private key block', category: 'secret', severity: 'critical',
    re: /-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,16384}?(?:-----END [A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----|$)/g,
    maskWith: privateKeyMask },
  { id: 'pci.card_number', title: 'Payment card number (Luhn-valid)', category: 'pci', severity: 'high',
    // Unbroken, or in the printed groups (4-4-4-4[-3], 4-6-5, 4-6-4) with one separator kind.
    re: /(?<![\w.-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{4,5})(?![\w-])/g, validate: validCard },
];

const EMAIL_RE = /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])/g;
// Not part of a longer digit-group run (a card number `4111 1111 1111 1111` is not a phone number).
const PHONE_RE = /(?<![\w+]|\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\d{2,4})[ .-]\d{3,4}[ .-]\d{3,4}(?![\w-]|[ .-]\d)/g;
/** Key names whose string value is a credential even without a known token format. */
const SECRET_KEY_NAME = /^(?:.*[_-])?(?:api[_-]?key|apikey|secret|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|token|password|passwd)$/i;

interface CompiledPattern extends TextDetector {
  reveal: boolean;
}

/** Where the scanner is in a message: filled by the caller once per message. */
export interface ScanTarget {
  server: string;
  client: string;
  where: Omit<DlpLocation, 'path'>;
}

interface Bulk {
  values: Set<string>;
  paths: Array<Array<string | number>>;
  first?: string;
}

interface PathNode {
  v: unknown;
  key: string | number;
  parent?: PathNode;
}

function segments(node: PathNode): Array<string | number> {
  const out: Array<string | number> = [];
  for (let n: PathNode | undefined = node; n; n = n.parent) out.push(n.key);
  return out.reverse();
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const pathString = (segs: Array<string | number>): string =>
  segs.reduce<string>((p, s) => (typeof s === 'number' ? `${p}[${s}]` : IDENT.test(s) ? `${p}.${s}` : `${p}[${JSON.stringify(s)}]`), '$');

export class DlpScanner {
  readonly enabled: boolean;
  private readonly detectors: TextDetector[];
  private readonly markers: Array<{ word: string; re: RegExp }>;
  private readonly patterns: CompiledPattern[];
  private readonly allow: Set<string>;
  private readonly bulkEmails: number;
  private readonly bulkPhones: number;
  private readonly emailOn: boolean;
  private readonly phoneOn: boolean;
  private readonly keyedOn: boolean;
  private readonly maxScanChars: number;
  private budget = 0;
  /** True when the last scan() stopped early at the character cap (`dlp.scan_cap_hit`). */
  lastCapped = false;

  constructor(config: DlpConfig = {}, maxScanChars: number = LIMITS.dlpMaxScanChars) {
    this.maxScanChars = maxScanChars;
    const off = new Set(config.disable ?? []);
    this.enabled = config.enabled !== false;
    this.detectors = SECRET_DETECTORS.filter((d) => !off.has(d.id));
    this.emailOn = !off.has('pii.email_bulk');
    this.phoneOn = !off.has('pii.phone_bulk');
    this.keyedOn = !off.has('secret.keyed_value');
    this.bulkEmails = config.bulkEmails ?? DLP_DEFAULTS.bulkEmails;
    this.bulkPhones = config.bulkPhones ?? DLP_DEFAULTS.bulkPhones;
    this.allow = new Set(config.allow ?? []);
    this.markers = (config.markers ?? []).filter((w) => w.length > 0).map((word) => ({
      word,
      re: new RegExp(`(?<![A-Za-z0-9_])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`, 'g'),
    }));
    this.patterns = (config.patterns ?? []).map((p) => {
      let re: RegExp;
      try {
        re = new RegExp(p.regex, `${(p.flags ?? '').replace(/[gy]/g, '')}g`);
      } catch (e) {
        throw new DlpConfigError(`dlp pattern "${p.id}": bad regex (${(e as Error).message})`);
      }
      if (re.test('')) throw new DlpConfigError(`dlp pattern "${p.id}": matches the empty string`);
      return {
        id: `custom.${p.id}`, title: p.title ?? p.id, category: 'custom' as const, severity: p.severity ?? 'medium',
        re, reveal: p.reveal ?? false,
      };
    });
  }

  /**
   * Scan one JSON-RPC message part (params, result or error) rooted at `root` (e.g. `params`).
   * Returns the hits; bulk PII is judged per call, so pass a whole message's parts in one `parts` list.
   */
  scan(parts: Array<{ root: string; value: unknown }>, target: ScanTarget): DlpHit[] {
    if (!this.enabled) return [];
    const hits: DlpHit[] = [];
    this.budget = this.maxScanChars;
    this.lastCapped = false;
    const emails: Bulk = { values: new Set(), paths: [] };
    const phones: Bulk = { values: new Set(), paths: [] };
    // Iterative walk: attacker-controlled nesting never grows the call stack. Each node points at its parent, so
    // a path is only spelled out when something is found there.
    const stack: PathNode[] = [];
    for (let i = parts.length - 1; i >= 0; i--) if (parts[i].value !== undefined) stack.push({ v: parts[i].value, key: parts[i].root });
    while (stack.length) {
      const node = stack.pop()!;
      const v = node.v;
      if (typeof v === 'string') {
        if (v.length > this.budget) { this.lastCapped = true; break; }
        this.budget -= v.length;
        this.scanString(v, node, target, hits, emails, phones);
      } else if (typeof v === 'number') {
        if (Number.isInteger(v) && Math.abs(v) >= 1e12) this.scanString(String(Math.abs(v)), node, target, hits, emails, phones);
      } else if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], key: i, parent: node });
      } else if (v !== null && typeof v === 'object') {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: (v as Record<string, unknown>)[keys[i]], key: keys[i], parent: node });
      }
    }
    this.bulkHit(emails, this.bulkEmails, 'pii.email_bulk', 'Email addresses in bulk', target, hits);
    this.bulkHit(phones, this.bulkPhones, 'pii.phone_bulk', 'Phone numbers in bulk', target, hits);
    return hits;
  }

  /** `text` with every detected secret, card and custom match replaced by its mask (for display). */
  redact(text: string, pii = false): string {
    let out = text;
    for (const d of [...this.detectors, ...this.patterns.filter((p) => !p.reveal)]) {
      d.re.lastIndex = 0;
      out = out.replace(d.re, (...args: unknown[]) => {
        const whole = args[0] as string;
        const secret = d.group ? (args[d.group] as string | undefined) : whole;
        if (secret === undefined || this.allow.has(secret) || (d.validate && !d.validate(secret))) return whole;
        return whole.replace(secret, d.maskWith ? d.maskWith(secret) : mask(secret));
      });
    }
    if (pii) {
      out = out.replace(EMAIL_RE, (m) => mask(m)).replace(PHONE_RE, (m) => mask(m));
    }
    return out;
  }

  /**
   * A copy of `value` for display: every string (and JSON key) redacted, credential-named fields masked, nesting
   * and size cut short (the display shows a summary only; the scan saw the whole value).
   */
  redactValue(value: unknown, pii = false): unknown {
    const budget = { nodes: 4096 };
    const walk = (v: unknown, depth: number, key: string | number | undefined): unknown => {
      if (--budget.nodes < 0 || depth > 32) return '…';
      if (typeof v === 'string') return this.redactString(v, pii, key);
      if (typeof v === 'number') {
        const t = String(v);
        return Number.isInteger(v) && Math.abs(v) >= 1e12 && this.redact(t) !== t ? mask(t) : v;
      }
      if (Array.isArray(v)) {
        const out: unknown[] = [];
        for (let i = 0; i < v.length; i++) {
          if (budget.nodes <= 0) { out.push('…'); break; }
          out.push(walk(v[i], depth + 1, i));
        }
        return out;
      }
      if (v !== null && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v)) {
          if (budget.nodes <= 0) { out['…'] = '…'; break; }
          out[this.redact(k, pii)] = walk((v as Record<string, unknown>)[k], depth + 1, k);
        }
        return out;
      }
      return v;
    };
    return walk(value, 0, undefined);
  }

  private isKeyedSecret(s: string, key: string | number | undefined): boolean {
    return this.keyedOn && typeof key === 'string' && SECRET_KEY_NAME.test(key) && s.length >= 12 && s.length <= 512
      && !/\s/.test(s) && mixed(s) && !this.allow.has(s);
  }

  private redactString(s: string, pii: boolean, key: string | number | undefined): string {
    if (this.isKeyedSecret(s, key)) return mask(s);
    return this.redact(s, pii);
  }

  private scanString(s: string, node: PathNode, target: ScanTarget, hits: DlpHit[], emails: Bulk, phones: Bulk): void {
    let path: string | undefined;
    const at = () => (path ??= pathString(segments(node)));
    const before = hits.length;
    if (s.length >= 16) {
      for (const d of this.detectors) this.run(d, s, at, target, hits, false);
    }
    const key = node.key;
    if (hits.length === before && this.isKeyedSecret(s, key)) {
      hits.push(this.hit({ id: 'secret.keyed_value', title: 'Credential-named field', category: 'secret', severity: 'medium', re: /$/g }, s, at(), target, false));
    }
    for (const m of this.markers) {
      m.re.lastIndex = 0;
      if (m.re.test(s)) hits.push(this.hit({ id: 'marker', title: `Marker "${m.word}"`, category: 'marker', severity: 'medium', re: m.re }, m.word, at(), target, true));
    }
    for (const p of this.patterns) this.run(p, s, at, target, hits, p.reveal);
    if (this.emailOn && s.includes('@')) this.collect(EMAIL_RE, s, node, emails, (x) => x.toLowerCase());
    if (this.phoneOn && s.length >= 9) this.collect(PHONE_RE, s, node, phones, (x) => x.replace(/\D/g, ''));
  }

  private run(d: TextDetector, s: string, at: () => string, target: ScanTarget, hits: DlpHit[], reveal: boolean): void {
    d.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = d.re.exec(s)) !== null) {
      if (m[0].length === 0) { d.re.lastIndex++; continue; }
      const secret = d.group ? m[d.group] : m[0];
      if (secret === undefined || this.allow.has(secret) || (d.validate && !d.validate(secret))) continue;
      hits.push(this.hit(d, secret, at(), target, reveal));
    }
  }

  private collect(re: RegExp, s: string, node: PathNode, bulk: Bulk, norm: (x: string) => string): void {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(s)) !== null) {
      if (this.allow.has(m[0])) continue;
      const k = norm(m[0]);
      if (bulk.values.has(k)) continue;
      bulk.values.add(k);
      bulk.first ??= m[0];
      if (bulk.paths.length < 64) bulk.paths.push(segments(node));
    }
  }

  private bulkHit(bulk: Bulk, threshold: number, id: string, title: string, target: ScanTarget, hits: DlpHit[]): void {
    if (bulk.values.size < threshold || !bulk.first) return;
    // The deepest path all the values share: `$.params.arguments.to` for a list of recipients.
    let common = bulk.paths[0];
    for (const p of bulk.paths) {
      let i = 0;
      while (i < common.length && i < p.length && common[i] === p[i]) i++;
      common = common.slice(0, i);
    }
    const hit = this.hit({ id, title, category: 'pii', severity: 'medium', re: /$/g }, bulk.first, pathString(common), target, false);
    hit.count = bulk.values.size;
    hits.push(hit);
  }

  private hit(d: TextDetector, secret: string, path: string, target: ScanTarget, reveal: boolean): DlpHit {
    return {
      detector: d.id,
      title: d.title,
      category: d.category,
      severity: d.severity,
      masked: reveal ? secret : d.maskWith ? d.maskWith(secret) : mask(secret),
      count: 1,
      server: target.server,
      client: target.client,
      where: { ...target.where, path },
    };
  }
}
