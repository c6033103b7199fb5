import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { Anomalies } from '../../core/anomalies.js';
import { limits } from '../../config/limits.js';
import type { ParserContext } from '../context.js';
import type { DnsMessage, Message } from '../messages.js';
import type { Dir, FlowRef, StreamChunk } from '../../flows/types.js';
import { DnsTcpStream, isPlausibleDnsMessage, isPlausibleDnsTcp, normaliseName, parseDns } from './parse.js';

function ctx(): ParserContext {
  return { anomalies: new Anomalies(), limits: limits(), file: 'test.pcap' };
}

const flow: FlowRef = {
  id: 1, proto: 'udp', client: { ip: '10.0.0.2', port: 40000 }, server: { ip: '10.0.0.1', port: 53 },
  vlan: [], rolesBy: 'heuristic', firstFrame: 1, firstTs: 0,
};
const meta = (frame = 1) => ({ flow, dir: 'c2s' as Dir, frame, ts: 0 });

// A query for "mcp.example.com" type A, written out by hand (RFC 1035 §4.1).
const HAND_QUERY = new Uint8Array([
  0xab, 0xcd, // id
  0x01, 0x00, // flags: RD
  0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // qd=1 an=0 ns=0 ar=0
  3, 0x4d, 0x43, 0x50, // "MCP" (upper case on the wire)
  7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, // "example"
  3, 0x63, 0x6f, 0x6d, 0, // "com", root
  0x00, 0x01, 0x00, 0x01, // type A, class IN
]);

function response(): Uint8Array {
  return dnsPacket.encode({
    type: 'response', id: 42, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name: 'MCP.Example.com' }],
    answers: [
      { type: 'CNAME', name: 'mcp.example.com', ttl: 300, data: 'Edge.CDN.example.net' },
      { type: 'A', name: 'edge.cdn.example.net', ttl: 60, data: '192.0.2.7' },
      { type: 'AAAA', name: 'edge.cdn.example.net', ttl: 60, data: '2001:db8::7' },
      { type: 'TXT', name: 'mcp.example.com', ttl: 60, data: ['v=spf1 ', 'include:x'] },
      { type: 'MX', name: 'example.com', ttl: 60, data: { preference: 10, exchange: 'Mail.example.com' } },
      { type: 'UNKNOWN_65' as 'NULL', name: 'mcp.example.com', ttl: 60, data: Buffer.from([0, 1, 0]) },
    ],
  });
}

describe('parseDns', () => {
  it('decodes a hand-written query: lowercase name, type, flags', () => {
    const c = ctx();
    const m = parseDns(HAND_QUERY, meta(), 'udp', c)!;
    expect(m).not.toBeNull();
    expect(m.id).toBe(0xabcd);
    expect(m.response).toBe(false);
    expect(m.rcode).toBe('NOERROR');
    expect(m.questions).toEqual([{ name: 'mcp.example.com', type: 'A' }]);
    expect(m.answers).toEqual([]);
    expect(c.anomalies.total).toBe(0);
  });

  it('turns answers into text per type', () => {
    const m = parseDns(response(), meta(), 'udp', ctx())!;
    expect(m.response).toBe(true);
    expect(m.questions[0]!.name).toBe('mcp.example.com');
    expect(m.answers.map((a) => [a.type, a.name, a.ttl, a.data])).toEqual([
      ['CNAME', 'mcp.example.com', 300, 'edge.cdn.example.net'],
      ['A', 'edge.cdn.example.net', 60, '192.0.2.7'],
      ['AAAA', 'edge.cdn.example.net', 60, '2001:db8::7'],
      ['TXT', 'mcp.example.com', 60, 'v=spf1 include:x'],
      ['MX', 'example.com', 60, '10 mail.example.com'],
      ['HTTPS', 'mcp.example.com', 60, '<3 bytes>'],
    ]);
  });

  it('names the rcode', () => {
    const b = dnsPacket.encode({ type: 'response', id: 1, flags: 3, questions: [{ type: 'AAAA', name: 'nope.example' }] });
    expect(parseDns(b, meta(), 'udp', ctx())!.rcode).toBe('NXDOMAIN');
    const s = dnsPacket.encode({ type: 'response', id: 1, flags: 2, questions: [{ type: 'A', name: 'x.example' }] });
    expect(parseDns(s, meta(), 'udp', ctx())!.rcode).toBe('SERVFAIL');
  });

  it('keeps hostile names as text and counts them', () => {
    const c = ctx();
    const b = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'a"b\x01c.evil.com' }] });
    const m = parseDns(b, meta(), 'udp', c)!;
    expect(m.questions[0]!.name).toBe('a"b\x01c.evil.com');
    expect(c.anomalies.count('dns.suspicious_name')).toBe(1);
    const ok = ctx();
    parseDns(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: '*._mcp.my-host.example' }] }), meta(), 'udp', ok);
    expect(ok.anomalies.count('dns.suspicious_name')).toBe(0);
  });

  it('keeps a very long name (up to the wire limit) and rejects a longer one', () => {
    const long = Array.from({ length: 4 }, (_, i) => String.fromCharCode(97 + i).repeat(61)).join('.'); // 247 chars
    const c = ctx();
    const m = parseDns(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: long }] }), meta(), 'udp', c)!;
    expect(m.questions[0]!.name).toBe(long);
    expect(c.anomalies.total).toBe(0);
    // 5 labels of 61: 310 bytes on the wire, over the 255 limit of RFC 1035
    const tooLong = new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...Array.from({ length: 5 }, () => [61, ...new Array(61).fill(0x61)]).flat(), 0, 0, 1, 0, 1]);
    expect(parseDns(tooLong, meta(), 'udp', c)).toBeNull();
    expect(c.anomalies.count('dns.malformed')).toBe(1);
  });

  it('counts malformed messages and returns null', () => {
    const c = ctx();
    expect(parseDns(HAND_QUERY.subarray(0, 20), meta(), 'udp', c)).toBeNull();
    expect(parseDns(new Uint8Array(5), meta(), 'udp', c)).toBeNull();
    expect(c.anomalies.count('dns.malformed')).toBe(2);
    expect(c.anomalies.summary()[0]!.examples[0]!.frame).toBe(1);
  });

  it('reads from a view at an offset inside a larger buffer', () => {
    const big = new Uint8Array(HAND_QUERY.length + 10);
    big.set(HAND_QUERY, 7);
    const m = parseDns(big.subarray(7, 7 + HAND_QUERY.length), meta(), 'udp', ctx())!;
    expect(m.questions[0]!.name).toBe('mcp.example.com');
  });

  it('normalises names', () => {
    expect(normaliseName('WWW.Example.COM.')).toBe('www.example.com');
    expect(normaliseName('.')).toBe('.');
  });

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      parseDns(bytes, meta(), 'udp', ctx());
      isPlausibleDnsMessage(bytes);
      isPlausibleDnsTcp(bytes);
    }), { numRuns: 2000 });
  });
});

describe('isPlausibleDnsMessage', () => {
  it('accepts real queries and responses, rejects other payloads', () => {
    expect(isPlausibleDnsMessage(HAND_QUERY)).toBe(true);
    expect(isPlausibleDnsMessage(response())).toBe(true);
    expect(isPlausibleDnsMessage(new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"x"}\n'))).toBe(false);
    expect(isPlausibleDnsMessage(new Uint8Array([0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0]))).toBe(false);
    // trailing junk after a valid message: not all bytes used
    const junk = new Uint8Array(HAND_QUERY.length + 3);
    junk.set(HAND_QUERY);
    expect(isPlausibleDnsMessage(junk)).toBe(false);
  });
});

// --- DNS over TCP ----------------------------------------------------------------------------

const tcpFlow: FlowRef = { ...flow, proto: 'tcp', rolesBy: 'handshake' };

function framed(...msgs: Uint8Array[]): Uint8Array {
  const total = msgs.reduce((n, m) => n + 2 + m.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const m of msgs) {
    out[at] = m.length >> 8;
    out[at + 1] = m.length & 0xff;
    out.set(m, at + 2);
    at += 2 + m.length;
  }
  return out;
}

function feedSplit(bytes: Uint8Array, cuts: number[], c = ctx()): { msgs: DnsMessage[]; c: ParserContext } {
  const msgs: DnsMessage[] = [];
  const s = new DnsTcpStream(tcpFlow, 's2c', (m: Message) => msgs.push(m as DnsMessage), c);
  const points = [...new Set(cuts.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    // Each chunk is a fresh copy so the parser cannot keep views across calls unnoticed.
    const chunk: StreamChunk = { flow: tcpFlow, dir: 's2c', offset: prev, data: bytes.slice(prev, p), gapBefore: 0, frame: 9, ts: 0 };
    expect(s.feed(chunk)).toBe('ok');
    chunk.data.fill(0xee);
    prev = p;
  }
  s.end();
  return { msgs, c };
}

const project = (ms: DnsMessage[]) => ms.map((m) => ({ id: m.id, r: m.response, q: m.questions, a: m.answers, t: m.transport }));

describe('DnsTcpStream', () => {
  const stream = framed(HAND_QUERY, response(), HAND_QUERY);

  it('decodes several messages in one chunk', () => {
    const { msgs, c } = feedSplit(stream, []);
    expect(msgs.map((m) => m.id)).toEqual([0xabcd, 42, 0xabcd]);
    expect(msgs.every((m) => m.transport === 'tcp')).toBe(true);
    expect(c.anomalies.total).toBe(0);
  });

  it('gives the same messages split at every offset', () => {
    const whole = project(feedSplit(stream, []).msgs);
    for (let i = 1; i < stream.length; i++) expect(project(feedSplit(stream, [i]).msgs)).toEqual(whole);
    expect(project(feedSplit(stream, Array.from({ length: stream.length }, (_, i) => i)).msgs)).toEqual(whole);
  });

  it('is chunking invariant (random splits)', () => {
    const whole = project(feedSplit(stream, []).msgs);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
      expect(project(feedSplit(stream, cuts).msgs)).toEqual(whole);
    }));
  });

  it('counts a message cut short at the end, and a zero length prefix', () => {
    const { msgs, c } = feedSplit(stream.subarray(0, stream.length - 4), [10]);
    expect(msgs).toHaveLength(2);
    expect(c.anomalies.count('dns.tcp_truncated')).toBe(1);
    const z = feedSplit(framed(new Uint8Array(0), HAND_QUERY), []);
    expect(z.msgs).toHaveLength(1);
    expect(z.c.anomalies.count('dns.malformed')).toBe(1);
  });

  it('stops at a gap', () => {
    const c = ctx();
    const s = new DnsTcpStream(tcpFlow, 's2c', () => {}, c);
    expect(s.feed({ flow: tcpFlow, dir: 's2c', offset: 0, data: stream.subarray(0, 5), gapBefore: 0, frame: 1, ts: 0 })).toBe('ok');
    expect(s.feed({ flow: tcpFlow, dir: 's2c', offset: 10, data: stream.subarray(10), gapBefore: 5, frame: 2, ts: 0 })).toBe('error');
    expect(c.anomalies.count('dns.tcp_gap')).toBe(1);
  });

  it('sniffs a plausible DNS-over-TCP start', () => {
    expect(isPlausibleDnsTcp(stream)).toBe(true);
    expect(isPlausibleDnsTcp(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe(false);
  });

  it('never throws on random byte streams', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400), { maxLength: 8 }), (bytes, cuts) => {
      feedSplit(bytes, cuts);
    }), { numRuns: 500 });
  });
});

// --- a real resolver's bytes (Node's c-ares) sent to a UDP socket on loopback ----------------


async function captureQuery(ask: (r: Resolver) => Promise<unknown>): Promise<Uint8Array> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const got = new Promise<Uint8Array>((resolve) => sock.once('message', (m) => resolve(new Uint8Array(m))));
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${sock.address().port}`]);
  ask(resolver).catch(() => {}); // no answer comes: we only want the query bytes
  try {
    return await got;
  } finally {
    resolver.cancel();
    sock.close();
  }
}

describe('queries from a real resolver', () => {
  it('c-ares A and TXT queries', async () => {
    const a = await captureQuery((r) => r.resolve4('Mcp.Example.COM'));
    const c = ctx();
    const m = parseDns(a, meta(), 'udp', c)!;
    expect(m.response).toBe(false);
    expect(m.questions).toEqual([{ name: 'mcp.example.com', type: 'A' }]);
    expect(isPlausibleDnsMessage(a)).toBe(true);
    const t = await captureQuery((r) => r.resolveTxt('_mcp.example.org'));
    expect(parseDns(t, meta(), 'udp', c)!.questions).toEqual([{ name: '_mcp.example.org', type: 'TXT' }]);
    expect(c.anomalies.total).toBe(0);
  });
});
