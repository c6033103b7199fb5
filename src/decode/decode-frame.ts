// One frame → the reused DecodedPacket: link header, VLAN tags, IPv4/IPv6, TCP/UDP.
// Nothing is allocated per frame: addresses are copied into the packet's own storage, and the payload view is
// made only when a consumer reads it. Malformed input is counted as a named anomaly (see ./anomalies.ts), never thrown.
import type { Anomalies } from '../core/anomalies.js';
import type { RawFrame } from '../sources/types.js';
import { type Cursor, type LayerContext, flag } from './bytes.js';
import { decodeEthernet } from './link/ethernet.js';
import { decodeLoopback } from './link/loopback.js';
import { decodeRawIp } from './link/raw.js';
import { decodeSll } from './link/sll.js';
import { decodeSll2 } from './link/sll2.js';
import { decodeVlanTags, isVlanEtherType } from './link/vlan.js';
import { IpResult, decodeIpv4 } from './net/ipv4.js';
import { decodeIpv6 } from './net/ipv6.js';
import { type DecodedPacket, L4 } from './packet.js';
import { transportChecksumOk } from './transport/checksum.js';
import { decodeTcp } from './transport/tcp.js';
import { decodeUdp } from './transport/udp.js';

/** LINKTYPE_* values this decoder understands (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD_12: 12,
  RAW_BSD_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export function isSupportedLinkType(t: number): boolean {
  return t === 0 || t === 1 || t === 12 || t === 14 || t === 101 || t === 108 || t === 113 || t === 228 || t === 229 || t === 276;
}

export interface DecodeOptions {
  /**
   * Verify TCP/UDP checksums of complete, unfragmented segments and count `tcp.bad_checksum` /
   * `udp.bad_checksum`. Off by default: checksum offload makes most locally sent packets look bad.
   */
  verifyTransportChecksums?: boolean;
}

/** Ethertypes that are common and never carry IP for us: not worth an anomaly. */
function isKnownNonIp(t: number): boolean {
  return (
    t <= 1500 || // 802.3 length field: LLC/SNAP (STP, CDP ...)
    t === 0x0806 || t === 0x8035 || // ARP, RARP
    t === 0x88cc || t === 0x888e || t === 0x8809 || t === 0x88f7 || t === 0x9000 // LLDP, EAPOL, LACP, PTP, loopback test
  );
}

const EMPTY = new Uint8Array(0);
// One cursor and one context per process: decodeFrame is synchronous and never re-entered.
const cursor: Cursor = { off: 0, end: 0, next: 0 };
const ctx: LayerContext = { out: undefined as unknown as DecodedPacket, anomalies: undefined as unknown as Anomalies, file: '' };

function reset(out: DecodedPacket, frame: RawFrame): void {
  out.frame = frame.index;
  out.ts = frame.ts;
  out.linkType = frame.linkType;
  if (out.vlan.length !== 0) out.vlan.length = 0; // setting length is a runtime call even when it is 0
  out.ipVersion = 0;
  out.src = EMPTY;
  out.dst = EMPTY;
  out.ipProto = 0;
  out.fragment = false;
  out.l4 = L4.None;
  out.srcPort = 0;
  out.dstPort = 0;
  out.seq = 0;
  out.ack = 0;
  out.tcpFlags = 0;
  out.window = 0;
  out.setPayload(EMPTY, 0, 0);
  out.truncated = frame.capLen < frame.origLen;
}

function verifyChecksum(b: Uint8Array, c: Cursor, proto: number): void {
  const out = ctx.out;
  if (out.truncated || out.fragment) return;
  // UDP over IPv4 may leave the checksum out (0); over IPv6 it is mandatory.
  if (proto === 17 && out.ipVersion === 4 && b[c.off + 6] === 0 && b[c.off + 7] === 0) return;
  const end = proto === 17 ? c.off + 8 + out.payloadLength : c.end;
  if (!transportChecksumOk(b, c.off, end, out.src, out.dst, proto)) flag(ctx, proto === 6 ? 'tcp.bad_checksum' : 'udp.bad_checksum');
}

/**
 * Decode one frame into `out` (reused; its views are valid until the next frame).
 * Returns true when an IP packet was decoded down to its transport: TCP, UDP, or another
 * protocol / a later fragment (l4 = Other, payload = the IP payload).
 */
export function decodeFrame(frame: RawFrame, out: DecodedPacket, anomalies: Anomalies, file: string, options?: DecodeOptions): boolean {
  reset(out, frame);
  ctx.out = out;
  ctx.anomalies = anomalies;
  ctx.file = file;
  // Read the frame in place when the reader offers it (no view per frame); else its data view.
  const bytes = frame.bytes;
  const b = bytes ?? frame.data;
  const c = cursor;
  c.off = bytes === undefined ? 0 : frame.offset!;
  c.end = bytes === undefined ? b.length : c.off + frame.capLen;
  c.next = 0;
  if (out.truncated) flag(ctx, 'frame.truncated');

  let ok: boolean;
  switch (frame.linkType) {
    case LinkType.ETHERNET: ok = decodeEthernet(b, c, ctx); break;
    case LinkType.LINUX_SLL: ok = decodeSll(b, c, ctx); break;
    case LinkType.LINUX_SLL2: ok = decodeSll2(b, c, ctx); break;
    case LinkType.NULL:
    case LinkType.LOOP: ok = decodeLoopback(b, c, ctx); break;
    case LinkType.RAW:
    case LinkType.RAW_BSD_12:
    case LinkType.RAW_BSD_14:
    case LinkType.IPV4:
    case LinkType.IPV6: ok = decodeRawIp(b, c, ctx, frame.linkType); break;
    default:
      flag(ctx, 'link.unsupported_linktype');
      return false;
  }
  if (!ok) return false;
  if (isVlanEtherType(c.next) && !decodeVlanTags(b, c, ctx)) return false;

  let ip: IpResult;
  if (c.next === 0x0800) ip = decodeIpv4(b, c, ctx);
  else if (c.next === 0x86dd) ip = decodeIpv6(b, c, ctx);
  else {
    if (!isKnownNonIp(c.next)) flag(ctx, 'eth.unknown_ethertype');
    return false;
  }
  if (ip === IpResult.Fail) return false;
  if (ip === IpResult.Transport) {
    // The IP decoders leave the transport protocol (after IPv6 extension headers) in out.ipProto.
    const proto = out.ipProto;
    if (proto === 6 || proto === 17) {
      const ok = proto === 6 ? decodeTcp(b, c, ctx) : decodeUdp(b, c, ctx);
      if (ok && options?.verifyTransportChecksums) verifyChecksum(b, c, proto);
      return ok;
    }
  }
  out.l4 = L4.Other;
  out.setPayload(b, c.off, c.end);
  return true;
}
