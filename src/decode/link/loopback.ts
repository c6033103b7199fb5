// BSD loopback: a 4-byte address family before the IP header. LINKTYPE_NULL (0) stores it in the
// capturing host's byte order, LINKTYPE_LOOP (108) in network order, but writers get both wrong,
// so the order is sniffed: families are small, so the non-zero half tells which end is low.
// AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS/Darwin).
import { type Cursor, type LayerContext, flag, headerCut, u32be, u32le } from '../bytes.js';

export const LOOPBACK_HEADER_LEN = 4;

/** Sets c.next to 0x0800 / 0x86dd (the equivalent ethertype), so the Ethernet dispatch can be reused. */
export function decodeLoopback(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  if (c.end - c.off < LOOPBACK_HEADER_LEN) return headerCut(ctx, 'loopback.too_short');
  const be = u32be(b, c.off);
  const family = be <= 0xffff ? be : u32le(b, c.off);
  c.off += LOOPBACK_HEADER_LEN;
  if (family === 2) c.next = 0x0800;
  else if (family === 24 || family === 28 || family === 30) c.next = 0x86dd;
  else {
    flag(ctx, 'loopback.unknown_family');
    return false;
  }
  return true;
}
