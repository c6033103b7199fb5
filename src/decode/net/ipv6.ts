// IPv6 (RFC 8200): 40-byte fixed header, then a chain of extension headers before the transport
// header. Walked: hop-by-hop (0), routing (43), fragment (44), destination options (60),
// AH (51, length in 4-byte units), mobility (135), HIP (139), shim6 (140), experimental (253, 254).
// The chain is capped at LIMITS.maxLayers (`decode.too_many_layers`).
import { LIMITS } from '../../config/limits.js';
import { type Cursor, type LayerContext, flag, headerCut, u16be } from '../bytes.js';
import { IpResult } from './ipv4.js';

export const IPV6_HEADER_LEN = 40;
const NO_NEXT_HEADER = 59;

function isExtensionHeader(n: number): boolean {
  return n === 0 || n === 43 || n === 44 || n === 60 || n === 51 || n === 135 || n === 139 || n === 140 || n === 253 || n === 254;
}

export function decodeIpv6(b: Uint8Array, c: Cursor, ctx: LayerContext): IpResult {
  const out = ctx.out;
  let off = c.off;
  const avail = c.end - off;
  if (avail < IPV6_HEADER_LEN) {
    headerCut(ctx, 'ipv6.too_short');
    return IpResult.Fail;
  }
  if (b[off] >> 4 !== 6) {
    flag(ctx, 'ipv6.bad_version');
    return IpResult.Fail;
  }
  const payloadLen = u16be(b, off + 4);
  let next = b[off + 6];
  out.ipVersion = 6;
  const src = out.addrStore.src6;
  const dst = out.addrStore.dst6;
  for (let i = 0; i < 16; i++) {
    src[i] = b[off + 8 + i];
    dst[i] = b[off + 24 + i];
  }
  out.src = src;
  out.dst = dst;

  if (payloadLen === 0 && next !== NO_NEXT_HEADER) {
    // A jumbogram (RFC 2675) or a TSO/GSO frame captured before segmentation: use the bytes present.
    flag(ctx, 'ipv6.zero_payload_length');
  } else if (IPV6_HEADER_LEN + payloadLen <= avail) {
    c.end = off + IPV6_HEADER_LEN + payloadLen;
  } else if (!out.truncated) {
    out.truncated = true;
    flag(ctx, 'ipv6.payload_length_exceeds_frame');
  }
  off += IPV6_HEADER_LEN;

  let layers = 0;
  let laterFragment = false;
  while (isExtensionHeader(next)) {
    if (++layers > LIMITS.maxLayers) {
      flag(ctx, 'decode.too_many_layers');
      out.ipProto = next;
      return IpResult.Fail;
    }
    const left = c.end - off;
    if (left < 8) {
      out.ipProto = next;
      headerCut(ctx, 'ipv6.ext_header_cut');
      return IpResult.Fail;
    }
    let len: number;
    if (next === 44) {
      const fragField = u16be(b, off + 2);
      out.fragment = true;
      flag(ctx, 'ip.fragment');
      if (fragField >> 3 !== 0) laterFragment = true;
      len = 8;
    } else if (next === 51) {
      len = (b[off + 1] + 2) * 4;
    } else {
      len = (b[off + 1] + 1) * 8;
    }
    if (len > left) {
      out.ipProto = next;
      headerCut(ctx, 'ipv6.ext_header_cut');
      return IpResult.Fail;
    }
    next = b[off];
    off += len;
    // Headers after a later fragment's fragment header belong to the unreassembled payload.
    if (laterFragment) break;
  }
  out.ipProto = next;
  c.off = off;
  c.next = next;
  if (laterFragment || next === NO_NEXT_HEADER) return IpResult.NoTransport;
  return IpResult.Transport;
}
