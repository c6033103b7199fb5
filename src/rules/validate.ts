// Strict validators: the only way a value from a capture or a report becomes a Safe that a rule
// template may print. Each returns a reason on refusal; the reason names the rule that failed, never
// echoes the value (the caller shows a JSON-escaped preview).
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { LIMITS } from '../config/limits.js';
import { Safe } from './safe.js';

export type Checked<T> = ({ ok: true } & T) | { ok: false; reason: string };

const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TLD_RE = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
/** ASCII a host name may carry before IDNA mapping; anything else ASCII is refused. */
const HOST_ASCII_RE = /^[A-Za-z0-9.*-]$/;
/**
 * Second-level labels that form public suffixes under country TLDs (co.uk, com.au, ...). A capture can
 * carry any SNI; refusing these keeps a hostile `co.uk` from becoming a subtree block of a country.
 */
const SUFFIX_SECOND_LEVEL = new Set([
  'ac', 'co', 'com', 'edu', 'gob', 'gov', 'go', 'ltd', 'mil', 'ne', 'net', 'nic', 'nom', 'or', 'org', 'plc', 'sch',
]);

export interface DomainValue {
  name: Safe;
  /** The raw value was `*.name`: the target should cover name's subdomains. */
  wildcard: boolean;
  labels: number;
}

export function validateDomain(raw: unknown, opts: { allowWildcard?: boolean } = {}): Checked<DomainValue> {
  if (typeof raw !== 'string') return { ok: false, reason: 'host name is not a string' };
  if (raw.length === 0) return { ok: false, reason: 'empty host name' };
  if (raw.length > LIMITS.rulesMaxRawValueChars) return { ok: false, reason: 'host name too long' };
  for (const ch of raw) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return { ok: false, reason: 'control character or space in host name' };
    if (c < 0x80 && !HOST_ASCII_RE.test(ch)) return { ok: false, reason: `character ${JSON.stringify(ch)} not allowed in a host name` };
  }
  let s = raw;
  let wildcard = false;
  if (s.startsWith('*.')) {
    if (!opts.allowWildcard) return { ok: false, reason: 'wildcard host name not accepted here' };
    wildcard = true;
    s = s.slice(2);
  }
  if (s.includes('*')) return { ok: false, reason: 'wildcard inside a host name' };
  if (s.endsWith('.')) s = s.slice(0, -1);
  const ascii = domainToASCII(s);
  if (ascii === '') return { ok: false, reason: 'not a valid IDNA host name' };
  if (isIP(ascii) !== 0 || isIP(s) !== 0) return { ok: false, reason: 'an IP address, not a host name' };
  if (ascii.length > 253) return { ok: false, reason: 'host name longer than 253 characters' };
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length === 0) return { ok: false, reason: 'empty label in host name' };
    if (label.length > 63) return { ok: false, reason: 'label longer than 63 characters' };
    if (!LABEL_RE.test(label)) return { ok: false, reason: 'label not of [a-z0-9-] or starts/ends with "-"' };
  }
  if (labels.length < 2) return { ok: false, reason: 'single-label host name' };
  if (!TLD_RE.test(labels[labels.length - 1]!)) return { ok: false, reason: 'top-level label is not alphabetic' };
  if (labels.length === 2 && SUFFIX_SECOND_LEVEL.has(labels[0]!)) return { ok: false, reason: 'looks like a public suffix' };
  return { ok: true, name: Safe.unchecked('domain', ascii), wildcard, labels: labels.length };
}

export interface IpValue {
  ip: Safe;
  family: 4 | 6;
  /** Numeric value, for sorting and prefix checks. */
  n: bigint;
}

export function validateIp(raw: unknown): Checked<IpValue> {
  if (typeof raw !== 'string') return { ok: false, reason: 'IP address is not a string' };
  if (raw.length === 0 || raw.length > 64) return { ok: false, reason: 'IP address of impossible length' };
  if (raw.includes('%')) return { ok: false, reason: 'IPv6 zone index not accepted' };
  const fam = isIP(raw);
  if (fam === 0) return { ok: false, reason: 'not an IP address' };
  let text = raw;
  let family: 4 | 6 = fam === 4 ? 4 : 6;
  if (family === 6) {
    text = new URL(`http://[${raw}]/`).hostname.slice(1, -1);
    const n = ipv6ToBigInt(text);
    if (n >> 32n === 0xffffn) {
      // IPv4-mapped: treat as the IPv4 address it is.
      const v4 = Number(n & 0xffffffffn);
      text = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
      family = 4;
    }
  }
  const n = family === 4 ? ipv4ToBigInt(text) : ipv6ToBigInt(text);
  if (n === 0n) return { ok: false, reason: 'unspecified address' };
  if (family === 4 && n >> 28n === 0xen) return { ok: false, reason: 'multicast address' };
  if (family === 4 && n === 0xffffffffn) return { ok: false, reason: 'broadcast address' };
  if (family === 6 && n >> 120n === 0xffn) return { ok: false, reason: 'multicast address' };
  return { ok: true, ip: Safe.unchecked('ip', text), family, n };
}

export interface CidrValue {
  cidr: Safe;
  family: 4 | 6;
  prefix: number;
}

/** network/prefix with no host bits set; /0-style catch-alls (v4 < /8, v6 < /16) are refused. */
export function validateCidr(raw: unknown): Checked<CidrValue> {
  if (typeof raw !== 'string') return { ok: false, reason: 'CIDR is not a string' };
  const m = /^([^/]{1,64})\/([0-9]{1,3})$/.exec(raw);
  if (!m) return { ok: false, reason: 'not of the form address/prefix' };
  const ip = validateIp(m[1]);
  if (!ip.ok) return { ok: false, reason: `CIDR address: ${ip.reason}` };
  const prefix = Number(m[2]);
  const bits = ip.family === 4 ? 32 : 128;
  if (prefix > bits) return { ok: false, reason: 'prefix longer than the address' };
  if (prefix < (ip.family === 4 ? 8 : 16)) return { ok: false, reason: 'prefix too short (too broad to block)' };
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((ip.n & hostMask) !== 0n) return { ok: false, reason: 'host bits set after the prefix' };
  return { ok: true, cidr: Safe.unchecked('cidr', `${ip.ip.value}/${prefix}`), family: ip.family, prefix };
}

export function validatePort(raw: unknown): Checked<{ port: Safe; n: number }> {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^[0-9]{1,5}$/.test(raw)) n = Number(raw);
  else return { ok: false, reason: 'port is not a number' };
  if (!Number.isInteger(n) || n < 1 || n > 65535) return { ok: false, reason: 'port outside 1-65535' };
  return { ok: true, port: Safe.unchecked('port', String(n)), n };
}

const PATH_RE = /^\/[A-Za-z0-9._~/-]{0,255}$/;

/** HTTP path without query or fragment: `/mcp`, `/sse`, `/v1/messages`. */
export function validatePath(raw: unknown): Checked<{ path: Safe }> {
  if (typeof raw !== 'string') return { ok: false, reason: 'path is not a string' };
  if (raw.length > LIMITS.rulesMaxRawValueChars) return { ok: false, reason: 'path too long' };
  const cut = raw.search(/[?#]/);
  const p = cut >= 0 ? raw.slice(0, cut) : raw;
  if (!PATH_RE.test(p)) return { ok: false, reason: 'path not of /[A-Za-z0-9._~/-], or over 256 characters' };
  return { ok: true, path: Safe.unchecked('path', p) };
}

export function validateFindingId(raw: unknown): Checked<{ id: Safe }> {
  if (typeof raw !== 'string' || !/^[0-9a-fA-F]{4,64}$/.test(raw)) return { ok: false, reason: 'finding id is not 4-64 hex digits' };
  return { ok: true, id: Safe.unchecked('id', raw.toLowerCase()) };
}

/** Words that may appear inside a comment: signature ids, log formats, file base names. */
export function validateCommentToken(raw: unknown): Checked<{ token: Safe }> {
  if (typeof raw !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw)) return { ok: false, reason: 'not a plain token' };
  return { ok: true, token: Safe.unchecked('word', raw) };
}

export function ipv4ToBigInt(text: string): bigint {
  let n = 0n;
  for (const part of text.split('.')) n = (n << 8n) | BigInt(Number(part));
  return n;
}

/** Parses an IPv6 address in WHATWG-serialized form (hex groups only, as validateIp produces). */
export function ipv6ToBigInt(text: string): bigint {
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const r = parse(rest);
  const groups = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(g);
  return n;
}
