// Start line + header block: incremental accumulation (copied, capped) and the parse of a complete block.
import type { Headers } from '../messages.js';

const LF = 0x0a;
const CR = 0x0d;

export type HeadStatus = 'more' | 'first_line' | 'done' | 'too_large';

/**
 * Collects the bytes of one start line + headers across chunks, up to `maxBytes`.
 * Stops after the first line (so the caller can reject a bad start line early) and after the empty line.
 * Bare LF line ends are accepted like CRLF.
 */
export class HeadReader {
  private buf = new Uint8Array(512);
  len = 0;
  /** Bytes of the current line so far (including a CR), across chunks. */
  private lineLen = 0;
  private lastByte = 0;
  /** Length of the first line in `buf` without its line end, set once it is complete. */
  firstLineLen = -1;
  /** Offset in `buf` just past the first line's LF. */
  firstLineEnd = 0;
  status: HeadStatus = 'more';

  constructor(private readonly maxBytes: number) {}

  reset(): void {
    this.len = 0;
    this.lineLen = 0;
    this.lastByte = 0;
    this.firstLineLen = -1;
    this.firstLineEnd = 0;
    this.status = 'more';
    // Do not keep a buffer grown by one huge head.
    if (this.buf.length > 4096) this.buf = new Uint8Array(512);
  }

  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Consume from data[pos..end); returns the position after what was consumed. Check `status` after. */
  feed(data: Uint8Array, pos: number, end: number): number {
    this.status = 'more';
    let i = pos;
    while (i < end) {
      const lf = data.indexOf(LF, i);
      if (lf < 0 || lf >= end) {
        this.lineLen += end - i;
        this.lastByte = data[end - 1]!;
        i = end;
        break;
      }
      const lineLen = this.lineLen + (lf - i);
      const prev = lf > i ? data[lf - 1]! : this.lastByte;
      const empty = lineLen === 0 || (lineLen === 1 && prev === CR);
      i = lf + 1;
      this.lineLen = 0;
      this.lastByte = LF;
      if (this.firstLineLen < 0) {
        if (!this.append(data, pos, i)) return i;
        this.firstLineEnd = this.len;
        this.firstLineLen = this.len - 1 - (prev === CR && lineLen > 0 ? 1 : 0);
        this.status = 'first_line';
        return i;
      }
      if (empty) {
        if (!this.append(data, pos, i)) return i;
        this.status = 'done';
        return i;
      }
    }
    this.append(data, pos, i);
    return i;
  }

  private append(data: Uint8Array, from: number, to: number): boolean {
    const n = to - from;
    if (this.len + n > this.maxBytes) {
      this.status = 'too_large';
      return false;
    }
    if (this.len + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + n) cap *= 2;
      const next = new Uint8Array(Math.min(cap, this.maxBytes));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(data.subarray(from, to), this.len);
    this.len += n;
    return true;
  }

  firstLine(): string {
    return decodeText(this.buf, 0, Math.max(0, this.firstLineLen));
  }
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export function decodeText(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, end));
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface ParsedHead {
  /** All header lines (lowercased names, trimmed values, obs-fold joined), in wire order. */
  all: Headers;
  badLines: number;
  folds: number;
}

/** Parse the header lines of a complete head (everything after the first line). */
export function parseHeaderLines(head: Uint8Array, firstLineEnd: number): ParsedHead {
  const text = decodeText(head, firstLineEnd, head.length);
  const lines = text.split('\n');
  const all: Headers = [];
  let badLines = 0;
  let folds = 0;
  for (let raw of lines) {
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.length === 0) continue;
    const c0 = raw.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      // obs-fold: continuation of the previous header's value.
      const last = all[all.length - 1];
      if (!last) {
        badLines++;
        continue;
      }
      folds++;
      const more = raw.trim();
      if (more.length > 0) last[1] = last[1].length > 0 ? `${last[1]} ${more}` : more;
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) {
      badLines++;
      continue;
    }
    const name = raw.slice(0, colon);
    if (!TOKEN.test(name)) {
      badLines++;
      continue;
    }
    all.push([name.toLowerCase(), raw.slice(colon + 1).trim()]);
  }
  return { all, badLines, folds };
}

/** All values of one (lowercase) header name. */
export function headerValues(headers: Headers, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n === name) out.push(v);
  return out;
}

export function headerValue(headers: Headers, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** Comma-separated list elements of all values of a header, lowercased and trimmed, empty ones dropped. */
export function headerTokens(headers: Headers, name: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(headers, name)) {
    for (const part of v.split(',')) {
      const t = part.trim().toLowerCase();
      if (t.length > 0) out.push(t);
    }
  }
  return out;
}

/**
 * Content-Length from all its values: undefined when absent, 'bad' when not decimal digits
 * or when the values disagree (RFC 9110 §8.6 allows repeated identical values).
 */
export function contentLength(headers: Headers): number | 'bad' | undefined {
  const values = headerValues(headers, 'content-length');
  if (values.length === 0) return undefined;
  let n: number | undefined;
  for (const v of values) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (!/^\d{1,15}$/.test(t)) return 'bad';
      const x = Number(t);
      if (n !== undefined && n !== x) return 'bad';
      n = x;
    }
  }
  return n;
}

/** Media type of a Content-Type value: lowercase, no parameters. */
export function mediaType(value: string | undefined): string {
  if (value === undefined) return '';
  const semi = value.indexOf(';');
  return (semi >= 0 ? value.slice(0, semi) : value).trim().toLowerCase();
}
