// Captures and logs → observations → one detector → one report.
import { Anomalies } from '../core/anomalies.js';
import type { Limits } from '../config/limits.js';
import { Detector } from '../detect/engine.js';
import type { Finding } from '../detect/finding.js';
import { loadApproved } from '../detect/approved.js';
import { loadSignatures } from '../detect/signatures/load.js';
import type { Observation } from '../detect/observation.js';
import { observeFlow, observeMessage } from '../protocols/observe.js';
import { importLogs, type DateOrder, type LogResume } from '../sources/logs/index.js';
import { summarize, type InputSummary, type ScanReport } from '../report/model.js';
import { plainFileSize } from '../sources/sniff.js';
import { VERSION } from '../version.js';
import { AuditCollector, type CallHistory, type KnownServers } from '../audit/index.js';
import type { AlertsConfig, DlpConfig } from '../audit/types.js';

export interface ScanOptions {
  /** Extra signature directories, on top of the built-in pack. */
  signatures?: string[];
  /** Approved-servers registry file. */
  approved?: string;
  /** Force a log format (import only). */
  logFormat?: string;
  /** Column mapping for generic CSV logs. */
  logMap?: string;
  /** How Windows DNS slash dates with the year last are read (`import --date-order`); default: per file. */
  logDateOrder?: DateOrder;
  /** Files inside log directories that are read as captures instead. */
  logExclude?: ReadonlySet<string>;
  limits?: Partial<Limits>;
  strict?: boolean;
  onProgress?(p: { file: string; bytes: number; totalBytes?: number; records: number }): void;
  /** Every observation as it is made (live output, tests). */
  onObservation?(obs: Observation): void;
  /** Data-loss checks and behaviour alerts on MCP content (config `dlp`, `alerts`); `audit: false` skips both. */
  dlp?: DlpConfig;
  alerts?: AlertsConfig;
  audit?: boolean;
  /** Incremental log import: resume each file where the inventory store's cursor says (store/import.ts). */
  logResume?: LogResume;
  /** Handed, before reading, the detector's findings so far (store/import.ts commits them with each log file's cursor). */
  findingsSoFar?(get: () => Finding[]): void;
  /** Servers seen before, for the "first seen today" alert (the inventory store with --db); a configured
   * `alerts.newServer.baseline` file wins over it. */
  known?: KnownServers;
  /** Calls per window learned before this run, for the tool_call_unusual alert (the inventory store with --db). */
  history?: CallHistory;
}

export interface AnalyzeInputs {
  captures?: string[];
  logs?: string[];
}

export async function analyze(inputs: AnalyzeInputs, options: ScanOptions = {}): Promise<ScanReport> {
  const set = await loadSignatures(options.signatures ?? []);
  const approved = options.approved ? loadApproved(options.approved) : undefined;
  const anomalies = new Anomalies();
  const detector = new Detector(set, { approved, anomalies, limits: options.limits });
  options.findingsSoFar?.(() => detector.findings());
  const audit = options.audit === false
    ? undefined
    : new AuditCollector({ dlp: options.dlp, alerts: options.alerts, known: options.known, history: options.history, anomalies, limits: options.limits });
  const summaries: InputSummary[] = [];
  const stats: Record<string, number> = {};
  const bump = (k: string, n: number) => { stats[k] = (stats[k] ?? 0) + n; };
  let observed = 0;
  const add = (obs: Observation) => {
    observed++;
    options.onObservation?.(obs);
    detector.add(obs);
  };

  if (inputs.captures?.length) {
    // The capture pipeline loads only when there are captures: a log import does not compile it.
    const { runCaptureSource } = await import('./capture.js');
    const { openCapture } = await import('../sources/capture-file.js');
    for (const file of inputs.captures) {
      observed = 0;
      const capture = await openCapture(file, anomalies);
      const totalBytes = options.onProgress ? plainFileSize(file) : undefined;
      audit?.setFile(file);
      const where = { file, format: capture.format };
      const run = await runCaptureSource(capture, anomalies, {
        limits: options.limits,
        strict: options.strict,
        onFlowStart: (flow) => add(observeFlow(flow, where)),
        onMessage: (msg) => { for (const o of observeMessage(msg, where, anomalies)) add(o); audit?.add(msg); },
        onProgress: options.onProgress && ((p) => options.onProgress!({ file: p.file, bytes: p.bytes, totalBytes, records: p.frames })),
      });
      summaries.push({ file, kind: 'capture', format: run.format, bytes: run.bytes, records: run.frames, observations: observed });
      bump('frames', run.frames);
      bump('ipFrames', run.ipFrames);
      bump('messages', run.messages);
      for (const [k, v] of Object.entries(run.flows)) if (typeof v === 'number') bump(`flows.${k}`, v);
      for (const [k, v] of Object.entries(run.protocols)) bump(`protocol.${k}`, v);
    }
  }

  if (inputs.logs?.length) {
    const result = await importLogs(inputs.logs, {
      format: options.logFormat,
      map: options.logMap,
      dateOrder: options.logDateOrder,
      exclude: options.logExclude,
      anomalies,
      onObservation: add,
      resume: options.logResume,
      onProgress: options.onProgress && ((p) => options.onProgress!({ file: p.file, bytes: p.bytes, totalBytes: p.totalBytes, records: p.lines })),
    });
    for (const f of result.files) {
      summaries.push({ file: f.file, kind: 'log', format: f.format, bytes: f.bytes, records: f.lines, observations: f.observations });
      bump('lines', f.lines);
      bump('badLines', f.badLines);
    }
  }

  const findings = detector.findings();
  const auditSection = audit && audit.attach(findings, audit.finish());
  const anomalyList = anomalies.summary();
  return {
    tool: { name: 'shadowtap', version: VERSION },
    inputs: summaries,
    summary: summarize(findings, anomalyList),
    findings,
    anomalies: anomalyList,
    stats: Object.fromEntries(Object.entries(stats).sort(([a], [b]) => a.localeCompare(b))),
    ...(auditSection && { audit: auditSection }),
  };
}

/** Captures only (the accuracy tests and `shadowtap scan`). */
export function scanFiles(paths: string[], options: ScanOptions = {}): Promise<ScanReport> {
  return analyze({ captures: paths }, options);
}
