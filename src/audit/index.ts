// The audit stage: messages → audit records (trail.ts) → DLP hits (dlp.ts) and behaviour alerts (behaviour.ts),
// then attached to the findings of the same server endpoint.
import { Anomalies } from '../core/anomalies.js';
import { limits as makeLimits, type Limits } from '../config/limits.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../detect/finding.js';
import type { Message } from '../protocols/messages.js';
import { BaselineFile, BehaviourMonitor, type CallHistory, type KnownServers } from './behaviour.js';
import { DlpScanner } from './dlp.js';
import { AuditTrail, hostPort } from './trail.js';
import type { AlertsConfig, AuditRecord, AuditSection, DlpConfig, DlpHit } from './types.js';

export * from './types.js';
export { DlpScanner, DlpConfigError, mask, luhnValid, SECRET_DETECTORS, DLP_DEFAULTS } from './dlp.js';
export { AuditTrail, sessionFromTarget, requestTarget, hostPort, flowName } from './trail.js';
export { BehaviourMonitor, BaselineFile, ALERT_DEFAULTS, type KnownServers, type CallHistory, type CallKey, type CallWindows } from './behaviour.js';

export interface AuditOptions {
  dlp?: DlpConfig;
  alerts?: AlertsConfig;
  /** Servers seen before (the inventory with --db); a configured `alerts.newServer.baseline` file wins over it. */
  known?: KnownServers;
  /** Calls per window learned before this run, for tool_call_unusual (the inventory with --db). */
  history?: CallHistory;
  anomalies?: Anomalies;
  limits?: Partial<Limits>;
  /** Every finished record (the `audit` command lists them). */
  onRecord?(record: AuditRecord): void;
}


export class AuditCollector {
  readonly trail: AuditTrail;
  readonly monitor: BehaviourMonitor;
  private readonly limits: Limits;
  private readonly anomalies: Anomalies;
  private readonly hitsByServer = new Map<string, Map<string, DlpHit>>();
  private readonly baseline?: BaselineFile;
  private readonly counts = { records: 0, requests: 0, notifications: 0, errors: 0, unanswered: 0, dlpHits: 0 };

  constructor(private readonly options: AuditOptions = {}) {
    this.limits = makeLimits(options.limits);
    this.anomalies = options.anomalies ?? new Anomalies();
    const baselinePath = options.alerts?.newServer?.baseline;
    if (baselinePath) this.baseline = new BaselineFile(baselinePath);
    this.monitor = new BehaviourMonitor(options.alerts, {
      known: this.baseline ?? options.known, history: options.history, anomalies: this.anomalies, limits: options.limits,
    });
    this.trail = new AuditTrail({
      dlp: new DlpScanner(options.dlp, this.limits.dlpMaxScanChars),
      anomalies: this.anomalies,
      limits: options.limits,
      onHit: (h) => this.hit(h),
      onRecord: (r) => this.record(r),
    });
  }

  /** The capture file the next messages come from (named in records, hits and alerts). */
  setFile(file: string): void {
    this.trail.file = file;
  }

  add(msg: Message): void {
    this.trail.add(msg);
  }

  /** End of input: flush unanswered requests, hand on what was learned, save the baseline when asked to. */
  finish(): AuditSection {
    this.trail.finish();
    this.monitor.finish();
    if (this.baseline && this.options.alerts?.newServer?.update) this.baseline.save();
    return {
      ...this.counts,
      alerts: this.monitor.alerts(),
      unattachedDlp: [],
    };
  }

  /** DLP hits per server endpoint (`ip:port`), deduplicated, each with how often it was seen. */
  hits(): Map<string, DlpHit[]> {
    return new Map([...this.hitsByServer].map(([k, m]) => [k, [...m.values()]]));
  }

  /** Attach hits and alerts to the findings of their server; raise severity. Returns the section for the report. */
  attach(findings: Finding[], section: AuditSection): AuditSection {
    const byServer = new Map<string, Finding>();
    for (const f of findings) if (f.subject.ip && f.subject.port) byServer.set(hostPort({ ip: f.subject.ip, port: f.subject.port }), f);
    const unattached: DlpHit[] = [];
    for (const [server, hits] of this.hits()) {
      const f = byServer.get(server);
      if (!f) { unattached.push(...hits); continue; }
      f.dlp = [...(f.dlp ?? []), ...hits];
      for (const h of hits) raise(f, h.severity);
    }
    for (const a of section.alerts) {
      for (const s of a.servers) {
        const f = byServer.get(s);
        if (!f) continue;
        (f.alerts ??= []).push(a);
        raise(f, a.severity);
      }
    }
    return { ...section, unattachedDlp: unattached.slice(0, this.limits.auditMaxHitsPerFinding) };
  }

  private record(r: AuditRecord): void {
    this.counts.records++;
    if (r.type === 'notification') this.counts.notifications++;
    else this.counts.requests++;
    if (r.status === 'error' || r.status === 'tool-error') this.counts.errors++;
    if (r.status === 'no-response') this.counts.unanswered++;
    this.monitor.add(r);
    this.options.onRecord?.(r);
  }

  private hit(h: DlpHit): void {
    this.counts.dlpHits++;
    let m = this.hitsByServer.get(h.server);
    if (!m) {
      if (this.hitsByServer.size >= this.limits.auditMaxPeers) { this.anomalies.add('audit.peers_cap_hit'); return; }
      m = new Map();
      this.hitsByServer.set(h.server, m);
    }
    const key = `${h.detector}|${h.masked}|${h.client}|${h.where.part}|${h.where.method ?? ''}|${h.where.path}`;
    const old = m.get(key);
    if (old) { old.count += h.count; return; }
    if (m.size >= this.limits.auditMaxHitsPerFinding) {
      this.anomalies.add('audit.dlp_cap_hit', { file: h.where.file, frame: h.where.frame });
      return;
    }
    m.set(key, h);
  }
}

function raise(f: Finding, s: Severity): void {
  if (SEVERITY_RANK[s] > SEVERITY_RANK[f.severity]) f.severity = s;
}
