import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { udpPacket, tcpPacket } from '../../test/support/segments.js';
import { FlowKey, KeyMatch, flowHash, serverSideByPorts } from './flow-key.js';

const ip4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const port = fc.nat(65535);

describe('flowHash', () => {
  it('is the same in both directions', () => {
    fc.assert(
      fc.property(ip4, ip4, port, port, fc.array(fc.nat(4095), { maxLength: 2 }), (a, b, pa, pb, vlan) => {
        const fwd = tcpPacket({ src: a, dst: b, sport: pa, dport: pb, vlan });
        const rev = tcpPacket({ src: b, dst: a, sport: pb, dport: pa, vlan });
        expect(flowHash(fwd)).toBe(flowHash(rev));
      }),
    );
  });

  it('differs by protocol, port and VLAN', () => {
    const base = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 };
    const h = flowHash(tcpPacket(base));
    expect(flowHash(udpPacket(base))).not.toBe(h);
    expect(flowHash(tcpPacket({ ...base, dport: 444 }))).not.toBe(h);
    expect(flowHash(tcpPacket({ ...base, vlan: [5] }))).not.toBe(h);
  });
});

describe('FlowKey.match', () => {
  it('tells the direction and rejects other tuples', () => {
    const p = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 });
    const key = FlowKey.fromPacket(p, flowHash(p), true);
    expect(key.match(p)).toBe(KeyMatch.Forward);
    expect(key.match(tcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000 }))).toBe(KeyMatch.Reverse);
    expect(key.match(tcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 40000, dport: 443 }))).toBe(KeyMatch.None);
    expect(key.match(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 }))).toBe(KeyMatch.None);
    expect(key.match(tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, vlan: [1] }))).toBe(KeyMatch.None);
    const server = FlowKey.fromPacket(p, flowHash(p), false);
    expect(server.match(p)).toBe(KeyMatch.Reverse);
    expect(server.aPort).toBe(443);
  });

  it('IPv6: every word of both addresses counts, and an IPv4 packet never matches an IPv6 key', () => {
    const p = tcpPacket({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 443 });
    const key = FlowKey.fromPacket(p, flowHash(p), true);
    expect(key.match(p)).toBe(KeyMatch.Forward);
    expect(key.match(tcpPacket({ src: '2001:db8::2', dst: '2001:db8::1', sport: 443, dport: 40000 }))).toBe(KeyMatch.Reverse);
    // Differs only in the last word of one address, or only in the first.
    expect(key.match(tcpPacket({ src: '2001:db8::1', dst: '2001:db8::3', sport: 40000, dport: 443 }))).toBe(KeyMatch.None);
    expect(key.match(tcpPacket({ src: '2001:db9::1', dst: '2001:db8::2', sport: 40000, dport: 443 }))).toBe(KeyMatch.None);
    // 32.1.13.184 is 2001:0db8 as bytes: the first word of both addresses equal, the version not.
    expect(key.match(tcpPacket({ src: '32.1.13.184', dst: '32.1.13.184', sport: 40000, dport: 443 }))).toBe(KeyMatch.None);
    const v4 = tcpPacket({ src: '32.1.13.184', dst: '32.1.13.184', sport: 40000, dport: 443 });
    expect(FlowKey.fromPacket(v4, flowHash(v4), true).match(p)).toBe(KeyMatch.None);
  });

  it('copies the addresses out of the packet', () => {
    const p = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 });
    const key = FlowKey.fromPacket(p, 0, true);
    p.src[3] = 99;
    expect([...key.aAddr]).toEqual([10, 0, 0, 1]);
  });
});

describe('serverSideByPorts', () => {
  it.each([
    [51000, 443, 'dst'], [443, 51000, 'src'], [53, 53000, 'src'], [3000, 60000, 'src'], [60000, 8080, 'dst'],
    [22, 2222, 'src'], [50000, 1234, 'dst'], [40000, 45000, 'dst'], [45000, 40000, 'dst'], [8443, 8080, 'dst'], [443, 8443, 'src'],
  ] as const)('%i -> %i: server is %s', (s, d, want) => {
    expect(serverSideByPorts(s, d)).toBe(want);
  });
});
