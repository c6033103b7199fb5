// The built CLI as a scheduler runs it: --new-only exit codes and NDJSON, a run killed with SIGKILL
// (after reading, inside the commit transaction, and at a random moment) then resumed, and two runs
// against one store at once. Needs `npm run build` (npm test does it).
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cli, integrity, start } from './bin.js';
import { gatewayLines, inventoryView, runCount, tmp, totalHits } from './support.js';

beforeAll(assertBuilt);

/** Inventory of `content` imported whole by the CLI into a fresh store. */
function oracle(content: string) {
  const dir = tmp();
  writeFileSync(join(dir, 'whole.log'), content);
  const r = cli(['import', join(dir, 'whole.log'), '--db', join(dir, 'o.db'), '-q', '--format-out', 'ndjson']);
  expect(r.code).toBe(1);
  const v = inventoryView(join(dir, 'o.db'));
  expect(totalHits(v)).toBeGreaterThan(0);
  return v;
}

describe('shadowtap import --db from a scheduler', () => {
  it('--new-only: NDJSON of the findings never seen before, exit 1 only when one is shadow', () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 20));
    const args = ['import', f, '--db', db, '--new-only', '--format-out', 'ndjson', '-q'];
    const r1 = cli(args);
    expect(r1.code).toBe(1);
    const recs = r1.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((x) => x.names[0]).sort()).toEqual(['svc0.mcp.run', 'svc1.mcp.run', 'svc2.mcp.run', 'svc3.mcp.run', 'svc4.mcp.run']);
    for (const x of recs) {
      expect(x.type).toBe('shadowtap.finding');
      expect(x.id).toMatch(/^[0-9a-f]{12}$/);
      expect(x.status).toBe('shadow');
    }
    // nothing new
    const r2 = cli(args);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toBe('');
    // more sightings of known servers only: still nothing new
    appendFileSync(f, gatewayLines(20, 30));
    const r3 = cli(args);
    expect([r3.code, r3.stdout]).toEqual([0, '']);
    // one new server among known ones
    appendFileSync(f, gatewayLines(30, 40, 6));
    const r4 = cli(args);
    expect(r4.code).toBe(1);
    const out4 = r4.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out4.map((x) => x.names[0])).toEqual(['svc5.mcp.run']);
    // ids are stable: the same server has the same id in a fresh store
    const other = cli(['import', f, '--db', join(dir, 'other.db'), '--format-out', 'ndjson', '-q']);
    const ids = other.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.names[0] === 'svc5.mcp.run').map((x) => x.id);
    expect(ids).toEqual([out4[0].id]);
  });

  it('--new-only without a store is a usage error', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'gw.log'), gatewayLines(0, 3));
    const r = cli(['import', join(dir, 'gw.log'), '--new-only']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--db/);
  });

  it('SIGKILL inside the commit transaction leaves the previous state; the next run resumes from the old cursor', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 20));
    expect(cli(['import', f, '--db', db, '-q']).code).toBe(1);
    const before = inventoryView(db);
    appendFileSync(f, gatewayLines(20, 50, 6));
    const killed = await start(['import', f, '--db', db], { SHADOWTAP_TEST_STALL_IN_COMMIT_MS: '30000' }, (e) => e.includes('stalling before COMMIT'));
    expect(killed.signal).toBe('SIGKILL');
    expect(integrity(db)).toBe('ok');
    expect(runCount(db)).toBe(1);
    expect(inventoryView(db)).toEqual(before);
    const again = cli(['import', f, '--db', db, '--format-out', 'json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).inputs[0].records).toBe(30);
    expect(inventoryView(db)).toEqual(oracle(gatewayLines(0, 20) + gatewayLines(20, 50, 6)));
  });

  it('SIGKILL after reading, before committing: nothing written, nothing lost', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 40));
    const killed = await start(['import', f, '--db', db], { SHADOWTAP_TEST_STALL_AFTER_READ_MS: '30000' }, (e) => e.includes('stalling after read'));
    expect(killed.signal).toBe('SIGKILL');
    expect(integrity(db)).toBe('ok');
    expect(runCount(db)).toBe(0);
    expect(cli(['import', f, '--db', db, '-q']).code).toBe(1);
    expect(inventoryView(db)).toEqual(oracle(gatewayLines(0, 40)));
  });

  it('SIGKILL at an arbitrary moment of a large import, repeatedly, then a full run: the same inventory as one clean run', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    const content = gatewayLines(0, 60_000, 11);
    writeFileSync(f, content);
    for (const ms of [150, 300, 450, 600]) {
      const r = await start(['import', f, '--db', db, '-q'], {}, undefined, ms);
      // Killed, or it finished first (a later run of an already imported file has nothing new: exit 0).
      expect(r.signal === 'SIGKILL' || r.code === 0 || r.code === 1).toBe(true);
      if (existsSync(db)) expect(integrity(db)).toBe('ok'); // killed before it was created: nothing to check
    }
    cli(['import', f, '--db', db, '-q']);
    expect(inventoryView(db)).toEqual(oracle(content));
  });

  it('two runs at once against one store: no double counting, the loser redoes its work under the lock', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    const content = gatewayLines(0, 3000, 8);
    writeFileSync(f, content);
    // Both read everything before either commits (stall after read), so their ranges overlap for sure.
    const env = { SHADOWTAP_TEST_STALL_AFTER_READ_MS: '1500' };
    const [a, b] = await Promise.all([start(['import', f, '--db', db], env), start(['import', f, '--db', db], env)]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect(a.stderr + b.stderr).toMatch(/another run committed meanwhile/);
    expect(integrity(db)).toBe('ok');
    expect(runCount(db)).toBe(2);
    const d = new Database(db, { readonly: true });
    const runs = d.prepare('SELECT lines, attempts FROM runs ORDER BY id').all() as Array<{ lines: number; attempts: number }>;
    d.close();
    expect(runs).toEqual([{ lines: 3000, attempts: 1 }, { lines: 0, attempts: 2 }]);
    expect(inventoryView(db)).toEqual(oracle(content));
  });

  it('two runs at once over a growing file, without stalls: the store equals one import of the final file', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 20_000, 9));
    const both = Promise.all([start(['import', f, '--db', db, '-q']), start(['import', f, '--db', db, '-q'])]);
    appendFileSync(f, gatewayLines(20_000, 25_000, 13));
    await both;
    cli(['import', f, '--db', db, '-q']);
    expect(integrity(db)).toBe('ok');
    expect(inventoryView(db)).toEqual(oracle(gatewayLines(0, 20_000, 9) + gatewayLines(20_000, 25_000, 13)));
  });

  it('inventory list / show / export read the store', () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 20));
    cli(['import', f, '--db', db, '-q']);
    appendFileSync(f, gatewayLines(20, 30, 6));
    cli(['import', f, '--db', db, '-q']);
    const list = JSON.parse(cli(['inventory', 'list', '--db', db, '-f', 'json']).stdout);
    expect(list.length).toBe(6);
    const svc5 = list.find((s: { names: string[] }) => s.names[0] === 'svc5.mcp.run');
    expect([svc5.runs, svc5.first_run, svc5.status]).toEqual([1, 2, 'shadow']);
    const svc0 = list.find((s: { names: string[] }) => s.names[0] === 'svc0.mcp.run');
    expect([svc0.runs, svc0.first_run, svc0.last_run]).toEqual([2, 1, 2]);
    const since = cli(['inventory', 'list', '--db', db, '-f', 'json', '--since', '2026-11-20T09:00:25Z']);
    // lines 25..29 ask for svc(i % 6): svc0 was last seen at 09:00:24
    expect(JSON.parse(since.stdout).map((s: { names: string[] }) => s.names[0]).sort()).toEqual(
      ['svc1.mcp.run', 'svc2.mcp.run', 'svc3.mcp.run', 'svc4.mcp.run', 'svc5.mcp.run'],
    );
    const late = JSON.parse(cli(['inventory', 'list', '--db', db, '-f', 'json', '--since', '2026-11-20T09:00:29Z']).stdout);
    expect(late.map((s: { names: string[] }) => s.names[0])).toEqual(['svc5.mcp.run']);
    const show = JSON.parse(cli(['inventory', 'show', 'svc0.mcp.run', '--db', db, '-f', 'json']).stdout);
    expect(show.map((x: { type: string }) => x.type)).toEqual(['shadowtap.inventory.server', 'shadowtap.inventory.domain']);
    expect(show[0].seen_in_runs.map((x: { run: number }) => x.run)).toEqual([1, 2]);
    const csv = cli(['inventory', 'list', '--db', db, '-k', 'clients', '-f', 'csv']).stdout.trim().split('\n');
    expect(csv[0].split(',')[0]).toBe('ip');
    expect(csv.length).toBe(1 + 7);
    const nd = cli(['inventory', 'export', '--db', db, '-f', 'ndjson']).stdout.trim().split('\n').map((l) => JSON.parse(l).type);
    expect(nd.filter((t) => t === 'shadowtap.inventory.server').length).toBe(6);
    expect(nd.filter((t) => t === 'shadowtap.inventory.client').length).toBe(7);
    expect(cli(['inventory', 'list', '--db', join(dir, 'missing.db')]).code).toBe(2);
  });
});
