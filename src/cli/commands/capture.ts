// `shadowtap capture -i IFACE`: watch a segment live. Findings are printed as they are made; SIGINT/SIGTERM,
// --duration or --packets stop it cleanly: flows are flushed, the capture file closed and the final report written.
import { writeFile } from 'node:fs/promises';
import { Anomalies } from '../../core/anomalies.js';
import { Detector } from '../../detect/engine.js';
import { loadApproved } from '../../detect/approved.js';
import type { Finding } from '../../detect/finding.js';
import { loadSignatures } from '../../detect/signatures/load.js';
import { runCaptureSource } from '../../pipeline/capture.js';
import { observeFlow, observeMessage } from '../../protocols/observe.js';
import { findingRecord, formatReport } from '../../report/formats.js';
import { summarize, type ScanReport } from '../../report/model.js';
import { interfaceCounters, listInterfaces, LiveSource } from '../../sources/live.js';
import { parseRotation, PcapWriter } from '../../sources/pcap-writer.js';
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
  output: 'table' | 'ndjson';
  report?: string;
  approved?: string;
  signatures?: string[];
  quiet?: boolean;
  /** Tests stop the capture through this instead of a signal. */
  signal?: AbortSignal;
  /** How often findings are re-evaluated, ms. */
  tickMs?: number;
}

export async function runLiveCapture(opts: CaptureCommandOptions, io: CliIO): Promise<number> {
  if (opts.list) {
    for (const i of listInterfaces()) io.stdout(`${i.name}\t${i.addresses.join(',')}\t${i.description ?? ''}\n`);
    return EXIT.clean;
  }
  if (!opts.interface) throw new UsageError('capture needs an interface: -i IFACE (see `shadowtap capture --list`)');
  const rotation = opts.rotate ? parseRotationOrUsage(opts.rotate) : undefined;
  if (rotation && !opts.write) throw new UsageError('--rotate needs --write FILE.pcap');

  const set = await loadSignatures(opts.signatures ?? []);
  const detector = new Detector(set, { approved: opts.approved ? loadApproved(opts.approved) : undefined });
  const anomalies = new Anomalies();
  const source = new LiveSource({ device: opts.interface, filter: opts.filter });
  const where = { file: source.name, format: 'live' };
  let writer: PcapWriter | undefined;
  const before = interfaceCounters(opts.interface);

  const stop = () => source.stop();
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  opts.signal?.addEventListener('abort', stop, { once: true });
  const timer = opts.duration ? setTimeout(stop, opts.duration * 1000) : undefined;

  const announced = new Map<string, string>();
  const announce = (findings: Finding[]) => {
    for (const f of findings) {
      const key = `${f.confidence}/${f.approved}`;
      if (announced.get(f.id) === key) continue;
      const isNew = !announced.has(f.id);
      announced.set(f.id, key);
      if (opts.output === 'ndjson') io.stdout(`${JSON.stringify({ ...findingRecord(f), event: isNew ? 'new' : 'updated' })}\n`);
      else io.stdout(`${isNew ? 'NEW' : 'UPD'} ${f.approved ? 'approved' : 'SHADOW'} ${f.confidence.padEnd(6)} ${endpointText(f)} ${f.transport} ${f.subject.names.join(',')}\n`);
    }
  };
  const tick = setInterval(() => announce(detector.findings()), opts.tickMs ?? 1000);

  let run;
  try {
    run = await runCaptureSource(source, anomalies, {
      onFrame: (frame) => {
        if (opts.write) {
          writer ??= new PcapWriter(opts.write, source.linkType, rotation);
          writer.write(frame.ts, frame.data, frame.origLen);
        }
        if (opts.packets && frame.index >= opts.packets) queueMicrotask(stop);
      },
      onFlowStart: (flow) => detector.add(observeFlow(flow, where)),
      onMessage: (msg) => { for (const o of observeMessage(msg, where)) detector.add(o); },
    });
  } finally {
    clearInterval(tick);
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    writer?.close();
  }

  const findings = detector.findings();
  announce(findings);
  const after = interfaceCounters(opts.interface);
  const anomalyList = anomalies.summary();
  const report: ScanReport = {
    tool: { name: 'shadowtap', version: VERSION },
    inputs: [{ file: source.name, kind: 'capture', format: 'live', bytes: run.bytes, records: run.frames, observations: 0 }],
    summary: summarize(findings, anomalyList),
    findings,
    anomalies: anomalyList,
    stats: {
      frames: run.frames,
      ipFrames: run.ipFrames,
      messages: run.messages,
      truncatedFrames: source.truncatedFrames,
      interfaceDropped: before && after ? after.rxDropped - before.rxDropped : -1,
    },
  };
  if (opts.report) await writeFile(opts.report, formatReport(report, 'json'));
  if (!opts.quiet) {
    const dropped = before && after ? `${after.rxDropped - before.rxDropped} dropped by ${opts.interface}` : 'interface drop counter unavailable';
    const files = writer ? `; wrote ${writer.files.join(', ')}` : '';
    io.stderr(`shadowtap: captured ${run.frames} frames (${source.truncatedFrames} truncated, ${dropped}); ${findings.length} finding(s)${files}\n`);
  }
  // A clean stop (signal, --duration, --packets) exits 0: findings were already printed and written.
  return EXIT.clean;
}

function parseRotationOrUsage(spec: string) {
  try {
    return parseRotation(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function endpointText(f: Finding): string {
  if (!f.subject.ip) return f.subject.names[0] ?? '-';
  return `${f.subject.ip.includes(':') ? `[${f.subject.ip}]` : f.subject.ip}:${f.subject.port ?? ''}`;
}
