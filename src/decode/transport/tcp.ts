// TCP (RFC 9293): ports, sequence, acknowledgment, data offset, flags, window, checksum, urgent,
// then data-offset*4-20 bytes of options (skipped: nothing downstream needs them).
import { type Cursor, type LayerContext, flag, headerCut, u16be, u32be } from '../bytes.js';
import { L4 } from '../packet.js';

export const TCP_MIN_HEADER_LEN = 20;
const EMPTY = new Uint8Array(0);

export function decodeTcp(b: Uint8Array, c: Cursor, ctx: LayerContext): boolean {
  const out = ctx.out;
  const off = c.off;
  const avail = c.end - off;
  if (avail < TCP_MIN_HEADER_LEN) return headerCut(ctx, 'tcp.too_short');
  const hlen = (b[off + 12] >> 4) * 4;
  if (hlen < TCP_MIN_HEADER_LEN) {
    flag(ctx, 'tcp.hlen_too_small');
    return false;
  }
  out.l4 = L4.Tcp;
  out.srcPort = u16be(b, off);
  out.dstPort = u16be(b, off + 2);
  out.seq = u32be(b, off + 4);
  out.ack = u32be(b, off + 8);
  out.tcpFlags = b[off + 13];
  out.window = u16be(b, off + 14);
  if (hlen > avail) {
    // Options cut by snaplen: ports and flags are good, there is no payload to give.
    if (out.truncated) {
      out.payload = EMPTY;
      return true;
    }
    flag(ctx, 'tcp.hlen_exceeds_segment');
    out.l4 = L4.None;
    return false;
  }
  out.setPayload(b, off + hlen, c.end);
  return true;
}
