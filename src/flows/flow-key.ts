// Flow identity without strings: a symmetric numeric hash of the 5-tuple (plus VLAN ids) so both directions land
// on the same bucket, and a byte comparison that also tells the direction. Strings are built once per flow.
import type { DecodedPacket } from '../decode/packet.js';

/** The packet's source is the flow's client (`Forward`) or its server (`Reverse`). */
export const enum KeyMatch {
  None = 0,
  Forward = 1,
  Reverse = 2,
}

/** One endpoint: its address words (1 for IPv4, 4 for IPv6, at `w[at]`) and port, FNV-1a style, murmur3-finished. */
function endpointHash(w: Int32Array, at: number, v6: boolean, port: number): number {
  let h = Math.imul(0x811c9dc5 ^ port, 0x01000193) ^ w[at]!;
  if (v6) {
    h = Math.imul(h, 0x01000193) ^ w[at + 1]!;
    h = Math.imul(h, 0x01000193) ^ w[at + 2]!;
    h = Math.imul(h, 0x01000193) ^ w[at + 3]!;
  }
  return fmix(h);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash of proto, both endpoints and VLAN ids. Symmetric: the two endpoint hashes are added (addition commutes,
 * and unlike XOR it does not cancel when both endpoints are equal), so A→B and B→A give the same number.
 */
export function flowHash(pkt: DecodedPacket): number {
  const w = pkt.addrStore.words;
  const v6 = pkt.ipVersion === 6;
  let h = (endpointHash(w, 0, v6, pkt.srcPort) + endpointHash(w, 4, v6, pkt.dstPort)) | 0;
  h = Math.imul(h ^ pkt.ipProto, 0x01000193);
  const vlan = pkt.vlan;
  for (let i = 0; i < vlan.length; i++) h = Math.imul(h ^ vlan[i]!, 0x01000193);
  // Signed 32-bit: a small integer to V8, so the Map lookup neither boxes the key nor hashes a double.
  return fmix(h) | 0;
}

/**
 * A flow's identity, copied out of its first packet. `a` is the client, `b` the server. Addresses are kept as
 * bytes (for printing) and as the decoder's 32-bit words (for matching: a packet is compared with one integer per
 * IPv4 address, four per IPv6 one, no byte loop; `match` was a tenth of the flow table's time).
 */
export class FlowKey {
  private readonly a0: number;
  private readonly a1: number;
  private readonly a2: number;
  private readonly a3: number;
  private readonly b0: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly b3: number;

  constructor(
    readonly hash: number,
    readonly ipProto: number,
    readonly ipVersion: number,
    readonly aAddr: Uint8Array,
    readonly aPort: number,
    readonly bAddr: Uint8Array,
    readonly bPort: number,
    readonly vlan: readonly number[],
    words: Int32Array,
    aAt: number,
  ) {
    const bAt = 4 - aAt;
    const v6 = ipVersion === 6;
    this.a0 = words[aAt]!;
    this.a1 = v6 ? words[aAt + 1]! : 0;
    this.a2 = v6 ? words[aAt + 2]! : 0;
    this.a3 = v6 ? words[aAt + 3]! : 0;
    this.b0 = words[bAt]!;
    this.b1 = v6 ? words[bAt + 1]! : 0;
    this.b2 = v6 ? words[bAt + 2]! : 0;
    this.b3 = v6 ? words[bAt + 3]! : 0;
  }

  /** Copy the key out of `pkt`; `srcIsClient` says which side of the packet is `a`. */
  static fromPacket(pkt: DecodedPacket, hash: number, srcIsClient: boolean): FlowKey {
    // Copies (Uint8Array.from, not .slice(): on a Buffer .slice() is a view that would pin the read chunk).
    const src = Uint8Array.from(pkt.src);
    const dst = Uint8Array.from(pkt.dst);
    const vlan = pkt.vlan.slice();
    const w = pkt.addrStore.words;
    return srcIsClient
      ? new FlowKey(hash, pkt.ipProto, pkt.ipVersion, src, pkt.srcPort, dst, pkt.dstPort, vlan, w, 0)
      : new FlowKey(hash, pkt.ipProto, pkt.ipVersion, dst, pkt.dstPort, src, pkt.srcPort, vlan, w, 4);
  }

  /** Does `pkt` belong to this flow, and in which direction? No allocation. */
  match(pkt: DecodedPacket): KeyMatch {
    if (pkt.ipProto !== this.ipProto || pkt.ipVersion !== this.ipVersion) return KeyMatch.None;
    if ((this.vlan.length !== 0 || pkt.vlan.length !== 0) && !sameVlan(this.vlan, pkt.vlan)) return KeyMatch.None;
    const w = pkt.addrStore.words;
    const v6 = this.ipVersion === 6;
    if (
      pkt.srcPort === this.aPort && pkt.dstPort === this.bPort && w[0] === this.a0 && w[4] === this.b0 &&
      (!v6 || (w[1] === this.a1 && w[2] === this.a2 && w[3] === this.a3 && w[5] === this.b1 && w[6] === this.b2 && w[7] === this.b3))
    ) return KeyMatch.Forward;
    if (
      pkt.srcPort === this.bPort && pkt.dstPort === this.aPort && w[0] === this.b0 && w[4] === this.a0 &&
      (!v6 || (w[1] === this.b1 && w[2] === this.b2 && w[3] === this.b3 && w[5] === this.a1 && w[6] === this.a2 && w[7] === this.a3))
    ) return KeyMatch.Reverse;
    return KeyMatch.None;
  }
}

function sameVlan(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Ports where servers usually listen (common services and the dev-server / MCP bridge ports of our research).
 * Used only when no SYN says who opened the connection.
 */
export const SERVER_PORTS: ReadonlySet<number> = new Set([
  20, 21, 22, 23, 25, 53, 67, 69, 80, 88, 110, 123, 135, 137, 139, 143, 161, 389, 443, 445, 465, 514, 587, 636, 853,
  993, 995, 1080, 1194, 1433, 1521, 1883, 2049, 2375, 2376, 3000, 3001, 3002, 3003, 3004, 3005, 3006, 3128, 3306,
  3389, 4000, 4200, 4443, 5000, 5001, 5173, 5222, 5353, 5432, 5672, 5900, 6274, 6277, 6379, 6443, 7000, 7860, 8000,
  8001, 8008, 8080, 8081, 8088, 8443, 8765, 8787, 8811, 8888, 9000, 9090, 9200, 9443, 11434, 27017,
]);

/** First ephemeral port of the Linux default range (IANA's starts higher, at 49152). */
export const EPHEMERAL_PORT_MIN = 32768;

/**
 * Which side of a packet is the server when there was no handshake to say so: a known server port; else a
 * privileged port (< 1024) against an unprivileged one; else the non-ephemeral side against an ephemeral one;
 * else the first packet's destination.
 */
export function serverSideByPorts(srcPort: number, dstPort: number): 'src' | 'dst' {
  const srcKnown = SERVER_PORTS.has(srcPort);
  if (srcKnown !== SERVER_PORTS.has(dstPort)) return srcKnown ? 'src' : 'dst';
  if ((srcPort < 1024) !== (dstPort < 1024)) return srcPort < 1024 ? 'src' : 'dst';
  const srcEphemeral = srcPort >= EPHEMERAL_PORT_MIN;
  if (srcEphemeral !== (dstPort >= EPHEMERAL_PORT_MIN)) return srcEphemeral ? 'dst' : 'src';
  return 'dst';
}
