// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 = 276), 20 bytes: protocol (2), reserved (2),
// interface index (4), ARPHRD type (2), packet type (1), address length (1), address (8, padded).
import { type Cursor, type LayerContext, headerCut, u16be } from '../bytes.js';
import { ARPHRD_NETLINK } from './sll.js';

export const SLL2_HEADER_LEN = 20;

export function decodeSll2(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  if (c.end - c.off < SLL2_HEADER_LEN) return headerCut(ctx, 'sll2.too_short');
  const arphrd = u16be(b, c.off + 8);
  c.next = arphrd === ARPHRD_NETLINK ? 0 : u16be(b, c.off);
  c.off += SLL2_HEADER_LEN;
  return true;
}
