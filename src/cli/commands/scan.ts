// `shadowtap scan` and `shadowtap import`: inputs → findings → a report, and an exit code a scheduler can use.
import { stat, writeFile } from 'node:fs/promises';
import { CONFIDENCE_RANK, type Confidence } from '../../detect/finding.js';
import { analyze, type ScanOptions } from '../../pipeline/scan.js';
import { formatReport, type ReportFormat } from '../../report/formats.js';
import type { ScanReport } from '../../report/model.js';
import { expandInputs, type DateOrder } from '../../sources/logs/index.js';
import { sniffInputKind } from '../../sources/sniff.js';
import { EXIT, UsageError, type CliIO } from '../io.js';
import type { AlertsConfig, DlpConfig } from '../../audit/types.js';
import { Progress } from '../progress.js';


export interface ScanCommandOptions {
  files: string[];
  /** 'scan': inputs are captures unless their bytes say log; 'import': logs. */
  mode: 'scan' | 'import';
  output: ReportFormat;
  out?: string;
  minConfidence: Confidence;
  failOn: Confidence | 'none';
  approved?: string;
  signatures?: string[];
  logFormat?: string;
  map?: string;
  /** Windows DNS slash dates with the year last: M/D/Y or D/M/Y (default: decided per file). */
  dateOrder?: DateOrder;
  quiet?: boolean;
  /** Per-input counts and every anomaly with its example locations, on stderr. */
  verbose?: boolean;
  /** Config `dlp` and `alerts` (audit of clear-text MCP content). */
  dlp?: DlpConfig;
  alerts?: AlertsConfig;
  /** Inventory store: import reads only what is new in each log; scan reads only captures it has not seen (by content hash). */
  db?: string;
  /** With db: report only findings the inventory had not seen before; exit 1 when one is shadow (at/above failOn). */
  newOnly?: boolean;
}

export async function runScan(opts: ScanCommandOptions, io: CliIO): Promise<number> {
  const captures: string[] = [];
  const logs: string[] = [];
  // `scan` sorts its inputs by their bytes: captures to the capture reader, anything else to the log importers. In a
  // directory, captures are taken out and the rest is imported (unrecognised files are counted there, as for import).
  const takenAsCaptures = new Set<string>();
  for (const file of opts.files) {
    if (file === '-') (opts.mode === 'scan' ? captures : logs).push(file);
    else if (opts.mode === 'import') logs.push(file);
    else {
      const st = await stat(file).catch(() => undefined);
      if (!st) captures.push(file); // the capture reader says the file is missing
      else if (!st.isDirectory()) ((await sniffInputKind(file)) === 'log' ? logs : captures).push(file);
      else {
        let other = false;
        const inDir = await expandInputs([file]);
        for (const f of inDir) {
          if ((await sniffInputKind(f.path)) === 'capture') {
            captures.push(f.path);
            takenAsCaptures.add(f.path);
          } else other = true;
        }
        if (other || inDir.length === 0) logs.push(file); // the importer counts an empty directory
      }
    }
  }
  const progress = new Progress(io, opts.quiet);
  const scanOptions: ScanOptions = {
    signatures: opts.signatures,
    approved: opts.approved,
    logFormat: opts.logFormat,
    logMap: opts.map,
    logDateOrder: opts.dateOrder,
    logExclude: takenAsCaptures,
    onProgress: (p) => progress.update(p),
    dlp: opts.dlp,
    alerts: opts.alerts,
  };
  let report: ScanReport;
  let newIds: Set<string> | undefined;
  if (opts.newOnly && !opts.db) throw new UsageError('--new-only needs the inventory store: --db PATH or "db" in the config file');
  if (opts.db && opts.mode === 'scan') {
    // Captures into the inventory, remembered by content hash: a capture scanned again adds nothing.
    if (logs.length) throw new UsageError('scan --db takes captures only; merge logs with shadowtap import --db');
    if (captures.length === 0 || captures.includes('-')) throw new UsageError('scan --db needs capture files, not stdin (a capture is remembered by its content hash)');
    const { scanIntoStore } = await import('../../store/scan.js');
    const run = await scanIntoStore({ db: opts.db, captures, scan: scanOptions, onNote: (t) => { if (!opts.quiet) io.stderr(`shadowtap: ${t}`); } });
    report = run.report;
    if (opts.newOnly) newIds = new Set(run.newFindings.map((f) => f.id));
    if (!opts.quiet) {
      for (const f of run.files) {
        if (f.knownRun !== undefined) io.stderr(`shadowtap: ${f.file}: already in ${opts.db} (run ${f.knownRun}), skipped\n`);
        else if (f.duplicateOf) io.stderr(`shadowtap: ${f.file}: same content as ${f.duplicateOf}, skipped\n`);
      }
      io.stderr(`shadowtap: run ${run.runId}: ${run.files.filter((f) => f.read).length} new capture(s) of ${run.files.length}, ${run.newFindings.length} new finding(s) in ${opts.db}\n`);
    }
  } else if (opts.db) {
    const { importIntoStore } = await import('../../store/import.js');
    const run = await importIntoStore({ db: opts.db, logs, scan: scanOptions, onNote: (t) => { if (!opts.quiet) io.stderr(`shadowtap: ${t}`); } });
    report = run.report;
    if (opts.newOnly) newIds = new Set(run.newFindings.map((f) => f.id));
    if (!opts.quiet) {
      const read = run.files.filter((f) => !f.skipped).reduce((t, f) => t + (f.end - f.start), 0);
      io.stderr(`shadowtap: run ${run.runId}: ${run.files.length} file(s), ${read} new byte(s), ${run.newFindings.length} new finding(s) in ${opts.db}\n`);
    }
  } else {
    report = await analyze({ captures, logs }, scanOptions);
  }
  progress.done();
  let shown = filterReport(report, opts.minConfidence);
  if (newIds) shown = keepFindings(shown, (f) => newIds.has(f.id));
  // The HTML report shows, per shadow finding, the block rules generated from that finding alone.
  const html = opts.output === 'html' ? { rules: (await import('../../report/html.js')).findingRules(shown.findings) } : undefined;
  const text = await formatReport(shown, opts.output, { color: io.color && !opts.out, html });
  if (opts.out) await writeFile(opts.out, text);
  else io.stdout(text);
  if (opts.verbose && !opts.quiet) io.stderr(verboseSummary(report));
  if (!opts.quiet && opts.output !== 'table') {
    const s = shown.summary;
    io.stderr(`shadowtap: ${s.findings} finding(s), ${s.shadow} shadow, ${s.approved} approved; ${s.anomalies} anomalies\n`);
  }
  return exitCode(shown, opts.failOn);
}

/** What --verbose adds: each input's counts, then each anomaly with where it was seen. */
export function verboseSummary(report: ScanReport): string {
  const lines: string[] = [];
  for (const i of report.inputs) {
    lines.push(`shadowtap: input ${i.file}: ${i.format}, ${i.records} ${i.kind === 'capture' ? 'frames' : 'lines'}, ${i.bytes} bytes, ${i.observations} observations`);
  }
  for (const a of report.anomalies) {
    const where = a.examples
      .map((e) => [e.file, e.frame !== undefined ? `frame ${e.frame}` : '', e.line !== undefined ? `line ${e.line}` : '', e.detail ?? ''].filter(Boolean).join(' '))
      .join('; ');
    lines.push(`shadowtap: anomaly ${a.name} ×${a.count}${where ? ` (${where})` : ''}`);
  }
  for (const [k, v] of Object.entries(report.stats)) lines.push(`shadowtap: stat ${k} ${v}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export function filterReport(report: ScanReport, min: Confidence): ScanReport {
  return keepFindings(report, (f) => CONFIDENCE_RANK[f.confidence] >= CONFIDENCE_RANK[min]);
}

/** The report with only the findings `keep` accepts, its summary recounted. */
export function keepFindings(report: ScanReport, keep: (f: ScanReport['findings'][number]) => boolean): ScanReport {
  const findings = report.findings.filter(keep);
  if (findings.length === report.findings.length) return report;
  const approved = findings.filter((f) => f.approved).length;
  const byConfidence = { high: 0, medium: 0, low: 0 };
  for (const f of findings) byConfidence[f.confidence]++;
  return { ...report, findings, summary: { ...report.summary, findings: findings.length, shadow: findings.length - approved, approved, byConfidence } };
}

export function exitCode(report: ScanReport, failOn: Confidence | 'none'): number {
  if (failOn === 'none') return EXIT.clean;
  const bad = report.findings.some((f) => !f.approved && CONFIDENCE_RANK[f.confidence] >= CONFIDENCE_RANK[failOn]);
  return bad ? EXIT.findings : EXIT.clean;
}
