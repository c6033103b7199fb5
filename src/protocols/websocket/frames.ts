// WebSocket frame parser (RFC 6455 §5.2), incremental over any split of the bytes.
// Payload is handed on as ranges of the fed view (still masked); one header object is reused.

export const WS_OP_CONTINUATION = 0x0;
export const WS_OP_TEXT = 0x1;
export const WS_OP_BINARY = 0x2;
export const WS_OP_CLOSE = 0x8;
export const WS_OP_PING = 0x9;
export const WS_OP_PONG = 0xa;

export interface WsFrameHeader {
  fin: boolean;
  /** RSV1: "compressed" for the first frame of a permessage-deflate message. */
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  /** Masking key (valid when masked). */
  readonly mask: Uint8Array;
  length: number;
  /** Frame and time of the chunk that carried the header's first byte. */
  frame: number;
  ts: number;
}

export type WsFrameError = 'reserved_bits' | 'reserved_opcode' | 'bad_control_frame' | 'bad_length' | 'bad_sequence';

export interface WsFrameHandler {
  /** A frame header is complete. Return false to reject the frame (bad fragmentation sequence). */
  frameStart(h: WsFrameHeader): boolean;
  /** Payload bytes data[start..end), still masked; `offset` is their position in the frame payload (for the mask). */
  framePayload(h: WsFrameHeader, data: Uint8Array, start: number, end: number, offset: number): void;
  frameEnd(h: WsFrameHeader): void;
}

const enum S {
  Header,
  Payload,
  Bad,
}

export class WsFrameParser {
  private state = S.Header;
  private readonly hdr = new Uint8Array(14);
  private hdrLen = 0;
  private readonly h: WsFrameHeader = {
    fin: false,
    rsv1: false,
    opcode: 0,
    masked: false,
    mask: new Uint8Array(4),
    length: 0,
    frame: 0,
    ts: 0,
  };
  private payloadDone = 0;
  error: WsFrameError | undefined;

  constructor(private readonly handler: WsFrameHandler) {}

  /** Returns false once the stream is malformed (see `error`); later calls do nothing. */
  feed(data: Uint8Array, frame: number, ts: number): boolean {
    let i = 0;
    const n = data.length;
    while (i < n) {
      if (this.state === S.Bad) return false;
      if (this.state === S.Header) {
        if (this.hdrLen === 0) {
          this.h.frame = frame;
          this.h.ts = ts;
        }
        const need = this.headerSize();
        const take = Math.min(need - this.hdrLen, n - i);
        this.hdr.set(data.subarray(i, i + take), this.hdrLen);
        this.hdrLen += take;
        i += take;
        // The size is known only once the first two bytes are in: re-check.
        if (this.hdrLen < this.headerSize()) continue;
        if (!this.parseHeader()) return false;
        continue;
      }
      // Payload
      const take = Math.min(this.h.length - this.payloadDone, n - i);
      this.handler.framePayload(this.h, data, i, i + take, this.payloadDone);
      this.payloadDone += take;
      i += take;
      if (this.payloadDone === this.h.length) this.endFrame();
    }
    return this.state !== S.Bad;
  }

  /** Header bytes needed, given what is in so far (2 until the length byte is known). */
  private headerSize(): number {
    if (this.hdrLen < 2) return 2;
    const b1 = this.hdr[1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  private parseHeader(): boolean {
    const b0 = this.hdr[0]!;
    const b1 = this.hdr[1]!;
    const h = this.h;
    h.fin = (b0 & 0x80) !== 0;
    h.rsv1 = (b0 & 0x40) !== 0;
    h.opcode = b0 & 0x0f;
    h.masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    let p = 2;
    if (len7 === 126) {
      h.length = (this.hdr[2]! << 8) | this.hdr[3]!;
      p = 4;
    } else if (len7 === 127) {
      const hi = ((this.hdr[2]! << 24) | (this.hdr[3]! << 16) | (this.hdr[4]! << 8) | this.hdr[5]!) >>> 0;
      const lo = ((this.hdr[6]! << 24) | (this.hdr[7]! << 16) | (this.hdr[8]! << 8) | this.hdr[9]!) >>> 0;
      // The most significant bit must be 0; beyond 2^53 a double cannot count it.
      if (hi >= 0x200000) return this.fail('bad_length');
      h.length = hi * 2 ** 32 + lo;
      p = 10;
    } else {
      h.length = len7;
    }
    if (h.masked) h.mask.set(this.hdr.subarray(p, p + 4));
    if ((b0 & 0x30) !== 0) return this.fail('reserved_bits');
    const op = h.opcode;
    if ((op >= 3 && op <= 7) || op >= 0xb) return this.fail('reserved_opcode');
    if (op >= 8) {
      if (!h.fin || h.length > 125 || h.rsv1) return this.fail('bad_control_frame');
    } else if (op === WS_OP_CONTINUATION && h.rsv1) {
      return this.fail('reserved_bits');
    }
    if (!this.handler.frameStart(h)) return this.fail('bad_sequence');
    this.state = S.Payload;
    this.payloadDone = 0;
    if (h.length === 0) this.endFrame();
    return true;
  }

  private endFrame(): void {
    this.handler.frameEnd(this.h);
    this.state = S.Header;
    this.hdrLen = 0;
  }

  private fail(why: WsFrameError): boolean {
    this.state = S.Bad;
    this.error = why;
    return false;
  }
}

/** Copy data[start..end) into out at outPos, undoing the mask; `offset` is the position in the payload. */
export function unmaskInto(
  out: Uint8Array,
  outPos: number,
  data: Uint8Array,
  start: number,
  end: number,
  mask: Uint8Array | undefined,
  offset: number,
): void {
  if (mask === undefined) {
    out.set(data.subarray(start, end), outPos);
    return;
  }
  for (let i = start, k = offset; i < end; i++, k++) out[outPos++] = data[i]! ^ mask[k & 3]!;
}
