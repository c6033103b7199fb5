// Linux cooked capture v1 (LINKTYPE_LINUX_SLL = 113), 16 bytes: packet type (2), ARPHRD type (2),
// link-layer address length (2), address (8, padded), protocol (2: an ethertype for most devices).
import { type Cursor, type LayerContext, headerCut, u16be } from '../bytes.js';

export const SLL_HEADER_LEN = 16;

/** ARPHRD_NETLINK: the "protocol" field is a netlink family, not an ethertype. */
export const ARPHRD_NETLINK = 824;

export function decodeSll(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  if (c.end - c.off < SLL_HEADER_LEN) return headerCut(ctx, 'sll.too_short');
  const arphrd = u16be(b, c.off + 2);
  // Non-ethertype protocol values (1 = 802.3 Novell, 4 = 802.2 LLC, netlink families) map to 0: not IP.
  c.next = arphrd === ARPHRD_NETLINK ? 0 : u16be(b, c.off + 14);
  c.off += SLL_HEADER_LEN;
  return true;
}
