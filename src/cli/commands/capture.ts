// `shadowtap capture -i IFACE`: watch a segment live. Findings are printed as they are made; SIGINT/SIGTERM,
// --duration or --packets stop it cleanly: flows are flushed, the capture file closed and the final report written.
import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Anomalies } from '../../core/anomalies.js';
import { LIMITS } from '../../config/limits.js';
import { Detector } from '../../detect/engine.js';
import { loadApproved } from '../../detect/approved.js';
import type { Finding } from '../../detect/finding.js';
import { loadSignatures } from '../../detect/signatures/load.js';
import { runCaptureSource } from '../../pipeline/capture.js';
import { observeFlow, observeMessage } from '../../protocols/observe.js';
import { findingRecord, formatReport } from '../../report/formats.js';
import { summarize, type ScanReport } from '../../report/model.js';
import { interfaceCounters, listInterfaces, LiveCaptureError, LiveSource, loadCap, type CapLoader, type LiveStats } from '../../sources/live.js';
import { parseRotation, PcapWriter, type Rotation } from '../../sources/pcap-writer.js';
import { VERSION } from '../../version.js';
import { EXIT, UsageError, type CliIO } from '../io.js';

export interface CaptureCommandOptions {
  interface?: string;
  list?: boolean;
  filter?: string;
  duration?: number;
  packets?: number;
  write?: string;
  rotate?: string;
  /** libpcap's kernel buffer, MiB. */
  bufferSizeMiB?: number;
  output: 'table' | 'ndjson';
  report?: string;
  approved?: string;
  signatures?: string[];
  quiet?: boolean;
  /** Tests stop the capture through this instead of a signal. */
  signal?: AbortSignal;
  /** How often findings are re-evaluated, ms. */
  tickMs?: number;
  /** Test hook: where the `cap` module comes from. */
  loadCap?: CapLoader;
  /** Test hook: the clock frames are stamped with, seconds since the epoch. */
  now?: () => number;
}

export async function runLiveCapture(opts: CaptureCommandOptions, io: CliIO): Promise<number> {
  if (opts.list) {
    for (const i of listInterfaces(opts.loadCap)) io.stdout(`${i.name}\t${i.addresses.join(',')}\t${i.description ?? ''}\n`);
    return EXIT.clean;
  }
  if (!opts.interface) throw new UsageError('capture needs an interface: -i IFACE (see `shadowtap capture --list`)');
  const rotation = opts.rotate ? parseRotationOrUsage(opts.rotate) : undefined;
  if (rotation && !opts.write) throw new UsageError('--rotate needs --write FILE.pcap');
  checkPositive('--duration', opts.duration);
  checkPositive('--packets', opts.packets);
  if (opts.packets !== undefined && !Number.isInteger(opts.packets)) throw new UsageError(`--packets takes a whole number, not ${opts.packets}`);
  const bufferBytes = bufferSizeBytes(opts.bufferSizeMiB);

  loadCap(opts.loadCap); // says what to install before anything else happens
  const device = opts.interface;
  const source = new LiveSource({ device, filter: opts.filter, bufferBytes, maxFrames: opts.packets, loadCap: opts.loadCap, now: opts.now });
  // Fail before capturing, not at the first frame, when the output file cannot be written.
  if (opts.write) checkWritable(new PcapWriter(opts.write, 1, rotation ?? {}).firstFile);

  // From here a signal is a clean stop, even one that comes while signatures load (then nothing is opened).
  const stop = () => source.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  opts.signal?.addEventListener('abort', stop, { once: true });
  if (opts.signal?.aborted) stop();
  let detector: Detector;
  try {
    const set = await loadSignatures(opts.signatures ?? []);
    detector = new Detector(set, { approved: opts.approved ? loadApproved(opts.approved) : undefined });
  } catch (e) {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    throw e;
  }
  const anomalies = new Anomalies();
  const where = { file: source.name, format: 'live' };
  let writer: PcapWriter | undefined;
  let writeError: string | undefined;
  const newWriter = () => new PcapWriter(opts.write!, source.linkType, rotation ?? {}, source.snaplen);
  const interfaceBefore = interfaceCounters(device);
  const timer = opts.duration ? setTimeout(stop, opts.duration * 1000) : undefined;

  const announced = new Map<string, string>();
  const announce = (findings: Finding[]) => {
    for (const f of findings) {
      const key = `${f.confidence}/${f.approved}/${f.transport}`;
      if (announced.get(f.id) === key) continue;
      const isNew = !announced.has(f.id);
      announced.set(f.id, key);
      if (opts.output === 'ndjson') io.stdout(`${JSON.stringify({ ...findingRecord(f), event: isNew ? 'new' : 'updated' })}\n`);
      else io.stdout(`${isNew ? 'NEW' : 'UPD'} ${f.approved ? 'approved' : 'SHADOW'} ${f.confidence.padEnd(6)} ${endpointText(f)} ${f.transport} ${f.subject.names.join(',')}\n`);
    }
  };
  const tick = setInterval(() => announce(detector.findings()), opts.tickMs ?? 1000);

  let observations = 0;
  const add = (o: Parameters<Detector['add']>[0]) => {
    observations++;
    detector.add(o);
  };
  let run;
  let captureStats: LiveStats | undefined;
  try {
    run = await runCaptureSource(
      {
        format: source.format,
        name: source.name,
        run: async (onFrame) => (captureStats = await source.run(onFrame)),
      },
      anomalies,
      {
        onFrame: (frame) => {
          if (opts.write && writeError === undefined) {
            try {
              writer ??= newWriter();
              writer.write(frame.ts, frame.data, frame.origLen);
            } catch (e) {
              // Disk full, file removed ...: stop cleanly and say so, rather than throw out of cap's native callback.
              writeError = (e as Error).message;
              stop();
            }
          }
        },
        onFlowStart: (flow) => add(observeFlow(flow, where)),
        onMessage: (msg) => { for (const o of observeMessage(msg, where)) add(o); },
      },
    );
  } finally {
    clearInterval(tick);
    if (timer) clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    opts.signal?.removeEventListener('abort', stop);
    try {
      // A capture that saw no frame still leaves a valid (empty) pcap.
      if (opts.write && writeError === undefined && source.linkType !== undefined && run) {
        writer ??= newWriter();
        writer.start(Date.now() / 1000);
      }
    } catch (e) {
      writeError = (e as Error).message;
    }
    writer?.close();
  }

  const findings = detector.findings();
  announce(findings);
  const interfaceAfter = interfaceCounters(device);
  const interfaceDropped = interfaceBefore && interfaceAfter ? interfaceAfter.rxDropped - interfaceBefore.rxDropped : undefined;
  const socket = captureStats?.socket;
  const anomalyList = anomalies.summary();
  const stats: Record<string, number> = {
    frames: run.frames,
    ipFrames: run.ipFrames,
    messages: run.messages,
    truncatedFrames: source.truncatedFrames,
  };
  if (socket) {
    stats.kernelReceived = socket.received;
    stats.kernelDropped = socket.dropped;
  }
  if (interfaceDropped !== undefined) stats.interfaceDropped = interfaceDropped;
  const report: ScanReport = {
    tool: { name: 'shadowtap', version: VERSION },
    inputs: [{ file: source.name, kind: 'capture', format: 'live', bytes: run.bytes, records: run.frames, observations }],
    summary: summarize(findings, anomalyList),
    findings,
    anomalies: anomalyList,
    stats,
  };
  if (opts.report) await writeFile(opts.report, await formatReport(report, 'json'));
  if (opts.output === 'ndjson') {
    io.stdout(`${JSON.stringify({
      type: 'shadowtap.capture_summary', interface: device, frames: run.frames, truncated_frames: source.truncatedFrames,
      kernel_received: socket?.received ?? null, kernel_dropped: socket?.dropped ?? null, interface_dropped: interfaceDropped ?? null,
      findings: findings.length, files: writer?.files ?? [],
    })}\n`);
  } else {
    io.stdout(await formatReport(report, 'table', { color: io.color }));
  }
  if (!opts.quiet) {
    const kernel = socket ? `${socket.dropped} dropped by the kernel` : `kernel drop counter unavailable: ${captureStats?.socketStatsError ?? 'no capture'}`;
    const iface = interfaceDropped !== undefined ? `${interfaceDropped} dropped by ${device}` : `${device} drop counter unavailable`;
    const files = writer?.files.length ? `; wrote ${writer.files.join(', ')}` : '';
    io.stderr(`shadowtap: captured ${run.frames} frames (${source.truncatedFrames} truncated, ${kernel}, ${iface}); ${findings.length} finding(s)${files}\n`);
  }
  if (writeError !== undefined) throw new LiveCaptureError(`writing ${opts.write} failed, capture stopped: ${writeError}`);
  // A clean stop (signal, --duration, --packets) exits 0: findings were already printed and written.
  return EXIT.clean;
}

function parseRotationOrUsage(spec: string): Rotation {
  try {
    return parseRotation(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function checkPositive(flag: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new UsageError(`${flag} takes a positive number, not ${v}`);
}

function bufferSizeBytes(mib: number | undefined): number {
  if (mib === undefined) return LIMITS.liveKernelBufferBytes;
  const bytes = Math.round(mib * 1024 * 1024);
  if (!(bytes >= 64 * 1024 && bytes <= LIMITS.liveKernelBufferMaxBytes)) {
    throw new UsageError(`--buffer-size takes MiB between 0.0625 and ${LIMITS.liveKernelBufferMaxBytes / 1024 / 1024}, not ${mib}`);
  }
  return bytes;
}

/** Open (and, if it did not exist, remove again) the file the capture will write, so a bad path fails up front. */
function checkWritable(path: string): void {
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, 'a'));
  } catch (e) {
    throw new LiveCaptureError(`cannot write ${path}: ${(e as Error).message}`);
  }
  if (!existed) unlinkSync(path);
}

function endpointText(f: Finding): string {
  if (!f.subject.ip) return f.subject.names[0] ?? '-';
  return `${f.subject.ip.includes(':') ? `[${f.subject.ip}]` : f.subject.ip}:${f.subject.port ?? ''}`;
}
