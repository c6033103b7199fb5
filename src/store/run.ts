// One inventory run, shared by `import --db` and `scan --db`: read, then commit the run row, what the reader
// must remember (cursors, capture hashes) and the inventory merge in ONE write transaction. A run killed
// before the commit leaves the previous state.
//
// Concurrency: the first attempt reads optimistically (no lock) and, under BEGIN IMMEDIATE, checks that no
// other run committed since it began reading (the generation counter). If one did, the work is thrown away
// and redone holding the write lock for the whole run, so it cannot race again.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LIMITS } from '../config/limits.js';
import type { Finding } from '../detect/finding.js';
import type { ScanReport } from '../report/model.js';
import { VERSION } from '../version.js';
import { Store } from './db.js';
import { mergeFindings } from './inventory.js';

/** Test hooks: stall (ms) after reading, before the commit transaction / inside it before COMMIT. */
const STALL_AFTER_READ = Number(process.env.SHADOWTAP_TEST_STALL_AFTER_READ_MS ?? 0);
const STALL_IN_COMMIT = Number(process.env.SHADOWTAP_TEST_STALL_IN_COMMIT_MS ?? 0);

export interface StoreRun<T> {
  db: string;
  kind: 'import' | 'scan';
  /** The inputs as given, kept on the run row. */
  inputs: string[];
  onNote?(text: string): void;
  /** Read the inputs against the store's current state; `state` is what `remember` writes. */
  read(store: Store): Promise<{ report: ScanReport; state: T }>;
  /** Inside the commit transaction: record what this run read (cursor advances, capture hashes). */
  remember(store: Store, runId: number, report: ScanReport, state: T): void;
}

export interface StoreRunResult<T> {
  runId: number;
  report: ScanReport;
  /** Findings whose server was not in the inventory before this run. */
  newFindings: Finding[];
  state: T;
  attempts: number;
}

export async function runInStore<T>(o: StoreRun<T>): Promise<StoreRunResult<T>> {
  const store = Store.open(o.db);
  const startedAt = Date.now() / 1000;
  try {
    for (let attempt = 1; ; attempt++) {
      const locked = attempt > LIMITS.storeOptimisticAttempts;
      if (locked) store.begin();
      const generation = store.generation();
      let read: { report: ScanReport; state: T };
      try {
        read = await o.read(store);
      } catch (e) {
        store.rollback();
        throw e;
      }
      if (!locked) {
        if (STALL_AFTER_READ > 0) { o.onNote?.('store: stalling after read (test)\n'); await sleep(STALL_AFTER_READ); }
        store.begin();
        if (store.generation() !== generation) {
          store.rollback();
          o.onNote?.(`store: another run committed meanwhile; ${o.kind === 'scan' ? 'scanning' : 'importing'} again under the write lock\n`);
          continue;
        }
      }
      const { report, state } = read;
      try {
        const sum = (k: 'bytes' | 'records' | 'observations') => report.inputs.reduce((t, i) => t + i[k], 0);
        const runId = Number(store.db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
          observations, findings, new_findings, new_shadow, attempts, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)`).run(
          startedAt, Date.now() / 1000, VERSION, hostname(), process.pid, JSON.stringify(o.inputs), report.inputs.length,
          sum('bytes'), sum('records'), sum('observations'), report.findings.length, attempt, o.kind,
        ).lastInsertRowid);
        o.remember(store, runId, report, state);
        const { newIds } = mergeFindings(store.db, runId, report.findings, report.audit);
        const newFindings = report.findings.filter((f) => newIds.has(f.id));
        store.db.prepare('UPDATE runs SET new_findings = ?, new_shadow = ? WHERE id = ?').run(
          newFindings.length, newFindings.filter((f) => !f.approved).length, runId,
        );
        store.bumpGeneration();
        if (STALL_IN_COMMIT > 0) { o.onNote?.('store: stalling before COMMIT (test)\n'); await sleep(STALL_IN_COMMIT); }
        store.commit();
        return { runId, report, newFindings, state, attempts: attempt };
      } catch (e) {
        store.rollback();
        throw e;
      }
    }
  } finally {
    store.close();
  }
}
