// Helpers shared by the log formats: addresses, ports, times, names, syslog prefixes, observation builders.
// Log records are small and each becomes an observation, so plain strings and objects are fine here.
import { isIPv4, isIPv6 } from 'node:net';
import type { Endpoint } from '../../flows/types.js';
import type { FieldValue, Observation, ObservationKind } from '../../detect/observation.js';
import { formatIp } from '../../decode/net/address.js';
import type { LogParserContext } from './types.js';

// ---------------------------------------------------------------- addresses and ports

/** Canonical text of an IPv4/IPv6 address (RFC 5952 for v6), or undefined when it is not one. */
export function parseIp(text: string | undefined | null): string | undefined {
  if (text === undefined || text === null) return undefined;
  let s = String(text).trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const pct = s.indexOf('%');
  if (pct > 0) s = s.slice(0, pct);
  if (isIPv4(s)) {
    // Drop leading zeros some loggers pad with (010.001.002.003 is not octal here).
    return s.split('.').map((o) => String(Number(o))).join('.');
  }
  if (isIPv6(s)) {
    const bytes = ipv6Bytes(s);
    return bytes ? formatIp(bytes) : undefined;
  }
  return undefined;
}

/**
 * Source and destination addresses of a record. A bad one is counted as `log.bad_address` at this line and the
 * record yields nothing (undefined). `required`: both must be there; otherwise an absent one is simply unknown.
 */
export function parseAddressPair(
  srcRaw: string | undefined,
  dstRaw: string | undefined,
  ctx: LogParserContext,
  lineNo: number,
  required: boolean,
): { src?: string; dst?: string } | undefined {
  const src = parseIp(srcRaw);
  const dst = parseIp(dstRaw);
  const bad = required ? !src || !dst : (!!srcRaw && !src) || (!!dstRaw && !dst);
  if (!bad) return { src, dst };
  ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
  return undefined;
}

function ipv6Bytes(s: string): Uint8Array | undefined {
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) { head = s.slice(0, dbl); tail = s.slice(dbl + 2); }
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const o = g.split('.').map(Number);
        out.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  const fill = dbl >= 0 ? 8 - h.length - t.length : 0;
  if (fill < 0) return undefined;
  const groups = [...h, ...new Array<number>(fill).fill(0), ...t];
  if (groups.length !== 8) return undefined;
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) { b[2 * i] = groups[i] >> 8; b[2 * i + 1] = groups[i] & 0xff; }
  return b;
}

export function parsePort(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 65535 ? v : undefined;
  if (typeof v !== 'string' || !/^\d{1,5}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 65535 ? n : undefined;
}

// ---------------------------------------------------------------- times

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

export function monthIndex(name: string): number | undefined {
  return MONTHS[name.slice(0, 3).toLowerCase()];
}

/** Epoch number in s, ms, µs or ns (told apart by magnitude) → seconds. */
export function epochToSeconds(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (n >= 1e17) return n / 1e9;
  if (n >= 1e14) return n / 1e6;
  if (n >= 1e11) return n / 1e3;
  return n;
}

const ISO_RE = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d\d:?\d\d|UTC)?$/;

/** RFC 3339 / ISO 8601 (offset with or without colon, up to ns fractions; no offset = UTC) → epoch seconds. */
export function parseIsoTime(s: string): number | undefined {
  const m = ISO_RE.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, hh, mm, ss, frac, off] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +hh > 23 || +mm > 59 || +ss > 60) return undefined;
  let t = Date.UTC(+y, +mo - 1, +d, +hh, +mm, +ss) / 1000;
  if (frac) t += Number(`0.${frac}`);
  if (off && off !== 'Z' && off !== 'z' && off !== 'UTC') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  return t;
}

/** Any timestamp a log may hold: epoch number/string (s/ms/µs/ns) or RFC 3339 text. */
export function parseAnyTime(v: unknown): number | undefined {
  if (typeof v === 'number') return epochToSeconds(v);
  if (typeof v !== 'string' || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return epochToSeconds(Number(v));
  return parseIsoTime(v);
}

/** Local wall-clock parts read as UTC (log lines rarely say their zone; UTC keeps results reproducible). */
export function utcSeconds(y: number, mo: number, d: number, hh: number, mm: number, ss: number, frac = ''): number | undefined {
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return undefined;
  return Date.UTC(y, mo, d, hh, mm, ss) / 1000 + (frac ? Number(`0.${frac}`) : 0);
}

// ---------------------------------------------------------------- syslog / journal prefixes

export interface SyslogParts {
  ts?: number;
  host?: string;
  /** Program name without pid (`dnsmasq`, `kernel`, `filterlog`). */
  tag?: string;
  pid?: string;
  msg: string;
}

const RFC3164_RE = /^(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (.*)$/;
const RFC5424_RE = /^<\d{1,3}>\d{1,2} (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\](?:\[.*?\])*) ?(.*)$/;
const ISO_PREFIX_RE = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) (.*)$/;
const TAG_RE = /^([^\s:[\]]+)(?:\[([\d:]+)\])?: ?(.*)$/;
const DMESG_RE = /^\[\s*\d+\.\d+\] (.*)$/;

/**
 * Split a syslog RFC 3164 / RFC 5424 / journal (short-iso) / dmesg prefix from the message.
 * Lines without any prefix come back as `{ msg: line }`.
 */
export function splitSyslog(line: string, refYear: number): SyslogParts {
  let m = RFC5424_RE.exec(line);
  if (m) {
    const [, ts, host, app, procid, , , msg] = m;
    return {
      ts: ts === '-' ? undefined : parseIsoTime(ts),
      host: host === '-' ? undefined : host,
      tag: app === '-' ? undefined : app,
      pid: procid === '-' ? undefined : procid,
      msg: msg.startsWith('\ufeff') ? msg.slice(1) : msg,
    };
  }
  let ts: number | undefined;
  let rest: string;
  if ((m = RFC3164_RE.exec(line))) {
    const mon = monthIndex(m[1]);
    if (mon === undefined) return { msg: line };
    ts = utcSeconds(refYear, mon, +m[2], +m[3], +m[4], +m[5], m[6]);
    rest = m[7];
  } else if ((m = ISO_PREFIX_RE.exec(line))) {
    ts = parseIsoTime(m[1]);
    rest = m[2];
  } else if ((m = DMESG_RE.exec(line))) {
    return { tag: 'kernel', msg: m[1] };
  } else {
    return { msg: line };
  }
  // `host tag[pid]: msg` or, in files written by the program itself (dnsmasq), `tag[pid]: msg`.
  let t = TAG_RE.exec(rest);
  if (t) return { ts, tag: t[1], pid: t[2], msg: stripDmesg(t[3]) };
  const sp = rest.indexOf(' ');
  if (sp > 0) {
    t = TAG_RE.exec(rest.slice(sp + 1));
    if (t) return { ts, host: rest.slice(0, sp), tag: t[1], pid: t[2], msg: stripDmesg(t[3]) };
  }
  return { ts, msg: rest };
}

/** kern.log keeps the kernel's own `[ 123.456]` uptime stamp after `kernel:`. */
function stripDmesg(msg: string): string {
  const m = DMESG_RE.exec(msg);
  return m ? m[1] : msg;
}

// ---------------------------------------------------------------- names and codes

/** DNS name as signatures expect it: lowercase, no trailing dot. */
export function normName(s: string): string {
  let n = s.trim().toLowerCase();
  while (n.endsWith('.') && n.length > 1) n = n.slice(0, -1);
  return n;
}

const QTYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  35: 'NAPTR', 39: 'DNAME', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF',
  252: 'AXFR', 255: 'ANY', 257: 'CAA',
};
const RCODES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN',
  7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE',
};
const IP_PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 47: 'gre', 50: 'esp' };

export function qtypeName(v: unknown): string | undefined {
  if (typeof v === 'number') return QTYPES[v] ?? `TYPE${v}`;
  if (typeof v !== 'string' || v === '') return undefined;
  if (/^\d+$/.test(v)) return QTYPES[+v] ?? `TYPE${v}`;
  return v.toUpperCase();
}

export function rcodeName(v: unknown): string | undefined {
  if (typeof v === 'number') return RCODES[v] ?? `RCODE${v}`;
  if (typeof v !== 'string' || v === '') return undefined;
  if (/^\d+$/.test(v)) return RCODES[+v] ?? `RCODE${v}`;
  return v.toUpperCase();
}

export function ipProtoName(v: unknown): string | undefined {
  if (typeof v === 'number') return IP_PROTOS[v] ?? String(v);
  if (typeof v !== 'string' || v === '' || v === '-') return undefined;
  if (/^\d+$/.test(v)) return IP_PROTOS[+v] ?? v;
  return v.toLowerCase();
}

/** A logged verdict word → `allow` / `block`, or undefined when it says neither. */
export function verdict(word: string | undefined): 'allow' | 'block' | undefined {
  if (!word) return undefined;
  const w = word.toLowerCase();
  if (/(^|[^a-z])(drop|dropped|reject|rejected|block|blocked|deny|denied)([^a-z]|$)/.test(w) || w.startsWith('blocked')) return 'block';
  if (/(^|[^a-z])(accept|accepted|allow|allowed|pass|passed|permit|permitted)([^a-z]|$)/.test(w) || w.startsWith('allowed')) return 'allow';
  return undefined;
}

/** Media type without parameters, lowercase. */
export function mediaType(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '' || v === '-') return undefined;
  const semi = v.indexOf(';');
  return (semi >= 0 ? v.slice(0, semi) : v).trim().toLowerCase() || undefined;
}

/** Host header value → lowercase name without port. */
export function normHost(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '' || v === '-') return undefined;
  let h = v.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(':');
  if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h || undefined;
}

/**
 * Fill http.request.uri/path/query (and host, when the target is absolute) from a request target.
 */
export function setUri(fields: Record<string, FieldValue>, target: unknown): void {
  if (typeof target !== 'string' || target === '' || target === '-') return;
  let t = target;
  const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)(.*)$/i.exec(t);
  if (abs) {
    const authority = abs[1].includes('@') ? abs[1].slice(abs[1].lastIndexOf('@') + 1) : abs[1];
    const host = normHost(authority);
    if (host && fields['http.request.host'] === undefined) fields['http.request.host'] = host;
    t = abs[2] || '/';
  }
  fields['http.request.uri'] = t;
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  fields['http.request.path'] = q >= 0 ? t.slice(0, q) : t;
  if (q >= 0) fields['http.request.query'] = t.slice(q + 1);
}

// ---------------------------------------------------------------- observation builders

/** Set a field only when the value says something (not undefined, null, '' or '-'). */
export function put(fields: Record<string, FieldValue>, name: string, value: FieldValue | undefined): void {
  if (value === undefined || value === null || value === '' || value === '-') return;
  if (Array.isArray(value) && value.length === 0) return;
  fields[name] = value;
}

export function endpoint(ip: string | undefined, port: number | undefined): Endpoint | undefined {
  return ip === undefined ? undefined : { ip, port: port ?? 0 };
}

export function makeObservation(
  ctx: LogParserContext,
  format: string,
  lineNo: number,
  kind: ObservationKind,
  ts: number,
  fields: Record<string, FieldValue>,
  client?: Endpoint,
  server?: Endpoint,
): Observation {
  const o: Observation = { kind, fields, ts, source: { kind: 'log', file: ctx.file, line: lineNo, format } };
  if (client) o.client = client;
  if (server) o.server = server;
  return o;
}

/** The connection fields every L3/L4 record shares; client = source, server = destination. */
export function connFields(
  proto: string | undefined,
  src: string | undefined,
  sport: number | undefined,
  dst: string | undefined,
  dport: number | undefined,
): Record<string, FieldValue> {
  const f: Record<string, FieldValue> = {};
  put(f, 'conn.proto', proto);
  put(f, 'conn.src_ip', src);
  put(f, 'conn.src_port', sport);
  put(f, 'conn.dst_ip', dst);
  put(f, 'conn.dst_port', dport);
  return f;
}

/** Split on a delimiter honouring RFC 4180 double quotes. */
export function splitCsv(line: string, delim = ','): string[] {
  if (!line.includes('"')) return line.split(delim);
  const out: string[] = [];
  let cur = '';
  let inQ = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQ) {
      if (c === '"') {
        if (line[i + 1] === '"') { cur += '"'; i++; } else inQ = false;
      } else cur += c;
    } else if (c === '"' && cur === '') inQ = true;
    else if (c === delim) { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

/** JSON.parse of one line, only when it is an object. */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  const s = line.trim();
  if (!s.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}
