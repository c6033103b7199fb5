// Cross-check the readers and the decoder against an independent implementation: tshark's field
// output on real captures made by tcpdump and dumpcap (fixtures/decode/PROVENANCE.md).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { Anomalies } from '../core/anomalies.js';
import { openCapture, openCaptureStream } from '../sources/capture-file.js';
import type { CaptureSource } from '../sources/types.js';
import { decodeFrame } from './decode-frame.js';
import { formatIp } from './net/address.js';
import { L4, newDecodedPacket } from './packet.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/decode');
const FILES = ['lo-http.pcap', 'lo-http-ns.pcap', 'any-sll2.pcap', 'lo-snap96.pcap', 'veth-csum.pcap', 'lo-http.pcapng', 'lo-any-2if.pcapng'];
const hasTshark = spawnSync('tshark', ['--version']).status === 0;

const FIELDS = [
  'frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
  'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.flags', 'tcp.len', 'udp.srcport', 'udp.dstport', 'udp.length',
];

interface Row {
  frame: number; ts: number; len: number; capLen: number; src: string; dst: string;
  sport: number; dport: number; seq: number; flags: number; payloadLen: number; truncated?: boolean;
}

function tsharkRows(file: string): Row[] {
  const args = ['-r', file, '-T', 'fields', '-E', 'occurrence=f', '-E', 'separator=\t', ...FIELDS.flatMap((f) => ['-e', f])];
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.trim().split('\n').map((line) => {
    const v = Object.fromEntries(line.split('\t').map((x, i) => [FIELDS[i], x]));
    const isTcp = v['tcp.srcport'] !== '';
    return {
      frame: Number(v['frame.number']),
      ts: Number(v['frame.time_epoch']),
      len: Number(v['frame.len']),
      capLen: Number(v['frame.cap_len']),
      src: v['ip.src'] || v['ipv6.src'],
      dst: v['ip.dst'] || v['ipv6.dst'],
      sport: Number(v['tcp.srcport'] || v['udp.srcport'] || 0),
      dport: Number(v['tcp.dstport'] || v['udp.dstport'] || 0),
      seq: isTcp ? Number(v['tcp.seq_raw']) : 0,
      flags: isTcp ? parseInt(v['tcp.flags'], 16) : 0,
      payloadLen: isTcp ? Number(v['tcp.len']) : v['udp.length'] ? Number(v['udp.length']) - 8 : 0,
    };
  });
}

async function ourRows(source: CaptureSource): Promise<{ rows: Row[]; anomalies: Anomalies }> {
  const anomalies = new Anomalies();
  const pkt = newDecodedPacket();
  const rows: Row[] = [];
  await source.run((f) => {
    const ok = decodeFrame(f, pkt, anomalies, source.name);
    // ICMP errors quote an inner IP/UDP header that tshark reports first-occurrence only after the
    // outer IP; ports of such frames are not ours to report (l4 Other).
    const l4 = ok && (pkt.l4 === L4.Tcp || pkt.l4 === L4.Udp);
    rows.push({
      frame: f.index, ts: f.ts, len: f.origLen, capLen: f.capLen,
      src: formatIp(pkt.src), dst: formatIp(pkt.dst),
      sport: l4 ? pkt.srcPort : 0, dport: l4 ? pkt.dstPort : 0,
      seq: pkt.l4 === L4.Tcp ? pkt.seq : 0, flags: pkt.l4 === L4.Tcp ? pkt.tcpFlags : 0,
      payloadLen: l4 ? pkt.payload.length : 0,
      truncated: pkt.truncated,
    });
  });
  return { rows, anomalies };
}

describe.skipIf(!hasTshark)('agrees with tshark on real captures', () => {
  it.each(FILES)('%s', async (name) => {
    const path = join(FIXTURES, name);
    const expected = tsharkRows(path);
    const { rows, anomalies } = await ourRows(await openCapture(path, new Anomalies()));
    expect(rows.length).toBe(expected.length);
    expect(rows.length).toBeGreaterThan(20);
    let transportCompared = 0;
    for (let i = 0; i < rows.length; i++) {
      const ours = rows[i];
      const theirs = expected[i];
      expect(ours.frame).toBe(theirs.frame);
      expect(Math.abs(ours.ts - theirs.ts)).toBeLessThan(1e-6);
      expect([ours.len, ours.capLen, ours.src, ours.dst]).toEqual([theirs.len, theirs.capLen, theirs.src, theirs.dst]);
      if (ours.sport !== 0) {
        transportCompared++;
        expect([ours.sport, ours.dport, ours.seq, ours.flags]).toEqual([theirs.sport, theirs.dport, theirs.seq, theirs.flags]);
        // tshark gives the payload length the headers announce; we give the bytes present.
        const present = Math.max(0, theirs.payloadLen - (theirs.len - theirs.capLen));
        expect(ours.payloadLen).toBe(ours.truncated ? present : theirs.payloadLen);
        expect(ours.truncated).toBe(theirs.capLen < theirs.len);
      }
    }
    expect(transportCompared).toBeGreaterThan(rows.length / 2);
    // Real, clean captures: nothing malformed; snaplen cuts are counted once per cut frame.
    const cut = expected.filter((r) => r.capLen < r.len).length;
    expect(anomalies.summary().map((s) => [s.name, s.count])).toEqual(cut ? [['frame.truncated', cut]] : []);
    if (name === 'lo-snap96.pcap') expect(cut).toBeGreaterThan(3);
  });

  it.each([
    ['veth-csum.pcap', 'valid'],
    ['lo-http.pcap', 'offload-partial'],
  ])('TCP/UDP checksum verdicts match tshark on %s (%s checksums)', async (name) => {
    const path = join(FIXTURES, name);
    const out = execFileSync('tshark', ['-r', path, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-T', 'fields', '-E', 'occurrence=f', '-e', 'frame.number', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', 'icmp.type'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // tshark status: 0 bad, 1 good, 2 unverified. ICMP errors quote a UDP header tshark also checks: skip those frames.
    const theirs = out.trim().split('\n').map((l) => {
      const [, t, u, icmp] = l.split('\t');
      return icmp ? '' : t || u;
    });
    const source = await openCapture(path, new Anomalies());
    const anomalies = new Anomalies();
    const pkt = newDecodedPacket();
    const ours: string[] = [];
    await source.run((f) => {
      const before = anomalies.count('tcp.bad_checksum') + anomalies.count('udp.bad_checksum');
      const ok = decodeFrame(f, pkt, anomalies, name, { verifyTransportChecksums: true });
      const after = anomalies.count('tcp.bad_checksum') + anomalies.count('udp.bad_checksum');
      ours.push(!ok || (pkt.l4 !== L4.Tcp && pkt.l4 !== L4.Udp) ? '' : after > before ? '0' : '1');
    });
    const compared = theirs.map((t, i) => [t, ours[i]]).filter(([t]) => t === '0' || t === '1');
    expect(compared.length).toBeGreaterThan(10);
    for (const [t, o] of compared) expect(o).toBe(t);
    expect(new Set(compared.map(([t]) => t)).size).toBe(1); // each file is all good or all bad
  });

  it('reads a gzip-compressed real capture identically', async () => {
    const path = join(FIXTURES, 'lo-any-2if.pcapng');
    const plain = await ourRows(await openCapture(path, new Anomalies()));
    const zipped = await ourRows(await openCaptureStream(Readable.from([gzipSync(readFileSync(path))]), 'x.gz', new Anomalies()));
    expect(zipped.rows).toEqual(plain.rows);
  });
});
