// The learned baseline of tool_call_unusual kept in the inventory across `scan --db` runs: on two captures made by the
// real MCP SDK (fixtures/audit/PROVENANCE.md) with the same client and server, the first teaching a steady pace and the
// second departing from it, run one learns and run two alerts; without run one nothing is raised. The CLI is run
// in-process (main), so it needs no build.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { listAlerts, StoreCallHistory } from '../../src/store/audit.js';
import { Store } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { cliInProcess, tmp } from './support.js';

const FIX = join(import.meta.dirname, '../../fixtures/audit');
const STEADY = join(FIX, 'audit-steady.pcapng');
const UNUSUAL = join(FIX, 'audit-unusual.pcapng');
const KEY = { client: '10.98.7.20', server: '10.98.7.10:3000', tool: 'search', windowSeconds: 60 };

type Alert = { kind: string; client: string; servers: string[]; subject: string; value: number; threshold: number };
const alertsOf = (json: string) => (JSON.parse(json) as { audit: { alerts: Alert[] } }).audit.alerts;

async function scan(db: string, capture: string): Promise<Alert[]> {
  const r = await cliInProcess(['scan', capture, '--db', db, '-f', 'json', '--quiet', '--fail-on', 'none']);
  expect(r.code, r.stderr).toBe(0);
  return alertsOf(r.stdout);
}

function storedWindows(db: string): Array<[number, number]> {
  const d = new Database(db, { readonly: true });
  try {
    const row = d.prepare('SELECT windows FROM tool_call_windows WHERE client = ? AND server = ? AND tool = ? AND window_seconds = ?')
      .get(KEY.client, KEY.server, KEY.tool, KEY.windowSeconds) as { windows: string } | undefined;
    return row ? (JSON.parse(row.windows) as Array<[number, number]>) : [];
  } finally {
    d.close();
  }
}

describe('tool_call_unusual with --db: the baseline survives the run', () => {
  it('run one learns the steady pace, run two alerts on the burst, and the inventory lists the alert', async () => {
    const db = join(tmp(), 'inv.db');
    expect((await scan(db, STEADY)).filter((a) => a.kind.startsWith('tool_call'))).toEqual([]);
    const learned = storedWindows(db);
    // One search every 20 s for 7 minutes: 8 minute windows of 1-3 calls (the first also holds the clean calls' search).
    expect(learned).toHaveLength(8);
    expect(learned.every(([start, n]) => start % 60 === 0 && n >= 1 && n <= 4)).toBe(true);

    const second = await scan(db, UNUSUAL);
    expect(second.filter((a) => a.kind.startsWith('tool_call'))).toEqual([
      expect.objectContaining({ kind: 'tool_call_unusual', client: KEY.client, servers: [KEY.server], subject: 'search', value: 20, threshold: 15 }),
    ]); // 23 calls within 60 s: the fixed tool_call_burst (30) stays silent
    expect(storedWindows(db).length).toBe(learned.length + 2);

    const store = Store.open(db, { mustExist: true });
    try {
      expect(listAlerts(store.db).filter((a) => a.kind === 'tool_call_unusual').map((a) => [a.client, a.subject, a.value, a.threshold, a.runs]))
        .toEqual([[KEY.client, 'search', 20, 15, 1]]);
    } finally {
      store.close();
    }
    const listed = await cliInProcess(['inventory', 'list', 'alerts', '--db', db]);
    expect(listed.stdout).toMatch(/medium\s+tool_call_unusual\s+10\.98\.7\.20/);
  }, 60_000);

  it('without the first run (a fresh inventory) the same capture raises nothing', async () => {
    const db = join(tmp(), 'inv.db');
    expect((await scan(db, UNUSUAL)).filter((a) => a.kind.startsWith('tool_call'))).toEqual([]);
    expect(storedWindows(db)).toHaveLength(2);
  }, 60_000);

  it('a version-2 store gains the table; the rows least recently active beyond the cap are dropped', () => {
    const db = join(tmp(), 'inv.db');
    const raw = new Database(db);
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) raw.exec(m.sql);
    raw.pragma('user_version = 2');
    raw.close();
    const store = Store.open(db);
    try {
      store.db.prepare("INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines, observations, findings, new_findings, new_shadow, attempts) VALUES (0, 0, 't', 'h', 1, '[]', 0, 0, 0, 0, 0, 0, 0, 1)").run();
      const h = new StoreCallHistory(store.db);
      for (let i = 0; i < 5; i++) h.learn({ ...KEY, tool: `t${i}` }, [[i * 60, 1], [(i + 10) * 60, 2]]);
      h.save(1, 3);
      const tools = store.db.prepare('SELECT tool FROM tool_call_windows ORDER BY tool').pluck().all();
      expect(tools).toEqual(['t2', 't3', 't4']);
      expect(new StoreCallHistory(store.db).windows({ ...KEY, tool: 't4' })).toEqual([[240, 1], [840, 2]]);
      expect(new StoreCallHistory(store.db).windows({ ...KEY, tool: 't0' })).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
