// Log import: expand inputs (files, globs, directories, stdin), gunzip by magic bytes, split lines
// with a length cap, detect each file's format from its first lines, and hand every line to that
// format's parser. Streaming and constant memory: one line (≤ LIMITS.logMaxLineBytes) at a time.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, sep as pathSep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { LIMITS } from '../../config/limits.js';
import type { Anomalies } from '../../core/anomalies.js';
import type { Observation } from '../../detect/observation.js';
import { awsVpc } from './aws-vpc.js';
import { bind } from './bind.js';
import { cloudflare } from './cloudflare.js';
import { csv } from './csv.js';
import { dnsmasq } from './dnsmasq.js';
import { filterlog } from './filterlog.js';
import { netfilter } from './netfilter.js';
import { suricata } from './suricata.js';
import type { LogFormat, LogLineParser, LogParserContext } from './types.js';
import { unbound } from './unbound.js';
import { windowsDns } from './windows-dns.js';
import { zeek } from './zeek.js';

export type { LogFormat, LogLineParser, LogParserContext } from './types.js';
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
  anomalies: Anomalies;
  onObservation: (o: Observation) => void;
  onProgress?: (p: LogProgress) => void;
  /** What `-` reads (default process.stdin); tests pass their own stream. */
  stdin?: AsyncIterable<Buffer>;
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
  const files = await expandInputs(inputs);
  const stats: LogImportStats = { files: [], lines: 0, observations: 0, badLines: 0 };
  for (const input of files) {
    const s = await importOne(input, forced, options);
    stats.files.push(s);
    stats.lines += s.lines;
    stats.observations += s.observations;
    stats.badLines += s.badLines;
  }
  return stats;
}

// ---------------------------------------------------------------- inputs

const GLOB_CHARS = /[*?[]/;

export async function expandInputs(inputs: string[]): Promise<Input[]> {
  const out: Input[] = [];
  for (const raw of inputs) {
    if (raw === '-') { out.push({ path: '-', fromDir: false }); continue; }
    if (GLOB_CHARS.test(raw)) {
      const matches = await glob(raw);
      if (matches.length === 0) throw new LogFormatError(`${raw}: no file matches`);
      for (const m of matches) {
        const st = await stat(m);
        if (st.isDirectory()) for (const f of await walk(m)) out.push({ path: f, fromDir: true });
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
    if (st.isDirectory()) for (const f of await walk(raw)) out.push({ path: f, fromDir: true });
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

async function importOne(input: Input, forced: LogFormat | undefined, options: ImportLogsOptions): Promise<LogFileStats> {
  const { anomalies } = options;
  const file = input.path;
  let totalBytes: number | undefined;
  let refTime = Date.now() / 1000;
  if (file !== '-') {
    const st = await stat(file);
    totalBytes = st.size;
    refTime = st.mtimeMs / 1000;
  }
  const ctx: LogParserContext = { file, anomalies, refYear: new Date(refTime * 1000).getUTCFullYear(), refTime, map: options.map };
  const stats: LogFileStats = { file, format: forced?.id ?? 'empty', bytes: 0, lines: 0, observations: 0, badLines: 0 };

  const rawStream: AsyncIterable<Buffer> = file === '-' ? (options.stdin ?? (process.stdin as AsyncIterable<Buffer>)) : createReadStream(file);
  let nextProgress = PROGRESS_EVERY_BYTES;
  const progress = () => options.onProgress?.({ file, bytes: stats.bytes, totalBytes, lines: stats.lines });

  let parser: LogLineParser | undefined = forced ? forced.parser(ctx) : undefined;
  let format: LogFormat | undefined = forced;
  const pending: Array<[string, number]> = [];
  let sniffed = 0;
  let unrecognised = false;

  const run = (text: string, lineNo: number) => {
    const before = anomalies.total;
    let res: Observation[] | undefined;
    try {
      res = parser!.line(text, lineNo);
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
    if (anomalies.total !== before) stats.badLines++;
    for (const o of res) {
      stats.observations++;
      options.onObservation(o);
    }
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
    for (const [t, n] of pending) run(t, n);
    pending.length = 0;
    return true;
  };

  const onLine = (buf: Buffer, lineNo: number): boolean => {
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 0x0d) end--;
    let text = buf.toString('utf8', 0, end);
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    stats.lines = lineNo;
    if (text.trim() === '') return true;
    if (parser) { run(text, lineNo); return true; }
    pending.push([text, lineNo]);
    if (++sniffed >= SNIFF_LINES) return decide();
    return true;
  };

  const cap = LIMITS.logMaxLineBytes;
  let parts: Buffer[] = [];
  let partLen = 0;
  let skipping = false;
  let lineNo = 0;
  let stop = false;
  const source = gunzipIfNeeded(
    rawStream,
    (n) => { stats.bytes += n; if (stats.bytes >= nextProgress) { nextProgress = stats.bytes + PROGRESS_EVERY_BYTES; progress(); } },
    () => anomalies.add('log.gzip_error', { file, line: lineNo + 1 }),
  );
  try {
    outer: for await (const chunk of source) {
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        lineNo++;
        if (skipping) { skipping = false; stats.lines = lineNo; continue; }
        if (partLen + piece.length > cap) {
          anomalies.add('log.line_too_long', { file, line: lineNo });
          stats.badLines++;
          stats.lines = lineNo;
          parts = []; partLen = 0;
          continue;
        }
        const line = parts.length ? Buffer.concat([...parts, piece]) : piece;
        parts = []; partLen = 0;
        if (!onLine(line, lineNo)) { stop = true; break outer; }
      }
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
    if (!stop) {
      if (skipping) { lineNo++; stats.lines = lineNo; }
      else if (partLen > 0) { lineNo++; onLine(Buffer.concat(parts), lineNo); }
      if (!parser && !unrecognised && pending.length > 0) decide();
    }
  } finally {
    if (file !== '-' && 'destroy' in (rawStream as object)) (rawStream as unknown as { destroy(): void }).destroy();
  }
  if (unrecognised) stats.format = 'unrecognised';
  progress();
  return stats;
}

