// Ethernet II: destination MAC (6), source MAC (6), ethertype (2). Values <= 1500 are an
// 802.3 length (LLC/SNAP frames: spanning tree, CDP ...), which carry no IP for us.
import { type Cursor, type LayerContext, headerCut, u16be } from '../bytes.js';

export const ETHERNET_HEADER_LEN = 14;

export function decodeEthernet(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  if (c.end - c.off < ETHERNET_HEADER_LEN) return headerCut(ctx, 'eth.too_short');
  c.next = u16be(b, c.off + 12);
  c.off += ETHERNET_HEADER_LEN;
  return true;
}
