// Newline-delimited JSON-RPC straight over TCP (an MCP stdio server bridged to a socket): one
// JSON value per line, LF or CRLF. Lines wholly inside a chunk are decoded from the chunk's view;
// a line that crosses chunks is copied into a growing buffer capped at LIMITS.ndjsonMaxLineBytes.
import type { ParserContext } from '../context.js';
import type { FeedStatus, MessageSink } from '../messages.js';
import type { Dir, FlowRef, StreamChunk } from '../../flows/types.js';
import { parseJsonRpcText } from './parse.js';

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
/** Lines that are not JSON, with no JSON line before them, after which the stream is taken as not NDJSON. */
const NOT_JSON_LINES_BEFORE_GIVING_UP = 3;

export class NdjsonStream {
  private buf = new Uint8Array(0);
  private have = 0;
  /** A line that was too long (or cut by a gap) is skipped up to its LF. */
  private skipping = false;
  private lineFrame = 0;
  private lineTs = 0;
  /** Until one line parsed as JSON, the stream is only presumed NDJSON (its first byte was { or [). */
  private jsonLines = 0;
  private notJsonLines = 0;
  private failed = false;

  constructor(
    private readonly flow: FlowRef,
    private readonly dir: Dir,
    private readonly sink: MessageSink,
    private readonly ctx: ParserContext,
  ) {}

  feed(chunk: StreamChunk): FeedStatus {
    if (this.failed) return 'error';
    if (chunk.gapBefore > 0) {
      // Bytes lost: the line in progress is incomplete, and so is the first line after the gap.
      // Framing comes back at the next LF.
      this.ctx.anomalies.add('ndjson.gap', { file: this.ctx.file, frame: chunk.frame, flow: String(this.flow.id) });
      this.have = 0;
      this.skipping = true;
    }
    const d = chunk.data;
    let p = 0;
    while (p < d.length) {
      const nl = d.indexOf(LF, p);
      if (this.jsonLines === 0 && hasControlByte(d, p, nl < 0 ? d.length : nl)) {
        // Raw control bytes cannot appear in JSON text: a binary stream that began with { or [.
        return this.giveUp(chunk.frame, 'control byte');
      }
      if (nl < 0) {
        this.append(d.subarray(p), chunk);
        break;
      }
      if (this.skipping) {
        this.skipping = false;
        this.have = 0;
      } else if (this.have === 0) {
        this.lineFrame = chunk.frame;
        this.lineTs = chunk.ts;
        this.line(d.subarray(p, nl));
      } else {
        this.append(d.subarray(p, nl), chunk);
        if (!this.skipping) this.line(this.buf.subarray(0, this.have));
        this.skipping = false;
        this.have = 0;
      }
      p = nl + 1;
      if (this.failed) return 'error';
    }
    return 'ok';
  }

  /** End of the direction: a last line without LF is still a line. */
  end(): void {
    if (!this.failed && !this.skipping && this.have > 0) this.line(this.buf.subarray(0, this.have));
    this.have = 0;
    this.skipping = false;
  }

  private append(part: Uint8Array, chunk: StreamChunk): void {
    if (this.skipping || part.length === 0) return;
    if (this.have === 0) {
      this.lineFrame = chunk.frame;
      this.lineTs = chunk.ts;
    }
    const need = this.have + part.length;
    const max = this.ctx.limits.ndjsonMaxLineBytes;
    if (need > max) {
      this.ctx.anomalies.add('ndjson.line_too_large', { file: this.ctx.file, frame: this.lineFrame, flow: String(this.flow.id) });
      this.skipping = true;
      this.have = 0;
      return;
    }
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.min(max, Math.max(need, this.buf.length * 2, 256)));
      grown.set(this.buf.subarray(0, this.have));
      this.buf = grown;
    }
    this.buf.set(part, this.have);
    this.have = need;
  }

  private line(bytes: Uint8Array): void {
    // Same test as append(): the CR counts towards the cap, so the result does not depend on chunking.
    if (bytes.length > this.ctx.limits.ndjsonMaxLineBytes) {
      this.ctx.anomalies.add('ndjson.line_too_large', { file: this.ctx.file, frame: this.lineFrame, flow: String(this.flow.id) });
      return;
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    if (isBlank(bytes, end)) return; // blank lines are neither JSON nor evidence against it
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
    const meta = { flow: this.flow, dir: this.dir, frame: this.lineFrame, ts: this.lineTs };
    const r = parseJsonRpcText(text, 'ndjson', meta, undefined, this.ctx);
    if (r.json) this.jsonLines++;
    else if (++this.notJsonLines >= NOT_JSON_LINES_BEFORE_GIVING_UP && this.jsonLines === 0) {
      this.giveUp(this.lineFrame, 'no JSON lines');
      return;
    }
    for (const m of r.messages) this.sink(m);
  }

  private giveUp(frame: number, why: string): FeedStatus {
    this.failed = true;
    this.have = 0;
    this.buf = new Uint8Array(0);
    this.ctx.anomalies.add('ndjson.not_json', { file: this.ctx.file, frame, flow: String(this.flow.id), detail: why });
    return 'error';
  }
}

function hasControlByte(d: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = d[i]!;
    if (c < 0x20 && c !== TAB && c !== CR && c !== LF) return true;
  }
  return false;
}

function isBlank(d: Uint8Array, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = d[i]!;
    if (c !== 0x20 && c !== TAB && c !== CR) return false;
  }
  return true;
}
