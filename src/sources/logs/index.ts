// Log import: expand inputs (files, globs, directories, stdin), gunzip by magic bytes, split lines
// with a length cap, detect each file's format from its first lines, and hand every line to that
// format's parser. Streaming and constant memory: one line (≤ LIMITS.logMaxLineBytes) at a time.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep as pathSep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { LIMITS } from '../../config/limits.js';
import { Anomalies } from '../../core/anomalies.js';
import type { Observation } from '../../detect/observation.js';
import { awsVpc } from './aws-vpc.js';
import { bind } from './bind.js';
import { cloudflare } from './cloudflare.js';
import { csv } from './csv.js';
import { dnsmasq } from './dnsmasq.js';
import { filterlog } from './filterlog.js';
import { netfilter } from './netfilter.js';
import { suricata } from './suricata.js';
import type { DateOrder, LogFormat, LogLineParser, LogParserContext } from './types.js';
import { unbound } from './unbound.js';
import { windowsDns } from './windows-dns.js';
import { zeek } from './zeek.js';

export type { DateOrder, LogFormat, LogLineParser, LogParserContext } from './types.js';
export { CsvMapError, parseMap } from './csv.js';

/** In detection order: structured JSON first (distinct keys), then line formats whose markers cannot overlap. */
export const LOG_FORMATS: LogFormat[] = [
  suricata, zeek, cloudflare, netfilter, filterlog, bind, unbound, dnsmasq, windowsDns, awsVpc, csv,
];

/** A file no importer recognises, an unknown --format, or an input that does not exist (CLI exit 2). */
export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

export interface LogFileStats {
  file: string;
  /** Format id (`zeek`, `suricata`, ...); `empty` for a file with no lines; `unrecognised` when skipped. */
  format: string;
  /** Bytes read from the file (compressed size for .gz). */
  bytes: number;
  lines: number;
  observations: number;
  badLines: number;
  /** Incremental import only (`resume` given, not stdin): where this run started and stopped in the file. */
  cursor?: LogFileCursor;
}

/** Where an earlier run left a file's content (decompressed bytes for .gz); always at a line boundary. */
export interface LogResumePoint {
  offset: number;
  /** Lines before `offset`: line numbers continue from here. */
  lines: number;
  /** sha256 (hex) of the content bytes [offset - tailLen, offset): they must be unchanged to resume. */
  tailHash: string;
  tailLen: number;
  /** Format detected when the file was first read (its header lines are replayed to the parser). */
  format?: string;
  /** This very file (same device, inode, size, mtime) was read to its end already: do not open it. */
  done?: boolean;
  /** Opaque to the importer (the store's stream id); handed back in the file's cursor. */
  key?: string;
  /** The parser's memo at `offset` (LogLineParser.memo). */
  memo?: string;
}

/** What identifies a log file's content, whatever its name: its first bytes. */
export interface LogFileProbe {
  file: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  gzip: boolean;
  /** First ≤ LIMITS.logCursorHeadBytes bytes of content (decompressed for .gz). */
  head: Buffer;
}

export interface LogResume {
  /** Earlier cursors that may continue this file's content, best first; the first whose tail still matches is used. */
  candidates(probe: LogFileProbe): LogResumePoint[];
  /** Files to read before this one: a rotated predecessor that may still hold unread lines (app.log.1 after a rename). */
  predecessors?(file: string, probe: LogFileProbe): Promise<string[]>;
  /** Called after each file, so a later file of the same run with the same content resumes after it. */
  fileDone?(stats: LogFileStats): void;
}

export interface LogFileCursor {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  gzip: boolean;
  /** sha256 (hex) of the first `headLen` content bytes. */
  headHash: string;
  headLen: number;
  /** The head bytes themselves (for the store's prefix lookups). */
  head: Buffer;
  /** The earlier cursor this run continued, if one matched. */
  resumed?: LogResumePoint;
  /** The parser's memo at `end`, for the run that continues from there. */
  memo?: string;
  /** Why earlier cursors for this content were not used: the file shrank, or the bytes before the cursor changed. */
  reset?: 'truncated' | 'tail_mismatch';
  /** Content offsets read this run: [start, end); end is after the last complete line. */
  start: number;
  end: number;
  /** Lines before `end`. */
  lines: number;
  tailHash: string;
  tailLen: number;
  /** Read to the end of a .gz archive (it will not grow). */
  complete: boolean;
  /** The .gz/file was skipped unopened (`done` cursor). */
  skipped?: boolean;
}

export interface LogImportStats {
  files: LogFileStats[];
  lines: number;
  observations: number;
  badLines: number;
}

export interface LogProgress {
  file: string;
  bytes: number;
  totalBytes?: number;
  lines: number;
}

export interface ImportLogsOptions {
  /** Force one format for every file (a LOG_FORMATS id). */
  format?: string;
  /** Column mapping for the generic CSV format; implies `--format csv` when no format is given. */
  map?: string;
  /** How slash dates with the year last are read (Windows DNS); default: decided per file from its dates. */
  dateOrder?: DateOrder;
  anomalies: Anomalies;
  onObservation: (o: Observation) => void;
  onProgress?: (p: LogProgress) => void;
  /** What `-` reads (default process.stdin); tests pass their own stream. */
  stdin?: AsyncIterable<Buffer>;
  /**
   * Incremental import: resume each file where an earlier run stopped (stdin is always read whole).
   * In this mode a plain file's last line without a newline is left for the next run (it may still be written).
   */
  resume?: LogResume;
  /** Files found in directories or globs that another reader takes (captures in a directory given to `scan`). */
  exclude?: ReadonlySet<string>;
}

/** Non-blank lines looked at to detect a file's format. */
const SNIFF_LINES = 20;
const PROGRESS_EVERY_BYTES = 1024 * 1024;

export function findFormat(id: string): LogFormat | undefined {
  const want = id.toLowerCase();
  return LOG_FORMATS.find((f) => f.id === want) ?? LOG_FORMATS.find((f) => want.startsWith(`${f.id}.`));
}

/** The first format whose sniff accepts the sample (blank lines removed), or undefined. */
export function detectFormat(sampleLines: string[]): LogFormat | undefined {
  const sample = sampleLines.filter((l) => l.trim() !== '');
  if (sample.length === 0) return undefined;
  return LOG_FORMATS.find((f) => f.sniff(sample));
}

interface Input {
  path: string;
  /** Found by walking a directory (an unrecognised file is then skipped, not fatal). */
  fromDir: boolean;
}

export async function importLogs(inputs: string[], options: ImportLogsOptions): Promise<LogImportStats> {
  let forced: LogFormat | undefined;
  const formatId = options.format ?? (options.map ? 'csv' : undefined);
  if (formatId) {
    forced = findFormat(formatId);
    if (!forced) throw new LogFormatError(`unknown log format "${formatId}" (known: ${LOG_FORMATS.map((f) => f.id).join(', ')})`);
  }
  const exclude = options.exclude;
  // An empty directory (a rotated-away log dir) is no error, but not silent either.
  const emptyDir = (dir: string) => options.anomalies.add('input.empty_directory', { file: dir });
  const files = (await expandInputs(inputs, emptyDir)).filter((f) => !(exclude && f.fromDir && exclude.has(f.path)));
  const stats: LogImportStats = { files: [], lines: 0, observations: 0, badLines: 0 };
  const add = (s: LogFileStats) => {
    stats.files.push(s);
    stats.lines += s.lines;
    stats.observations += s.observations;
    stats.badLines += s.badLines;
  };
  const resume = options.resume;
  if (!resume) {
    for (const input of files) add(await importOne(input, forced, options));
    return stats;
  }
  // Incremental: each real file once per run, a rotated predecessor before its successor.
  const done = new Set<string>();
  const once = async (input: Input) => {
    if (input.path === '-') { add(await importOne(input, forced, options)); return; }
    const real = await realpath(input.path).catch(() => input.path);
    if (done.has(real)) return;
    done.add(real);
    const probe = await probeLogFile(input.path);
    if (probe && resume.predecessors) {
      for (const pre of await resume.predecessors(input.path, probe)) await once({ path: pre, fromDir: true });
    }
    const s = await importOne(input, forced, options, probe);
    resume.fileDone?.(s);
    add(s);
  };
  for (const input of files) await once(input);
  return stats;
}

// ---------------------------------------------------------------- incremental import

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Device, inode, size and the first content bytes of a file (gunzipped when it is gzip); undefined if unreadable. */
export async function probeLogFile(file: string): Promise<LogFileProbe | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    const cap = LIMITS.logCursorHeadBytes;
    const raw = Buffer.alloc(Math.min(cap, st.size));
    const { bytesRead } = await fh.read(raw, 0, raw.length, 0);
    const first = raw.subarray(0, bytesRead);
    const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
    let head = first;
    if (gzip) {
      const parts: Buffer[] = [];
      let n = 0;
      const rs = createReadStream(file);
      try {
        for await (const chunk of gunzipIfNeeded(rs, () => undefined, () => undefined)) {
          parts.push(chunk);
          n += chunk.length;
          if (n >= cap) break;
        }
      } finally {
        rs.destroy();
      }
      head = Buffer.concat(parts).subarray(0, cap);
    }
    return { file, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, gzip, head: Buffer.from(head) };
  } finally {
    await fh.close();
  }
}

async function preadTail(file: string, end: number, len: number): Promise<Buffer | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, end - len);
    return bytesRead === len ? buf : undefined;
  } finally {
    await fh.close();
  }
}

/** The last `cap` bytes pushed through it (copies at most `cap` bytes per push). */
class TailKeeper {
  private buf: Buffer;
  private len = 0;
  constructor(private readonly cap: number) { this.buf = Buffer.alloc(cap); }
  push(b: Uint8Array): void {
    if (this.cap === 0) return;
    if (b.length >= this.cap) { this.buf.set(b.subarray(b.length - this.cap)); this.len = this.cap; return; }
    const keep = Math.min(this.len, this.cap - b.length);
    this.buf.copyWithin(0, this.len - keep, this.len);
    this.buf.set(b, keep);
    this.len = keep + b.length;
  }
  bytes(): Buffer { return this.buf.subarray(0, this.len); }
}

/**
 * A gzip file's content from `point.offset` on, after checking that the bytes before it still hash to
 * `point.tailHash`; undefined when they do not (or the archive is shorter), so the caller starts at 0.
 */
async function gzipContentAt(
  file: string, point: LogResumePoint, onRaw: (n: number) => void, onError: () => void,
): Promise<{ source: AsyncIterable<Buffer>; tail: Buffer } | undefined> {
  const rs = createReadStream(file);
  const it = gunzipIfNeeded(rs, onRaw, onError)[Symbol.asyncIterator]();
  const tail = new TailKeeper(point.tailLen);
  let pos = 0;
  let rest: Buffer | undefined;
  while (pos < point.offset) {
    const r = await it.next();
    if (r.done) { rs.destroy(); return undefined; }
    const need = point.offset - pos;
    if (r.value.length <= need) { tail.push(r.value); pos += r.value.length; }
    else { tail.push(r.value.subarray(0, need)); rest = r.value.subarray(need); pos = point.offset; }
  }
  if (sha256Hex(tail.bytes()) !== point.tailHash) { rs.destroy(); return undefined; }
  const source = (async function* () {
    try {
      if (rest) yield rest;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      rs.destroy();
    }
  })();
  return { source, tail: Buffer.from(tail.bytes()) };
}

/** Complete lines (no terminator) of the head before `end`, at most `max` non-blank ones. */
function headLines(head: Buffer, end: number, max: number): string[] {
  const text = head.subarray(0, Math.min(end, head.length));
  const out: string[] = [];
  let start = 0;
  for (let nl = text.indexOf(10, start); nl >= 0 && out.length < max; nl = text.indexOf(10, start)) {
    let e = nl;
    if (e > start && text[e - 1] === 0x0d) e--;
    let line = text.toString('utf8', start, e);
    if (start === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    start = nl + 1;
    if (line.trim() !== '') out.push(line);
  }
  return out;
}

// ---------------------------------------------------------------- inputs

const GLOB_CHARS = /[*?[]/;

export async function expandInputs(inputs: string[], onEmptyDir?: (dir: string) => void): Promise<Input[]> {
  const out: Input[] = [];
  const dirFiles = async (dir: string) => {
    const files = await walk(dir);
    if (files.length === 0) onEmptyDir?.(dir);
    for (const f of files) out.push({ path: f, fromDir: true });
  };
  for (const raw of inputs) {
    if (raw === '-') { out.push({ path: '-', fromDir: false }); continue; }
    if (GLOB_CHARS.test(raw)) {
      const matches = await glob(raw);
      if (matches.length === 0) throw new LogFormatError(`${raw}: no file matches`);
      for (const m of matches) {
        const st = await stat(m);
        if (st.isDirectory()) await dirFiles(m);
        else out.push({ path: m, fromDir: false });
      }
      continue;
    }
    let st;
    try {
      st = await stat(raw);
    } catch {
      throw new LogFormatError(`${raw}: no such file or directory`);
    }
    if (st.isDirectory()) await dirFiles(raw);
    else out.push({ path: raw, fromDir: false });
  }
  return out;
}

/** Regular files under dir, recursively, sorted by path; dot-files and dot-directories skipped. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else { re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`; i = end; }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Minimal glob (`*`, `?`, `[...]`, `**`) over the directory tree below the pattern's fixed prefix. */
async function glob(pattern: string): Promise<string[]> {
  const norm = pattern.split(pathSep).join('/');
  const segs = norm.split('/');
  const fixed: string[] = [];
  for (const s of segs) { if (GLOB_CHARS.test(s)) break; fixed.push(s); }
  const base = fixed.length === 0 ? '.' : fixed.join('/') || '/';
  const re = globToRegExp(norm);
  const out: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = dir === '.' && fixed.length === 0 ? e.name : `${dir === '/' ? '' : dir}/${e.name}`;
      if (re.test(p)) out.push(p);
      if (e.isDirectory() && !e.name.startsWith('.')) await visit(p);
    }
  };
  await visit(base);
  return out.sort();
}

// ---------------------------------------------------------------- one file

async function* gunzipIfNeeded(source: AsyncIterable<Buffer>, onRaw: (n: number) => void, onError: () => void): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head: Buffer = first.value;
  onRaw(head.length);
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) { onRaw(r.value.length); yield r.value; }
    return;
  }
  const gunzip = createGunzip();
  let failed = false;
  gunzip.on('error', () => { failed = true; });
  const pump = (async () => {
    try {
      if (!gunzip.write(head)) await new Promise((res) => gunzip.once('drain', res));
      for (let r = await it.next(); !r.done && !failed; r = await it.next()) {
        onRaw(r.value.length);
        if (!gunzip.write(r.value)) await new Promise((res) => { gunzip.once('drain', res); gunzip.once('error', res); });
      }
    } finally {
      if (!failed) gunzip.end();
    }
  })();
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch {
    failed = true;
  }
  await pump.catch(() => undefined);
  if (failed) onError();
}

async function importOne(input: Input, forced: LogFormat | undefined, options: ImportLogsOptions, probe?: LogFileProbe): Promise<LogFileStats> {
  const { anomalies } = options;
  const file = input.path;
  const incremental = options.resume !== undefined && probe !== undefined && file !== '-';
  let totalBytes: number | undefined;
  let refTime = Date.now() / 1000;
  if (file !== '-') {
    const st = await stat(file);
    totalBytes = st.size;
    refTime = st.mtimeMs / 1000;
  }
  /** Anomalies counted through ctx.notice: about the file, not a bad line. */
  let notices = 0;
  const ctx: LogParserContext = {
    file, anomalies, refYear: new Date(refTime * 1000).getUTCFullYear(), refTime, map: options.map, dateOrder: options.dateOrder,
    notice: (name, where) => {
      notices++;
      ctx.anomalies.add(name, where); // ctx's: a header replay's notices are dropped with its anomalies
    },
  };
  const stats: LogFileStats = { file, format: forced?.id ?? 'empty', bytes: 0, lines: 0, observations: 0, badLines: 0 };

  let nextProgress = PROGRESS_EVERY_BYTES;
  const progress = () => options.onProgress?.({ file, bytes: stats.bytes, totalBytes, lines: stats.lines });
  const onRaw = (n: number) => { stats.bytes += n; if (stats.bytes >= nextProgress) { nextProgress = stats.bytes + PROGRESS_EVERY_BYTES; progress(); } };
  // Incremental: pick the earlier cursor whose tail bytes still match, and start there.
  let startAt = 0;
  let baseLines = 0;
  let point: LogResumePoint | undefined;
  let reset: LogFileCursor['reset'];
  let resumedSource: AsyncIterable<Buffer> | undefined;
  let resumedTail: Buffer | undefined;
  if (incremental) {
    for (const c of options.resume!.candidates(probe)) {
      if (c.done) {
        stats.format = c.format ?? stats.format;
        stats.cursor = cursorOf(probe, c, undefined, c.offset, c.offset, c.lines, c.tailHash, c.tailLen, true, c.memo);
        stats.cursor.skipped = true;
        return stats;
      }
      if (c.offset === 0) continue;
      if (!probe.gzip) {
        if (c.offset > probe.size) { reset ??= 'truncated'; continue; }
        const tail = await preadTail(file, c.offset, c.tailLen);
        if (!tail || sha256Hex(tail) !== c.tailHash) { reset ??= 'tail_mismatch'; continue; }
        point = c;
        break;
      }
      // A .gz is decompressed up to the cursor to check it: only the best candidate is tried.
      const at = await gzipContentAt(file, c, onRaw, () => anomalies.add('log.gzip_error', { file }));
      if (at) { point = c; resumedSource = at.source; resumedTail = at.tail; }
      else reset ??= 'tail_mismatch';
      break;
    }
    if (point) {
      reset = undefined;
      startAt = point.offset;
      baseLines = point.lines;
      ctx.memo = point.memo;
    }
  }
  const rawStream: AsyncIterable<Buffer> = file === '-'
    ? (options.stdin ?? (process.stdin as AsyncIterable<Buffer>))
    : createReadStream(file, !probe?.gzip && startAt > 0 ? { start: startAt } : undefined);

  let parser: LogLineParser | undefined = forced ? forced.parser(ctx) : undefined;
  let format: LogFormat | undefined = forced;
  /** Lines read before the format is known: text, line number, content offset where the line starts. */
  const pending: Array<[string, number, number]> = [];
  let sniffed = 0;
  let unrecognised = false;
  /** Where the record the parser has open began (LogLineParser.open): content offset and the lines before it. */
  let openAt: { offset: number; lines: number } | undefined;

  const deliver = (lineNo: number, call: () => Observation[] | undefined) => {
    const before = anomalies.total - notices;
    let res: Observation[] | undefined;
    try {
      res = call();
    } catch {
      anomalies.add('parser.internal_error', { file, line: lineNo, detail: format?.id });
      stats.badLines++;
      return;
    }
    if (res === undefined) {
      anomalies.add('log.unparsed_line', { file, line: lineNo });
      stats.badLines++;
      return;
    }
    if (anomalies.total - notices !== before) stats.badLines++;
    for (const o of res) {
      stats.observations++;
      options.onObservation(o);
    }
  };
  const run = (text: string, lineNo: number, start: number) => {
    if (text.trim() === '') {
      if (parser!.blank) deliver(lineNo, () => parser!.blank!(lineNo));
      return;
    }
    deliver(lineNo, () => parser!.line(text, lineNo));
    if (parser!.open?.() === lineNo) openAt = { offset: start, lines: lineNo - 1 };
  };

  const decide = (): boolean => {
    format = detectFormat(pending.map(([t]) => t));
    if (!format) {
      if (input.fromDir) {
        anomalies.add('log.unrecognised_file', { file });
        unrecognised = true;
        return false;
      }
      throw new LogFormatError(`${file}: not a recognised log format (tried: ${LOG_FORMATS.filter((f) => f.id !== 'csv').map((f) => f.id).join(', ')})`);
    }
    stats.format = format.id;
    parser = format.parser(ctx);
    for (const [t, n, at] of pending) run(t, n, at);
    pending.length = 0;
    return true;
  };

  // Resuming mid-file: replay the header lines to the parser (Zeek's #fields, a CSV header), observations
  // and anomalies discarded, so the new lines are read with the columns the file declared.
  if (point) {
    const lines = headLines(probe!.head, startAt, SNIFF_LINES);
    format = forced ?? (point.format ? findFormat(point.format) : undefined) ?? detectFormat(lines);
    if (format) {
      stats.format = format.id;
      parser = format.parser(ctx);
      const real = ctx.anomalies;
      ctx.anomalies = new Anomalies();
      try {
        for (let i = 0; i < lines.length; i++) parser.line(lines[i], i + 1);
        parser.end?.(false); // a record the head left open is not this run's
      } catch {
        // A header replay that throws only means the parser starts without it.
      }
      ctx.anomalies = real;
    }
  }

  const onLine = (buf: Buffer, lineNo: number, start: number): boolean => {
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 0x0d) end--;
    let text = buf.toString('utf8', 0, end);
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    stats.lines = lineNo - baseLines;
    if (parser) { run(text, lineNo, start); return true; }
    if (text.trim() === '') {
      // Kept for a parser that ends records at blank lines; a run of them is one.
      const last = pending[pending.length - 1];
      if (last && last[0].trim() !== '') pending.push(['', lineNo, start]);
      return true;
    }
    pending.push([text, lineNo, start]);
    if (++sniffed >= SNIFF_LINES) return decide();
    return true;
  };

  const cap = LIMITS.logMaxLineBytes;
  let parts: Buffer[] = [];
  let partLen = 0;
  let skipping = false;
  let lineNo = baseLines;
  let stop = false;
  // Content offset of the chunk being split, and of the byte after the last complete line.
  let chunkPos = startAt;
  let lineEnd = startAt;
  const gzTail = incremental && probe!.gzip ? new TailKeeper(LIMITS.logCursorTailBytes) : undefined;
  if (resumedTail) gzTail?.push(resumedTail);
  const source = resumedSource ?? gunzipIfNeeded(
    rawStream,
    onRaw,
    () => anomalies.add('log.gzip_error', { file, line: lineNo + 1 }),
  );
  if (resumedSource && file !== '-' && 'destroy' in (rawStream as object)) (rawStream as unknown as { destroy(): void }).destroy();
  try {
    outer: for await (const chunk of source) {
      let start = 0;
      gzTail?.push(chunk);
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        const lineStart = lineEnd;
        lineEnd = chunkPos + start;
        lineNo++;
        if (skipping) { skipping = false; stats.lines = lineNo - baseLines; continue; }
        if (partLen + piece.length > cap) {
          anomalies.add('log.line_too_long', { file, line: lineNo });
          stats.badLines++;
          stats.lines = lineNo - baseLines;
          parts = []; partLen = 0;
          continue;
        }
        const line = parts.length ? Buffer.concat([...parts, piece]) : piece;
        parts = []; partLen = 0;
        if (!onLine(line, lineNo, lineStart)) { stop = true; break outer; }
      }
      chunkPos += chunk.length;
      if (start < chunk.length && !skipping) {
        const rest = chunk.subarray(start);
        if (partLen + rest.length > cap) {
          // Count it once, at the line it belongs to, and drop bytes until its end.
          anomalies.add('log.line_too_long', { file, line: lineNo + 1 });
          stats.badLines++;
          parts = []; partLen = 0;
          skipping = true;
        } else { parts.push(rest); partLen += rest.length; }
      }
    }
    // A plain file's unterminated last line may still be being written: an incremental import leaves it
    // for the next run. A .gz archive is complete, so its last line is read.
    const holdBack = incremental && !probe!.gzip;
    if (!stop) {
      if (skipping) { if (!holdBack) { lineNo++; stats.lines = lineNo - baseLines; lineEnd = chunkPos; } }
      else if (partLen > 0 && !holdBack) { lineNo++; onLine(Buffer.concat(parts), lineNo, lineEnd); lineEnd = chunkPos; }
      if (!parser && !unrecognised && pending.length > 0) decide();
      // A record still open at the end: the parser flushes it, or leaves it (a file still being written) for the
      // next run, which then starts at its first line.
      if (parser?.end) {
        const from = parser.open?.();
        const more = holdBack && from !== undefined && openAt?.lines === from - 1;
        let left = false;
        deliver(lineNo, () => { const r = parser!.end!(more); left = r === undefined; return r ?? []; });
        if (left) { lineEnd = openAt!.offset; lineNo = openAt!.lines; }
      }
    }
  } finally {
    if (file !== '-' && 'destroy' in (rawStream as object)) (rawStream as unknown as { destroy(): void }).destroy();
  }
  if (unrecognised) stats.format = 'unrecognised';
  else if (incremental && !stop && lineEnd > 0) {
    const tailLen = Math.min(LIMITS.logCursorTailBytes, lineEnd);
    let tail: Buffer | undefined;
    if (probe!.gzip) tail = gzTail!.bytes().subarray(gzTail!.bytes().length - tailLen);
    else tail = await preadTail(file, lineEnd, tailLen);
    // A file changed under us (truncated while read) gets no cursor: the next run reads it from the start.
    if (tail && tail.length === tailLen) {
      stats.cursor = cursorOf(probe!, point, reset, startAt, lineEnd, lineNo, sha256Hex(tail), tailLen, probe!.gzip, parser?.memo?.());
    }
  }
  progress();
  return stats;
}

function cursorOf(
  probe: LogFileProbe, resumed: LogResumePoint | undefined, reset: LogFileCursor['reset'],
  start: number, end: number, lines: number, tailHash: string, tailLen: number, complete: boolean, memo: string | undefined,
): LogFileCursor {
  return {
    dev: probe.dev, ino: probe.ino, size: probe.size, mtimeMs: probe.mtimeMs, gzip: probe.gzip,
    headHash: sha256Hex(probe.head), headLen: probe.head.length, head: probe.head,
    resumed, reset, start, end, lines, tailHash, tailLen, complete, memo,
  };
}

