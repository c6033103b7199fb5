// WebSocket messages from frames: masking undone, fragments reassembled (capped), control frames skipped,
// permessage-deflate (RFC 7692) inflated with one raw-inflate context per direction (context takeover).
import { Inflate } from 'fflate';
import {
  WS_OP_BINARY,
  WS_OP_CONTINUATION,
  WS_OP_TEXT,
  type WsFrameHandler,
  type WsFrameHeader,
  unmaskInto,
} from './frames.js';

export type WsProblem =
  | 'ws.message_too_large'
  | 'ws.binary_message'
  | 'ws.compressed_not_negotiated'
  | 'ws.inflate_error';

export interface WsMessageEvents {
  /** A complete text message; frame/ts of the chunk that carried its first frame's first byte. */
  text(text: string, frame: number, ts: number): void;
  problem(name: WsProblem, frame: number): void;
}

/** Appended to each compressed message before inflating (RFC 7692 §7.2.2). */
const DEFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export class WsMessageAssembler implements WsFrameHandler {
  private inMessage = false;
  private opcode = 0;
  private compressed = false;
  private frame = 0;
  private ts = 0;
  private buf = new Uint8Array(1024);
  private len = 0;
  private tooLarge = false;
  private inflateFailed = false;
  private inflater: Inflate | undefined;

  /**
   * @param deflate permessage-deflate was negotiated in the 101 response
   */
  constructor(
    private readonly events: WsMessageEvents,
    private readonly maxMessageBytes: number,
    private readonly deflate: boolean,
  ) {}

  frameStart(h: WsFrameHeader): boolean {
    if (h.opcode >= 8) return true;
    if (h.opcode === WS_OP_CONTINUATION) return this.inMessage;
    if (this.inMessage) return false;
    this.inMessage = true;
    this.opcode = h.opcode;
    this.compressed = h.rsv1;
    this.frame = h.frame;
    this.ts = h.ts;
    this.len = 0;
    this.tooLarge = false;
    this.inflateFailed = false;
    return true;
  }

  framePayload(h: WsFrameHeader, data: Uint8Array, start: number, end: number, offset: number): void {
    if (h.opcode >= 8 || end <= start) return;
    const mask = h.masked ? h.mask : undefined;
    if (this.compressed) {
      if (!this.deflate || this.inflateFailed) return;
      // Every compressed byte goes through the inflater, even past the cap: later messages share its window.
      // A fresh copy: fflate keeps unconsumed input by reference.
      const piece = new Uint8Array(end - start);
      unmaskInto(piece, 0, data, start, end, mask, offset);
      this.inflate(piece);
      return;
    }
    if (this.opcode !== WS_OP_TEXT || this.tooLarge) return;
    const n = end - start;
    if (!this.reserve(n)) return;
    unmaskInto(this.buf, this.len, data, start, end, mask, offset);
    this.len += n;
  }

  frameEnd(h: WsFrameHeader): void {
    if (h.opcode >= 8 || !h.fin) return;
    this.inMessage = false;
    if (this.compressed) {
      if (!this.deflate) {
        this.events.problem('ws.compressed_not_negotiated', this.frame);
        return;
      }
      if (!this.inflateFailed) this.inflate(DEFLATE_TAIL.slice());
      if (this.inflateFailed) {
        this.events.problem('ws.inflate_error', this.frame);
        return;
      }
    }
    if (this.opcode === WS_OP_BINARY) {
      this.events.problem('ws.binary_message', this.frame);
      return;
    }
    if (this.tooLarge) {
      this.events.problem('ws.message_too_large', this.frame);
      return;
    }
    const text = utf8.decode(this.buf.subarray(0, this.len));
    this.len = 0;
    if (this.buf.length > 64 * 1024) this.buf = new Uint8Array(1024);
    this.events.text(text, this.frame, this.ts);
  }

  private inflate(piece: Uint8Array): void {
    if (this.inflater === undefined) {
      const inf = new Inflate();
      inf.ondata = (out: Uint8Array) => this.inflated(out);
      this.inflater = inf;
    }
    try {
      this.inflater.push(piece, false);
    } catch {
      // The shared window is lost: start a fresh context for the next message.
      this.inflateFailed = true;
      this.inflater = undefined;
    }
  }

  private inflated(out: Uint8Array): void {
    if (this.opcode !== WS_OP_TEXT || this.tooLarge) return;
    if (!this.reserve(out.length)) return;
    this.buf.set(out, this.len);
    this.len += out.length;
  }

  /** Make room for n more bytes; false (and tooLarge) when that passes the cap. */
  private reserve(n: number): boolean {
    if (this.len + n > this.maxMessageBytes) {
      this.tooLarge = true;
      return false;
    }
    if (this.len + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + n) cap *= 2;
      const next = new Uint8Array(Math.min(cap, this.maxMessageBytes));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    return true;
  }
}
