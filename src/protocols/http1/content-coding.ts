// Content-Encoding undone incrementally under a cap.
// gzip and deflate stream through fflate's synchronous inflaters (Node's zlib has no synchronous
// streaming API, and SSE events must come out as the bytes arrive). br has no synchronous streaming
// decoder, so its compressed bytes are buffered (capped) and decoded when the body ends.
import { brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { Gunzip, Inflate, Unzlib } from 'fflate';

/** Where decoded bytes go. `full` turns true once it has seen more than it keeps: decoding may stop. */
export interface ByteSink {
  write(data: Uint8Array): void;
  readonly full: boolean;
}

export interface ContentDecoder extends ByteSink {
  /** The body ended; `complete` is false when it was cut (gap, close mid-body), so a short stream is no error. */
  end(complete: boolean): void;
  /** Stop decoding (the body lost bytes: the compressed stream cannot continue). */
  abandon(): void;
}

export type DecodeProblem = 'http.decompress_error' | 'http.decompress_cap_hit' | 'http.unknown_content_encoding';

/** Compressed bytes pushed into an inflater at once: bounds one call's output (deflate expands at most ~1032x). */
const PUSH_SLICE = 1024;

/**
 * A decoder for the codings of a Content-Encoding header (in the order applied), writing to `sink`,
 * or undefined when the body is identity-coded. Unknown codings are reported and the body is passed raw.
 */
export function createContentDecoder(
  codings: string[],
  sink: ByteSink,
  maxDecodedBytes: number,
  report: (problem: DecodeProblem) => void,
): ContentDecoder | undefined {
  for (const c of codings) {
    if (!KNOWN_CODINGS.has(c)) {
      report('http.unknown_content_encoding');
      // Keep the still-encoded bytes rather than guess.
      return undefined;
    }
  }
  // codings[0] was applied first, so it is undone last: it writes into the sink.
  let next: ByteSink = sink;
  let entry: ContentDecoder | undefined;
  for (const c of codings) {
    if (c === 'identity') continue;
    const stage: ContentDecoder =
      c === 'br'
        ? new BrotliStage(next, maxDecodedBytes, report)
        : new InflateStage(c === 'deflate' ? 'deflate' : 'gzip', next, maxDecodedBytes, report);
    next = stage;
    entry = stage;
  }
  return entry;
}

const KNOWN_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

function isDecoder(s: ByteSink): s is ContentDecoder {
  return typeof (s as ContentDecoder).end === 'function';
}

/** Counts decoded output against the cap and forwards it. */
abstract class Stage implements ContentDecoder {
  protected stopped = false;
  protected decoded = 0;
  private ended = false;

  constructor(
    protected readonly next: ByteSink,
    protected readonly maxDecodedBytes: number,
    protected readonly report: (problem: DecodeProblem) => void,
  ) {}

  get full(): boolean {
    return this.stopped || this.next.full;
  }

  abstract write(data: Uint8Array): void;
  protected abstract finish(complete: boolean): void;

  end(complete: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.stopped) this.finish(complete);
    this.stopped = true;
    if (isDecoder(this.next)) this.next.end(complete);
  }

  abandon(): void {
    this.stopped = true;
    if (isDecoder(this.next)) this.next.abandon();
  }

  protected emit(out: Uint8Array): void {
    if (this.stopped || out.length === 0) return;
    const room = this.maxDecodedBytes - this.decoded;
    if (out.length > room) {
      if (room > 0) this.next.write(out.subarray(0, room));
      this.decoded = this.maxDecodedBytes;
      this.report('http.decompress_cap_hit');
      this.stopped = true;
      return;
    }
    this.decoded += out.length;
    this.next.write(out);
  }
}

type Inflater = Gunzip | Inflate | Unzlib;

class InflateStage extends Stage {
  private inflater: Inflater | undefined;
  /** deflate: the first byte, held until the second tells zlib-wrapped from raw. */
  private held = -1;

  constructor(
    private readonly kind: 'gzip' | 'deflate',
    next: ByteSink,
    maxDecodedBytes: number,
    report: (problem: DecodeProblem) => void,
  ) {
    super(next, maxDecodedBytes, report);
  }

  write(data: Uint8Array): void {
    if (this.full || data.length === 0) return;
    if (this.inflater === undefined) {
      if (this.kind === 'gzip') {
        this.inflater = this.make(new Gunzip());
      } else {
        // RFC 9110 deflate is zlib-wrapped, but some servers send raw deflate: sniff the zlib header.
        if (this.held < 0 && data.length === 1) {
          this.held = data[0]!;
          return;
        }
        const b0 = this.held >= 0 ? this.held : data[0]!;
        const b1 = this.held >= 0 ? data[0]! : data[1]!;
        const zlibWrapped = (b0 & 0x0f) === 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 === 0;
        this.inflater = this.make(zlibWrapped ? new Unzlib() : new Inflate());
        if (this.held >= 0) {
          const first = new Uint8Array([this.held]);
          this.held = -1;
          if (!this.push(first, false)) return;
        }
      }
    }
    for (let i = 0; i < data.length && !this.full; i += PUSH_SLICE) {
      // slice, not subarray: fflate keeps unconsumed input by reference, and the fed view is reused after the call.
      if (!this.push(data.slice(i, Math.min(data.length, i + PUSH_SLICE)), false)) return;
    }
  }

  protected finish(complete: boolean): void {
    if (this.inflater === undefined) {
      if (this.held >= 0 && complete) this.report('http.decompress_error');
      return;
    }
    if (this.next.full) return;
    try {
      this.inflater.push(new Uint8Array(0), true);
    } catch {
      if (complete) this.report('http.decompress_error');
    }
  }

  private make(inflater: Inflater): Inflater {
    inflater.ondata = (chunk: Uint8Array) => this.emit(chunk);
    return inflater;
  }

  private push(piece: Uint8Array, final: boolean): boolean {
    try {
      this.inflater!.push(piece, final);
      return true;
    } catch {
      this.report('http.decompress_error');
      this.stopped = true;
      return false;
    }
  }
}

class BrotliStage extends Stage {
  private parts: Uint8Array[] = [];
  private buffered = 0;

  write(data: Uint8Array): void {
    if (this.full || data.length === 0) return;
    // Compressed bytes kept are bounded by the same cap as decoded ones.
    const room = this.maxDecodedBytes - this.buffered;
    if (data.length > room) {
      if (room > 0) this.parts.push(data.slice(0, room));
      this.buffered += Math.max(0, room);
      this.report('http.decompress_cap_hit');
      this.finish(false);
      this.stopped = true;
      return;
    }
    this.parts.push(data.slice());
    this.buffered += data.length;
  }

  protected finish(complete: boolean): void {
    if (this.parts.length === 0) return;
    const input = concat(this.parts, this.buffered);
    this.parts = [];
    this.buffered = 0;
    const out = brotliPrefix(input, this.maxDecodedBytes - this.decoded, complete);
    if (out === 'error') {
      this.report('http.decompress_error');
      return;
    }
    if (out.capped) this.report('http.decompress_cap_hit');
    this.emit(out.data);
  }
}

/** Decode as much of `input` as fits in `cap` output bytes. Truncated input decodes to its prefix. */
function brotliPrefix(
  input: Uint8Array,
  cap: number,
  complete: boolean,
): { data: Uint8Array; capped: boolean } | 'error' {
  const opts = {
    maxOutputLength: Math.max(1, Math.min(cap, 2 ** 31 - 1)),
    finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH,
  };
  try {
    return { data: brotliDecompressSync(input, opts), capped: false };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') {
      if (!complete) return { data: new Uint8Array(0), capped: false };
      return 'error';
    }
  }
  // Too large: find the longest input prefix whose output fits (a zip bomb costs log2(n) bounded decodes).
  let lo = 0;
  let hi = input.length;
  let best: Uint8Array = new Uint8Array(0);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    try {
      best = brotliDecompressSync(input.subarray(0, mid), opts);
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return { data: best, capped: true };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
