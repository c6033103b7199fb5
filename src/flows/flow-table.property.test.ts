import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { limits } from '../config/limits.js';
import { Anomalies } from '../core/anomalies.js';
import type { DecodedPacket } from '../decode/packet.js';
import { ACK, FIN, PSH, Recorder, SYN, tcpPacket, udpPacket } from '../../test/support/segments.js';
import { FlowTable } from './flow-table.js';

/** Deterministic shuffle/duplicate driven by one seed, so fast-check can replay a failure. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function cutsToRanges(len: number, cuts: number[]): [number, number][] {
  const pts = [...new Set(cuts.filter((c) => c > 0 && c < len))].sort((a, b) => a - b);
  const out: [number, number][] = [];
  let prev = 0;
  for (const p of [...pts, len]) {
    if (p > prev) out.push([prev, p]);
    prev = p;
  }
  return out;
}

const CLIENT = { ip: '192.168.1.10', port: 50123 };
const SERVER = { ip: '192.168.1.20', port: 8811 };

function seg(seq: number, data: Uint8Array, flags: number, frame: number): DecodedPacket {
  return tcpPacket({
    src: CLIENT.ip, dst: SERVER.ip, sport: CLIENT.port, dport: SERVER.port, seq: seq >>> 0, ack: 7001,
    flags, data: data.slice(), frame, ts: 1000 + frame * 0.001,
  });
}

describe('FlowTable properties', () => {
  it('delivers the same bytes under any permutation and duplication of a complete stream', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3000 })),
        fc.oneof(fc.nat(0xffffffff), fc.integer({ min: 0xffffffff - 3000, max: 0xffffffff })),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 25 }),
        fc.boolean(),
        fc.integer(),
        (len, isn, nCuts, nRecuts, withFin, seed) => {
          // Bytes, cut points, which retransmissions to add and the order all come from one seed.
          const rnd = lcg(seed);
          const data = new Uint8Array(len);
          for (let i = 0; i < len; i++) data[i] = Math.floor(rnd() * 256);
          const cuts = Array.from({ length: nCuts }, () => Math.floor(rnd() * len));
          const recuts = Array.from({ length: nRecuts }, () => Math.floor(rnd() * len));
          const dataSegs: DecodedPacket[] = [];
          let frame = 3;
          for (const [a, b] of cutsToRanges(data.length, cuts)) {
            dataSegs.push(seg(isn + 1 + a, data.subarray(a, b), ACK | PSH, frame++));
          }
          // Retransmissions with other boundaries (same bytes), some of them.
          for (const [a, b] of cutsToRanges(data.length, recuts)) {
            if (rnd() < 0.5) dataSegs.push(seg(isn + 1 + a, data.subarray(a, b), ACK, frame++));
          }
          if (withFin) dataSegs.push(seg(isn + 1 + data.length, new Uint8Array(0), ACK | FIN, frame++));
          // Exact duplicates.
          const n = dataSegs.length;
          for (let i = 0; i < n; i++) if (rnd() < 0.2) dataSegs.push(dataSegs[i]);
          for (let i = dataSegs.length - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [dataSegs[i], dataSegs[j]] = [dataSegs[j], dataSegs[i]];
          }

          const rec = new Recorder();
          const anomalies = new Anomalies();
          const table = new FlowTable(rec, anomalies, limits(), 'prop');
          table.packet(seg(isn, new Uint8Array(0), SYN, 1));
          table.packet(tcpPacket({
            src: SERVER.ip, dst: CLIENT.ip, sport: SERVER.port, dport: CLIENT.port, seq: 7000, ack: (isn + 1) >>> 0,
            flags: SYN | ACK, frame: 2, ts: 1000.002,
          }));
          for (const p of dataSegs) table.packet(p);
          table.flushAll();

          expect(Buffer.from(rec.streamBytes(1, 'c2s')).equals(Buffer.from(data))).toBe(true);
          let next = 0;
          for (const c of rec.chunks(1, 'c2s')) {
            expect(c.gapBefore).toBe(0);
            expect(c.offset).toBe(next);
            next += c.data.length;
          }
          expect(anomalies.total).toBe(0);
          expect(rec.ends()[0]).toBe(withFin ? '1 c2s fin' : '1 c2s eof');
          expect(table.stats.oooBytesBuffered).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('puts every delivered byte at its true offset under caps, loss and ACKs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.oneof(fc.nat(0xffffffff), fc.integer({ min: 0xffffffff - 2000, max: 0xffffffff })),
        fc.integer({ min: 1, max: 60 }),
        fc.integer(),
        fc.record({
          maxSegmentsAboveHole: fc.integer({ min: 1, max: 8 }),
          maxOutOfOrderBytesPerDir: fc.integer({ min: 1, max: 800 }),
          maxOutOfOrderBytesTotal: fc.integer({ min: 1, max: 1500 }),
          streamDepthBytes: fc.integer({ min: 1, max: 3000 }),
        }),
        (len, isn, nCuts, seed, caps) => {
          const rnd = lcg(seed);
          const data = new Uint8Array(len);
          for (let i = 0; i < len; i++) data[i] = Math.floor(rnd() * 256);
          const cuts = Array.from({ length: nCuts }, () => Math.floor(rnd() * len));
          const pkts: DecodedPacket[] = [];
          let frame = 3;
          for (const [a, b] of cutsToRanges(len, cuts)) {
            if (rnd() < 0.15) continue; // lost in capture
            pkts.push(seg(isn + 1 + a, data.subarray(a, b), ACK, frame++));
            if (rnd() < 0.3) pkts.push(seg(isn + 1 + a, data.subarray(a, b), ACK, frame++));
            if (rnd() < 0.3) {
              pkts.push(tcpPacket({
                src: SERVER.ip, dst: CLIENT.ip, sport: SERVER.port, dport: CLIENT.port, seq: 7001,
                ack: (isn + 1 + Math.floor(rnd() * (len + 1))) >>> 0, flags: ACK, frame: frame++, ts: 1000,
              }));
            }
          }
          for (let i = pkts.length - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [pkts[i], pkts[j]] = [pkts[j], pkts[i]];
          }
          const rec = new Recorder();
          const lim = limits(caps);
          const table = new FlowTable(rec, new Anomalies(), lim, 'prop');
          table.packet(seg(isn, new Uint8Array(0), SYN, 1));
          for (const p of pkts) {
            table.packet(p);
            expect(table.stats.oooBytesBuffered).toBeLessThanOrEqual(lim.maxOutOfOrderBytesTotal);
          }
          table.flushAll();
          let next = 0;
          for (const c of rec.chunks(1, 'c2s')) {
            expect(c.offset).toBe(next + c.gapBefore);
            expect(c.offset + c.data.length).toBeLessThanOrEqual(Math.min(len, lim.streamDepthBytes));
            expect(Buffer.from(c.data).equals(Buffer.from(data.subarray(c.offset, c.offset + c.data.length)))).toBe(true);
            next = c.offset + c.data.length;
          }
          const st = table.stats;
          expect(st.gapBytes).toBeGreaterThanOrEqual(0);
          expect(st.oooBytesBuffered).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  const packetSpec = fc.record({
    udp: fc.boolean(),
    a: fc.nat(2),
    b: fc.nat(2),
    pa: fc.constantFrom(53, 443, 40000, 50000),
    pb: fc.constantFrom(53, 443, 40000, 50000),
    seqBase: fc.constantFrom(0, 1000, 0xfffffff0),
    seqOff: fc.oneof(fc.integer({ min: -50, max: 400 }), fc.nat(0xffffffff)),
    ack: fc.oneof(fc.integer({ min: -50, max: 400 }), fc.nat(0xffffffff)),
    flags: fc.oneof(fc.constantFrom(ACK, ACK | PSH, SYN, SYN | ACK, FIN | ACK), fc.nat(63)),
    data: fc.uint8Array({ maxLength: 60 }),
    dt: fc.oneof(fc.constant(0), fc.double({ min: -5, max: 50, noNaN: true })),
    fragment: fc.nat(9).map((n) => n === 0),
    ignoreNow: fc.nat(20).map((n) => n === 0),
  });

  it('never throws on random segments, keeps its invariants, and ends every flow once', () => {
    fc.assert(
      fc.property(fc.array(packetSpec, { maxLength: 120, size: 'max' }), (specs) => {
        const lim = limits({
          maxFlows: 3, flowIdleSeconds: 30, maxOutOfOrderBytesPerDir: 100, maxSegmentsAboveHole: 4,
          maxOutOfOrderBytesTotal: 200, streamDepthBytes: 300,
        });
        const rec = new Recorder();
        const table = new FlowTable(rec, new Anomalies(), lim, 'fuzz');
        let ignoreNext = false;
        rec.onChunkHook = (c) => {
          if (ignoreNext) {
            table.ignore(rec.flows.find((f) => f.id === c.flow)!, c.dir);
            ignoreNext = false;
          }
        };
        const hosts = ['10.0.0.1', '10.0.0.2', 'fe80::1'];
        let ts = 100;
        let frame = 0;
        for (const s of specs) {
          ts += s.dt;
          frame++;
          const src = hosts[s.a];
          let dst = hosts[s.b];
          if (src.includes(':') !== dst.includes(':')) dst = src; // same IP version on both sides
          const common = { src, dst, sport: s.pa, dport: s.pb, data: s.data, frame, ts, fragment: s.fragment };
          const p = s.udp
            ? udpPacket(common)
            : tcpPacket({ ...common, seq: s.seqBase + s.seqOff, ack: s.seqBase + s.ack, flags: s.flags });
          ignoreNext = s.ignoreNow;
          table.packet(p);
          expect(table.stats.oooBytesBuffered).toBeGreaterThanOrEqual(0);
          expect(table.stats.oooBytesBuffered).toBeLessThanOrEqual(lim.maxOutOfOrderBytesTotal);
          expect(table.stats.flowsInTable).toBeLessThanOrEqual(lim.maxFlows);
        }
        table.flushAll();
        const st = table.stats;
        expect(st.flowsInTable).toBe(0);
        expect(st.oooBytesBuffered).toBe(0);

        // Per flow: one start, one end, TCP ends each direction once, nothing after the end;
        // chunk offsets advance by data + gap; no direction gets more than the stream depth.
        const ended = new Set<number>();
        const streamEnds = new Map<string, number>();
        const nextOffset = new Map<string, number>();
        for (const e of rec.events) {
          if (e.ev === 'start') continue;
          const id = e.ev === 'chunk' ? e.chunk.flow : e.flow;
          expect(ended.has(id)).toBe(false);
          if (e.ev === 'flowEnd') ended.add(id);
          else if (e.ev === 'streamEnd') {
            const k = `${id} ${e.dir}`;
            streamEnds.set(k, (streamEnds.get(k) ?? 0) + 1);
          } else if (e.ev === 'chunk') {
            const k = `${id} ${e.chunk.dir}`;
            expect(streamEnds.has(k)).toBe(false);
            const expected = (nextOffset.get(k) ?? 0) + e.chunk.gapBefore;
            expect(e.chunk.offset).toBe(expected);
            expect(e.chunk.data.length).toBeGreaterThan(0);
            expect(e.chunk.offset + e.chunk.data.length).toBeLessThanOrEqual(lim.streamDepthBytes);
            nextOffset.set(k, e.chunk.offset + e.chunk.data.length);
          }
        }
        expect(ended.size).toBe(rec.flows.length);
        for (const f of rec.flows) {
          const n = f.proto === 'tcp' ? 1 : 0;
          expect(streamEnds.get(`${f.id} c2s`) ?? 0).toBe(n);
          expect(streamEnds.get(`${f.id} s2c`) ?? 0).toBe(n);
        }
        expect(rec.flows.map((f) => f.id)).toEqual(rec.flows.map((_, i) => i + 1));
      }),
      { numRuns: 400 },
    );
  });
});
