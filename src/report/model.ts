// The report every command builds and every formatter reads.
import type { AnomalySummary } from '../core/anomalies.js';
import type { Finding } from '../detect/finding.js';
import type { AuditSection } from '../audit/types.js';

export type ReportFormat = 'table' | 'json' | 'ndjson' | 'csv' | 'html';
export const REPORT_FORMATS: ReportFormat[] = ['table', 'json', 'ndjson', 'csv', 'html'];

export interface InputSummary {
  file: string;
  kind: 'capture' | 'log';
  /** pcap, pcapng, or the log format id. */
  format: string;
  bytes: number;
  /** Frames (captures) or lines (logs) read. */
  records: number;
  observations: number;
}

export interface ReportSummary {
  findings: number;
  shadow: number;
  approved: number;
  byConfidence: { high: number; medium: number; low: number };
  /** Distinct client addresses seen talking to MCP servers. */
  clients: number;
  /** Distinct registry / marketplace / hosted-MCP names contacted. */
  names: string[];
  anomalies: number;
}

export interface ScanReport {
  tool: { name: 'shadowtap'; version: string };
  inputs: InputSummary[];
  summary: ReportSummary;
  findings: Finding[];
  anomalies: AnomalySummary[];
  stats: Record<string, number>;
  /** Audit of MCP content (clear-text traffic): request counts, behaviour alerts, DLP hits with no finding. */
  audit?: AuditSection;
}

export function summarize(findings: Finding[], anomalies: AnomalySummary[]): ReportSummary {
  const clients = new Set<string>();
  const names = new Set<string>();
  const byConfidence = { high: 0, medium: 0, low: 0 };
  let approved = 0;
  for (const f of findings) {
    byConfidence[f.confidence]++;
    if (f.approved) approved++;
    for (const c of f.clients) clients.add(c.ip);
    for (const n of f.subject.names) names.add(n);
  }
  return {
    findings: findings.length,
    shadow: findings.length - approved,
    approved,
    byConfidence,
    clients: clients.size,
    names: [...names].sort(),
    anomalies: anomalies.reduce((t, a) => t + a.count, 0),
  };
}
