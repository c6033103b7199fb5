// `import --db` commits after each log file (store/run.ts): a run killed after file k of n is resumed by the
// next one, which reads only files k+1..n, merges what the killed run had found and still reports it as new;
// a run that is not interrupted reports exactly what the same import without a store reports; two runs at
// once stay correct when the loser had committed files already. CLI tests run the build (npm run build first).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { importIntoStore } from '../../src/store/import.js';
import { assertBuilt, cli, integrity, start } from './bin.js';
import { gatewayLines, inventoryView, tmp, totalHits } from './support.js';

beforeAll(assertBuilt);

interface Run { id: number; state: string; commits: number; files: number; resumed_by: number | null; attempts: number; new_findings: number }

function runs(db: string): Run[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT id, state, commits, files, resumed_by, attempts, new_findings FROM runs ORDER BY id').all() as Run[];
  } finally {
    d.close();
  }
}

function pendingFindings(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM run_findings').get() as { n: number }).n;
  } finally {
    d.close();
  }
}

const count = (text: string, what: string) => text.split(what).length - 1;

/** Four logs: svc0..2 in 1 and 3, early0..1 only in 2, late0..1 only in 4 (each line a finding's hit). */
function fourLogs(dir: string): { logs: string; files: string[] } {
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const content = [gatewayLines(0, 300, 3), gatewayLines(0, 300, 2, 'early'), gatewayLines(300, 600, 3), gatewayLines(300, 600, 2, 'late')];
  const files = content.map((c, i) => {
    const f = join(logs, `gw${i + 1}.log`);
    writeFileSync(f, c);
    return f;
  });
  return { logs, files };
}

/** A store that knows svc0 from an earlier run. */
function knownStore(dir: string, name = 'inv.db'): string {
  const db = join(dir, name);
  const known = join(dir, `known-${name}.log`);
  writeFileSync(known, gatewayLines(0, 5, 1));
  expect(cli(['import', known, '--db', db, '-q']).code).toBe(1);
  return db;
}

/** The inventory of the same logs imported in one clean run into a store that knew svc0. */
function oracle(logs: string) {
  const dir = tmp();
  const db = knownStore(dir);
  expect(cli(['import', logs, '--db', db, '-q']).code).toBe(1);
  const v = inventoryView(db);
  expect(totalHits(v)).toBe(2 * (5 + 1200)); // each line matches two signatures (mcp.name.registry, mcp.name.mcp_label)
  return v;
}

const names = (findings: Array<{ subject: { names: string[] } }>) => findings.map((f) => f.subject.names[0]).sort();

describe('import --db commits per log file', () => {
  it('killed after file 2 of 4: the next run reads only files 3 and 4, reports the killed run\'s new servers, and the inventory equals one clean run', async () => {
    const dir = tmp();
    const db = knownStore(dir);
    const { logs, files } = fourLogs(dir);
    const before = inventoryView(db);
    // Each file stalls after it is read, before its commit: killed in the stall of file 3, files 1 and 2 are committed.
    const killed = await start(['import', logs, '--db', db], { SHADOWTAP_TEST_STALL_AFTER_READ_MS: '200' },
      (e) => count(e, 'stalling after reading') === 3);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toContain(`stalling after reading ${files[2]}`);
    expect(integrity(db)).toBe('ok');
    expect(runs(db).map((r) => [r.id, r.state, r.commits, r.files])).toEqual([[1, 'complete', 2, 1], [2, 'running', 2, 2]]);
    // Committed with the cursors, not merged yet: svc0..2 and early0..1.
    expect(pendingFindings(db)).toBe(5);
    expect(inventoryView(db)).toEqual(before);

    const again = cli(['import', logs, '--db', db, '--new-only', '--format-out', 'json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/run 2 was interrupted after 2 file\(s\); run 3 resumes it/);
    const report = JSON.parse(again.stdout);
    expect(report.inputs.map((i: { file: string; records: number }) => [i.file, i.records])).toEqual(
      [[files[0], 0], [files[1], 0], [files[2], 300], [files[3], 300]],
    );
    // New relative to the inventory before the killed run: early0..1 were only in the killed run's part.
    expect(names(report.findings)).toEqual(['early0.mcp.run', 'early1.mcp.run', 'late0.mcp.run', 'late1.mcp.run', 'svc1.mcp.run', 'svc2.mcp.run']);
    expect(runs(db).map((r) => [r.id, r.state, r.commits, r.resumed_by, r.new_findings])).toEqual(
      [[1, 'complete', 2, null, 1], [2, 'interrupted', 2, 3, 4], [3, 'complete', 5, null, 2]],
    );
    expect(pendingFindings(db)).toBe(0);
    expect(inventoryView(db)).toEqual(oracle(logs));
    // runs are listed with their state
    const listed = JSON.parse(cli(['inventory', 'runs', '--db', db, '-f', 'json']).stdout);
    expect(listed.map((r: { state: string; resumed_by: number | null }) => [r.state, r.resumed_by])).toEqual([['complete', null], ['interrupted', 3], ['complete', null]]);

    const third = cli(['import', logs, '--db', db, '--new-only', '--format-out', 'json']);
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).findings).toEqual([]);
  }, 120_000);

  it('killed twice in a row: the third run merges both interrupted runs once', async () => {
    const dir = tmp();
    const db = knownStore(dir);
    const { logs } = fourLogs(dir);
    const env = { SHADOWTAP_TEST_STALL_AFTER_READ_MS: '200' };
    // Run 2 commits file 1; run 3 resumes it, commits files 1 (nothing new) and 2, and is killed too.
    expect((await start(['import', logs, '--db', db], env, (e) => count(e, 'stalling after reading') === 2)).signal).toBe('SIGKILL');
    const second = await start(['import', logs, '--db', db], env, (e) => count(e, 'stalling after reading') === 3);
    expect(second.signal).toBe('SIGKILL');
    expect(second.stderr).toMatch(/run 2 was interrupted after 1 file\(s\); run 3 resumes it/);
    expect(runs(db).map((r) => [r.id, r.state, r.resumed_by])).toEqual([[1, 'complete', null], [2, 'interrupted', 3], [3, 'running', null]]);

    const third = cli(['import', logs, '--db', db, '--new-only', '--format-out', 'json']);
    expect(third.code).toBe(1);
    expect(names(JSON.parse(third.stdout).findings)).toEqual(['early0.mcp.run', 'early1.mcp.run', 'late0.mcp.run', 'late1.mcp.run', 'svc1.mcp.run', 'svc2.mcp.run']);
    expect(runs(db).map((r) => [r.id, r.state, r.resumed_by])).toEqual(
      [[1, 'complete', null], [2, 'interrupted', 4], [3, 'interrupted', 4], [4, 'complete', null]],
    );
    expect(pendingFindings(db)).toBe(0);
    expect(inventoryView(db)).toEqual(oracle(logs));
  }, 120_000);

  it('a run that is not interrupted reports byte for byte what the same import without a store reports', () => {
    const inputs = ['fixtures/logs/suricata/eve.json', 'fixtures/logs/cloudflare', 'fixtures/logs/dnsmasq/dnsmasq.log', 'fixtures/logs/zeek', 'fixtures/logs/iptables/kern-rfc3164.log'];
    for (const format of ['json', 'table']) {
      const dir = tmp();
      const plain = cli(['import', ...inputs, '--format-out', format]);
      const stored = cli(['import', ...inputs, '--format-out', format, '--db', join(dir, 'inv.db')]);
      expect(plain.code).toBe(1);
      expect(stored.code).toBe(1);
      expect(stored.stdout).toBe(plain.stdout);
      const [run] = runs(join(dir, 'inv.db'));
      // one commit per file, and the last one
      expect([run.state, run.commits]).toEqual(['complete', run.files + 1]);
      expect(run.files).toBeGreaterThan(5);
    }
  }, 120_000);

  it('two runs at once, the loser having committed a file already: it goes on under the lock and nothing is counted twice', async () => {
    const dir = tmp();
    const db = knownStore(dir);
    const { logs, files } = fourLogs(dir);
    // B reads gw1 and gw2, stalling 4 s before each commit. Once B has committed gw1 and stalls on gw2, A imports
    // gw3 and commits: B's commit of gw2 finds the store changed, leaves gw1 committed for its second attempt to resume.
    let a: ReturnType<typeof start> | undefined;
    const b = await start(['import', files[0], files[1], '--db', db, '--format-out', 'json'], { SHADOWTAP_TEST_STALL_AFTER_READ_MS: '4000' }, (e) => {
      if (!a && count(e, 'stalling after reading') === 2) a = start(['import', files[2], '--db', db, '-q']);
      return false;
    });
    expect((await a!).code).toBe(1);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/run 2 stopped after 1 file\(s\)/);
    expect(b.stderr).toMatch(/another run committed meanwhile; importing again under the write lock/);
    expect(b.stderr).toMatch(/run 2 was interrupted after 1 file\(s\); run 4 resumes it/);
    expect(runs(db).map((r) => [r.id, r.state, r.resumed_by, r.attempts, r.files])).toEqual(
      [[1, 'complete', null, 1, 1], [2, 'interrupted', 4, 1, 1], [3, 'complete', null, 1, 1], [4, 'complete', null, 2, 2]],
    );
    // B's report holds what it committed before the race (gw1: svc0..2) and after (gw2: early0..1).
    expect(names(JSON.parse(b.stdout).findings)).toEqual(['early0.mcp.run', 'early1.mcp.run', 'svc0.mcp.run', 'svc1.mcp.run', 'svc2.mcp.run']);
    expect(integrity(db)).toBe('ok');
    cli(['import', files[3], '--db', db, '-q']);
    expect(inventoryView(db)).toEqual(oracle(logs));
  }, 120_000);
});

describe('import --db commits per log file (in process)', () => {
  it('within one run, a server in files 1 and 3 is new once, relative to the inventory before the run', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    writeFileSync(join(dir, 'a.log'), gatewayLines(0, 10, 1));
    await importIntoStore({ db, logs: [join(dir, 'a.log')], scan: { audit: false } }); // svc0
    const files = [gatewayLines(10, 20, 2), gatewayLines(0, 10, 1, 'other'), gatewayLines(20, 30, 2)].map((c, i) => {
      const f = join(dir, `b${i}.log`);
      writeFileSync(f, c);
      return f;
    });
    const r = await importIntoStore({ db, logs: files, scan: { audit: false } });
    expect(names(r.newFindings)).toEqual(['other0.mcp.run', 'svc1.mcp.run']);
    expect(runs(db).map((x) => [x.state, x.commits, x.new_findings])).toEqual([['complete', 2, 1], ['complete', 4, 2]]);
    // one cursor per file, each written once although every file commit of the run came after it
    const d = new Database(db, { readonly: true });
    expect(d.prepare('SELECT count(*) AS n FROM streams').get()).toEqual({ n: 4 });
    d.close();
  });

  it('a run stopped by an error after two files: they stay committed and the next run merges them', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const { files } = fourLogs(dir);
    const bad = join(dir, 'bad.log');
    writeFileSync(bad, 'not a log line\n'.repeat(30));
    await expect(importIntoStore({ db, logs: [files[0], files[1], bad], scan: { audit: false } })).rejects.toThrow(/not a recognised log format/);
    expect(runs(db).map((r) => [r.id, r.state, r.commits, r.resumed_by])).toEqual([[1, 'interrupted', 2, null]]);
    const r = await importIntoStore({ db, logs: files, scan: { audit: false } });
    expect(r.resumed).toEqual([1]);
    expect(r.files.map((f) => f.end - f.start)).toEqual([0, 0, statSync(files[2]).size, statSync(files[3]).size]);
    expect(runs(db).map((x) => [x.id, x.state, x.resumed_by])).toEqual([[1, 'interrupted', 2], [2, 'complete', null]]);
    const whole = join(tmp(), 'o.db');
    await importIntoStore({ db: whole, logs: files, scan: { audit: false } });
    expect(inventoryView(db)).toEqual(inventoryView(whole));
  });
});
