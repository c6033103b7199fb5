// `shadowtap audit --db`: the inventory as the read-only baseline of the listing's behaviour alerts, as with scan --db:
// the calls per window learned by earlier scan --db runs (tool_call_unusual) and the servers the inventory knows
// (new_server). On the SDK-made captures of fixtures/audit (PROVENANCE.md): audit-steady teaches 10.98.7.20 its pace,
// audit-unusual departs from it; audit-clean talks to 10.98.1.10:3000, audit-secrets to 10.98.2.10:3000.
// The store is only read: same bytes, no run. The CLI runs in-process (main), except where the built bundle is the point.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { scanIntoStore } from '../../src/store/scan.js';
import { assertBuilt, cli } from './bin.js';
import { cliInProcess, runCount, tmp } from './support.js';

const FIX = join(import.meta.dirname, '../../fixtures/audit');
const STEADY = join(FIX, 'audit-steady.pcapng');
const UNUSUAL = join(FIX, 'audit-unusual.pcapng');
const CLEAN = join(FIX, 'audit-clean.pcapng');
const SECRETS = join(FIX, 'audit-secrets.pcapng');
const CLEAN_SERVER = '10.98.1.10:3000';
const SECRETS_SERVER = '10.98.2.10:3000';
const DAY = 86_400;

type AlertRow = { type: string; kind: string; client: string; servers: string[]; subject: string | null; value: number; threshold: number; detail: string };

/** `audit -f ndjson`: the exit code and the alert rows at the end of the listing. */
async function audit(args: string[]): Promise<{ code: number; stderr: string; alerts: AlertRow[] }> {
  const r = await cliInProcess(['audit', ...args, '-f', 'ndjson', '--quiet']);
  const rows = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AlertRow);
  return { code: r.code, stderr: r.stderr, alerts: rows.filter((x) => x.type === 'shadowtap.alert') };
}
const ofKind = (alerts: AlertRow[], kind: string) => alerts.filter((a) => a.kind === kind);

async function scanDb(db: string, capture: string): Promise<void> {
  const r = await cliInProcess(['scan', capture, '--db', db, '-q', '--fail-on', 'none']);
  expect(r.code, r.stderr).toBe(0);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The store as audit must leave it: the file's bytes, nothing pending in a WAL, and its runs. */
function snapshot(db: string) {
  const wal = `${db}-wal`;
  return { hash: sha256(db), walBytes: existsSync(wal) ? statSync(wal).size : 0, runs: runCount(db) };
}

/** This process's open file descriptors on `file` (Linux /proc). */
const openFds = (file: string) => readdirSync('/proc/self/fd').filter((fd) => {
  try { return readlinkSync(`/proc/self/fd/${fd}`) === file; } catch { return false; }
});

describe('audit --db: tool_call_unusual against the baseline learned by scan --db', () => {
  it('after scan --db of the steady capture, audit --db raises on the unusual one; audit alone does not', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    await scanDb(db, STEADY);
    const before = snapshot(db);

    const withDb = await audit([UNUSUAL, '--db', db]);
    expect(withDb.code).toBe(1);
    expect(ofKind(withDb.alerts, 'tool_call_unusual')).toEqual([
      expect.objectContaining({ client: '10.98.7.20', servers: ['10.98.7.10:3000'], subject: 'search', value: 20, threshold: 15 }),
    ]);
    expect(ofKind(withDb.alerts, 'tool_call_burst')).toEqual([]);
    const alone = await audit([UNUSUAL]);
    expect(alone.alerts.filter((a) => a.kind.startsWith('tool_call'))).toEqual([]);

    // Nothing learned was saved: the same audit again raises the same, and the store is as scan left it.
    const again = await audit([UNUSUAL, '--db', db]);
    expect(again.alerts).toEqual(withDb.alerts);
    expect(snapshot(db)).toEqual(before);
    // The config file's "db" is the same store.
    const config = join(dir, 'shadowtap.config.json');
    writeFileSync(config, JSON.stringify({ db }));
    expect((await audit([UNUSUAL, '--config', config])).alerts).toEqual(withDb.alerts);
    expect(openFds(db)).toEqual([]); // closed at the end

    // A store that never saw the steady pace has no baseline for it either.
    const other = join(dir, 'other.db');
    await scanDb(other, CLEAN);
    expect((await audit([UNUSUAL, '--db', other])).alerts.filter((a) => a.kind.startsWith('tool_call'))).toEqual([]);
  }, 60_000);
});

describe('audit --db: the inventory as the new-server baseline', () => {
  it('a server the inventory knows from before today is not new; one it never saw is; audit alone has no baseline', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const first = await scanIntoStore({ db, captures: [CLEAN], scan: {} });
    const sessionTs = first.report.audit!.alerts.find((a) => a.kind === 'new_server')!.firstTs;

    // Right after the scan the store's first_seen is the session's own day: "first seen today".
    const today = ofKind((await audit([CLEAN, SECRETS, '--db', db])).alerts, 'new_server');
    expect(today.map((a) => [a.servers, a.detail.replace(/ \(.*/, '')])).toEqual([
      [[CLEAN_SERVER], `${CLEAN_SERVER} was first seen today; session from 10.98.1.20`],
      [[SECRETS_SERVER], `first session ever seen to ${SECRETS_SERVER}`],
    ]);

    const raw = new Database(db);
    raw.prepare('UPDATE servers SET first_seen = ? WHERE ip = ? AND port = ?').run(Math.floor(sessionTs / DAY) * DAY - 3 * DAY, '10.98.1.10', 3000);
    raw.close();
    const before = snapshot(db);
    const known = await audit([CLEAN, SECRETS, '--db', db]);
    expect(ofKind(known.alerts, 'new_server').map((a) => a.servers)).toEqual([[SECRETS_SERVER]]);
    // Without --db (and no baseline file) nothing is compared against: no new_server alert at all.
    expect(ofKind((await audit([CLEAN, SECRETS])).alerts, 'new_server')).toEqual([]);

    // A configured baseline file wins over the store (as with scan --db): an empty one makes both servers new.
    const config = join(dir, 'baseline.config.json');
    writeFileSync(config, JSON.stringify({ alerts: { newServer: { baseline: join(dir, 'known.json') } } }));
    const byFile = await audit([CLEAN, SECRETS, '--db', db, '--config', config]);
    expect(ofKind(byFile.alerts, 'new_server').map((a) => a.servers)).toEqual([[CLEAN_SERVER], [SECRETS_SERVER]]);
    expect(existsSync(join(dir, 'known.json'))).toBe(false);
    expect(snapshot(db)).toEqual(before);
  }, 60_000);
});

describe('audit --db only reads the store', () => {
  it('the built CLI leaves the store byte-identical and adds no run', () => {
    assertBuilt();
    const db = join(tmp(), 'inv.db');
    expect(cli(['scan', STEADY, '--db', db, '-q']).code).toBe(1);
    const before = snapshot(db);
    const runs = JSON.parse(cli(['inventory', 'runs', '--db', db, '-f', 'json']).stdout) as unknown[];
    expect(runs).toHaveLength(1);

    const r = cli(['audit', UNUSUAL, '--db', db, '-f', 'ndjson']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('"kind":"tool_call_unusual"');
    expect(snapshot(db)).toEqual(before);
    expect(JSON.parse(cli(['inventory', 'runs', '--db', db, '-f', 'json']).stdout)).toEqual(runs);
  }, 60_000);

  it('a missing store: exit 2, one line, nothing created', async () => {
    const dir = tmp();
    const db = join(dir, 'sub', 'inv.db');
    const out = join(dir, 'audit.ndjson');
    const r = await cliInProcess(['audit', CLEAN, '--db', db, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`shadowtap: no inventory store at ${db} (run shadowtap import --db ${db} first)\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a store of an older schema is not migrated: exit 2, how to upgrade, the file unchanged', async () => {
    const db = join(tmp(), 'inv.db');
    const raw = new Database(db);
    for (const m of MIGRATIONS.filter((x) => x.version < SCHEMA_VERSION)) raw.exec(m.sql);
    raw.pragma(`user_version = ${SCHEMA_VERSION - 1}`);
    raw.close();
    const hash = sha256(db);
    const r = await cliInProcess(['audit', CLEAN, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`shadowtap: inventory store ${db}: schema version ${SCHEMA_VERSION - 1} is older than this shadowtap reads ` +
      `(${SCHEMA_VERSION}); run shadowtap inventory runs --db ${db} once to upgrade it\n`);
    expect(sha256(db)).toBe(hash);
    expect(openFds(db)).toEqual([]);
    // The command it names upgrades the store; then audit reads it.
    expect((await cliInProcess(['inventory', 'runs', '--db', db])).code).toBe(0);
    expect((await cliInProcess(['audit', CLEAN, '--db', db, '-q'])).code).toBe(1); // new_server: the store is empty
  });

  it('Store.open readonly: a read-only handle that refuses writes', async () => {
    const db = join(tmp(), 'inv.db');
    await scanDb(db, CLEAN);
    const store = Store.open(db, { readonly: true });
    try {
      expect(store.db.readonly).toBe(true);
      expect(() => store.db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'generation'").run()).toThrow(/readonly/);
    } finally {
      store.close();
    }
  }, 60_000);

  it('the store is closed when the audit fails', async () => {
    const db = join(tmp(), 'inv.db');
    await scanDb(db, CLEAN);
    const r = await cliInProcess(['audit', join(FIX, 'no-such.pcapng'), '--db', db]);
    expect(r.code).toBe(2);
    expect(openFds(db)).toEqual([]);
  }, 60_000);
});
