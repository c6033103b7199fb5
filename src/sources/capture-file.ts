// Opening a capture: file path, stdin (`-`), or any stream; gzip is undone transparently; the format
// is sniffed from the first bytes, never taken from the file name. Frames are parsed straight out of
// the read chunks (1–2 MiB), and only a record that spans two chunks is copied, so memory stays flat
// whatever the file size. The one exception thrown is CaptureFormatError (the CLI's exit code 2).
// A regular uncompressed file is read into a few reused buffers (the async stream, a new buffer per chunk, spent a
// quarter of `decode`'s time waiting on the libuv thread pool). Stdin, pipes and gzip keep the stream path.
import { closeSync, createReadStream, fstatSync, openSync, read, readSync } from 'node:fs';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Anomalies } from '../core/anomalies.js';
import { PcapParser, pcapMagic } from './pcap.js';
import { PcapngParser } from './pcapng.js';
import type { CaptureFormat, CaptureSource, CaptureStats, Pace, RawFrame } from './types.js';

/** The input is not a capture we can read (unknown magic, empty, unreadable). One line, no stack needed. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

/** Read size of a regular file (see READS_AHEAD). */
export const READ_CHUNK_BYTES = 2 * 1024 * 1024;
/** Chunk size of the stream path (stdin, pipes, gzip): a new buffer per chunk, so kept at 1 MiB. */
const STREAM_CHUNK_BYTES = 1024 * 1024;

export interface RecordParser {
  /** Bytes needed at b[off] before step() can run (>= 1). May look at the `avail` bytes present. */
  need(b: Uint8Array, off: number, avail: number): number;
  /**
   * Parse one unit (a record, a block, a header, or a resync probe) at b[off], with avail >= need().
   * Returns bytes consumed; 0 only together with a state change (so the next need() differs).
   */
  step(b: Uint8Array, off: number, avail: number): number;
  /**
   * Optional fast path: parse as many whole units from b[off, end) as need no special handling, in one call;
   * returns bytes consumed (0 when the next unit needs need()/step()).
   */
  records?(b: Uint8Array, off: number, end: number): number;
  /** End of input, with `avail` bytes (fewer than need()) left unparsed at b[off]. */
  finish(b: Uint8Array, off: number, avail: number): void;
  /** Frames delivered so far. */
  readonly frames: number;
}

const EMPTY = new Uint8Array(0);

/** Feeds chunks to a RecordParser, keeping only the one record that spans chunks. Memory: max need(). */
export class ChunkDriver {
  private carry: Uint8Array = EMPTY;
  private cs = 0; // carry[cs, ce) holds unparsed bytes
  private ce = 0;
  bytes = 0;

  constructor(private readonly parser: RecordParser) {}

  feed(input: Uint8Array): void {
    // A plain Uint8Array view, not a Buffer: downstream `.slice()` must copy (Buffer#slice is a view, and a kept
    // view would pin the whole read chunk for as long as a flow lives).
    const chunk = Buffer.isBuffer(input) ? new Uint8Array(input.buffer, input.byteOffset, input.length) : input;
    const p = this.parser;
    const n = chunk.length;
    this.bytes += n;
    let pos = 0;
    // Where this chunk's bytes begin inside the carry, once some were appended (-1: none yet).
    let chunkAt = -1;
    let chunkFrom = 0;
    while (this.ce > this.cs) {
      const avail = this.ce - this.cs;
      const need = p.need(this.carry, this.cs, avail);
      if (avail < need) {
        if (pos === n) return; // everything is in the carry now; wait for the next chunk
        const take = Math.min(need - avail, n - pos);
        if (this.cs + need > this.carry.length) chunkAt = this.compact(need, chunkAt);
        if (chunkAt < 0) {
          chunkAt = this.ce;
          chunkFrom = pos;
        }
        this.carry.set(chunk.subarray(pos, pos + take), this.ce);
        this.ce += take;
        pos += take;
        continue;
      }
      this.cs += p.step(this.carry, this.cs, avail);
      if (chunkAt >= 0 && this.cs >= chunkAt) {
        // What is left in the carry is also still in the chunk: continue there, without copying.
        pos = chunkFrom + (this.cs - chunkAt);
        this.cs = this.ce = 0;
      }
    }
    this.cs = this.ce = 0;
    while (pos < n) {
      if (p.records !== undefined) {
        pos += p.records(chunk, pos, n);
        if (pos === n) break;
      }
      const avail = n - pos;
      if (avail < p.need(chunk, pos, avail)) {
        this.compact(avail, -1);
        this.carry.set(chunk.subarray(pos, n), 0);
        this.ce = avail;
        return;
      }
      pos += p.step(chunk, pos, avail);
    }
  }

  end(): void {
    this.parser.finish(this.carry, this.cs, this.ce - this.cs);
    this.cs = this.ce = 0;
  }

  /** Move unparsed carry bytes to the front and make room for `need` bytes; returns the moved chunkAt. */
  private compact(need: number, chunkAt: number): number {
    const len = this.ce - this.cs;
    if (need > this.carry.length) {
      let size = Math.max(64 * 1024, this.carry.length);
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.carry.subarray(this.cs, this.ce), 0);
      this.carry = next;
    } else if (this.cs > 0) {
      this.carry.copyWithin(0, this.cs, this.ce);
    }
    const moved = chunkAt < 0 ? -1 : chunkAt - this.cs;
    this.cs = 0;
    this.ce = len;
    return moved;
  }
}

const PCAPNG_MAGIC = [0x0a, 0x0d, 0x0d, 0x0a];

// Memory on long runs. Per-flow parser state outlives a scavenge or two, so V8 keeps doubling the young generation
// up to 3 × 16 MiB, and old-space garbage then grows with it: peak RSS of `decode` was 1.5× higher on a 1 GB capture
// than on a 100 MB one. The young generation's maximum can only be set when node starts, but its growth factor is
// read at every growth: once it has reached YOUNG_GEN_CAP_BYTES, growth stops (factor 1) and old space grows by 50%
// per full GC instead of up to 4×. Measured on the 1 GB bench capture: same speed, peak RSS 125 → ~87 MB.
const YOUNG_GEN_CAP_BYTES = 4 * 1024 * 1024;
let youngGenCapped = false;

/** Input read between two looks at the young generation: a look costs ~25 µs (V8 reports every heap space). */
const YOUNG_GEN_CHECK_BYTES = 8 * 1024 * 1024;
let bytesSinceCheck = YOUNG_GEN_CHECK_BYTES; // the first read looks

/** Called after each read: stop the young generation's growth once it reached the cap (process-wide, once). */
export function capYoungGeneration(bytesRead: number): void {
  if (youngGenCapped) return;
  bytesSinceCheck += bytesRead;
  if (bytesSinceCheck < YOUNG_GEN_CHECK_BYTES) return;
  bytesSinceCheck = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space') continue;
    if (space.space_size >= YOUNG_GEN_CAP_BYTES) {
      youngGenCapped = true;
      setFlagsFromString('--semi-space-growth-factor=1');
      setFlagsFromString('--heap-growing-percent=50');
    }
    return;
  }
  youngGenCapped = true; // no such space in this V8: nothing to tune
}

/** Which format the first bytes announce, or null. */
export function sniffCaptureFormat(head: Uint8Array): CaptureFormat | null {
  if (pcapMagic(head)) return 'pcap';
  if (head.length >= 4 && PCAPNG_MAGIC.every((v, i) => head[i] === v)) return 'pcapng';
  return null;
}

/** gzip's magic (RFC 1952): the input is decompressed first, whatever its name. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function hex(head: Uint8Array): string {
  return Buffer.from(head.subarray(0, 4)).toString('hex');
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e !== 'object') return String(err);
  return e.code && !String(e.message).startsWith(e.code) ? `${e.code}: ${e.message}` : String(e.message);
}

/** Pull chunks until at least `want` bytes (or the end); returns them and the iterator, nothing lost. */
async function peek(
  it: AsyncIterator<Uint8Array>,
  want: number,
): Promise<{ head: Uint8Array[]; bytes: Uint8Array; done: boolean }> {
  const head: Uint8Array[] = [];
  let total = 0;
  let done = false;
  while (total < want) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    if (chunk.length === 0) continue;
    head.push(chunk);
    total += chunk.length;
  }
  const bytes = head.length === 1 ? head[0] : Buffer.concat(head);
  return { head, bytes: bytes ?? new Uint8Array(0), done };
}

async function* replay(head: Uint8Array[], it: AsyncIterator<Uint8Array>, done: boolean): AsyncGenerator<Uint8Array> {
  for (const c of head) yield c;
  if (done) return;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }
}

/**
 * A capture from any readable stream. Sniffs gzip and the capture magic now (throws
 * CaptureFormatError), and delivers frames when run() is called.
 */
export async function openCaptureStream(stream: NodeJS.ReadableStream, name: string, anomalies: Anomalies): Promise<CaptureSource> {
  let it = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  let first: Awaited<ReturnType<typeof peek>>;
  try {
    first = await peek(it, 4);
  } catch (err) {
    throw new CaptureFormatError(`${name}: cannot read (${errorText(err)})`);
  }
  let gzip = false;
  if (isGzip(first.bytes)) {
    gzip = true;
    const gunzip = createGunzip();
    // Errors reach us through the gunzip iterator; the callback only keeps them from going unhandled.
    pipeline(Readable.from(replay(first.head, it, first.done)), gunzip, () => {});
    it = gunzip[Symbol.asyncIterator]();
    try {
      first = await peek(it, 4);
    } catch (err) {
      throw new CaptureFormatError(`${name}: gzip data is corrupt (${errorText(err)})`);
    }
  }
  if (first.bytes.length === 0) {
    throw new CaptureFormatError(`${name}: not a pcap or pcapng file (${gzip ? 'empty after gunzip' : 'empty'})`);
  }
  const format = sniffCaptureFormat(first.bytes);
  if (!format) {
    throw new CaptureFormatError(
      `${name}: not a pcap or pcapng file (${gzip ? 'gzip data ' : ''}starts with ${hex(first.bytes)})`,
    );
  }
  const { head, done } = first;
  const source = it;
  let used = false;
  return {
    format,
    name,
    async run(onFrame: (frame: RawFrame) => void, pace?: Pace): Promise<CaptureStats> {
      if (used) throw new Error('CaptureSource.run() may be called once');
      used = true;
      const parser = format === 'pcap' ? new PcapParser(onFrame, anomalies, name) : new PcapngParser(onFrame, anomalies, name);
      const driver = new ChunkDriver(parser);
      try {
        for await (const chunk of replay(head, source, done)) {
          driver.feed(chunk);
          capYoungGeneration(chunk.length);
          await pace?.();
        }
      } catch (err) {
        // A read or gunzip failure mid-file: keep what was read, say why the rest is missing.
        anomalies.add(gzip ? 'capture.gzip_error' : 'capture.read_error', { file: name, frame: parser.frames + 1, detail: errorText(err) });
      }
      driver.end();
      return { frames: parser.frames, bytes: driver.bytes };
    },
  };
}

/** Read until `buf` is full or the file ends; returns the bytes read. */
function readFull(fd: number, buf: Uint8Array): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Reads in flight while a chunk is parsed: the next chunk is read on the libuv thread pool, i.e. on another core.
 * Measured on the 1 GB bench capture against one synchronous 1 MiB read at a time: `decode` 2–3% faster. Not more:
 * handing a read to a pool thread costs the main thread ~90 µs on this VM (waking the thread), about what copying
 * 1 MiB did, and the parser then reads bytes another core wrote. So the chunks are 2 MiB (half the hand-overs;
 * `decode --kind none` 2–4% faster than 1 MiB with two reads ahead); larger ones raised peak RSS on the 1 GB file
 * (4 MiB: 1.26× the 100 MB slice's, 2 MiB: 1.16×).
 */
export const READS_AHEAD = 1;

/** readFull at file offset `at`, on the libuv thread pool. */
function readFullAt(fd: number, buf: Uint8Array, at: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const more = (err: Error | null, n: number): void => {
      if (err) return reject(err);
      got += n;
      if (n === 0 || got === buf.length) return resolve(got);
      read(fd, buf, got, buf.length - got, at + got, more);
    };
    read(fd, buf, 0, buf.length, at, more);
  });
}

/**
 * A regular, uncompressed capture file read into a ring of reused buffers. Frame views point into them and are
 * overwritten by a later read: the RawFrame contract (valid only during the callback) allows it.
 * Returns null when the file is not a regular file or is gzip, so the caller takes the stream path instead.
 */
function openCaptureFileSync(path: string, anomalies: Anomalies, readBytes: number): CaptureSource | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new CaptureFormatError(`${path}: cannot read (${errorText(err)})`);
  }
  let buf: Uint8Array;
  let first: number;
  try {
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      return null;
    }
    buf = new Uint8Array(Math.max(readBytes, 16)); // the first read must hold the magic
    first = readFull(fd, buf);
  } catch (err) {
    closeSync(fd);
    throw new CaptureFormatError(`${path}: cannot read (${errorText(err)})`);
  }
  const head = buf.subarray(0, first);
  if (isGzip(head)) {
    closeSync(fd);
    return null;
  }
  if (first === 0) {
    closeSync(fd);
    throw new CaptureFormatError(`${path}: not a pcap or pcapng file (empty)`);
  }
  const format = sniffCaptureFormat(head);
  if (!format) {
    closeSync(fd);
    throw new CaptureFormatError(`${path}: not a pcap or pcapng file (starts with ${hex(head)})`);
  }
  let used = false;
  return {
    format,
    name: path,
    async run(onFrame: (frame: RawFrame) => void, pace?: Pace): Promise<CaptureStats> {
      if (used) throw new Error('CaptureSource.run() may be called once');
      used = true;
      const parser = format === 'pcap' ? new PcapParser(onFrame, anomalies, path) : new PcapngParser(onFrame, anomalies, path);
      const driver = new ChunkDriver(parser);
      // Chunk i is parsed while chunks i+1 … i+READS_AHEAD are read. Awaiting each read also yields to the event
      // loop once per chunk, which lets output queued for a pipe drain (`decode big.pcap | cat` held 260 MB of
      // pending output with one yield per 64 MiB, 90 MB with one per chunk).
      const ring = [buf, ...Array.from({ length: READS_AHEAD }, () => new Uint8Array(buf.length))];
      const pending: (Promise<number> | null)[] = ring.map(() => null);
      let at = first;
      const readAhead = (i: number): void => {
        const p = readFullAt(fd, ring[i]!, at);
        p.catch(() => undefined); // a failed read is reported when its turn comes, not as an unhandled rejection
        pending[i] = p;
        at += buf.length;
      };
      let cur = 0;
      let n = first;
      try {
        // A short read is the end of the file (readFull stops short only there); reads beyond it come back empty.
        for (let i = 1; i < ring.length && n === buf.length; i++) readAhead(i);
        for (;;) {
          driver.feed(n === buf.length ? ring[cur]! : ring[cur]!.subarray(0, n));
          capYoungGeneration(n);
          if (n < buf.length) break; // a file still growing: what came after this read is for another run
          readAhead(cur); // parsed: the driver copied what it keeps (a record cut at the chunk's end)
          cur = (cur + 1) % ring.length;
          await pace?.();
          n = await pending[cur]!;
          pending[cur] = null;
        }
      } catch (err) {
        anomalies.add('capture.read_error', { file: path, frame: parser.frames + 1, detail: errorText(err) });
      } finally {
        await Promise.all(pending.map((p) => p?.catch(() => 0))); // no read may land after the close
        closeSync(fd);
      }
      driver.end();
      return { frames: parser.frames, bytes: driver.bytes };
    },
  };
}

/**
 * A capture file by path (`-` = stdin), gzip or not, pcap or pcapng. `readBytes` sets the read size of the
 * synchronous file path (tests use small reads to cross record boundaries).
 */
export async function openCapture(path: string, anomalies: Anomalies, readBytes = READ_CHUNK_BYTES): Promise<CaptureSource> {
  if (path !== '-') {
    const source = openCaptureFileSync(path, anomalies, readBytes);
    if (source) return source;
  }
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: STREAM_CHUNK_BYTES });
  return openCaptureStream(stream, path, anomalies);
}
