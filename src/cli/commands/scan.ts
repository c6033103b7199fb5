// `shadowtap scan` and `shadowtap import`: inputs → findings → a report, and an exit code a scheduler can use.
import { writeFile } from 'node:fs/promises';
import type { Confidence } from '../../detect/finding.js';
import { analyze, type ScanOptions } from '../../pipeline/scan.js';
import { formatReport, type ReportFormat } from '../../report/formats.js';
import type { ScanReport } from '../../report/model.js';
import { sniffInputKind } from '../../sources/sniff.js';
import { EXIT, type CliIO } from '../io.js';
import { Progress } from '../progress.js';

export const CONFIDENCE_RANK: Record<Confidence, number> = { low: 1, medium: 2, high: 3 };

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
  quiet?: boolean;
}

export async function runScan(opts: ScanCommandOptions, io: CliIO): Promise<number> {
  const captures: string[] = [];
  const logs: string[] = [];
  for (const file of opts.files) {
    if (file === '-') (opts.mode === 'scan' ? captures : logs).push(file);
    else if (opts.mode === 'import') logs.push(file);
    else (await isDirectoryOrLog(file)) ? logs.push(file) : captures.push(file);
  }
  const progress = new Progress(io, opts.quiet);
  const scanOptions: ScanOptions = {
    signatures: opts.signatures,
    approved: opts.approved,
    logFormat: opts.logFormat,
    logMap: opts.map,
    onProgress: (p) => progress.update(p),
  };
  const report = await analyze({ captures, logs }, scanOptions);
  progress.done();
  const shown = filterReport(report, opts.minConfidence);
  const text = formatReport(shown, opts.output, { color: io.color && !opts.out });
  if (opts.out) await writeFile(opts.out, text);
  else io.stdout(text);
  if (!opts.quiet && opts.output !== 'table') {
    const s = shown.summary;
    io.stderr(`shadowtap: ${s.findings} finding(s), ${s.shadow} shadow, ${s.approved} approved; ${s.anomalies} anomalies\n`);
  }
  return exitCode(shown, opts.failOn);
}

async function isDirectoryOrLog(file: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  const st = await stat(file).catch(() => undefined);
  if (!st) return false; // let the capture reader report the missing file
  if (st.isDirectory()) return true;
  return (await sniffInputKind(file)) === 'log';
}

export function filterReport(report: ScanReport, min: Confidence): ScanReport {
  const findings = report.findings.filter((f) => CONFIDENCE_RANK[f.confidence] >= CONFIDENCE_RANK[min]);
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
