// In-place reads over frame bytes, and the one cursor the layer decoders share.
// Callers check the length once per header, then read freely: these do no bounds checks.
import type { Anomalies } from '../core/anomalies.js';
import type { DecodedPacket } from './packet.js';

export function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

export function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

export function u16le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}

export function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/**
 * Where the next layer starts and ends in the frame, and what it is (an ethertype after a link
 * header, an IP protocol number after an IP header). One object per run, reused for every frame.
 */
export interface Cursor {
  off: number;
  /** End of the bytes that belong to this packet: frame end, clamped by IP/UDP length fields. */
  end: number;
  next: number;
}

/** What every layer decoder is given besides the bytes. */
export interface LayerContext {
  out: DecodedPacket;
  anomalies: Anomalies;
  file: string;
}

/** Count a named anomaly at the current frame. Only called on bad input, so the location object is fine. */
export function flag(ctx: LayerContext, name: string): void {
  ctx.anomalies.add(name, { file: ctx.file, frame: ctx.out.frame });
}

/**
 * A header does not fit in the bytes present. When the frame was cut by snaplen that is normal
 * (already counted once as `frame.truncated`); otherwise the frame itself is too short: count `name`.
 */
export function headerCut(ctx: LayerContext, name: string): false {
  if (!ctx.out.truncated) {
    ctx.out.truncated = true;
    flag(ctx, name);
  }
  return false;
}
