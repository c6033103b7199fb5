// LiveSource and `shadowtap capture` without root or libpcap: a fake `cap` module replays the frames of a real
// fixture capture (or fails to load), so the whole live path runs in any test environment.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runLiveCapture, type CaptureCommandOptions } from '../../src/cli/commands/capture.js';
import type { CliIO } from '../../src/cli/io.js';
import { Anomalies } from '../../src/core/anomalies.js';
import { analyze } from '../../src/pipeline/scan.js';
import { openCapture } from '../../src/sources/capture-file.js';
import {
  explainOpenError, interfaceCounters, ipFrameLength, listInterfaces, LiveCaptureError, LiveSource, loadCap,
  MISSING_CAP_HELP, type CapDevice, type CapModule,
} from '../../src/sources/live.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/pcap/', import.meta.url));
const ETH_FIXTURE = join(FIXTURES, 'sdk-streamable-sse-stateful.pcapng');
const SLL2_FIXTURE = join(FIXTURES, 'sdk-streamable-json-stateless-sll2.pcapng');

interface Recorded { data: Buffer; ts: number; linkType: number }

async function readFrames(path: string): Promise<Recorded[]> {
  const out: Recorded[] = [];
  const src = await openCapture(path, new Anomalies());
  await src.run((f) => out.push({ data: Buffer.from(f.data), ts: f.ts, linkType: f.linkType }));
  return out;
}

/** A stand-in for cap's Cap class: open() records its arguments; push() delivers a frame like cap's native code. */
class FakeCap {
  static instances: FakeCap[] = [];
  static devices: CapDevice[] = [{ name: 'lo', addresses: [{ addr: '127.0.0.1' }] }, { name: 'eth9', description: 'test nic', addresses: [] }];
  static linkName = 'ETHERNET';
  static openError: string | undefined;
  static deviceList(): CapDevice[] { return FakeCap.devices; }
  opened?: { device: string; filter: string; bufSize: number; buffer: Buffer };
  closed = 0;
  private listener?: (n: number, truncated: boolean) => void;
  constructor() { FakeCap.instances.push(this); }
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string {
    if (FakeCap.openError) throw new Error(FakeCap.openError);
    this.opened = { device, filter, bufSize, buffer };
    return FakeCap.linkName;
  }
  close(): void { this.closed++; }
  on(_event: 'packet', fn: (n: number, truncated: boolean) => void): void { this.listener = fn; }
  /** Like cap: copy into the shared buffer (cut to its length), then emit the copied length. */
  push(data: Uint8Array): void {
    const buf = this.opened!.buffer;
    const n = Math.min(data.length, buf.length);
    buf.set(data.subarray(0, n));
    this.listener!(n, n < data.length);
  }
}
const fakeLoader = () => ({ Cap: FakeCap }) as unknown as CapModule;

/** Wait until the fake has been opened (run() opens synchronously after signatures load). */
async function opened(): Promise<FakeCap> {
  for (let i = 0; i < 500; i++) {
    const c = FakeCap.instances.at(-1);
    if (c?.opened) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('fake cap never opened');
}

function memoryIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, color: false };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shadowtap-live-'));
  FakeCap.instances = [];
  FakeCap.linkName = 'ETHERNET';
  FakeCap.openError = undefined;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('cap missing', () => {
  it('loadCap turns a failing require into one LiveCaptureError that says what to install', () => {
    const failing = () => { throw new Error("Cannot find module 'cap'\nRequire stack:\n- /x/live.js"); };
    let err: unknown;
    try { loadCap(failing); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LiveCaptureError);
    const msg = (err as Error).message;
    expect(msg).toContain('libpcap-dev');
    expect(msg).toContain('npm rebuild cap');
    expect(msg).toContain("Cannot find module 'cap'");
    expect(msg).not.toContain('Require stack'); // one line
    expect(msg.split('\n')).toHaveLength(1);
  });

  it('a module without Cap (a broken build) is reported the same way', () => {
    expect(() => loadCap(() => ({}) as CapModule)).toThrow(MISSING_CAP_HELP);
  });

  it('capture and capture --list reject with LiveCaptureError (main prints it as one line, exit 2)', async () => {
    const failing = () => { throw new Error('libpcap.so.0.8: cannot open shared object file'); };
    const io = memoryIO();
    await expect(runLiveCapture({ interface: 'lo', output: 'table', loadCap: failing }, io)).rejects.toBeInstanceOf(LiveCaptureError);
    await expect(runLiveCapture({ list: true, output: 'table', loadCap: failing }, io)).rejects.toThrow(/libpcap-dev/);
    expect(io.out).toEqual([]);
  });
});

describe('LiveSource over a fake cap', () => {
  it('opens the device with the filter and buffer asked for, stamps frames on arrival with a never-decreasing clock', async () => {
    const source = new LiveSource({ device: 'lo', filter: 'tcp port 3000', bufferBytes: 1 << 20, loadCap: fakeLoader });
    const seen: Array<{ index: number; ts: number; capLen: number; origLen: number; first: number }> = [];
    const before = Date.now() / 1000;
    const done = source.run((f) => seen.push({ index: f.index, ts: f.ts, capLen: f.capLen, origLen: f.origLen, first: f.data[0] }));
    const cap = FakeCap.instances[0];
    expect(cap.opened).toMatchObject({ device: 'lo', filter: 'tcp port 3000', bufSize: 1 << 20 });
    expect(cap.opened!.buffer.length).toBe(65535);
    for (let i = 0; i < 20; i++) {
      cap.push(Buffer.alloc(60 + i, i));
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 3));
    }
    source.stop();
    cap.push(Buffer.alloc(60, 99)); // after stop: ignored
    const stats = await done;
    const after = Date.now() / 1000;
    expect(stats.frames).toBe(20);
    expect(stats.bytes).toBe(seen.reduce((t, s) => t + s.capLen, 0));
    expect(seen.map((s) => s.index)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(seen.map((s) => s.first)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 1; i < seen.length; i++) expect(seen[i].ts).toBeGreaterThanOrEqual(seen[i - 1].ts);
    expect(seen[0].ts).toBeGreaterThanOrEqual(before - 0.05);
    expect(seen.at(-1)!.ts).toBeLessThanOrEqual(after + 0.05);
    expect(seen.at(-1)!.ts - seen[0].ts).toBeGreaterThan(0.005); // the awaits really show in the stamps
    expect(cap.closed).toBe(1);
    source.stop();
    expect(cap.closed).toBe(1);
  });

  it('a frame at the snaplen whose IP length says more is counted as truncated, with its original length', async () => {
    const source = new LiveSource({ device: 'lo', loadCap: fakeLoader });
    const got: Array<[number, number]> = [];
    const done = source.run((f) => got.push([f.capLen, f.origLen]));
    const cap = FakeCap.instances[0];
    const big = Buffer.alloc(65549);
    big.writeUInt16BE(0x0800, 12);
    big[14] = 0x45;
    big.writeUInt16BE(65535, 16); // IPv4 total length
    cap.push(big);
    const small = Buffer.alloc(100);
    small.writeUInt16BE(0x0800, 12);
    small[14] = 0x45;
    small.writeUInt16BE(86, 16);
    cap.push(small);
    source.stop();
    const stats = await done;
    expect(got).toEqual([[65535, 65549], [100, 100]]);
    expect(stats.truncatedFrames).toBe(1);
  });

  it('stop() before run() opens nothing and resolves at once', async () => {
    const source = new LiveSource({ device: 'lo', loadCap: fakeLoader });
    source.stop();
    await expect(source.run(() => {})).resolves.toMatchObject({ frames: 0 });
    expect(FakeCap.instances).toHaveLength(0);
  });

  it('an unknown interface is refused before libpcap is asked', async () => {
    const source = new LiveSource({ device: 'nosuch0', loadCap: fakeLoader });
    await expect(source.run(() => {})).rejects.toThrow(/cannot capture on nosuch0: no such interface/);
    expect(FakeCap.instances).toHaveLength(0);
  });

  it('link types: SLL2 arrives as "Unknown linktype 276" and is accepted; NFLOG (239) is refused and closed', async () => {
    FakeCap.linkName = 'Unknown linktype 276';
    const a = new LiveSource({ device: 'lo', loadCap: fakeLoader });
    const done = a.run(() => {});
    expect(a.linkType).toBe(276);
    a.stop();
    await done;
    FakeCap.linkName = 'Unknown linktype 239';
    const b = new LiveSource({ device: 'lo', loadCap: fakeLoader });
    await expect(b.run(() => {})).rejects.toThrow(/link type \(Unknown linktype 239\) is not one shadowtap decodes/);
    expect(FakeCap.instances.at(-1)!.closed).toBe(1);
  });

  it('open errors become one explained line', async () => {
    FakeCap.openError = 'socket: Operation not permitted';
    await expect(new LiveSource({ device: 'lo', loadCap: fakeLoader }).run(() => {})).rejects.toThrow(
      /^cannot capture on lo: socket: Operation not permitted\. Capturing needs root, or the capabilities CAP_NET_RAW and CAP_NET_ADMIN/,
    );
  });

  it('listInterfaces maps cap devices', () => {
    expect(listInterfaces(fakeLoader)).toEqual([
      { name: 'lo', description: undefined, addresses: ['127.0.0.1'] },
      { name: 'eth9', description: 'test nic', addresses: [] },
    ]);
  });
});

describe('explainOpenError', () => {
  it.each([
    ['lo', undefined, 'socket: Operation not permitted', /needs root, or the capabilities CAP_NET_RAW and CAP_NET_ADMIN/],
    ['lo', undefined, "lo: You don't have permission to capture on that device (socket: Operation not permitted)", /needs root/],
    ['xx0', undefined, 'SIOCGIFHWADDR: No such device', /xx0: no such interface/],
    ['lo', 'port foo', "unknown port 'foo'", /^bad capture filter "port foo": unknown port 'foo'$/],
    ['lo', 'tcp and and', 'syntax error', /^bad capture filter "tcp and and": syntax error$/],
    ['lo', undefined, 'something else broke', /^cannot capture on lo: something else broke$/],
  ])('%s %s: %s', (device, filter, message, want) => {
    expect(explainOpenError(device, filter, message)).toMatch(want);
  });
});

describe('ipFrameLength', () => {
  it('reads the IPv4/IPv6 length behind Ethernet, SLL and raw IP', () => {
    const eth4 = Buffer.alloc(40); eth4.writeUInt16BE(0x0800, 12); eth4[14] = 0x45; eth4.writeUInt16BE(1500, 16);
    const eth6 = Buffer.alloc(60); eth6.writeUInt16BE(0x86dd, 12); eth6[14] = 0x60; eth6.writeUInt16BE(1000, 18);
    const sll = Buffer.alloc(40); sll.writeUInt16BE(0x0800, 14); sll[16] = 0x45; sll.writeUInt16BE(700, 18);
    const raw6 = Buffer.alloc(40); raw6[0] = 0x60; raw6.writeUInt16BE(99, 4);
    const arp = Buffer.alloc(40); arp.writeUInt16BE(0x0806, 12);
    expect(ipFrameLength(eth4, 40, 1)).toBe(14 + 1500);
    expect(ipFrameLength(eth6, 60, 1)).toBe(14 + 40 + 1000);
    expect(ipFrameLength(sll, 40, 113)).toBe(16 + 700);
    expect(ipFrameLength(raw6, 40, 101)).toBe(40 + 99);
    expect(ipFrameLength(arp, 40, 1)).toBe(0);
    expect(ipFrameLength(eth4, 10, 1)).toBe(0);
  });
});

describe('interfaceCounters', () => {
  it('reads sysfs, and sums every interface for "any"', () => {
    for (const [dev, drop, pkts] of [['lo', 3, 100], ['eth0', 4, 50]] as const) {
      mkdirSync(join(dir, dev, 'statistics'), { recursive: true });
      writeFileSync(join(dir, dev, 'statistics', 'rx_dropped'), `${drop}\n`);
      writeFileSync(join(dir, dev, 'statistics', 'rx_packets'), `${pkts}\n`);
    }
    expect(interfaceCounters('lo', dir)).toEqual({ rxDropped: 3, rxPackets: 100 });
    expect(interfaceCounters('any', dir)).toEqual({ rxDropped: 7, rxPackets: 150 });
    expect(interfaceCounters('nope', dir)).toBeUndefined();
  });
});

describe('runLiveCapture over a fake cap replaying a real MCP capture', () => {
  async function replay(fixture: string, opts: Partial<CaptureCommandOptions>, options: { linkName?: string; pace?: number } = {}) {
    const frames = await readFrames(fixture);
    FakeCap.linkName = options.linkName ?? 'ETHERNET';
    const io = memoryIO();
    const ac = new AbortController();
    const running = runLiveCapture({ interface: 'lo', output: 'ndjson', tickMs: 20, signal: ac.signal, loadCap: fakeLoader, ...opts }, io);
    const cap = await opened();
    for (let i = 0; i < frames.length; i++) {
      if (cap.closed) break;
      cap.push(frames[i].data);
      if (options.pace && i % options.pace === 0) await new Promise((r) => setTimeout(r, 2));
    }
    // Let the live tick run before stopping, so the finding shows up as it is made, not only at the end.
    await new Promise((r) => setTimeout(r, 100));
    const liveBeforeStop = io.out.join('');
    ac.abort();
    const code = await running;
    const lines = io.out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    return { frames, code, io, lines, liveBeforeStop };
  }

  it('finds the same server as `scan` of the fixture, live, and writes a pcap that scans to the same findings', async () => {
    const pcap = join(dir, 'live.pcap');
    const reportPath = join(dir, 'report.json');
    const { frames, code, lines, liveBeforeStop, io } = await replay(ETH_FIXTURE, { write: pcap, report: reportPath }, { pace: 5 });
    expect(code).toBe(0);
    const expected = (await analyze({ captures: [ETH_FIXTURE] })).findings;
    expect(expected.length).toBeGreaterThan(0);
    const live = lines.filter((l) => l.type === 'shadowtap.finding' && l.event === 'new');
    expect(live.map((l) => [l.id, l.server_ip, l.server_port]).sort()).toEqual(
      expected.map((f) => [f.id, f.subject.ip ?? null, f.subject.port ?? null]).sort(),
    );
    // printed while running
    for (const f of expected) expect(liveBeforeStop).toContain(`"id":"${f.id}"`);
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({ type: 'shadowtap.capture_summary', interface: 'lo', frames: frames.length, findings: expected.length, files: [pcap] });
    // the fake has no kernel socket: said so, not invented
    expect(summary.kernel_dropped).toBeNull();
    expect(io.err.join('')).toMatch(/kernel drop counter unavailable/);

    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    // cap reuses one buffer for every frame: nothing downstream may keep a view of it (it would show as anomalies
    // such as http.response_without_request when a flow key's address bytes are overwritten)
    expect(report.anomalies).toEqual((await analyze({ captures: [ETH_FIXTURE] })).anomalies);
    expect(report.anomalies).toEqual([]);
    expect(report.findings.map((f: { id: string }) => f.id).sort()).toEqual(expected.map((f) => f.id).sort());
    expect(report.stats.frames).toBe(frames.length);
    expect(report.inputs[0]).toMatchObject({ file: 'live:lo', format: 'live', records: frames.length });
    expect(report.inputs[0].observations).toBeGreaterThan(0);

    // the written file: every frame, byte for byte, sane increasing timestamps near now
    const written = await readFrames(pcap);
    expect(written.length).toBe(frames.length);
    written.forEach((w, i) => expect(w.data.equals(frames[i].data)).toBe(true));
    for (let i = 1; i < written.length; i++) expect(written[i].ts).toBeGreaterThanOrEqual(written[i - 1].ts);
    expect(Math.abs(written[0].ts - Date.now() / 1000)).toBeLessThan(60);
    const rescanned = (await analyze({ captures: [pcap] })).findings;
    expect(rescanned.map((f) => [f.id, f.subject.ip, f.subject.port, f.transport]).sort()).toEqual(
      expected.map((f) => [f.id, f.subject.ip, f.subject.port, f.transport]).sort(),
    );
  });

  it('SLL2 (a link type cap only knows by number) works end to end', async () => {
    const { code, lines } = await replay(SLL2_FIXTURE, {}, { linkName: 'Unknown linktype 276' });
    expect(code).toBe(0);
    const expected = (await analyze({ captures: [SLL2_FIXTURE] })).findings;
    expect(expected.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.event === 'new').map((l) => l.id).sort()).toEqual(expected.map((f) => f.id).sort());
  });

  it('--packets N stops after N frames; the capture file holds exactly N', async () => {
    const pcap = join(dir, 'n.pcap');
    const { code, lines } = await replay(ETH_FIXTURE, { packets: 7, write: pcap });
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatchObject({ type: 'shadowtap.capture_summary', frames: 7 });
    expect((await readFrames(pcap)).length).toBe(7);
  });

  it('--rotate splits the written capture; the parts hold every frame in order', async () => {
    const pcap = join(dir, 'r.pcap');
    const { frames, lines } = await replay(ETH_FIXTURE, { write: pcap, rotate: '2K' });
    const files = lines.at(-1)!.files as string[];
    expect(files.length).toBeGreaterThan(1);
    const all: Recorded[] = [];
    for (const f of files) all.push(...(await readFrames(f)));
    expect(all.map((f) => f.data.toString('hex'))).toEqual(frames.map((f) => f.data.toString('hex')));
  });

  it('--duration stops by itself; table output: live lines, then the final table', async () => {
    const frames = await readFrames(ETH_FIXTURE);
    const io = memoryIO();
    const t0 = Date.now();
    const running = runLiveCapture({ interface: 'lo', output: 'table', duration: 0.4, tickMs: 20, loadCap: fakeLoader }, io);
    const cap = await opened();
    for (const f of frames) cap.push(f.data);
    expect(await running).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(cap.closed).toBe(1);
    const expected = (await analyze({ captures: [ETH_FIXTURE] })).findings;
    const out = io.out.join('');
    const f = expected[0];
    expect(out).toMatch(new RegExp(`^NEW SHADOW ${f.confidence}\\s+${f.subject.ip!.replace(/\./g, '\\.')}:${f.subject.port} ${f.transport}`, 'm'));
    // the live line, then the final table's row
    expect(out.split(`${f.subject.ip}:${f.subject.port}`).length - 1).toBeGreaterThanOrEqual(2);
    expect(io.err.join('')).toMatch(new RegExp(`captured ${frames.length} frames .*; ${expected.length} finding`));
  });

  it('stopped before any frame: exit 0, an empty valid pcap and a report with no findings', async () => {
    const pcap = join(dir, 'e.pcap');
    const reportPath = join(dir, 'e.json');
    const io = memoryIO();
    const ac = new AbortController();
    const running = runLiveCapture({ interface: 'lo', output: 'table', signal: ac.signal, loadCap: fakeLoader, write: pcap, report: reportPath }, io);
    await opened();
    ac.abort();
    expect(await running).toBe(0);
    expect(await readFrames(pcap)).toEqual([]);
    expect(JSON.parse(readFileSync(reportPath, 'utf8')).findings).toEqual([]);
  });

  it.skipIf(process.platform !== 'linux')('a write error mid-capture stops cleanly: report still written, then one error (exit 2)', async () => {
    const frames = await readFrames(ETH_FIXTURE);
    const io = memoryIO();
    const reportPath = join(dir, 'full.json');
    const running = runLiveCapture({ interface: 'lo', output: 'ndjson', loadCap: fakeLoader, write: '/dev/full', report: reportPath }, io);
    const cap = await opened();
    for (const f of frames.slice(0, 5)) cap.push(f.data); // the first write fails with ENOSPC and stops the capture
    await expect(running).rejects.toThrow(/^writing \/dev\/full failed, capture stopped: ENOSPC/);
    expect(cap.closed).toBe(1);
    expect(JSON.parse(readFileSync(reportPath, 'utf8')).stats.frames).toBe(1);
  });

  it('usage errors: --rotate without --write, bad --rotate, bad --buffer-size, no interface; unwritable --write', async () => {
    const io = memoryIO();
    const base = { output: 'table' as const, loadCap: fakeLoader };
    await expect(runLiveCapture({ ...base, interface: 'lo', rotate: '1M' }, io)).rejects.toThrow(/--rotate needs --write/);
    await expect(runLiveCapture({ ...base, interface: 'lo', write: join(dir, 'x.pcap'), rotate: '1X' }, io)).rejects.toThrow(/--rotate takes/);
    await expect(runLiveCapture({ ...base, interface: 'lo', bufferSizeMiB: 0 }, io)).rejects.toThrow(/--buffer-size/);
    await expect(runLiveCapture({ ...base }, io)).rejects.toThrow(/needs an interface/);
    await expect(runLiveCapture({ ...base, interface: 'lo', write: join(dir, 'no', 'such', 'x.pcap') }, io)).rejects.toThrow(
      /^cannot write .*x\.pcap: ENOENT/,
    );
    expect(FakeCap.instances).toHaveLength(0); // nothing opened for any of them
  });
});
