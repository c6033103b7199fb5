// Request and status lines: the cheap byte sniff used for protocol detection and resync,
// and the strict parse of a complete line.
import type { Dir } from '../../flows/types.js';

/** Methods we accept as the start of a request (RFC 9110 + WebDAV + PATCH). HTTP/2's `PRI` is not HTTP/1. */
export const KNOWN_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKCALENDAR',
] as const;

/** "METHOD " as bytes, one entry per known method. */
const METHOD_PREFIXES: Uint8Array[] = KNOWN_METHODS.map((m) => asciiBytes(m + ' '));
const STATUS_PREFIX = asciiBytes('HTTP/1.');

/** Longest prefix a sniff ever needs to look at. */
export const START_SNIFF_BYTES = Math.max(STATUS_PREFIX.length, ...METHOD_PREFIXES.map((p) => p.length));

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function startsWith(data: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[start + i] !== prefix[i]) return false;
  return true;
}

/** Could data[start..end) still grow into a start line (it is a prefix of one of the patterns)? */
export function couldStartHttp(data: Uint8Array, start: number, end: number, dir: Dir): boolean {
  const n = end - start;
  const candidates = dir === 'c2s' ? METHOD_PREFIXES : [STATUS_PREFIX];
  outer: for (const p of candidates) {
    const k = Math.min(n, p.length);
    for (let i = 0; i < k; i++) if (data[start + i] !== p[i]) continue outer;
    return true;
  }
  return false;
}

/** Does data[start..end) begin with a request line start (c2s) or `HTTP/1.` (s2c)? */
export function startsHttp(data: Uint8Array, start: number, end: number, dir: Dir): boolean {
  if (dir === 's2c') return startsWith(data, start, end, STATUS_PREFIX);
  for (const p of METHOD_PREFIXES) if (startsWith(data, start, end, p)) return true;
  return false;
}

/**
 * Cheap sniff for the dispatcher: does this direction's first bytes look like HTTP/1.x?
 * c2s: a known method token followed by a space; s2c: `HTTP/1.`.
 */
export function isHttpStart(data: Uint8Array, dir: Dir): boolean {
  return startsHttp(data, 0, data.length, dir);
}

export interface RequestLine {
  method: string;
  target: string;
  version: string;
}

export interface StatusLine {
  version: string;
  status: number;
  reason: string;
}

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) +([^\s]+) +(HTTP\/\d\.\d) *$/;
const STATUS_LINE = /^(HTTP\/\d\.\d) +(\d{3})(?: (.*))?$/;

export function parseRequestLine(line: string): RequestLine | undefined {
  const m = REQUEST_LINE.exec(line);
  if (!m) return undefined;
  return { method: m[1]!, target: m[2]!, version: m[3]! };
}

export function parseStatusLine(line: string): StatusLine | undefined {
  const m = STATUS_LINE.exec(line);
  if (!m) return undefined;
  return { version: m[1]!, status: Number(m[2]), reason: (m[3] ?? '').trim() };
}
