// `shadowtap import --db`: read only what is new in each log (cursors), turn it into findings, and commit
// the cursor advances, the run and the inventory merge in ONE write transaction. A run killed before the
// commit leaves the previous state; the next run redoes its ranges from the old cursors.
//
// Concurrency: the first attempt reads optimistically (no lock) and, under BEGIN IMMEDIATE, checks that no
// other run committed since it read the cursors (the generation counter). If one did, its ranges may overlap
// ours: the work is thrown away and redone holding the write lock for the whole import, so it cannot race
// again. Two runs never both count the same bytes.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LIMITS } from '../config/limits.js';
import type { Finding } from '../detect/finding.js';
import { analyze, type ScanOptions } from '../pipeline/scan.js';
import type { ScanReport } from '../report/model.js';
import { VERSION } from '../version.js';
import { StoreCursors, type CursorChange } from './cursor.js';
import { Store } from './db.js';
import { mergeFindings } from './inventory.js';
import { StoreKnownServers } from './known-servers.js';

export interface StoreImportOptions {
  db: string;
  /** Log files, globs, directories (as given on the command line). */
  logs: string[];
  scan: ScanOptions;
  /** Diagnostics (retries, test stalls) go here. */
  onNote?(text: string): void;
}

export interface StoreImportResult {
  runId: number;
  /** Findings from the bytes this run read (the whole report of the new data). */
  report: ScanReport;
  /** Findings whose server was not in the inventory before this run. */
  newFindings: Finding[];
  files: CursorChange[];
  attempts: number;
}

/** Test hooks: stall (ms) after reading, before the commit transaction / inside it before COMMIT. */
const STALL_AFTER_READ = Number(process.env.SHADOWTAP_TEST_STALL_AFTER_READ_MS ?? 0);
const STALL_IN_COMMIT = Number(process.env.SHADOWTAP_TEST_STALL_IN_COMMIT_MS ?? 0);

export async function importIntoStore(o: StoreImportOptions): Promise<StoreImportResult> {
  const store = Store.open(o.db);
  const startedAt = Date.now() / 1000;
  try {
    for (let attempt = 1; ; attempt++) {
      const locked = attempt > LIMITS.storeOptimisticAttempts;
      if (locked) store.begin();
      const generation = store.generation();
      const cursors = new StoreCursors(store.db);
      let report: ScanReport;
      try {
        report = await analyze({ logs: o.logs }, { ...o.scan, logResume: cursors, known: o.scan.known ?? new StoreKnownServers(store.db) });
      } catch (e) {
        store.rollback();
        throw e;
      }
      if (!locked) {
        if (STALL_AFTER_READ > 0) { o.onNote?.('store: stalling after read (test)\n'); await sleep(STALL_AFTER_READ); }
        store.begin();
        if (store.generation() !== generation) {
          store.rollback();
          o.onNote?.('store: another run committed meanwhile; importing again under the write lock\n');
          continue;
        }
      }
      try {
        const files = report.inputs.length;
        const bytes = report.inputs.reduce((t, i) => t + i.bytes, 0);
        const lines = report.inputs.reduce((t, i) => t + i.records, 0);
        const observations = report.inputs.reduce((t, i) => t + i.observations, 0);
        const runId = Number(store.db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
          observations, findings, new_findings, new_shadow, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`).run(
          startedAt, Date.now() / 1000, VERSION, hostname(), process.pid, JSON.stringify(o.logs), files, bytes, lines, observations,
          report.findings.length, attempt,
        ).lastInsertRowid);
        cursors.commit(runId);
        // Logs feed no message content to the audit stage today, so hits and alerts are usually empty here;
        // whatever the findings and the audit section carry is merged all the same.
        const { newIds } = mergeFindings(store.db, runId, report.findings, report.audit);
        const newFindings = report.findings.filter((f) => newIds.has(f.id));
        store.db.prepare('UPDATE runs SET new_findings = ?, new_shadow = ? WHERE id = ?').run(
          newFindings.length, newFindings.filter((f) => !f.approved).length, runId,
        );
        store.bumpGeneration();
        if (STALL_IN_COMMIT > 0) { o.onNote?.('store: stalling before COMMIT (test)\n'); await sleep(STALL_IN_COMMIT); }
        store.commit();
        return { runId, report, newFindings, files: cursors.changes, attempts: attempt };
      } catch (e) {
        store.rollback();
        throw e;
      }
    }
  } finally {
    store.close();
  }
}
