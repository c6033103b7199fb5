// `shadowtap scan --db`: captures into the inventory. A capture has no cursor: it is a finished unit,
// identified by the sha256 of its bytes. A capture whose hash the store already holds is not read again,
// so a re-scan of the same file (under any name) adds nothing. The new captures are analysed together and
// their findings, hits and alerts merged with the run and the hashes in ONE write transaction.
//
// Concurrency as for imports (store/run.ts): a run that raced another one is redone under the write lock.
// A capture still being written changes its hash between runs and would be read whole again: give the
// store rotated, closed files (tcpdump -G / -C), not the one being written.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Finding } from '../detect/finding.js';
import { analyze, type ScanOptions } from '../pipeline/scan.js';
import type { ScanReport } from '../report/model.js';
import { StoreCallHistory } from './audit.js';
import { StoreKnownServers } from './known-servers.js';
import { runInStore } from './run.js';

export interface StoreScanOptions {
  db: string;
  captures: string[];
  scan: ScanOptions;
  onNote?(text: string): void;
}

export interface CaptureSeen {
  file: string;
  hash: string;
  size: number;
  /** Read in this run; false: the store had it already (run `knownRun`), or it repeats another input of this run. */
  read: boolean;
  knownRun?: number;
  duplicateOf?: string;
}

export interface StoreScanResult {
  runId: number;
  /** Report of the captures read in this run only. */
  report: ScanReport;
  newFindings: Finding[];
  files: CaptureSeen[];
  attempts: number;
}

/** sha256 of a file's bytes, streamed. */
export async function fileSha256(path: string): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

export async function scanIntoStore(o: StoreScanOptions): Promise<StoreScanResult> {
  for (const f of o.captures) {
    if (f === '-') throw new Error('scan --db needs capture files: stdin has no content hash to remember');
    const st = await stat(f);
    if (!st.isFile()) throw new Error(`${f}: not a capture file`);
  }
  // Hashes first (outside any transaction: reading a large capture must not hold the write lock).
  const hashed: Array<{ file: string; hash: string; size: number }> = [];
  for (const file of o.captures) hashed.push({ file, ...(await fileSha256(file)) });

  let history: StoreCallHistory | undefined;
  const run = await runInStore<CaptureSeen[]>({
    db: o.db,
    kind: 'scan',
    inputs: o.captures,
    onNote: o.onNote,
    read: async (store) => {
      const known = store.db.prepare('SELECT run_id FROM captures WHERE hash = ?');
      const files: CaptureSeen[] = [];
      const firstOf = new Map<string, string>();
      for (const h of hashed) {
        const k = known.get(h.hash) as { run_id: number } | undefined;
        const dup = firstOf.get(h.hash);
        if (k) files.push({ file: h.file, hash: h.hash, size: h.size, read: false, knownRun: k.run_id });
        else if (dup) files.push({ file: h.file, hash: h.hash, size: h.size, read: false, duplicateOf: dup });
        else { firstOf.set(h.hash, h.file); files.push({ file: h.file, hash: h.hash, size: h.size, read: true }); }
      }
      const toRead = files.filter((f) => f.read).map((f) => f.file);
      // The inventory is the baseline of the new-server alert (a configured baseline file wins: pipeline/scan.ts), and
      // of the unusual-call alert (calls per window learned by earlier runs, saved with this one).
      history = new StoreCallHistory(store.db);
      const report = await analyze({ captures: toRead }, {
        ...o.scan, known: o.scan.known ?? new StoreKnownServers(store.db), history: o.scan.history ?? history,
      });
      return { report, state: files };
    },
    remember: (store, runId, report, files) => {
      const remember = store.db.prepare('INSERT INTO captures (hash, size, path, frames, run_id) VALUES (?, ?, ?, ?, ?)');
      for (const f of files) {
        if (!f.read) continue;
        const input = report.inputs.find((i) => i.file === f.file);
        remember.run(f.hash, f.size, resolve(f.file), input?.records ?? 0, runId);
      }
      history!.save(runId);
    },
  });
  return { runId: run.runId, report: run.report, newFindings: run.newFindings, files: run.state, attempts: run.attempts };
}
