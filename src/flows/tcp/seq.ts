// TCP sequence arithmetic modulo 2^32 (RFC 793 / RFC 1982 serial numbers).
// Sequence numbers are plain uint32 numbers; comparisons go through the signed 32-bit difference,
// so they stay right across the wrap from 0xffffffff to 0.

/** `a - b` as a signed 32-bit distance: > 0 when `a` is after `b`. Valid while |distance| < 2^31. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a + n` wrapped to uint32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/**
 * Largest distance ahead of the next expected byte that a segment may start at. A TCP window is at most
 * 2^30 bytes (window 65535 << scale 14), so anything further is not part of this stream.
 */
export const MAX_SEQ_AHEAD = 1 << 30;
