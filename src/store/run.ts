// One inventory run, shared by `import --db` and `scan --db`.
//
// A scan reads, then commits the run row, the capture hashes and the inventory merge in ONE write transaction.
// An import commits after each log file: that file's cursor, the run row (state `running`) and the run's
// findings so far (run_findings: one detector over all its files, so correlation is per run as before) go
// into one transaction. The inventory merge (servers, domains, clients) happens once, when the run completes,
// from the run's final findings: a run that is not interrupted reports and merges exactly what one
// transaction did before, and "new" means not in the inventory before the run. A run killed after file k
// leaves files 1..k committed and its findings in run_findings; the next import takes it over (state
// `interrupted`, resumed_by), reads only what follows, and merges the interrupted run's findings under that
// run's id before its own, adding those it did not see itself to its report (so --new-only still alerts on them).
//
// Concurrency: the first attempt reads optimistically (no lock) and, under BEGIN IMMEDIATE, checks before
// each commit that no other run committed since its previous one (the generation counter). If one did, the
// attempt's uncommitted work is thrown away, its committed files are left to be resumed like an interrupted
// run's, and the run goes on holding the write lock while it reads, so it cannot race again.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { LIMITS } from '../config/limits.js';
import type { Finding } from '../detect/finding.js';
import { summarize, type ScanReport } from '../report/model.js';
import { VERSION } from '../version.js';
import { Store, StoreError } from './db.js';
import { mergeFindings } from './inventory.js';

/** Test hooks: stall (ms) after reading (each log file of an import), before its commit / inside it before COMMIT. */
const STALL_AFTER_READ = Number(process.env.SHADOWTAP_TEST_STALL_AFTER_READ_MS ?? 0);
const STALL_IN_COMMIT = Number(process.env.SHADOWTAP_TEST_STALL_IN_COMMIT_MS ?? 0);

/** One log file read by an import: committed with `remember` (its cursor) and the run's findings so far. */
export interface FileCommit {
  file: string;
  bytes: number;
  records: number;
  observations: number;
  findings: Finding[];
  remember(runId: number): void;
}

export interface StoreRun<T> {
  db: string;
  kind: 'import' | 'scan';
  /** The inputs as given, kept on the run row. */
  inputs: string[];
  onNote?(text: string): void;
  /** Read the inputs against the store's current state; `state` is what `remember` writes. An import calls `commitFile` after each file. */
  read(store: Store, commitFile: (c: FileCommit) => void): Promise<{ report: ScanReport; state: T }>;
  /** Inside the last transaction: record what this run read and did not commit yet (cursor advances, capture hashes). */
  remember(store: Store, runId: number, report: ScanReport, state: T): void;
}

export interface StoreRunResult<T> {
  runId: number;
  /** This run's report, plus the findings of the interrupted runs it resumed that it did not see itself. */
  report: ScanReport;
  /** Findings whose server was not in the inventory before this run (or before the interrupted runs it resumed). */
  newFindings: Finding[];
  state: T;
  attempts: number;
  /** Interrupted runs this one took over and merged. */
  resumed: number[];
}

/** Another run committed since this attempt last did: its uncommitted reading is void. */
class Raced extends Error {}

function stall(ms: number, what: string, onNote?: (t: string) => void): void {
  if (ms <= 0) return;
  onNote?.(`store: stalling ${what} (test)\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A run row left `running` by a process of this host that no longer exists (killed). */
function gone(row: { host: string; pid: number }): boolean {
  // Another host's run cannot be checked; this process's own runs are alive (its failed attempts are marked).
  if (row.host !== hostname() || row.pid === process.pid) return false;
  try {
    process.kill(row.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** One attempt's run row: written with its first commit, updated by each later one. */
class RunRow {
  id?: number;
  commits = 0;
  files = 0;
  bytes = 0;
  records = 0;
  observations = 0;
  /** Hash of each finding's JSON in run_findings, by id: a file commit writes only those that changed. */
  private written = new Map<string, string>();

  constructor(private readonly store: Store, private readonly o: StoreRun<unknown>, private readonly startedAt: number, private readonly attempt: number) {}

  /** Insert or update the row (inside the caller's transaction); the first write takes over interrupted runs. */
  write(state: 'running' | 'complete', totals: { files: number; bytes: number; records: number; observations: number; findings: number }): number {
    const db = this.store.db;
    const now = Date.now() / 1000;
    if (this.id === undefined) {
      this.id = Number(db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
        observations, findings, new_findings, new_shadow, attempts, kind, state, commits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, 1)`).run(
        this.startedAt, now, VERSION, hostname(), process.pid, JSON.stringify(this.o.inputs), totals.files, totals.bytes, totals.records,
        totals.observations, totals.findings, this.attempt, this.o.kind, state,
      ).lastInsertRowid);
      if (this.o.kind === 'import') this.takeOver();
    } else {
      const changed = db.prepare(`UPDATE runs SET finished_at = ?, files = ?, bytes = ?, lines = ?, observations = ?, findings = ?, state = ?,
        commits = commits + 1 WHERE id = ? AND state = 'running'`).run(
        now, totals.files, totals.bytes, totals.records, totals.observations, totals.findings, state, this.id,
      ).changes;
      if (changed !== 1) throw new StoreError(`run ${this.id} was taken over by another run while it was importing (was its process judged dead?)`);
    }
    this.commits++;
    return this.id;
  }

  /** Interrupted runs (killed, or stopped by an error) become this run's to merge, with those they had taken over. */
  private takeOver(): void {
    const db = this.store.db;
    const rows = db.prepare(`SELECT id, host, pid, commits, state FROM runs WHERE id <> ? AND (state = 'running' OR (state = 'interrupted' AND resumed_by IS NULL))`)
      .all(this.id) as Array<{ id: number; host: string; pid: number; commits: number; state: string }>;
    const mark = db.prepare(`UPDATE runs SET state = 'interrupted', resumed_by = ? WHERE id = ?`);
    const chain = db.prepare('UPDATE runs SET resumed_by = ? WHERE resumed_by = ? AND id IN (SELECT run_id FROM run_findings)');
    for (const r of rows) {
      if (r.state === 'running' && !gone(r)) continue;
      mark.run(this.id, r.id);
      chain.run(this.id, r.id);
      this.o.onNote?.(`store: run ${r.id} was interrupted after ${r.commits} file(s); run ${this.id} resumes it\n`);
    }
  }

  /** The run's findings so far into run_findings, written where they changed. */
  saveFindings(findings: Finding[]): void {
    const db = this.store.db;
    const upsert = db.prepare(`INSERT INTO run_findings (run_id, id, finding) VALUES (?, ?, ?)
      ON CONFLICT(run_id, id) DO UPDATE SET finding = excluded.finding`);
    const drop = db.prepare('DELETE FROM run_findings WHERE run_id = ? AND id = ?');
    const now = new Map<string, string>();
    for (const f of findings) {
      const json = JSON.stringify(f);
      const hash = createHash('sha256').update(json).digest('base64');
      now.set(f.id, hash);
      if (this.written.get(f.id) !== hash) upsert.run(this.id, f.id, json);
    }
    for (const id of this.written.keys()) if (!now.has(id)) drop.run(this.id, id); // folded into another finding since
    this.written = now;
  }

  /** Stop using the row after a failed attempt: `interrupted`, so the next import merges what it committed. */
  leave(): void {
    if (this.id === undefined) return;
    try {
      this.store.begin();
      this.store.db.prepare(`UPDATE runs SET state = 'interrupted' WHERE id = ? AND state = 'running'`).run(this.id);
      this.store.commit();
      this.o.onNote?.(`store: run ${this.id} stopped after ${this.commits} file(s); the next import resumes it\n`);
    } catch (e) {
      // Left `running`: the next import takes it over once this process has exited.
      this.store.rollback();
      this.o.onNote?.(`store: run ${this.id} stopped after ${this.commits} file(s) and could not be marked (${(e as Error).message})\n`);
    }
  }
}

/** Merge the findings of the interrupted runs this run took over, each under its own run id. */
function mergeResumed(store: Store, runId: number): { ids: number[]; findings: Finding[]; newIds: Set<string> } {
  const db = store.db;
  const ids = db.prepare('SELECT id FROM runs WHERE resumed_by = ? ORDER BY id').pluck().all(runId) as number[];
  const findings: Finding[] = [];
  const newIds = new Set<string>();
  for (const id of ids) {
    const rows = db.prepare('SELECT id, finding FROM run_findings WHERE run_id = ? ORDER BY id').all(id) as Array<{ id: string; finding: string }>;
    const list = rows.map((r) => {
      try {
        return JSON.parse(r.finding) as Finding;
      } catch {
        throw new StoreError(`run ${id}: stored finding ${r.id} is not valid JSON (the store was changed by something else)`);
      }
    });
    const merged = mergeFindings(db, id, list);
    for (const n of merged.newIds) newIds.add(n);
    const fresh = list.filter((f) => merged.newIds.has(f.id));
    db.prepare('UPDATE runs SET new_findings = ?, new_shadow = ? WHERE id = ?').run(fresh.length, fresh.filter((f) => !f.approved).length, id);
    db.prepare('DELETE FROM run_findings WHERE run_id = ?').run(id);
    findings.push(...list);
  }
  return { ids, findings, newIds };
}

export async function runInStore<T>(o: StoreRun<T>): Promise<StoreRunResult<T>> {
  const store = Store.open(o.db);
  const startedAt = Date.now() / 1000;
  try {
    for (let attempt = 1; ; attempt++) {
      const locked = attempt > LIMITS.storeOptimisticAttempts;
      const row = new RunRow(store, o as StoreRun<unknown>, startedAt, attempt);
      if (locked) store.begin();
      let generation = store.generation();
      // Optimistic: lock, and check nobody committed since this attempt's last commit. Locked: the lock is held.
      const lock = (what: string) => {
        if (locked) return;
        stall(STALL_AFTER_READ, what, o.onNote);
        store.begin();
        if (store.generation() !== generation) {
          store.rollback();
          throw new Raced();
        }
      };
      const commit = () => {
        store.bumpGeneration();
        generation = store.generation();
        stall(STALL_IN_COMMIT, 'before COMMIT', o.onNote);
        store.commit();
      };
      const commitFile = (c: FileCommit) => {
        lock(`after reading ${c.file}`);
        try {
          row.files++;
          row.bytes += c.bytes;
          row.records += c.records;
          row.observations += c.observations;
          const id = row.write('running', { files: row.files, bytes: row.bytes, records: row.records, observations: row.observations, findings: c.findings.length });
          c.remember(id);
          row.saveFindings(c.findings);
          commit();
        } catch (e) {
          store.rollback();
          throw e;
        }
        if (locked) store.begin(); // the next file is read under the lock again
      };

      let read: { report: ScanReport; state: T };
      try {
        read = await o.read(store, commitFile);
        // What was read after the last file commit (a scan's captures, stdin) must not have raced either.
        if (row.commits === 0) lock('after read');
        else if (!locked) store.begin();
      } catch (e) {
        store.rollback();
        row.leave();
        if (!(e instanceof Raced)) throw e;
        o.onNote?.(`store: another run committed meanwhile; ${o.kind === 'scan' ? 'scanning' : 'importing'} again under the write lock\n`);
        continue;
      }
      const { report, state } = read;
      try {
        const sum = (k: 'bytes' | 'records' | 'observations') => report.inputs.reduce((t, i) => t + i[k], 0);
        const runId = row.write('complete', {
          files: report.inputs.length, bytes: sum('bytes'), records: sum('records'), observations: sum('observations'), findings: report.findings.length,
        });
        o.remember(store, runId, report, state);
        const resumed = mergeResumed(store, runId);
        store.db.prepare('DELETE FROM run_findings WHERE run_id = ?').run(runId);
        const { newIds } = mergeFindings(store.db, runId, report.findings, report.audit);
        const own = report.findings.filter((f) => newIds.has(f.id));
        store.db.prepare('UPDATE runs SET new_findings = ?, new_shadow = ? WHERE id = ?').run(own.length, own.filter((f) => !f.approved).length, runId);
        commit();
        const full = withResumed(report, resumed.findings);
        for (const id of newIds) resumed.newIds.add(id);
        const newFindings = full.findings.filter((f) => resumed.newIds.has(f.id));
        return { runId, report: full, newFindings, state, attempts: attempt, resumed: resumed.ids };
      } catch (e) {
        store.rollback();
        throw e;
      }
    }
  } finally {
    store.close();
  }
}

/** The report with the resumed runs' findings it does not hold itself appended (the report is unchanged when there are none). */
function withResumed(report: ScanReport, resumed: Finding[]): ScanReport {
  const have = new Set(report.findings.map((f) => f.id));
  const add = resumed.filter((f) => !have.has(f.id) && have.add(f.id)).sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  if (add.length === 0) return report;
  const findings = [...report.findings, ...add];
  return { ...report, findings, summary: summarize(findings, report.anomalies) };
}
