// IPv4 (RFC 791): version/IHL, TOS, total length, id, flags/fragment offset, TTL, protocol,
// header checksum, source, destination, then IHL*4-20 bytes of options (skipped, not interpreted).
import { type Cursor, type LayerContext, flag, headerCut, u16be } from '../bytes.js';

export const IPV4_MIN_HEADER_LEN = 20;

/** decodeIpv4 results: stop (nothing more to decode), go on to the transport header, or done without one. */
export const enum IpResult {
  Fail = 0,
  Transport = 1,
  NoTransport = 2,
}

export function decodeIpv4(b: Uint8Array, c: Cursor, ctx: LayerContext): IpResult {
  const out = ctx.out;
  const off = c.off;
  const avail = c.end - off;
  if (avail < IPV4_MIN_HEADER_LEN) {
    headerCut(ctx, 'ipv4.too_short');
    return IpResult.Fail;
  }
  if (b[off] >> 4 !== 4) {
    flag(ctx, 'ipv4.bad_version');
    return IpResult.Fail;
  }
  const hlen = (b[off] & 0x0f) * 4;
  if (hlen < IPV4_MIN_HEADER_LEN) {
    flag(ctx, 'ipv4.hlen_too_small');
    return IpResult.Fail;
  }
  let totalLen = u16be(b, off + 2);
  if (totalLen === 0) {
    // TSO/GSO frames captured before segmentation carry total length 0: use the bytes present.
    flag(ctx, 'ipv4.zero_total_length');
    totalLen = avail;
  } else if (totalLen < hlen) {
    flag(ctx, 'ipv4.total_length_too_small');
    return IpResult.Fail;
  }

  out.ipVersion = 4;
  const src = out.addrStore.src4;
  const dst = out.addrStore.dst4;
  src[0] = b[off + 12]; src[1] = b[off + 13]; src[2] = b[off + 14]; src[3] = b[off + 15];
  dst[0] = b[off + 16]; dst[1] = b[off + 17]; dst[2] = b[off + 18]; dst[3] = b[off + 19];
  out.src = src;
  out.dst = dst;
  out.ipProto = b[off + 9];

  if (hlen > avail) {
    headerCut(ctx, 'ipv4.options_cut');
    return IpResult.Fail;
  }
  if (!ipv4HeaderChecksumOk(b, off, hlen)) flag(ctx, 'ipv4.bad_checksum');

  // Ethernet pads short frames to 60 bytes: the IP length, not the frame, says where the packet ends.
  if (totalLen <= avail) c.end = off + totalLen;
  else if (!out.truncated) {
    out.truncated = true;
    flag(ctx, 'ipv4.total_length_exceeds_frame');
  }

  const fragField = u16be(b, off + 6);
  const moreFragments = (fragField & 0x2000) !== 0;
  const fragOffset = fragField & 0x1fff;
  c.off = off + hlen;
  c.next = out.ipProto;
  if (moreFragments || fragOffset !== 0) {
    out.fragment = true;
    flag(ctx, 'ip.fragment');
    // A later fragment has no transport header: it is only IP payload.
    if (fragOffset !== 0) return IpResult.NoTransport;
  }
  return IpResult.Transport;
}

/** One's-complement sum over the header, checksum field included, must be 0xffff. */
export function ipv4HeaderChecksumOk(b: Uint8Array, off: number, hlen: number): boolean {
  let sum = 0;
  for (let i = off; i < off + hlen; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}
