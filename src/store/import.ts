// `shadowtap import --db`: read only what is new in each log (cursors), turn it into findings, and commit
// the cursor advances, the run and the inventory merge in ONE write transaction. A run killed before the
// commit leaves the previous state; the next run redoes its ranges from the old cursors.
//
// Concurrency (store/run.ts): a run that raced another one is redone under the write lock, so two runs never
// both count the same bytes.
import type { Finding } from '../detect/finding.js';
import { analyze, type ScanOptions } from '../pipeline/scan.js';
import type { ScanReport } from '../report/model.js';
import { StoreCursors, type CursorChange } from './cursor.js';
import { StoreKnownServers } from './known-servers.js';
import { runInStore } from './run.js';

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

export async function importIntoStore(o: StoreImportOptions): Promise<StoreImportResult> {
  const run = await runInStore<StoreCursors>({
    db: o.db,
    kind: 'import',
    inputs: o.logs,
    onNote: o.onNote,
    read: async (store) => {
      const cursors = new StoreCursors(store.db);
      // The inventory is the baseline of the new-server alert (a configured baseline file wins: pipeline/scan.ts).
      const report = await analyze({ logs: o.logs }, { ...o.scan, logResume: cursors, known: o.scan.known ?? new StoreKnownServers(store.db) });
      return { report, state: cursors };
    },
    remember: (_store, runId, _report, cursors) => cursors.commit(runId),
  });
  return { runId: run.runId, report: run.report, newFindings: run.newFindings, files: run.state.changes, attempts: run.attempts };
}
