#!/usr/bin/env node
// Measure shadowtap's capture reader against pcap-parser (npm) on a large classic pcap, and check
// how pcap-parser handles nanosecond, big-endian and truncated files. Results: docs/pcap-parser.md.
//
//   npm run build            # or: npx tsc -p tsconfig.json --outDir /tmp/st-dist
//   node scripts/compare-pcap-parser.mjs [--mb 100] [--small yes] [--file /tmp/shadowtap-bench.pcap] [--dist dist]
//   (--small yes: 60..200-byte frames, to measure per-packet cost rather than bytes)
//
// The generated file is never committed; it is rebuilt when missing.
import { createRequire } from 'node:module';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const mb = Number(args.mb ?? 100);
const small = args.small === 'yes';
const file = args.file ?? `/tmp/shadowtap-bench${small ? '-small' : ''}.pcap`;
const dist = resolve(args.dist ?? 'dist');
const { openCapture, openCaptureStream } = await import(pathToFileURL(`${dist}/sources/capture-file.js`).href);
const { decodeFrame } = await import(pathToFileURL(`${dist}/decode/decode-frame.js`).href);
const { newDecodedPacket } = await import(pathToFileURL(`${dist}/decode/packet.js`).href);
const { Anomalies } = await import(pathToFileURL(`${dist}/core/anomalies.js`).href);

/** One Ethernet/IPv4/TCP frame of `size` bytes (>= 54). */
function frame(size, i) {
  const b = Buffer.alloc(size, 0x61);
  b.fill(0, 0, 54);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(size - 14, 16);
  b[22] = 64;
  b[23] = 6;
  b.writeUInt32BE(0x0a000001, 26);
  b.writeUInt32BE(0x0a000002 + (i % 1000), 30);
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += b.readUInt16BE(k);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 24);
  b.writeUInt16BE(40000 + (i % 20000), 34);
  b.writeUInt16BE(443, 36);
  b.writeUInt32BE((i * 1000) >>> 0, 38);
  b[46] = 0x50;
  b[47] = 0x18;
  return b;
}

function pcapBytes(records, { ns = false, be = false } = {}) {
  const parts = [];
  const g = Buffer.alloc(24);
  const w32 = (buf, v, at) => (be ? buf.writeUInt32BE(v, at) : buf.writeUInt32LE(v, at));
  w32(g, ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  be ? g.writeUInt16BE(2, 4) : g.writeUInt16LE(2, 4);
  be ? g.writeUInt16BE(4, 6) : g.writeUInt16LE(4, 6);
  w32(g, 262144, 16);
  w32(g, 1, 20);
  parts.push(g);
  records.forEach((data, i) => {
    const h = Buffer.alloc(16);
    w32(h, 1700000000 + i, 0);
    w32(h, ns ? 123456789 : 123456, 4);
    w32(h, data.length, 8);
    w32(h, data.length, 12);
    parts.push(h, data);
  });
  return Buffer.concat(parts);
}

async function generate(path, bytes) {
  const out = createWriteStream(path);
  out.write(pcapBytes([]));
  let written = 24;
  let i = 0;
  while (written < bytes) {
    const batch = [];
    for (let k = 0; k < 2000; k++, i++) {
      const size = small ? 60 + ((i * 7919) % 140) : 60 + ((i * 7919) % 1455); // 60..200 or 60..1514
      const h = Buffer.alloc(16);
      h.writeUInt32LE(1700000000 + Math.floor(i / 1000), 0);
      h.writeUInt32LE((i % 1000) * 1000, 4);
      h.writeUInt32LE(size, 8);
      h.writeUInt32LE(size, 12);
      batch.push(h, frame(size, i));
      written += 16 + size;
    }
    if (!out.write(Buffer.concat(batch))) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

function viaPcapParser(input) {
  return new Promise((resolvePromise) => {
    let packets = 0;
    let bytes = 0;
    let error = null;
    const p = pcapParser.parse(input);
    p.on('packet', (pkt) => {
      packets++;
      bytes += pkt.data.length;
    });
    p.on('error', (e) => (error = e.message));
    p.on('end', () => resolvePromise({ packets, bytes, error }));
  });
}

async function viaShadowtap(source, decode) {
  const anomalies = new Anomalies();
  const pkt = newDecodedPacket();
  let packets = 0;
  let bytes = 0;
  const s = await source(anomalies);
  await s.run((f) => {
    packets++;
    bytes += f.capLen;
    if (decode) decodeFrame(f, pkt, anomalies, 'bench');
  });
  return { packets, bytes, anomalies: Object.fromEntries(anomalies.summary().map((a) => [a.name, a.count])) };
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ...r, sec };
}

if (!existsSync(file) || statSync(file).size < mb * 1e6 * 0.95) {
  process.stderr.write(`generating ${file} (${mb} MB)\n`);
  await generate(file, mb * 1e6);
}
const size = statSync(file).size;
const rows = [];
// shadowtap first, so the peak RSS printed below is ours alone (pcap-parser has not run yet).
for (let run = 0; run < 3; run++) {
  rows.push(['shadowtap reader', await timed(() => viaShadowtap((a) => openCapture(file, a), false))]);
  rows.push(['shadowtap reader + decodeFrame', await timed(() => viaShadowtap((a) => openCapture(file, a), true))]);
}
const ourMaxRssMb = process.resourceUsage().maxRSS / 1024;
for (let run = 0; run < 3; run++) rows.push(['pcap-parser 0.2.1', await timed(() => viaPcapParser(file))]);
const best = new Map();
for (const [name, r] of rows) if (!best.has(name) || best.get(name).sec > r.sec) best.set(name, r);
console.log(`file: ${file}, ${(size / 1e6).toFixed(1)} MB, node ${process.version}; best of 3 runs (page cache warm)`);
console.log(`peak RSS of this process after the shadowtap runs: ${ourMaxRssMb.toFixed(0)} MB`);
console.log('| reader | packets | seconds | MB/s | packets/s |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, r] of best) {
  console.log(`| ${name} | ${r.packets} | ${r.sec.toFixed(2)} | ${(size / 1e6 / r.sec).toFixed(0)} | ${Math.round(r.packets / r.sec)} |`);
}

// Format handling: same 3 records in each variant; the truncated one loses half its last record.
const recs = [frame(100, 1), frame(200, 2), frame(300, 3)];
const variants = {
  'µs little-endian': pcapBytes(recs),
  'µs big-endian': pcapBytes(recs, { be: true }),
  'ns little-endian': pcapBytes(recs, { ns: true }),
  'truncated last record': pcapBytes(recs).subarray(0, 24 + 16 + 100 + 16 + 200 + 16 + 150),
};
console.log('\n| input | pcap-parser | shadowtap |');
console.log('| --- | --- | --- |');
for (const [name, bytes] of Object.entries(variants)) {
  const theirs = await viaPcapParser(Readable.from([Buffer.from(bytes)]));
  const ours = await viaShadowtap((a) => openCaptureStream(Readable.from([Buffer.from(bytes)]), name, a), true);
  const t = `${theirs.packets} packets${theirs.error ? `, error "${theirs.error}"` : ''}`;
  const o = `${ours.packets} packets${Object.keys(ours.anomalies).length ? `, anomalies ${JSON.stringify(ours.anomalies)}` : ''}`;
  console.log(`| ${name} | ${t} | ${o} |`);
}
