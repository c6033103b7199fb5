// Frame builders for decoder and reader tests: each returns the bytes of one header followed by
// its payload, with lengths and the IPv4 header checksum computed unless a test overrides them.

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function hex(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, '').replace(/[^0-9a-fA-F]/g, '');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, (v >>> 16) & 0xffff);
  put16(b, at + 2, v & 0xffff);
}

export function ip4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** IPv6 text (with at most one `::`) → 16 bytes. */
export function ip6(text: string): Uint8Array {
  const [left, right] = text.includes('::') ? text.split('::') : [text, undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => put16(out, i * 2, parseInt(g, 16)));
  return out;
}

export interface EthOptions {
  dst?: Uint8Array;
  src?: Uint8Array;
  type: number;
  /** VLAN tags, outermost first; each `{ id, tpid }` (tpid defaults to 0x8100). */
  vlans?: { id: number; tpid?: number; pcp?: number }[];
}

export function eth(o: EthOptions, payload: Uint8Array): Uint8Array {
  const tags = o.vlans ?? [];
  const h = new Uint8Array(14 + tags.length * 4);
  h.set(o.dst ?? bytes(0x02, 0, 0, 0, 0, 0x02), 0);
  h.set(o.src ?? bytes(0x02, 0, 0, 0, 0, 0x01), 6);
  let at = 12;
  for (const t of tags) {
    put16(h, at, t.tpid ?? 0x8100);
    put16(h, at + 2, ((t.pcp ?? 0) << 13) | (t.id & 0x0fff));
    at += 4;
  }
  put16(h, at, o.type);
  return concat(h, payload);
}

export function sll(o: { protocol: number; arphrd?: number; packetType?: number }, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(16);
  put16(h, 0, o.packetType ?? 0);
  put16(h, 2, o.arphrd ?? 1);
  put16(h, 4, 6);
  h.set(bytes(0x02, 0, 0, 0, 0, 0x01), 6);
  put16(h, 14, o.protocol);
  return concat(h, payload);
}

export function sll2(o: { protocol: number; arphrd?: number; ifindex?: number }, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(20);
  put16(h, 0, o.protocol);
  put32(h, 4, o.ifindex ?? 1);
  put16(h, 8, o.arphrd ?? 1);
  h[10] = 0;
  h[11] = 6;
  h.set(bytes(0x02, 0, 0, 0, 0, 0x01), 12);
  return concat(h, payload);
}

/** BSD loopback header: the address family as 4 bytes, in the chosen byte order. */
export function loopback(family: number, payload: Uint8Array, littleEndian = true): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, family, littleEndian);
  return concat(h, payload);
}

export interface Ipv4Options {
  src?: string;
  dst?: string;
  proto: number;
  /** Option bytes (padded to a multiple of 4 with zeros). */
  options?: Uint8Array;
  id?: number;
  ttl?: number;
  moreFragments?: boolean;
  dontFragment?: boolean;
  /** In 8-byte units. */
  fragmentOffset?: number;
  totalLength?: number;
  /** Raw first byte override (version/IHL) for bad-header tests. */
  versionIhl?: number;
  badChecksum?: boolean;
}

export function ipv4(o: Ipv4Options, payload: Uint8Array): Uint8Array {
  const optLen = o.options ? Math.ceil(o.options.length / 4) * 4 : 0;
  const h = new Uint8Array(20 + optLen);
  h[0] = o.versionIhl ?? 0x40 | ((20 + optLen) / 4);
  put16(h, 2, o.totalLength ?? h.length + payload.length);
  put16(h, 4, o.id ?? 1);
  put16(h, 6, (o.dontFragment ? 0x4000 : 0) | (o.moreFragments ? 0x2000 : 0) | (o.fragmentOffset ?? 0));
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  h.set(ip4(o.src ?? '10.0.0.1'), 12);
  h.set(ip4(o.dst ?? '10.0.0.2'), 16);
  if (o.options) h.set(o.options, 20);
  put16(h, 10, ipv4Checksum(h) ^ (o.badChecksum ? 0x1111 : 0));
  return concat(h, payload);
}

export function ipv4Checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) if (i !== 10) sum += (header[i] << 8) | header[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv6ExtHeader {
  /** 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options, 51 AH. */
  type: number;
  /** For a fragment header: offset in 8-byte units and the M flag. */
  fragmentOffset?: number;
  more?: boolean;
  /** Body length in bytes beyond the first 2 (padded to the header's unit); default 6 (one 8-byte unit). */
  size?: number;
}

export interface Ipv6Options {
  src?: string;
  dst?: string;
  next: number;
  ext?: Ipv6ExtHeader[];
  payloadLength?: number;
}

export function ipv6(o: Ipv6Options, payload: Uint8Array): Uint8Array {
  const exts = o.ext ?? [];
  const extBytes: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i];
    const next = i + 1 < exts.length ? exts[i + 1].type : o.next;
    let h: Uint8Array;
    if (e.type === 44) {
      h = new Uint8Array(8);
      put16(h, 2, ((e.fragmentOffset ?? 0) << 3) | (e.more ? 1 : 0));
      put32(h, 4, 0x1234);
    } else if (e.type === 51) {
      const len = Math.max(12, Math.ceil((2 + (e.size ?? 10)) / 4) * 4);
      h = new Uint8Array(len);
      h[1] = len / 4 - 2;
    } else {
      const len = Math.ceil((2 + (e.size ?? 6)) / 8) * 8;
      h = new Uint8Array(len);
      h[1] = len / 8 - 1;
    }
    h[0] = next;
    extBytes.push(h);
  }
  const rest = concat(...extBytes, payload);
  const h = new Uint8Array(40);
  h[0] = 0x60;
  put16(h, 4, o.payloadLength ?? rest.length);
  h[6] = exts.length ? exts[0].type : o.next;
  h[7] = 64;
  h.set(ip6(o.src ?? '2001:db8::1'), 8);
  h.set(ip6(o.dst ?? '2001:db8::2'), 24);
  return concat(h, rest);
}

export interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Bits: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32. */
  flags?: number;
  window?: number;
  /** Raw option bytes (padded with NOPs... here zeros, end-of-list, to a multiple of 4). */
  options?: Uint8Array;
  /** Data offset override, in 32-bit words. */
  dataOffset?: number;
}

export function tcp(o: TcpOptions, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const optLen = o.options ? Math.ceil(o.options.length / 4) * 4 : 0;
  const h = new Uint8Array(20 + optLen);
  put16(h, 0, o.sport);
  put16(h, 2, o.dport);
  put32(h, 4, o.seq ?? 1000);
  put32(h, 8, o.ack ?? 0);
  h[12] = (o.dataOffset ?? (20 + optLen) / 4) << 4;
  h[13] = o.flags ?? 0x18;
  put16(h, 14, o.window ?? 65535);
  if (o.options) h.set(o.options, 20);
  return concat(h, payload);
}

/** Common SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7. */
export const SYN_OPTIONS = bytes(2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7);

export function udp(o: { sport: number; dport: number; length?: number }, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(8);
  put16(h, 0, o.sport);
  put16(h, 2, o.dport);
  put16(h, 4, o.length ?? 8 + payload.length);
  return concat(h, payload);
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
