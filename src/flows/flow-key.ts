// Flow identity without strings: a symmetric numeric hash of the 5-tuple (plus VLAN ids) so both directions land
// on the same bucket, and a byte comparison that also tells the direction. Strings are built once per flow.
import type { DecodedPacket } from '../decode/packet.js';

/** The packet's source is the flow's client (`Forward`) or its server (`Reverse`). */
export const enum KeyMatch {
  None = 0,
  Forward = 1,
  Reverse = 2,
}

/** FNV-1a over one endpoint (address bytes and port), finished with a murmur3 mix so the sum below spreads well. */
function endpointHash(addr: Uint8Array, port: number): number {
  let h = 0x811c9dc5 ^ port;
  for (let i = 0; i < addr.length; i++) h = Math.imul(h ^ addr[i], 0x01000193);
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
  let h = (endpointHash(pkt.src, pkt.srcPort) + endpointHash(pkt.dst, pkt.dstPort)) | 0;
  h = Math.imul(h ^ pkt.ipProto, 0x01000193);
  const vlan = pkt.vlan;
  for (let i = 0; i < vlan.length; i++) h = Math.imul(h ^ vlan[i], 0x01000193);
  // Signed 32-bit: a small integer to V8, so the Map lookup neither boxes the key nor hashes a double.
  return fmix(h) | 0;
}

/** The bytes of a flow's identity, copied out of the first packet. `a` is the client, `b` the server. */
export class FlowKey {
  constructor(
    readonly hash: number,
    readonly ipProto: number,
    readonly aAddr: Uint8Array,
    readonly aPort: number,
    readonly bAddr: Uint8Array,
    readonly bPort: number,
    readonly vlan: readonly number[],
  ) {}

  /** Copy the key out of `pkt`; `srcIsClient` says which side of the packet is `a`. */
  static fromPacket(pkt: DecodedPacket, hash: number, srcIsClient: boolean): FlowKey {
    // Copies (Uint8Array.from, not .slice(): on a Buffer .slice() is a view that would pin the read chunk).
    const src = Uint8Array.from(pkt.src);
    const dst = Uint8Array.from(pkt.dst);
    const vlan = pkt.vlan.slice();
    return srcIsClient
      ? new FlowKey(hash, pkt.ipProto, src, pkt.srcPort, dst, pkt.dstPort, vlan)
      : new FlowKey(hash, pkt.ipProto, dst, pkt.dstPort, src, pkt.srcPort, vlan);
  }

  /** Does `pkt` belong to this flow, and in which direction? No allocation. */
  match(pkt: DecodedPacket): KeyMatch {
    if (pkt.ipProto !== this.ipProto || !sameVlan(this.vlan, pkt.vlan)) return KeyMatch.None;
    if (
      pkt.srcPort === this.aPort && pkt.dstPort === this.bPort &&
      sameBytes(pkt.src, this.aAddr) && sameBytes(pkt.dst, this.bAddr)
    ) return KeyMatch.Forward;
    if (
      pkt.srcPort === this.bPort && pkt.dstPort === this.aPort &&
      sameBytes(pkt.src, this.bAddr) && sameBytes(pkt.dst, this.aAddr)
    ) return KeyMatch.Reverse;
    return KeyMatch.None;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
