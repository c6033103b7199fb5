import { describe, expect, it } from 'vitest';
import { limits, type Limits } from '../config/limits.js';
import { Anomalies } from '../core/anomalies.js';
import { L4, type DecodedPacket } from '../decode/packet.js';
import {
  ACK, Conversation, FIN, Recorder, SYN, bytes, tcpPacket, udpPacket,
} from '../../test/support/segments.js';
import { flowHash } from './flow-key.js';
import { FlowTable } from './flow-table.js';
import type { FlowEvents, StreamChunk } from './types.js';

function setup(over: Partial<Limits> = {}) {
  const rec = new Recorder();
  const anomalies = new Anomalies();
  const table = new FlowTable(rec, anomalies, limits(over), 'test.pcap');
  const feed = (...pkts: (DecodedPacket | DecodedPacket[])[]) => {
    for (const p of pkts.flat()) table.packet(p);
  };
  return { rec, anomalies, table, feed };
}

describe('FlowTable: TCP in order', () => {
  it('delivers both directions in order, with offsets, frames and FIN ends', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const req = c.send('c2s', 'GET / HTTP/1.1\r\n\r\n');
    const resp1 = c.send('s2c', 'HTTP/1.1 200 OK\r\n');
    const resp2 = c.send('s2c', '\r\nhello');
    feed(req, resp1, resp2, c.fin('c2s'), c.fin('s2c'), c.ack('c2s'));

    expect(rec.flows).toHaveLength(1);
    const f = rec.flows[0];
    expect(f).toMatchObject({
      id: 1, proto: 'tcp', rolesBy: 'handshake',
      client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 443 },
      firstFrame: 1,
    });
    expect(rec.stream(1, 'c2s')).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(rec.stream(1, 's2c')).toBe('HTTP/1.1 200 OK\r\n\r\nhello');
    const s2c = rec.chunks(1, 's2c');
    expect(s2c.map((x) => [x.offset, x.frame, x.gapBefore])).toEqual([[0, resp1.frame, 0], [17, resp2.frame, 0]]);
    expect(s2c[1].ts).toBe(resp2.ts);
    expect(rec.ends()).toEqual(['1 c2s fin', '1 s2c fin', '1 flow fin']);
    const st = table.stats;
    expect(st.closedByFin).toBe(1);
    expect(st.bytesDelivered).toBe(18 + 24);
    // The trailing ACK after both FINs does not make a new flow.
    expect(st.flowsCreated).toBe(1);
  });

  it('delivers in-order data as a view of the packet payload (no copy)', () => {
    const c = new Conversation();
    let seen: StreamChunk | undefined;
    let sameBuffer = false;
    const req = c.send('c2s', 'hello world');
    const events: FlowEvents = {
      onChunk(ch) {
        seen = ch;
        sameBuffer = ch.data.buffer === req.payload.buffer && ch.data.byteOffset === req.payload.byteOffset;
      },
      onDatagram() {},
    };
    const table = new FlowTable(events, new Anomalies(), limits(), 't');
    table.packet(req);
    expect(seen?.data.length).toBe(11);
    expect(sameBuffer).toBe(true);
  });

  it('takes SYN data as the first bytes of the stream', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    const syn = c.segment('c2s', c.next.c2s, 'early', SYN, 0);
    c.next.c2s += 1 + 5;
    feed(syn, c.send('c2s', ' data'));
    expect(rec.stream(1, 'c2s')).toBe('early data');
    expect(rec.chunks(1, 'c2s')[0].offset).toBe(0);
  });
});

describe('FlowTable: out of order, retransmission, overlap', () => {
  it('reorders segments and gives each chunk the frame of its first byte', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, b, d] = c.sendSegments('c2s', 'aaaabbbbcccc', 4);
    feed(d, b);
    expect(rec.chunks(1, 'c2s')).toHaveLength(0);
    expect(table.stats.oooBytesBuffered).toBe(8);
    feed(a);
    const ch = rec.chunks(1, 'c2s');
    expect(ch.map((x) => [x.text, x.offset, x.frame])).toEqual([
      ['aaaa', 0, a.frame], ['bbbb', 4, b.frame], ['cccc', 8, d.frame],
    ]);
    expect(table.stats.oooBytesBuffered).toBe(0);
    expect(table.stats.oooBytesPeak).toBe(8);
  });

  it('reorders one-byte segments', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const segs = c.sendSegments('c2s', 'abcdef', 1);
    feed(segs[5], segs[3], segs[4], segs[1], segs[2], segs[0]);
    expect(rec.stream(1, 'c2s')).toBe('abcdef');
    expect(rec.chunks(1, 'c2s').map((x) => x.offset)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('delivers a retransmitted segment once and counts it', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, b] = c.sendSegments('c2s', 'aaaabbbb', 4);
    feed(a, a, b, a, b);
    expect(rec.stream(1, 'c2s')).toBe('aaaabbbb');
    expect(table.stats.bytesRetransmitted).toBe(12);
  });

  it('keeps the first copy when overlapping bytes agree, without a conflict', () => {
    const { rec, anomalies, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const s = c.next.c2s;
    feed(c.segment('c2s', s + 4, 'efgh'), c.segment('c2s', s + 2, 'cdefghij'), c.segment('c2s', s, 'abcd'));
    expect(rec.stream(1, 'c2s')).toBe('abcdefghij');
    expect(anomalies.count('reassembly.overlap_conflict')).toBe(0);
  });

  it('keeps the first copy when overlapping bytes differ, and counts the conflict', () => {
    const { rec, anomalies, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const s = c.next.c2s;
    // Buffered first: "EFGH" at 4..8; a later segment claims "xxxxxx" at 2..8.
    feed(c.segment('c2s', s + 4, 'EFGH'), c.segment('c2s', s + 2, 'cdxxxx'), c.segment('c2s', s, 'ab'));
    expect(rec.stream(1, 'c2s')).toBe('abcdEFGH');
    expect(anomalies.count('reassembly.overlap_conflict')).toBe(1);
    expect(table.stats.overlapConflicts).toBe(1);
  });

  it('lets buffered data win over an in-order segment that overlaps it with other bytes', () => {
    const { rec, anomalies, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const s = c.next.c2s;
    feed(c.segment('c2s', s + 3, 'DE'), c.segment('c2s', s, 'abcdefg'));
    expect(rec.stream(1, 'c2s')).toBe('abcDEfg');
    const ch = rec.chunks(1, 'c2s');
    expect(ch.map((x) => [x.text, x.offset])).toEqual([['abc', 0], ['DE', 3], ['fg', 5]]);
    expect(anomalies.count('reassembly.overlap_conflict')).toBe(1);
  });

  it('does not count a conflict for bytes already delivered that come again changed', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const s = c.next.c2s;
    feed(c.segment('c2s', s, 'abcd'), c.segment('c2s', s + 2, 'XXef'));
    expect(rec.stream(1, 'c2s')).toBe('abcdef');
  });
});

describe('FlowTable: sequence wraparound', () => {
  it('reassembles across 2^32 in and out of order', () => {
    const { rec, feed } = setup();
    const c = new Conversation('10.0.0.1:40000', '10.0.0.2:80', { c2s: 0xfffffff8, s2c: 0xfffffffe });
    feed(c.handshake());
    const segs = c.sendSegments('c2s', '0123456789abcdef', 3);
    const resp = c.sendSegments('s2c', 'ZYXWVU', 2);
    expect(segs[3].seq).toBeLessThan(segs[2].seq); // the wrap falls inside the data
    feed(segs[4], segs[1], segs[0], segs[5], segs[3], segs[2], resp[2], resp[0], resp[1]);
    expect(rec.stream(1, 'c2s')).toBe('0123456789abcdef');
    expect(rec.stream(1, 's2c')).toBe('ZYXWVU');
  });
});

describe('FlowTable: holes and caps', () => {
  it('skips a hole after maxSegmentsAboveHole and delivers the rest with gapBefore', () => {
    const { rec, anomalies, table, feed } = setup({ maxSegmentsAboveHole: 2 });
    const c = new Conversation();
    feed(c.handshake());
    const [a, lost, b, d, e] = c.sendSegments('c2s', 'aaaaLOSTbbbbddddeeee', 4);
    feed(a, b, d);
    expect(rec.stream(1, 'c2s')).toBe('aaaa');
    feed(e);
    expect(rec.stream(1, 'c2s')).toBe('aaaa[gap 4]bbbbddddeeee');
    const ch = rec.chunks(1, 'c2s');
    expect(ch[1]).toMatchObject({ offset: 8, gapBefore: 4, frame: b.frame });
    expect(anomalies.count('reassembly.hole_skipped')).toBe(1);
    expect(table.stats.gaps).toBe(1);
    expect(table.stats.gapBytes).toBe(4);
    // The lost segment arriving late is old now.
    feed(lost);
    expect(rec.stream(1, 'c2s')).toBe('aaaa[gap 4]bbbbddddeeee');
  });

  it('drains one-byte pieces after a skipped hole', () => {
    const { rec, feed } = setup({ maxSegmentsAboveHole: 2 });
    const c = new Conversation();
    feed(c.handshake());
    const segs = c.sendSegments('c2s', 'xyzabc', 1);
    feed(segs[4], segs[3], segs[5]);
    expect(rec.stream(1, 'c2s')).toBe('[gap 3]abc');
    expect(rec.chunks(1, 'c2s').map((x) => x.offset)).toEqual([3, 4, 5]);
  });

  it('skips holes when the per-direction byte cap is passed', () => {
    const { rec, anomalies, table, feed } = setup({ maxOutOfOrderBytesPerDir: 10 });
    const c = new Conversation();
    feed(c.handshake());
    const s = c.next.c2s;
    feed(c.segment('c2s', s + 5, '12345'), c.segment('c2s', s + 20, 'abcde'));
    expect(table.stats.oooBytesBuffered).toBe(10);
    expect(rec.chunks(1, 'c2s')).toHaveLength(0);
    feed(c.segment('c2s', s + 30, 'XY'));
    // 12 bytes > 10: the first hole (5 bytes) goes, then "12345"; 7 bytes left is under the cap.
    expect(rec.stream(1, 'c2s')).toBe('[gap 5]12345');
    expect(table.stats.oooBytesBuffered).toBe(7);
    expect(anomalies.count('reassembly.ooo_cap_hit')).toBe(1);
  });

  it('skips holes when the global memory cap is passed, across flows', () => {
    const { rec, anomalies, table, feed } = setup({ maxOutOfOrderBytesTotal: 12 });
    const c1 = new Conversation('10.0.0.1:40000', '10.0.0.2:443');
    const c2 = new Conversation('10.0.0.1:40001', '10.0.0.2:443');
    feed(c1.handshake(), c2.handshake());
    feed(c1.segment('c2s', c1.next.c2s + 3, '12345678'));
    feed(c2.segment('c2s', c2.next.c2s + 2, 'abcdefgh'));
    expect(anomalies.count('reassembly.memcap_hit')).toBe(1);
    expect(rec.stream(2, 'c2s')).toBe('[gap 2]abcdefgh');
    expect(rec.stream(1, 'c2s')).toBe('');
    expect(table.stats.oooBytesBuffered).toBe(8);
  });

  it('treats a hole the receiver acknowledged as capture loss', () => {
    const { rec, anomalies, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, , b] = c.sendSegments('c2s', 'aaaaLOSTbbbb', 4);
    feed(a, b);
    expect(rec.stream(1, 'c2s')).toBe('aaaa');
    feed(c.ack('s2c')); // acks all 12 bytes
    expect(rec.stream(1, 'c2s')).toBe('aaaa[gap 4]bbbb');
    expect(anomalies.count('reassembly.capture_loss')).toBe(1);
  });

  it('does not skip a hole on an ACK beyond any possible window', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, lost, b] = c.sendSegments('c2s', 'aaaaLOSTbbbb', 4);
    feed(a, b, c.segment('s2c', c.next.s2c, undefined, ACK, a.seq + 2 ** 30 + 100), lost);
    expect(rec.stream(1, 'c2s')).toBe('aaaaLOSTbbbb');
  });

  it('does not skip a hole on an ACK that covers only the hole', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, lost, b] = c.sendSegments('c2s', 'aaaaLOSTbbbb', 4);
    feed(a, b, c.segment('s2c', c.next.s2c, undefined, ACK, a.seq + 8), lost);
    expect(rec.stream(1, 'c2s')).toBe('aaaaLOSTbbbb');
  });
});

describe('FlowTable: FIN and RST', () => {
  it('waits for a hole before FIN, then ends with fin', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, b] = c.sendSegments('c2s', 'aaaabbbb', 4);
    const fin = c.fin('c2s');
    feed(a, fin);
    expect(rec.ends()).toEqual([]);
    feed(b);
    expect(rec.stream(1, 'c2s')).toBe('aaaabbbb');
    expect(rec.ends()).toEqual(['1 c2s fin']);
  });

  it('counts and drops data after FIN', () => {
    const { rec, anomalies, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake(), c.send('c2s', 'abc'));
    const fin = c.fin('c2s', 'de');
    feed(fin, c.segment('c2s', fin.seq + 2, 'zzz'), c.segment('c2s', fin.seq, 'deXX', ACK | FIN));
    expect(rec.stream(1, 'c2s')).toBe('abcde');
    expect(anomalies.count('reassembly.data_after_fin')).toBe(2);
    expect(table.stats.bytesSkipped).toBe(5);
    expect(rec.ends()).toEqual(['1 c2s fin']);
  });

  it('ends a half-closed flow when both FINs are in, whatever the order', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const f1 = c.fin('s2c');
    const d = c.send('c2s', 'late request');
    const f2 = c.fin('c2s');
    feed(f1, d, f2);
    expect(rec.stream(1, 'c2s')).toBe('late request');
    expect(rec.ends()).toEqual(['1 s2c fin', '1 c2s fin', '1 flow fin']);
  });

  it('on RST delivers what is buffered with a gap and ends both directions with rst', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, , b] = c.sendSegments('c2s', 'aaaaLOSTbbbb', 4);
    feed(a, b, c.rst('s2c'));
    expect(rec.stream(1, 'c2s')).toBe('aaaa[gap 4]bbbb');
    expect(rec.ends()).toEqual(['1 c2s rst', '1 s2c rst', '1 flow rst']);
    expect(table.stats.closedByRst).toBe(1);
    // Data in flight after the reset is counted, not delivered, and does not make a new flow.
    feed(c.send('s2c', 'after'));
    expect(rec.stream(1, 's2c')).toBe('');
    expect(table.stats.flowsCreated).toBe(1);
  });

  it('starts a new flow when a SYN reuses the ports of a closed one', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake(), c.send('c2s', 'one'), c.fin('c2s'), c.fin('s2c'));
    const c2 = new Conversation('10.0.0.1:40000', '10.0.0.2:443', { c2s: 900000, s2c: 77 });
    feed(c2.handshake(), c2.send('c2s', 'two'));
    expect(table.stats.flowsCreated).toBe(2);
    expect(rec.stream(1, 'c2s')).toBe('one');
    expect(rec.stream(2, 'c2s')).toBe('two');
  });
});

describe('FlowTable: port reuse on an open flow', () => {
  it('ends the old flow when a SYN with another ISN arrives, and starts a new one', () => {
    const { rec, anomalies, feed } = setup();
    const c = new Conversation();
    feed(c.handshake(), c.send('c2s', 'old'));
    const c2 = new Conversation('10.0.0.1:40000', '10.0.0.2:443', { c2s: 123456, s2c: 654321 });
    const [syn, synAck, ack] = c2.handshake();
    feed(syn, syn, synAck, ack, c2.send('c2s', 'new'));
    expect(anomalies.count('flow.port_reused')).toBe(1);
    expect(rec.ends()).toEqual(['1 c2s rst', '1 s2c rst', '1 flow rst']);
    expect(rec.stream(1, 'c2s')).toBe('old');
    expect(rec.stream(2, 'c2s')).toBe('new');
    expect(rec.flows[1].rolesBy).toBe('handshake');
  });
});

describe('FlowTable: mid-stream pickup', () => {
  it('starts at the first seen sequence number and drops older segments', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation('10.0.0.1:51000', '10.0.0.2:8080');
    const [a, b, d] = c.sendSegments('c2s', 'aaaabbbbcccc', 4);
    feed(b, a, d);
    expect(rec.flows[0].rolesBy).toBe('heuristic');
    expect(rec.stream(1, 'c2s')).toBe('bbbbcccc');
    expect(rec.chunks(1, 'c2s')[0].offset).toBe(0);
    expect(table.stats.bytesRetransmitted).toBe(4);
  });

  it('does not fix the start from a bare ACK', () => {
    const { rec, feed } = setup();
    const c = new Conversation('10.0.0.1:51000', '10.0.0.2:8080');
    const keepAlive = c.segment('c2s', c.next.c2s - 1, undefined, ACK);
    feed(keepAlive, c.send('c2s', 'data'));
    expect(rec.stream(1, 'c2s')).toBe('data');
  });
});

describe('FlowTable: roles', () => {
  const cases: { name: string; pkt: DecodedPacket; client: string; rolesBy: string }[] = [
    { name: 'SYN sender is the client', rolesBy: 'handshake', client: '10.0.0.9:8080',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 8080, dport: 55555, flags: SYN }) },
    { name: 'SYN+ACK sender is the server', rolesBy: 'handshake', client: '10.0.0.1:443',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 40000, dport: 443, flags: SYN | ACK }) },
    { name: 'known server port (source side)', rolesBy: 'heuristic', client: '10.0.0.1:51000',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 443, dport: 51000, data: 'x' }) },
    { name: 'dev port 3000 vs ephemeral', rolesBy: 'heuristic', client: '10.0.0.1:60000',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 3000, dport: 60000, data: 'x' }) },
    { name: 'privileged port vs unprivileged', rolesBy: 'heuristic', client: '10.0.0.1:2000',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 999, dport: 2000, data: 'x' }) },
    { name: 'non-ephemeral vs ephemeral', rolesBy: 'heuristic', client: '10.0.0.1:45000',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 12345, dport: 45000, data: 'x' }) },
    { name: 'otherwise the first destination is the server', rolesBy: 'heuristic', client: '10.0.0.9:40000',
      pkt: tcpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 40000, dport: 45000, data: 'x' }) },
    { name: 'UDP DNS reply first', rolesBy: 'heuristic', client: '10.0.0.1:53000',
      pkt: udpPacket({ src: '10.0.0.9', dst: '10.0.0.1', sport: 53, dport: 53000, data: 'x' }) },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const { rec, feed } = setup();
      feed(tc.pkt);
      const f = rec.flows[0];
      expect(`${f.client.ip}:${f.client.port}`).toBe(tc.client);
      expect(f.rolesBy).toBe(tc.rolesBy);
    });
  }

  it('sends s2c data of a SYN+ACK-first flow to the s2c stream', () => {
    const { rec, feed } = setup();
    const c = new Conversation();
    const [, synAck] = c.handshake();
    feed(synAck, c.send('s2c', 'banner'), c.send('c2s', 'hello'));
    expect(rec.stream(1, 's2c')).toBe('banner');
    expect(rec.stream(1, 'c2s')).toBe('hello');
  });
});

describe('FlowTable: UDP', () => {
  it('delivers datagrams per direction and ends UDP flows at eof', () => {
    const { rec, table, feed } = setup();
    feed(
      udpPacket({ src: '10.0.0.1', dst: '10.0.0.53', sport: 40000, dport: 53, data: 'query', frame: 1 }),
      udpPacket({ src: '10.0.0.53', dst: '10.0.0.1', sport: 53, dport: 40000, data: 'answer', frame: 2 }),
    );
    table.flushAll();
    expect(rec.events.filter((e) => e.ev === 'datagram')).toEqual([
      { ev: 'datagram', flow: 1, dir: 'c2s', text: 'query', frame: 1 },
      { ev: 'datagram', flow: 1, dir: 's2c', text: 'answer', frame: 2 },
    ]);
    expect(rec.ends()).toEqual(['1 flow eof']);
    expect(table.stats).toMatchObject({ udpFlows: 1, tcpFlows: 0, datagrams: 2, bytesDelivered: 11, flowsInTable: 0 });
  });

  it('ignores a UDP direction on request, counting its bytes', () => {
    const { rec, table, feed } = setup();
    feed(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, data: 'a' }));
    table.ignore(rec.flows[0], 'c2s');
    feed(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, data: 'bcd' }));
    feed(udpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000, data: 'ef' }));
    expect(rec.events.filter((e) => e.ev === 'datagram').map((e) => (e as { text: string }).text)).toEqual(['a', 'ef']);
    expect(table.stats.bytesSkipped).toBe(3);
  });
});

describe('FlowTable: idle timeout and eviction', () => {
  it('expires idle flows on capture time and starts a new flow for later packets', () => {
    const { rec, table, feed } = setup({ flowIdleSeconds: 60 });
    const c = new Conversation();
    feed(c.handshake(), c.send('c2s', 'first'));
    c.ts += 30;
    feed(c.send('c2s', ' second')); // 30 s: still the same flow
    expect(rec.ends()).toEqual([]);
    c.ts += 61;
    feed(c.send('c2s', 'third'));
    expect(rec.ends()).toEqual(['1 c2s idle', '1 s2c idle', '1 flow idle']);
    expect(rec.stream(1, 'c2s')).toBe('first second');
    expect(rec.stream(2, 'c2s')).toBe('third');
    expect(rec.flows[1].rolesBy).toBe('heuristic');
    expect(table.stats.idleExpired).toBe(1);
  });

  it('expires idle flows when other traffic moves the clock', () => {
    const { rec, feed } = setup({ flowIdleSeconds: 10 });
    feed(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, data: 'q', ts: 100 }));
    feed(udpPacket({ src: '10.0.0.3', dst: '10.0.0.2', sport: 40000, dport: 53, data: 'q', ts: 105 }));
    feed(udpPacket({ src: '10.0.0.4', dst: '10.0.0.2', sport: 40000, dport: 53, data: 'q', ts: 111 }));
    expect(rec.ends()).toEqual(['1 flow idle']);
  });

  it('evicts the least recently seen flow at maxFlows, flushing its buffer first', () => {
    const { rec, anomalies, table, feed } = setup({ maxFlows: 2 });
    const c1 = new Conversation('10.0.0.1:40001', '10.0.0.2:443');
    const c2 = new Conversation('10.0.0.1:40002', '10.0.0.2:443');
    const c3 = new Conversation('10.0.0.1:40003', '10.0.0.2:443');
    feed(c1.handshake(), c2.handshake());
    feed(c1.segment('c2s', c1.next.c2s + 2, 'buffered'));
    feed(c2.send('c2s', 'recent')); // flow 2 is now the most recent; flow 1 the oldest
    feed(c3.handshake());
    expect(rec.stream(1, 'c2s')).toBe('[gap 2]buffered');
    expect(rec.ends()).toEqual(['1 c2s evicted', '1 s2c evicted', '1 flow evicted']);
    expect(anomalies.count('flow.evicted')).toBe(1);
    expect(table.stats).toMatchObject({ evicted: 1, flowsInTable: 2, oooBytesBuffered: 0 });
  });
  it('evicts flows that already ended before open ones', () => {
    const { rec, feed } = setup({ maxFlows: 2 });
    const c1 = new Conversation('10.0.0.1:40001', '10.0.0.2:443');
    const c2 = new Conversation('10.0.0.1:40002', '10.0.0.2:443');
    const c3 = new Conversation('10.0.0.1:40003', '10.0.0.2:443');
    feed(c1.handshake(), c2.handshake(), c2.fin('c2s'), c2.fin('s2c'), c3.handshake());
    // Flow 1 is the least recently seen, but flow 2 had ended: it goes, and flow 1 stays open.
    expect(rec.ends()).toEqual(['2 c2s fin', '2 s2c fin', '2 flow fin']);
    feed(c1.send('c2s', 'still here'));
    expect(rec.stream(1, 'c2s')).toBe('still here');
  });
});

describe('FlowTable: ignore and stream depth', () => {
  it('stops delivering an ignored direction, also from inside onChunk while draining', () => {
    const { rec, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, b, d] = c.sendSegments('c2s', 'aaaabbbbcccc', 4);
    rec.onChunkHook = (ch) => {
      if (ch.text === 'aaaa') table.ignore(rec.flows[0], 'c2s');
    };
    feed(d, b, a, c.send('c2s', 'more'), c.send('s2c', 'reply'));
    expect(rec.stream(1, 'c2s')).toBe('aaaa');
    expect(rec.stream(1, 's2c')).toBe('reply');
    expect(table.stats.bytesSkipped).toBe(12);
    expect(table.stats.oooBytesBuffered).toBe(0);
    expect(table.stats.directionsIgnored).toBe(1);
    // An ignored direction still ends at its FIN.
    feed(c.fin('c2s'));
    expect(rec.ends()).toEqual(['1 c2s fin']);
  });

  it('cuts a direction at streamDepthBytes and counts stream.depth_reached once', () => {
    const { rec, anomalies, table, feed } = setup({ streamDepthBytes: 6 });
    const c = new Conversation();
    feed(c.handshake(), c.sendSegments('c2s', 'abcdefghij', 4), c.send('c2s', 'klm'));
    expect(rec.stream(1, 'c2s')).toBe('abcdef');
    expect(anomalies.count('stream.depth_reached')).toBe(1);
    expect(table.stats.bytesSkipped).toBe(7);
  });
});

describe('FlowTable: what is not a flow', () => {
  it('ignores non-TCP/UDP packets and fragments without a transport header', () => {
    const { rec, table } = setup();
    const icmp = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 0, dport: 0 });
    icmp.l4 = L4.Other;
    icmp.ipProto = 1;
    const frag = udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 0, dport: 0, fragment: true, data: 'x' });
    frag.l4 = L4.None;
    table.packet(icmp);
    table.packet(frag);
    expect(rec.events).toEqual([]);
    expect(table.stats).toMatchObject({ packets: 2, packetsIgnored: 1, fragmentsIgnored: 1, flowsCreated: 0 });
  });

  it('skips a first UDP fragment but keeps the flow', () => {
    const { rec, anomalies, feed } = setup();
    feed(udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, data: 'part', fragment: true }));
    expect(rec.flows).toHaveLength(1);
    expect(rec.events.filter((e) => e.ev === 'datagram')).toEqual([]);
    expect(anomalies.count('flow.udp_fragment_skipped')).toBe(1);
  });
});

describe('FlowTable: flow identity', () => {
  it('keeps flows apart by VLAN and by IP version', () => {
    const { rec, feed } = setup();
    feed(
      udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, data: 'a', vlan: [10] }),
      udpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 53, dport: 40000, data: 'b', vlan: [10] }),
      udpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, data: 'c', vlan: [20] }),
      udpPacket({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 53, data: 'd' }),
    );
    expect(rec.flows.map((f) => [f.id, f.vlan, f.client.ip])).toEqual([
      [1, [10], '10.0.0.1'], [2, [20], '10.0.0.1'], [3, [], '2001:db8::1'],
    ]);
  });

  it('keeps two flows apart when their hashes collide', () => {
    // Search for two 5-tuples with the same hash; with 2^32 buckets a collision needs ~2^16 tries.
    const seen = new Map<number, DecodedPacket>();
    let pair: [DecodedPacket, DecodedPacket] | undefined;
    let x = 12345;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    for (let i = 0; i < 1_000_000 && !pair; i++) {
      const src = `10.${rnd() & 255}.${rnd() & 255}.${rnd() & 255}`;
      const p = udpPacket({ src, dst: '10.255.0.1', sport: rnd(), dport: rnd() });
      const h = flowHash(p);
      const prev = seen.get(h);
      if (prev) pair = [prev, p];
      else seen.set(h, p);
    }
    expect(pair).toBeDefined();
    const [p1, p2] = pair!;
    const { rec, table } = setup();
    p1.payload = bytes('one');
    p2.payload = bytes('two');
    table.packet(p1);
    table.packet(p2);
    table.packet(p1);
    expect(rec.flows).toHaveLength(2);
    expect(rec.events.filter((e) => e.ev === 'datagram').map((e) => (e as { flow: number }).flow)).toEqual([1, 2, 1]);
    table.flushAll();
    expect(table.stats.flowsInTable).toBe(0);
  });
});

describe('FlowTable: flushAll', () => {
  it('delivers buffered data and ends every open flow with eof, in id order', () => {
    const { rec, table, feed } = setup();
    const c1 = new Conversation('10.0.0.1:40001', '10.0.0.2:443');
    const c2 = new Conversation('10.0.0.1:40002', '10.0.0.2:443');
    const c3 = new Conversation('10.0.0.1:40003', '10.0.0.2:443');
    feed(c1.handshake(), c2.handshake(), c3.handshake());
    feed(c3.send('c2s', 'x'), c1.segment('c2s', c1.next.c2s + 3, 'tail'), c2.send('c2s', 'y'));
    feed(c3.fin('c2s'), c3.fin('s2c')); // flow 3 closes normally
    table.flushAll();
    expect(rec.stream(1, 'c2s')).toBe('[gap 3]tail');
    expect(rec.ends()).toEqual([
      '3 c2s fin', '3 s2c fin', '3 flow fin',
      '1 c2s eof', '1 s2c eof', '1 flow eof',
      '2 c2s eof', '2 s2c eof', '2 flow eof',
    ]);
    expect(table.stats).toMatchObject({ flowsInTable: 0, endedAtEof: 2, oooBytesBuffered: 0 });
  });

  it('reaches a FIN behind a hole at flush and ends that direction with fin', () => {
    const { rec, anomalies, table, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const [a, , b] = c.sendSegments('c2s', 'aaaaLOSTbbbb', 4);
    feed(a, b, c.fin('c2s'));
    table.flushAll();
    expect(anomalies.count('reassembly.hole_at_end')).toBe(1);
    expect(rec.stream(1, 'c2s')).toBe('aaaa[gap 4]bbbb');
    expect(rec.ends()).toEqual(['1 c2s fin', '1 s2c eof', '1 flow eof']);
  });
});

describe('FlowTable: anomaly locations', () => {
  it('names file, frame and flow', () => {
    const { anomalies, feed } = setup();
    const c = new Conversation();
    feed(c.handshake());
    const s = c.next.c2s;
    const p = c.segment('c2s', s + 1, 'B');
    feed(c.segment('c2s', s + 1, 'A'), p);
    const sum = anomalies.summary().find((x) => x.name === 'reassembly.overlap_conflict');
    expect(sum?.examples[0]).toEqual({ file: 'test.pcap', frame: p.frame, flow: '#1 tcp 10.0.0.1:40000 > 10.0.0.2:443' });
  });
});
