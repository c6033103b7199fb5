// `npm run bench`: generate (never commit) a large capture, then measure on the same file, one after another:
// a plain read of the file, `shadowtap decode`, `shadowtap scan`, tshark and ndpiReader (when installed).
// Prints MB/s, packets/s and peak RSS, and peak RSS on a 100 MB prefix of the same traffic for the memory bound.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const DATA = join(ROOT, 'bench-data');
const SIZE_MB = Number(process.env.BENCH_MB ?? 1024);
const SLICE_MB = Number(process.env.BENCH_SLICE_MB ?? 100);
mkdirSync(DATA, { recursive: true });

function ensure(file, mb) {
  if (existsSync(file) && statSync(file).size >= mb * 1024 * 1024 * 0.99) return;
  execFileSync('node', [join(ROOT, 'scripts/bench/generate.mjs'), file, String(mb)], { stdio: 'inherit' });
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * Runs per tool (tshark: one, at 20× the time). This shared VM is noisy (±10% from run to run) and drifts by more
 * over minutes, so the tools take turns (round r runs each tool once) and the best and the median are reported.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** Best and median seconds of `all`, and the peak RSS (MiB) of the largest run. */
function summarize(all) {
  const secs = all.map((m) => m.secs).sort((a, b) => a - b);
  return { secs: secs[0], median: secs[(secs.length - 1) >> 1], rssMB: Math.max(...all.map((m) => m.rssMB)) };
}

function measureBest(cmd, args, runs) {
  return summarize(Array.from({ length: runs }, () => measure(cmd, args)));
}

/** Run a command with GNU time; returns seconds and peak RSS (KiB). Output goes to /dev/null. */
function measure(cmd, args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const lines = r.stderr.toString().trim().split('\n');
  const [secs, rss] = lines[lines.length - 1].split(' ').map(Number);
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} failed (${r.status}): ${lines.slice(-5).join('\n')}`);
  return { secs, rssMB: rss / 1024 };
}

function frameCount(file) {
  const r = spawnSync('node', [join(ROOT, 'bin/shadowtap.js'), 'decode', file, '--kind', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const summary = JSON.parse(r.stderr.toString().trim().split('\n').pop()).summary;
  return summary.frames;
}

const big = join(DATA, `bench-${SIZE_MB}m.pcap`);
const slice = join(DATA, `bench-${SLICE_MB}m.pcap`);
ensure(big, SIZE_MB);
ensure(slice, SLICE_MB);
const bytes = statSync(big).size;
const frames = frameCount(big);
const bin = join(ROOT, 'bin/shadowtap.js');

const runs = [
  ['plain read (node stream)', 'node', ['-e', `let n=0;require('fs').createReadStream(process.argv[1],{highWaterMark:1<<20}).on('data',c=>n+=c.length)`, big]],
  // The cheapest way node reads a file: readSync into one reused 1 MiB buffer (decode reads 2 MiB chunks, one ahead).
  ['plain read (node readSync)', 'node', ['-e', `const fs=require('fs');const fd=fs.openSync(process.argv[1]);const b=new Uint8Array(1<<20);let n=0,k;while((k=fs.readSync(fd,b,0,b.length,null))>0)n+=k`, big]],
  ['shadowtap decode', 'node', [bin, 'decode', big, '--quiet']],
  // The same pipeline with no message printed: what decode costs before formatting 43 MB of NDJSON (ndpiReader
  // -v 0 prints nothing per flow either).
  ['shadowtap decode --kind none', 'node', [bin, 'decode', big, '--quiet', '--kind', 'none']],
  // Into a pipe, output is queued until the event loop runs: this row catches memory that piles up there.
  ['shadowtap decode | cat', 'sh', ['-c', `node '${bin}' decode '${big}' --quiet | cat > /dev/null`]],
  ['shadowtap scan', 'node', [bin, 'scan', big, '--format', 'json', '--quiet', '--fail-on', 'none']],
];
if (have('ndpiReader')) runs.push(['ndpiReader', 'ndpiReader', ['-i', big, '-q', '-v', '0']]);
if (have('tshark')) runs.push(['tshark -Y http/tls fields', 'tshark', ['-r', big, '-Y', 'http.request or tls.handshake.type == 1', '-T', 'fields', '-e', 'http.host', '-e', 'http.request.uri', '-e', 'tls.handshake.extensions_server_name']]);

console.log(`file: ${big} (${(bytes / 1e6).toFixed(0)} MB, ${frames} frames); ${RUNS} rounds, each tool once per round (tshark: first round only)`);
const samples = runs.map(() => []);
for (let round = 0; round < RUNS; round++) {
  runs.forEach(([, cmd, args], i) => {
    if (cmd !== 'tshark' || round === 0) samples[i].push(measure(cmd, args));
  });
}
const results = [];
console.log('tool'.padEnd(28), 'best s'.padStart(8), 'median s'.padStart(9), 'MB/s'.padStart(8), 'packets/s'.padStart(11), 'peak RSS MB'.padStart(12));
runs.forEach(([name], i) => {
  const m = summarize(samples[i]);
  const row = { name, seconds: m.secs, medianSeconds: m.median, mbPerSec: bytes / 1e6 / m.secs, packetsPerSec: frames / m.secs, peakRssMB: m.rssMB };
  results.push(row);
  console.log(name.padEnd(28), m.secs.toFixed(2).padStart(8), m.median.toFixed(2).padStart(9), row.mbPerSec.toFixed(1).padStart(8), Math.round(row.packetsPerSec).toString().padStart(11), m.rssMB.toFixed(0).padStart(12));
});

const small = measureBest('node', [bin, 'decode', slice, '--quiet'], RUNS);
const bigDecode = results.find((r) => r.name === 'shadowtap decode');
console.log(`peak RSS of decode: ${SLICE_MB} MB prefix ${small.rssMB.toFixed(0)} MB, ${SIZE_MB} MB file ${bigDecode.peakRssMB.toFixed(0)} MB (ratio ${(bigDecode.peakRssMB / small.rssMB).toFixed(2)})`);
const tshark = results.find((r) => r.name.startsWith('tshark'));
const ndpi = results.find((r) => r.name === 'ndpiReader');
if (tshark) console.log(`decode speed vs tshark: ${(tshark.seconds / bigDecode.seconds).toFixed(1)}x`);
if (ndpi) {
  const none = results.find((r) => r.name === 'shadowtap decode --kind none');
  console.log(`decode speed vs ndpiReader: ${(ndpi.seconds / bigDecode.seconds).toFixed(2)}x best, ${(ndpi.medianSeconds / bigDecode.medianSeconds).toFixed(2)}x median`);
  console.log(`decode --kind none vs ndpiReader: ${(ndpi.seconds / none.seconds).toFixed(2)}x best, ${(ndpi.medianSeconds / none.medianSeconds).toFixed(2)}x median`);
}
writeFileSync(join(DATA, 'results.json'), JSON.stringify({ file: big, bytes, frames, results, slice: { file: slice, peakRssMB: small.rssMB } }, null, 2));
