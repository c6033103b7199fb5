import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Anomalies } from '../core/anomalies.js';
import { InPlaceFrame } from '../sources/pcap.js';
import type { RawFrame } from '../sources/types.js';
import { DECODE_ANOMALIES } from './anomalies.js';
import { decodeFrame } from './decode-frame.js';
import { formatIp } from './net/address.js';
import { L4, TcpFlag, newDecodedPacket } from './packet.js';
import {
  SYN_OPTIONS, bytes, concat, eth, ipv4, ipv6, loopback, sll, sll2, tcp, text, udp,
} from '../../test/support/frames.js';

function frameOf(linkType: number, data: Uint8Array, origLen = data.length): RawFrame {
  return { index: 7, ts: 1700000000.25, linkType, interfaceId: 0, capLen: data.length, origLen, data };
}

function decode(linkType: number, data: Uint8Array, origLen?: number) {
  const anomalies = new Anomalies();
  const out = newDecodedPacket();
  const ok = decodeFrame(frameOf(linkType, data, origLen), out, anomalies, 'test.pcap');
  const names = anomalies.summary().map((s) => s.name);
  return { ok, out, anomalies, names };
}

const payloadText = (p: Uint8Array) => Buffer.from(p).toString('latin1');
const HTTP = text('POST /mcp HTTP/1.1\r\nHost: x\r\n\r\n');

describe('Ethernet / IPv4 / TCP', () => {
  const frame = eth({ type: 0x0800 }, ipv4({ proto: 6, src: '192.168.1.10', dst: '10.1.2.3' },
    tcp({ sport: 51234, dport: 8080, seq: 0xfffffff0, ack: 77, flags: TcpFlag.PSH | TcpFlag.ACK, window: 512, options: bytes(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2) }, HTTP)));

  it('reads every field in place', () => {
    const { ok, out, names } = decode(1, frame);
    expect(ok).toBe(true);
    expect(names).toEqual([]);
    expect(out.frame).toBe(7);
    expect(out.ts).toBe(1700000000.25);
    expect(out.ipVersion).toBe(4);
    expect(formatIp(out.src)).toBe('192.168.1.10');
    expect(formatIp(out.dst)).toBe('10.1.2.3');
    expect(out.ipProto).toBe(6);
    expect(out.l4).toBe(L4.Tcp);
    expect([out.srcPort, out.dstPort]).toEqual([51234, 8080]);
    expect(out.seq).toBe(0xfffffff0);
    expect(out.ack).toBe(77);
    expect(out.tcpFlags).toBe(0x18);
    expect(out.window).toBe(512);
    expect(payloadText(out.payload)).toBe(payloadText(HTTP));
    expect(out.truncated).toBe(false);
    expect(out.fragment).toBe(false);
  });

  it('gives the payload as a view into the frame, addresses in storage the packet owns', () => {
    const { out } = decode(1, frame);
    expect(out.payloadLength).toBe(HTTP.length);
    expect(out.payload.buffer).toBe(frame.buffer);
    expect(out.payload.byteOffset).toBe(frame.length - HTTP.length);
    expect(out.src.buffer).not.toBe(frame.buffer);
    expect(out.src).toBe(out.addrStore.src4);
    expect(out.dst).toBe(out.addrStore.dst4);
    // Overwriting the frame afterwards does not change the decoded addresses.
    const copy = Uint8Array.from(frame);
    const again = decode(1, copy).out;
    copy.fill(0);
    expect(formatIp(again.src)).toBe('192.168.1.10');
    expect(formatIp(again.dst)).toBe('10.1.2.3');
  });

  it('skips SYN options by data offset', () => {
    const syn = eth({ type: 0x0800 }, ipv4({ proto: 6 }, tcp({ sport: 40000, dport: 443, flags: TcpFlag.SYN, options: SYN_OPTIONS })));
    const { ok, out } = decode(1, syn);
    expect(ok).toBe(true);
    expect(out.tcpFlags).toBe(TcpFlag.SYN);
    expect(out.payload.length).toBe(0);
  });

  it('clamps payload to the IP length when Ethernet pads a short frame', () => {
    const small = eth({ type: 0x0800 }, ipv4({ proto: 17 }, udp({ sport: 5353, dport: 53 }, bytes(0xaa, 0xbb))));
    const padded = concat(small, new Uint8Array(60 - small.length).fill(0xee));
    const { ok, out, names } = decode(1, padded);
    expect(ok).toBe(true);
    expect(names).toEqual([]);
    expect(Array.from(out.payload)).toEqual([0xaa, 0xbb]);
  });

  it('resets every field between frames (one reused object)', () => {
    const anomalies = new Anomalies();
    const out = newDecodedPacket();
    const tagged = eth({ type: 0x0800, vlans: [{ id: 5 }] }, ipv4({ proto: 6 }, tcp({ sport: 1, dport: 2, seq: 9, ack: 9 }, HTTP)));
    decodeFrame(frameOf(1, tagged), out, anomalies, 'f');
    const u = eth({ type: 0x86dd }, ipv6({ next: 17 }, udp({ sport: 3, dport: 4 }, bytes(1))));
    decodeFrame(frameOf(1, u), out, anomalies, 'f');
    expect(out.vlan).toEqual([]);
    expect(out.l4).toBe(L4.Udp);
    expect(out.ipVersion).toBe(6);
    expect([out.seq, out.ack, out.tcpFlags, out.window]).toEqual([0, 0, 0, 0]);
    expect(decodeFrame(frameOf(1, eth({ type: 0x0806 }, new Uint8Array(28))), out, anomalies, 'f')).toBe(false);
    expect(out.ipVersion).toBe(0);
    expect(out.payload.length).toBe(0);
    expect(out.src.length).toBe(0);
  });
});

describe('VLAN tags', () => {
  const inner = ipv4({ proto: 17 }, udp({ sport: 1000, dport: 53 }, bytes(1, 2, 3)));
  it.each([
    ['802.1Q', [{ id: 100 }], [100]],
    ['QinQ 88a8 + 8100', [{ id: 300, tpid: 0x88a8 }, { id: 42 }], [300, 42]],
    ['pre-standard 9100 + 8100', [{ id: 4095, tpid: 0x9100, pcp: 7 }, { id: 1 }], [4095, 1]],
  ])('%s', (_name, vlans, ids) => {
    const { ok, out } = decode(1, eth({ type: 0x0800, vlans }, inner));
    expect(ok).toBe(true);
    expect(out.vlan).toEqual(ids);
    expect(out.dstPort).toBe(53);
  });

  it('caps stacked tags at LIMITS.maxLayers', () => {
    const vlans = Array.from({ length: 17 }, (_, i) => ({ id: i }));
    const { ok, names } = decode(1, eth({ type: 0x0800, vlans }, inner));
    expect(ok).toBe(false);
    expect(names).toContain('decode.too_many_layers');
  });

  it('counts a frame that ends inside a tag', () => {
    const f = eth({ type: 0x0800, vlans: [{ id: 1 }] }, inner).subarray(0, 16);
    expect(decode(1, f).names).toContain('vlan.too_short');
  });
});

describe('link types', () => {
  const v4 = ipv4({ proto: 6, src: '127.0.0.1', dst: '127.0.0.1' }, tcp({ sport: 3000, dport: 40000 }, HTTP));
  const v6 = ipv6({ next: 6, src: '::1', dst: '::1' }, tcp({ sport: 6274, dport: 50000 }, HTTP));

  it.each([
    ['SLL v4', 113, sll({ protocol: 0x0800 }, v4), 4],
    ['SLL v6', 113, sll({ protocol: 0x86dd, arphrd: 772 }, v6), 6],
    ['SLL2 v4', 276, sll2({ protocol: 0x0800 }, v4), 4],
    ['SLL2 v6', 276, sll2({ protocol: 0x86dd }, v6), 6],
    ['NULL AF_INET little-endian', 0, loopback(2, v4, true), 4],
    ['NULL AF_INET big-endian', 0, loopback(2, v4, false), 4],
    ['NULL AF_INET6 24', 0, loopback(24, v6, true), 6],
    ['NULL AF_INET6 28', 0, loopback(28, v6, true), 6],
    ['NULL AF_INET6 30', 0, loopback(30, v6, true), 6],
    ['NULL AF_INET6 30 big-endian', 0, loopback(30, v6, false), 6],
    ['LOOP AF_INET network order', 108, loopback(2, v4, false), 4],
    ['LOOP AF_INET6 little-endian', 108, loopback(30, v6, true), 6],
    ['RAW 101 v4', 101, v4, 4],
    ['RAW 101 v6', 101, v6, 6],
    ['RAW 12', 12, v4, 4],
    ['RAW 14', 14, v6, 6],
    ['IPV4 228', 228, v4, 4],
    ['IPV6 229', 229, v6, 6],
  ])('%s', (_name, linkType, data, version) => {
    const { ok, out, names } = decode(linkType, data);
    expect(names).toEqual([]);
    expect(ok).toBe(true);
    expect(out.ipVersion).toBe(version);
    expect(out.l4).toBe(L4.Tcp);
    expect(payloadText(out.payload)).toBe(payloadText(HTTP));
    expect(formatIp(out.src)).toBe(version === 4 ? '127.0.0.1' : '::1');
  });

  it('SLL with a VLAN protocol walks the tag', () => {
    const tagged = sll({ protocol: 0x8100 }, concat(bytes(0x00, 0x0a, 0x08, 0x00), v4));
    const { ok, out } = decode(113, tagged);
    expect(ok).toBe(true);
    expect(out.vlan).toEqual([10]);
  });

  it('SLL netlink frames are not IP and not an anomaly', () => {
    const { ok, names } = decode(113, sll({ protocol: 0x0800, arphrd: 824 }, v4));
    expect(ok).toBe(false);
    expect(names).toEqual([]);
  });

  it.each([
    [1, 13, 'eth.too_short'],
    [113, 15, 'sll.too_short'],
    [276, 19, 'sll2.too_short'],
    [0, 3, 'loopback.too_short'],
    [101, 0, 'raw.empty'],
  ])('link type %i cut to %i bytes: %s', (linkType, len, name) => {
    const { ok, names } = decode(linkType, new Uint8Array(len));
    expect(ok).toBe(false);
    expect(names).toEqual([name]);
  });

  it('counts unknown families, versions, ethertypes and link types; ARP is silent', () => {
    expect(decode(0, loopback(7, v4)).names).toEqual(['loopback.unknown_family']);
    expect(decode(101, concat(bytes(0x50), v4.subarray(1))).names).toEqual(['raw.bad_ip_version']);
    expect(decode(1, eth({ type: 0x1234 }, v4)).names).toEqual(['eth.unknown_ethertype']);
    expect(decode(1, eth({ type: 0x0806 }, new Uint8Array(28))).names).toEqual([]);
    expect(decode(1, eth({ type: 100 }, new Uint8Array(46))).names).toEqual([]); // 802.3 length
    expect(decode(105, v4).names).toEqual(['link.unsupported_linktype']);
  });
});

describe('IPv4', () => {
  const seg = tcp({ sport: 1, dport: 2 }, HTTP);
  it('skips options by IHL', () => {
    const options = bytes(0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00); // router alert, NOP, NOP, NOP, EOL
    const { ok, out, names } = decode(101, ipv4({ proto: 6, options }, seg));
    expect(names).toEqual([]);
    expect(ok).toBe(true);
    expect(payloadText(out.payload)).toBe(payloadText(HTTP));
  });

  it('verifies the header checksum without enforcing it', () => {
    const { ok, names } = decode(101, ipv4({ proto: 6, badChecksum: true }, seg));
    expect(ok).toBe(true);
    expect(names).toEqual(['ipv4.bad_checksum']);
  });

  it.each([
    ['IHL 4', { versionIhl: 0x44 }, 'ipv4.hlen_too_small'],
    ['version 5', { versionIhl: 0x55 }, 'ipv4.bad_version'],
    ['total length 19', { totalLength: 19 }, 'ipv4.total_length_too_small'],
    ['IHL 15 in a 40-byte packet', { versionIhl: 0x4f, totalLength: 60 }, 'ipv4.options_cut'],
  ])('%s → %s', (_n, o, name) => {
    const { ok, names } = decode(228, ipv4({ proto: 6, ...o }, seg.subarray(0, 20)));
    expect(ok).toBe(false);
    expect(names).toContain(name);
  });

  it('a total length past an uncut frame is a lie: truncated + counted', () => {
    const p = ipv4({ proto: 6, totalLength: 1500 }, seg);
    const { ok, out, names } = decode(101, p);
    expect(ok).toBe(true);
    expect(out.truncated).toBe(true);
    expect(names).toEqual(['ipv4.total_length_exceeds_frame']);
    expect(out.payload.length).toBe(HTTP.length);
  });

  it('total length 0 (TSO capture) uses the bytes present', () => {
    const { ok, out, names } = decode(101, ipv4({ proto: 6, totalLength: 0 }, seg));
    expect(ok).toBe(true);
    expect(names).toEqual(['ipv4.zero_total_length']);
    expect(out.payload.length).toBe(HTTP.length);
  });

  it('snaplen cut: decodes what is there, one frame.truncated, no length anomalies', () => {
    const whole = eth({ type: 0x0800 }, ipv4({ proto: 6 }, seg));
    const cut = whole.subarray(0, 14 + 20 + 20 + 5);
    const { ok, out, names } = decode(1, cut, whole.length);
    expect(ok).toBe(true);
    expect(out.truncated).toBe(true);
    expect(names).toEqual(['frame.truncated']);
    expect(payloadText(out.payload)).toBe('POST ');
  });

  it('snaplen cut inside the TCP options keeps ports and gives no payload', () => {
    const whole = ipv4({ proto: 6 }, tcp({ sport: 9, dport: 10, options: SYN_OPTIONS, flags: TcpFlag.SYN }));
    const { ok, out } = decode(101, whole.subarray(0, 20 + 24), whole.length);
    expect(ok).toBe(true);
    expect(out.truncated).toBe(true);
    expect([out.srcPort, out.dstPort, out.payload.length]).toEqual([9, 10, 0]);
  });

  it('first fragment: transport decoded, marked; later fragment: l4 Other with the raw payload', () => {
    const first = decode(101, ipv4({ proto: 17, moreFragments: true }, udp({ sport: 1, dport: 53, length: 3000 }, bytes(1, 2, 3, 4))));
    expect(first.ok).toBe(true);
    expect(first.out.fragment).toBe(true);
    expect(first.out.l4).toBe(L4.Udp);
    expect(first.out.truncated).toBe(false);
    expect(first.names).toEqual(['ip.fragment']);
    const later = decode(101, ipv4({ proto: 17, fragmentOffset: 185 }, bytes(9, 9, 9)));
    expect(later.ok).toBe(true);
    expect(later.out.fragment).toBe(true);
    expect(later.out.l4).toBe(L4.Other);
    expect(Array.from(later.out.payload)).toEqual([9, 9, 9]);
    expect(later.out.srcPort).toBe(0);
  });

  it('other protocols (ICMP) decode as l4 Other', () => {
    const { ok, out } = decode(101, ipv4({ proto: 1 }, bytes(8, 0, 0, 0)));
    expect(ok).toBe(true);
    expect(out.l4).toBe(L4.Other);
    expect(out.ipProto).toBe(1);
    expect(out.payload.length).toBe(4);
  });
});

describe('IPv6', () => {
  const seg = tcp({ sport: 443, dport: 50001 }, HTTP);
  it('walks hop-by-hop, routing, destination options and AH to TCP', () => {
    const p = ipv6({ next: 6, ext: [{ type: 0 }, { type: 43, size: 22 }, { type: 60 }, { type: 51 }] }, seg);
    const { ok, out, names } = decode(101, p);
    expect(names).toEqual([]);
    expect(ok).toBe(true);
    expect(out.ipProto).toBe(6);
    expect(out.srcPort).toBe(443);
    expect(payloadText(out.payload)).toBe(payloadText(HTTP));
    expect(formatIp(out.dst)).toBe('2001:db8::2');
  });

  it('first fragment decodes the transport; a later one does not', () => {
    const first = decode(101, ipv6({ next: 6, ext: [{ type: 44, more: true }] }, seg));
    expect(first.out.fragment).toBe(true);
    expect(first.out.l4).toBe(L4.Tcp);
    expect(first.names).toEqual(['ip.fragment']);
    const later = decode(101, ipv6({ next: 6, ext: [{ type: 44, fragmentOffset: 100 }] }, bytes(1, 2, 3)));
    expect(later.ok).toBe(true);
    expect(later.out.l4).toBe(L4.Other);
    expect(later.out.ipProto).toBe(6);
    expect(Array.from(later.out.payload)).toEqual([1, 2, 3]);
  });

  it('caps the extension header chain', () => {
    const ext = Array.from({ length: 17 }, () => ({ type: 60 }));
    const { ok, names } = decode(101, ipv6({ next: 6, ext }, seg));
    expect(ok).toBe(false);
    expect(names).toEqual(['decode.too_many_layers']);
  });

  it('counts an extension header that runs past the packet', () => {
    const p = ipv6({ next: 6, ext: [{ type: 0, size: 200 }], payloadLength: 20 }, bytes());
    const { ok, names } = decode(101, p.subarray(0, 60));
    expect(ok).toBe(false);
    expect(names).toEqual(['ipv6.ext_header_cut']);
  });

  it('payload length: clamps trailing bytes, flags a lie, tolerates 0', () => {
    const p = ipv6({ next: 17 }, udp({ sport: 1, dport: 2 }, bytes(5)));
    expect(Array.from(decode(101, concat(p, bytes(0xee, 0xee))).out.payload)).toEqual([5]);
    const lie = decode(101, ipv6({ next: 17, payloadLength: 4000 }, udp({ sport: 1, dport: 2 }, bytes(5))));
    expect(lie.names).toEqual(['ipv6.payload_length_exceeds_frame']);
    expect(lie.out.truncated).toBe(true);
    const zero = decode(101, ipv6({ next: 17, payloadLength: 0 }, udp({ sport: 1, dport: 2 }, bytes(5))));
    expect(zero.names).toEqual(['ipv6.zero_payload_length']);
    expect(Array.from(zero.out.payload)).toEqual([5]);
  });

  it('no next header (59) is l4 Other with nothing in it', () => {
    const { ok, out } = decode(101, ipv6({ next: 59 }, bytes()));
    expect(ok).toBe(true);
    expect(out.l4).toBe(L4.Other);
  });

  it.each([
    ['too short', (p: Uint8Array) => p.subarray(0, 39), 'ipv6.too_short'],
    ['bad version', (p: Uint8Array) => concat(bytes(0x40), p.subarray(1)), 'ipv6.bad_version'],
  ])('%s', (_n, mutate, name) => {
    const { ok, names } = decode(229, mutate(ipv6({ next: 6 }, seg)));
    expect(ok).toBe(false);
    expect(names).toEqual([name]);
  });
});

describe('TCP and UDP headers', () => {
  it.each([
    ['TCP data offset 4', ipv4({ proto: 6 }, tcp({ sport: 1, dport: 2, dataOffset: 4 })), 'tcp.hlen_too_small'],
    ['TCP data offset 15 in a 20-byte segment', ipv4({ proto: 6 }, tcp({ sport: 1, dport: 2, dataOffset: 15 })), 'tcp.hlen_exceeds_segment'],
    ['TCP 19 bytes', ipv4({ proto: 6 }, new Uint8Array(19)), 'tcp.too_short'],
    ['UDP length 7', ipv4({ proto: 17 }, udp({ sport: 1, dport: 2, length: 7 }, bytes(1))), 'udp.length_too_small'],
    ['UDP 7 bytes', ipv4({ proto: 17 }, new Uint8Array(7)), 'udp.too_short'],
  ])('%s → %s', (_n, p, name) => {
    const { ok, out, names } = decode(228, p);
    expect(ok).toBe(false);
    expect(names).toEqual([name]);
    expect(out.l4).toBe(L4.None);
  });

  it('UDP length: clamps, flags a lie, tolerates 0', () => {
    const short = decode(228, ipv4({ proto: 17 }, udp({ sport: 1, dport: 2, length: 10 }, bytes(1, 2, 3, 4))));
    expect(Array.from(short.out.payload)).toEqual([1, 2]);
    const lie = decode(228, ipv4({ proto: 17 }, udp({ sport: 1, dport: 2, length: 100 }, bytes(1, 2))));
    expect(lie.ok).toBe(true);
    expect(lie.names).toEqual(['udp.length_exceeds_packet']);
    expect(lie.out.truncated).toBe(true);
    const zero = decode(228, ipv4({ proto: 17 }, udp({ sport: 1, dport: 2, length: 0 }, bytes(1, 2))));
    expect(zero.names).toEqual(['udp.zero_length']);
    expect(Array.from(zero.out.payload)).toEqual([1, 2]);
  });
});

describe('anomaly catalogue', () => {
  it('lists every name the decoder and readers count', () => {
    const root = join(import.meta.dirname, '..');
    const files = [
      ...readdirSync(join(root, 'decode'), { recursive: true }).map((f) => join(root, 'decode', String(f))),
      ...['capture-file.ts', 'pcap.ts', 'pcapng.ts'].map((f) => join(root, 'sources', f)),
    ].filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('anomalies.ts'));
    const used = new Set<string>();
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/(?:flag|headerCut)\(ctx, '([^']+)'|anomaly\('([^']+)'|startResync\('([^']+)'|add\(gzip \? '([^']+)' : '([^']+)'/g)) {
        for (const g of m.slice(1)) if (g) used.add(g);
      }
    }
    expect(used.size).toBeGreaterThan(50);
    const missing = [...used].filter((n) => !(n in DECODE_ANOMALIES));
    expect(missing).toEqual([]);
  });
});

describe('property: never throws, views stay inside the frame', () => {
  const linkTypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];
  const out = newDecodedPacket();
  const anomalies = new Anomalies();

  function check(linkType: number, data: Uint8Array, origLen: number): void {
    const f = frameOf(linkType, data, origLen);
    decodeFrame(f, out, anomalies, 'fuzz');
    for (const v of [out.src, out.dst]) {
      if (v.length !== 0) expect(v.buffer).toBe(out.addrStore.src4.buffer);
    }
    for (const v of [out.payload]) {
      if (v.length === 0) continue;
      expect(v.buffer).toBe(data.buffer);
      expect(v.byteOffset).toBeGreaterThanOrEqual(data.byteOffset);
      expect(v.byteOffset + v.length).toBeLessThanOrEqual(data.byteOffset + data.length);
    }
  }

  it('a frame read in place (InPlaceFrame inside a larger buffer) decodes exactly as its data view does', () => {
    const summary = (o: ReturnType<typeof newDecodedPacket>, ok: boolean) => ({
      ok, ipVersion: o.ipVersion, src: [...o.src], dst: [...o.dst], ipProto: o.ipProto, fragment: o.fragment, l4: o.l4,
      ports: [o.srcPort, o.dstPort], seq: o.seq, ack: o.ack, flags: o.tcpFlags, window: o.window, payload: [...o.payload],
      truncated: o.truncated, vlan: [...o.vlan],
    });
    const inPlace = newDecodedPacket();
    const plain = newDecodedPacket();
    fc.assert(
      fc.property(fc.constantFrom(...linkTypes), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (lt, data, before, after) => {
        const buf = new Uint8Array(before.length + data.length + after.length);
        buf.set(before, 0);
        buf.set(data, before.length);
        buf.set(after, before.length + data.length);
        const f = new InPlaceFrame();
        f.index = 7;
        f.ts = 1700000000.25;
        f.linkType = lt;
        f.place(buf, before.length, data.length);
        f.origLen = data.length;
        const a1 = new Anomalies();
        const a2 = new Anomalies();
        const ok1 = decodeFrame(f, inPlace, a1, 'fuzz');
        const ok2 = decodeFrame(frameOf(lt, data), plain, a2, 'fuzz');
        // The length is known before the (lazy) payload view exists, and agrees with it.
        const len = inPlace.payloadLength;
        expect(summary(inPlace, ok1)).toEqual(summary(plain, ok2));
        expect(inPlace.payload.length).toBe(len);
        expect(a1.summary()).toEqual(a2.summary());
        // The payload never reaches past the frame into the bytes around it.
        if (inPlace.payload.length > 0) {
          expect(inPlace.payload.buffer).toBe(buf.buffer);
          expect(inPlace.payload.byteOffset).toBeGreaterThanOrEqual(before.length);
          expect(inPlace.payload.byteOffset + inPlace.payload.length).toBeLessThanOrEqual(before.length + data.length);
        }
        // `data` is still there for consumers that want it, as a view of the same bytes.
        expect([...f.data]).toEqual([...data]);
        expect({ ...f }).toEqual({ index: 7, ts: 1700000000.25, linkType: lt, interfaceId: 0, capLen: data.length, origLen: data.length });
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary bytes for every link type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...linkTypes), fc.uint8Array({ maxLength: 200 }), fc.nat(300), (lt, data, extra) => {
        check(lt, data, data.length + (extra % 3 === 0 ? extra : 0));
      }),
      { numRuns: 3000 },
    );
  });

  it('on valid frames with bytes changed and cut', () => {
    const seeds: [number, Uint8Array][] = [
      [1, eth({ type: 0x0800, vlans: [{ id: 3 }] }, ipv4({ proto: 6, options: bytes(1, 1, 1, 0) }, tcp({ sport: 1, dport: 2, options: SYN_OPTIONS }, HTTP)))],
      [1, eth({ type: 0x86dd }, ipv6({ next: 17, ext: [{ type: 0 }, { type: 44, more: true }] }, udp({ sport: 1, dport: 53 }, HTTP)))],
      [113, sll({ protocol: 0x0800 }, ipv4({ proto: 17 }, udp({ sport: 1, dport: 2 }, HTTP)))],
      [276, sll2({ protocol: 0x86dd }, ipv6({ next: 6, ext: [{ type: 51 }] }, tcp({ sport: 1, dport: 2 }, HTTP)))],
      [0, loopback(30, ipv6({ next: 6 }, tcp({ sport: 1, dport: 2 }, HTTP)))],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        ([lt, seed], edits, cut) => {
          const data = Uint8Array.from(seed);
          for (const [at, v] of edits) data[at % data.length] = v;
          const len = cut % (data.length + 1);
          check(lt, data.subarray(0, len), seed.length);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('DecodedPacket payload', () => {
  it('is made on first read and kept; an assigned view replaces it, length included', () => {
    const out = newDecodedPacket();
    const buf = Uint8Array.from([9, 9, 1, 2, 3, 9]);
    out.setPayload(buf, 2, 5);
    expect(out.payloadLength).toBe(3);
    const v = out.payload;
    expect([...v]).toEqual([1, 2, 3]);
    expect(v.buffer).toBe(buf.buffer);
    expect(out.payload).toBe(v);
    const mine = Uint8Array.from([7, 7]);
    out.payload = mine;
    expect([out.payload, out.payloadLength]).toEqual([mine, 2]);
    out.setPayload(buf, 4, 2); // an inverted range is empty, never negative
    expect([out.payloadLength, out.payload.length]).toEqual([0, 0]);
  });
});
