// `shadowtap import --db`: read only what is new in each log (cursors), turn it into findings, and commit
// after each file its cursor advance with the run's findings so far (store/run.ts); the inventory merge
// happens once, when the run completes. A run killed after file k leaves files 1..k committed: the next run
// resumes after them and merges what the killed run had found.
//
// Concurrency (store/run.ts): a run that raced another one goes on under the write lock, so two runs never
// both count the same bytes.
import type { Finding } from '../detect/finding.js';
import { analyze, type ScanOptions } from '../pipeline/scan.js';
import type { ScanReport } from '../report/model.js';
import type { LogResume } from '../sources/logs/index.js';
import { StoreCursors, type CursorChange } from './cursor.js';
import { StoreKnownServers } from './known-servers.js';
import { runInStore } from './run.js';

export interface StoreImportOptions {
  db: string;
  /** Log files, globs, directories (as given on the command line). */
  logs: string[];
  scan: ScanOptions;
  /** Diagnostics (retries, resumed runs, test stalls) go here. */
  onNote?(text: string): void;
}

export interface StoreImportResult {
  runId: number;
  /** Findings from the bytes this run read, plus those of the interrupted runs it resumed. */
  report: ScanReport;
  /** Findings whose server was not in the inventory before this run. */
  newFindings: Finding[];
  /** The cursor changes committed, file by file (over every attempt). */
  files: CursorChange[];
  attempts: number;
  /** Interrupted runs this one resumed. */
  resumed: number[];
}

export async function importIntoStore(o: StoreImportOptions): Promise<StoreImportResult> {
  const files: CursorChange[] = [];
  const run = await runInStore<StoreCursors>({
    db: o.db,
    kind: 'import',
    inputs: o.logs,
    onNote: o.onNote,
    read: async (store, commitFile) => {
      const cursors = new StoreCursors(store.db);
      let findingsSoFar: () => Finding[] = () => [];
      const resume: LogResume = {
        candidates: (probe) => cursors.candidates(probe),
        predecessors: (file, probe) => cursors.predecessors(file, probe),
        fileDone: (stats) => {
          const before = cursors.changes.length;
          cursors.fileDone(stats);
          commitFile({
            file: stats.file, bytes: stats.bytes, records: stats.lines, observations: stats.observations, findings: findingsSoFar(),
            remember: (runId) => cursors.commit(runId),
          });
          files.push(...cursors.changes.slice(before));
        },
      };
      // The inventory is the baseline of the new-server alert (a configured baseline file wins: pipeline/scan.ts).
      const report = await analyze({ logs: o.logs }, {
        ...o.scan, logResume: resume, findingsSoFar: (get) => { findingsSoFar = get; }, known: o.scan.known ?? new StoreKnownServers(store.db),
      });
      return { report, state: cursors };
    },
    remember: (_store, runId, _report, cursors) => cursors.commit(runId),
  });
  return { runId: run.runId, report: run.report, newFindings: run.newFindings, files, attempts: run.attempts, resumed: run.resumed };
}
