// UDP (RFC 768): ports, length (header + data), checksum.
import { type Cursor, type LayerContext, flag, headerCut, u16be } from '../bytes.js';
import { L4 } from '../packet.js';

export const UDP_HEADER_LEN = 8;

export function decodeUdp(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  const out = ctx.out;
  const off = c.off;
  const avail = c.end - off;
  if (avail < UDP_HEADER_LEN) return headerCut(ctx, 'udp.too_short');
  const len = u16be(b, off + 4);
  let end = c.end;
  if (len === 0) {
    // Length 0 is only legal in an IPv6 jumbogram (RFC 2675); also seen in GSO captures. Use the bytes present.
    flag(ctx, 'udp.zero_length');
  } else if (len < UDP_HEADER_LEN) {
    flag(ctx, 'udp.length_too_small');
    return false;
  } else if (len <= avail) {
    end = off + len;
  } else if (!out.truncated && !out.fragment) {
    // A first fragment legitimately holds less than the datagram; otherwise the length lies.
    out.truncated = true;
    flag(ctx, 'udp.length_exceeds_packet');
  }
  out.l4 = L4.Udp;
  out.srcPort = u16be(b, off);
  out.dstPort = u16be(b, off + 2);
  out.setPayload(b, off + UDP_HEADER_LEN, end);
  return true;
}
