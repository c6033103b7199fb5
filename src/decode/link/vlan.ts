// 802.1Q (0x8100), 802.1ad QinQ (0x88a8) and the pre-standard 0x9100 tags: 4 bytes each,
// TCI (PCP, DEI, 12-bit VLAN id) then the inner ethertype. Stacked tags are walked up to LIMITS.maxLayers.
import { LIMITS } from '../../config/limits.js';
import { type Cursor, type LayerContext, flag, headerCut, u16be } from '../bytes.js';

export const VLAN_TAG_LEN = 4;

export function isVlanEtherType(t: number): boolean {
  return t === 0x8100 || t === 0x88a8 || t === 0x9100;
}

/** Walk VLAN tags at c.off while c.next is a VLAN ethertype; leaves c.next = the inner ethertype. */
export function decodeVlanTags(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  const vlan = ctx.out.vlan;
  while (isVlanEtherType(c.next)) {
    if (vlan.length >= LIMITS.maxLayers) {
      flag(ctx, 'decode.too_many_layers');
      return false;
    }
    if (c.end - c.off < VLAN_TAG_LEN) return headerCut(ctx, 'vlan.too_short');
    vlan.push(u16be(b, c.off) & 0x0fff);
    c.next = u16be(b, c.off + 2);
    c.off += VLAN_TAG_LEN;
  }
  return true;
}
