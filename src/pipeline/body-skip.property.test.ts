// Skipping bodies nobody reads (limits.httpBodySkipMinBytes) must change nothing but speed: on random HTTP
// conversations, cut, reordered, duplicated, with segments lost and any ending, the messages, the flow table's
// counters and the anomalies are the same with skipping off and on.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { limits } from '../config/limits.js';
import { Anomalies } from '../core/anomalies.js';
import type { DecodedPacket } from '../decode/packet.js';
import { messageToJsonLine } from '../report/messages.js';
import { concatBytes, enc } from '../../test/support/http.js';
import { Conversation, tcpPacket } from '../../test/support/segments.js';
import { packetPipeline } from './capture.js';


type Body = { kind: 'octets' | 'json' | 'chunked' | 'gzip-label'; size: number };

function response(b: Body, close: boolean): Uint8Array {
  const payload = b.kind === 'json' ? enc(`{"a":"${'j'.repeat(b.size)}"}`) : new Uint8Array(b.size).fill(0x5a);
  if (b.kind === 'chunked') {
    const head = enc(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n`);
    const body = b.size > 0 ? [enc(`${b.size.toString(16)}\r\n`), payload, enc('\r\n')] : [];
    return concatBytes(head, ...body, enc('0\r\n\r\n'));
  }
  const type = b.kind === 'json' ? 'application/json' : b.kind === 'gzip-label' ? 'image/png' : 'application/octet-stream';
  const length = close ? '' : `content-length: ${payload.length}\r\n`;
  return concatBytes(enc(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\n${length}\r\n`), payload);
}

interface Scenario {
  bodies: Body[];
  closeDelimitedLast: boolean;
  mss: number;
  seed: number;
  reorder: boolean;
  dupRate: number;
  lossRate: number;
  ending: 'fin' | 'rst' | 'none';
  depth: number;
}

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The packets of one scenario: handshake, requests, responses segment by segment, then the ending. */
function packets(s: Scenario): DecodedPacket[] {
  const c = new Conversation('10.0.0.1:40000', '10.0.0.2:8080');
  const rnd = lcg(s.seed);
  const out = c.handshake();
  const data: DecodedPacket[] = [];
  s.bodies.forEach((b, i) => {
    data.push(c.send('c2s', `GET /f${i} HTTP/1.1\r\nhost: files\r\n\r\n`));
    const last = i === s.bodies.length - 1;
    const res = response(b, last && s.closeDelimitedLast && b.kind !== 'chunked');
    for (const p of c.sendSegments('s2c', res, s.mss)) {
      if (rnd() < s.lossRate) continue; // lost by the capture
      data.push(p);
      if (rnd() < s.dupRate) data.push(p);
    }
  });
  if (s.reorder) {
    // Swap neighbours at random: data runs ahead of a hole, then the hole fills.
    for (let i = 0; i + 1 < data.length; i++) if (rnd() < 0.2) [data[i], data[i + 1]] = [data[i + 1], data[i]];
  }
  out.push(...data);
  // The client acknowledges everything the server sent: lost segments become capture loss.
  out.push(c.ack('c2s'));
  if (s.ending === 'fin') out.push(c.fin('s2c'), c.fin('c2s'), c.ack('s2c'));
  else if (s.ending === 'rst') out.push(c.rst('c2s'));
  // Frame numbers follow capture order (duplicates and swaps included).
  return out.map((p, i) => {
    const c2s = p.srcPort === c.client.port;
    return tcpPacket({
      src: c2s ? c.client.ip : c.server.ip, dst: c2s ? c.server.ip : c.client.ip, sport: p.srcPort, dport: p.dstPort,
      seq: p.seq, ack: p.ack, flags: p.tcpFlags, data: p.payload.slice(), frame: i + 1, ts: 1_700_000_000 + i * 0.001,
    });
  });
}

function run(pkts: DecodedPacket[], skipMin: number, depth: number): unknown {
  const anomalies = new Anomalies();
  const lines: string[] = [];
  const { table } = packetPipeline(anomalies, limits({ httpBodySkipMinBytes: skipMin, streamDepthBytes: depth }), 'mem', {
    onMessage: (m) => lines.push(messageToJsonLine('"mem"', m)),
    strict: true,
  });
  for (const p of pkts) table.packet(p);
  table.flushAll();
  return { lines, stats: table.stats, anomalies: anomalies.summary() };
}

const body = fc.record({
  kind: fc.constantFrom<Body['kind']>('octets', 'octets', 'json', 'chunked', 'gzip-label'),
  size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 6000 })),
});

const scenario = fc.record({
  bodies: fc.array(body, { minLength: 1, maxLength: 4 }),
  closeDelimitedLast: fc.boolean(),
  mss: fc.constantFrom(7, 100, 536, 1448),
  seed: fc.integer(),
  reorder: fc.boolean(),
  dupRate: fc.constantFrom(0, 0.1),
  lossRate: fc.constantFrom(0, 0, 0.05),
  ending: fc.constantFrom<Scenario['ending']>('fin', 'rst', 'none'),
  depth: fc.constantFrom(16 * 1024 * 1024, 3000, 9000),
});

describe('HTTP body skipping', () => {
  it('gives the same messages, counters and anomalies as delivering every byte', () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom(1, 64, 1000), (s, min) => {
        const pkts = packets(s);
        expect(run(pkts, min, s.depth)).toEqual(run(pkts, 0, s.depth));
      }),
      { numRuns: 400 },
    );
  });

  it('really skips: a large download is delivered in a few chunks, not one per segment', () => {
    const c = new Conversation('10.0.0.1:40000', '10.0.0.2:8080');
    const pkts = [
      ...c.handshake(),
      c.send('c2s', 'GET /big HTTP/1.1\r\nhost: files\r\n\r\n'),
      ...c.sendSegments('s2c', response({ kind: 'octets', size: 200_000 }, false), 1448),
      c.send('c2s', 'GET /next HTTP/1.1\r\nhost: files\r\n\r\n'),
      ...c.sendSegments('s2c', response({ kind: 'json', size: 10 }, false), 1448),
      c.fin('c2s'),
      c.fin('s2c'),
    ];
    let chunks = 0;
    const anomalies = new Anomalies();
    const lines: string[] = [];
    const { table, dispatcher } = packetPipeline(anomalies, limits(), 'mem', { onMessage: (m) => lines.push(messageToJsonLine('"mem"', m)), strict: true });
    const onChunk = dispatcher.onChunk.bind(dispatcher);
    dispatcher.onChunk = (chunk) => {
      chunks++;
      onChunk(chunk);
    };
    for (const p of pkts) table.packet(p);
    table.flushAll();
    expect(pkts.length).toBeGreaterThan(140);
    expect(chunks).toBeLessThan(10);
    const responses = lines.map((l) => JSON.parse(l)).filter((m) => m.kind === 'http.response');
    expect(responses.map((m) => m.bodyLength)).toEqual([200_000, 18]);
    // Skipped bytes still count as delivered: every payload byte.
    expect(table.stats.bytesDelivered).toBe(pkts.reduce((n, p) => n + p.payloadLength, 0));
    expect(anomalies.summary()).toEqual([]);
  });
});
