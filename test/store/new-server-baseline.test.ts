// The inventory store as the baseline of the "session to a server first seen today" alert: the real
// pipeline over the audit fixtures merged by scanIntoStore. audit-clean talks to 10.98.1.10:3000,
// audit-secrets to 10.98.2.10:3000 (fixtures/audit/PROVENANCE.md); a gzip copy of a capture has a new content
// hash, so scan --db reads it again: the same server in a "different" capture.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { AlertsConfig, BehaviourAlert } from '../../src/audit/types.js';
import { listAlerts } from '../../src/store/audit.js';
import { Store } from '../../src/store/db.js';
import { importIntoStore } from '../../src/store/import.js';
import { listServers } from '../../src/store/inventory.js';
import { splitHostPort, StoreKnownServers } from '../../src/store/known-servers.js';
import { scanIntoStore } from '../../src/store/scan.js';
import { gatewayLines, tmp } from './support.js';

const FIX = join(import.meta.dirname, '../../fixtures/audit');
const CLEAN = join(FIX, 'audit-clean.pcapng');
const SECRETS = join(FIX, 'audit-secrets.pcapng');
const CLEAN_SERVER = '10.98.1.10:3000';
const SECRETS_SERVER = '10.98.2.10:3000';
const DAY = 86_400;

const scan = (db: string, captures: string[], alerts?: AlertsConfig) => scanIntoStore({ db, captures, scan: { alerts } });
const newServerAlerts = (alerts: BehaviourAlert[] | undefined) => (alerts ?? []).filter((a) => a.kind === 'new_server');

/** A copy of a capture with other bytes (gzip level `level`), so the store reads it as a new capture. */
function copyOf(src: string, dir: string, level: number): string {
  const out = join(dir, `copy-${level}-${src.split('/').pop()}.gz`);
  writeFileSync(out, gzipSync(readFileSync(src), { level }));
  return out;
}

function setFirstSeen(dbPath: string, endpoint: string, firstSeen: number): void {
  const ep = splitHostPort(endpoint)!;
  const db = new Database(dbPath);
  try {
    const n = db.prepare('UPDATE servers SET first_seen = ? WHERE ip = ? AND port = ?').run(firstSeen, ep.ip, ep.port).changes;
    expect(n).toBe(1);
  } finally {
    db.close();
  }
}

function serverFirstSeen(dbPath: string, endpoint: string): number | undefined {
  const store = Store.open(dbPath, { mustExist: true });
  try {
    return listServers(store.db).find((s) => `${s.ip}:${s.port}` === endpoint)?.firstSeen;
  } finally {
    store.close();
  }
}

const dayStart = (ts: number) => Math.floor(ts / DAY) * DAY;

describe('splitHostPort: the keys audit/trail.ts hostPort makes', () => {
  it('splits v4 and bracketed v6 endpoints, refuses anything else', () => {
    expect(splitHostPort('10.98.1.10:3000')).toEqual({ ip: '10.98.1.10', port: 3000 });
    expect(splitHostPort('[fd00::1]:443')).toEqual({ ip: 'fd00::1', port: 443 });
    for (const bad of ['10.98.1.10', '10.98.1.10:', ':80', 'fd00::1:443', '[fd00::1:443', '1.2.3.4:70000', '1.2.3.4:8a', '[]:80']) {
      expect(splitHostPort(bad), bad).toBeUndefined();
    }
  });
});

describe('the inventory store as the new-server baseline (scan --db)', () => {
  it('empty store: the server is new; the same server again the same day: still first seen today', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const first = await scan(db, [CLEAN]);
    const alerts = newServerAlerts(first.report.audit?.alerts);
    expect(alerts.map((a) => a.servers)).toEqual([[CLEAN_SERVER]]);
    expect(alerts[0].detail).toMatch(/^first session ever seen to 10\.98\.1\.10:3000 /);
    // attached to the finding of that endpoint, and merged into the store
    const finding = first.report.findings.find((f) => `${f.subject.ip}:${f.subject.port}` === CLEAN_SERVER)!;
    expect(newServerAlerts(finding.alerts).length).toBe(1);
    const store = Store.open(db, { mustExist: true });
    try {
      const stored = listAlerts(store.db).filter((a) => a.kind === 'new_server');
      expect(stored.map((a) => [a.serverId, a.servers])).toEqual([[finding.id, [CLEAN_SERVER]]]);
      // what the store now says about the endpoint: the finding's first traffic time
      const known = new StoreKnownServers(store.db);
      expect(known.firstSeen(CLEAN_SERVER)).toBe(finding.firstSeen);
      expect(known.firstSeen(SECRETS_SERVER)).toBeUndefined();
      expect(known.firstSeen('10.98.1.10:3001')).toBeUndefined();
      // see() records nothing: the run's merge owns first_seen
      known.see(SECRETS_SERVER, 1);
      known.see(CLEAN_SERVER, 1);
      expect(known.firstSeen(SECRETS_SERVER)).toBeUndefined();
      expect(known.firstSeen(CLEAN_SERVER)).toBe(finding.firstSeen);
    } finally {
      store.close();
    }

    // The same traffic again (a copy: new hash, read again): the store's first_seen is inside today's window.
    const again = await scan(db, [copyOf(CLEAN, dir, 1)]);
    expect(again.files.map((f) => f.read)).toEqual([true]);
    const today = newServerAlerts(again.report.audit?.alerts);
    expect(today.map((a) => a.servers)).toEqual([[CLEAN_SERVER]]);
    expect(today[0].detail).toMatch(/^10\.98\.1\.10:3000 was first seen today/);
  }, 60_000);

  it('first_seen older than the day of the session: known, no alert; a server never seen before still alerts', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const first = await scan(db, [CLEAN]);
    const sessionTs = newServerAlerts(first.report.audit?.alerts)[0].firstTs;

    // One second before the day of the session: known from before today.
    setFirstSeen(db, CLEAN_SERVER, dayStart(sessionTs) - 1);
    const known = await scan(db, [copyOf(CLEAN, dir, 1)]);
    expect(known.files.map((f) => f.read)).toEqual([true]);
    expect(known.report.findings.some((f) => `${f.subject.ip}:${f.subject.port}` === CLEAN_SERVER)).toBe(true);
    expect(newServerAlerts(known.report.audit?.alerts)).toEqual([]);
    // the merge kept the older first_seen
    expect(serverFirstSeen(db, CLEAN_SERVER)).toBe(dayStart(sessionTs) - 1);

    // At the very start of that day: first seen today, alert.
    setFirstSeen(db, CLEAN_SERVER, dayStart(sessionTs));
    const boundary = await scan(db, [copyOf(CLEAN, dir, 5)]);
    expect(boundary.files.map((f) => f.read)).toEqual([true]);
    expect(newServerAlerts(boundary.report.audit?.alerts).map((a) => a.servers)).toEqual([[CLEAN_SERVER]]);

    // Old again; one run over the known server and a server the store never saw: only the new one alerts.
    setFirstSeen(db, CLEAN_SERVER, dayStart(sessionTs) - 3 * DAY);
    const mixed = await scan(db, [copyOf(CLEAN, dir, 9), SECRETS]);
    expect(mixed.files.map((f) => f.read)).toEqual([true, true]);
    const alerts = newServerAlerts(mixed.report.audit?.alerts);
    expect(alerts.map((a) => a.servers)).toEqual([[SECRETS_SERVER]]);
    expect(alerts[0].detail).toMatch(/^first session ever seen to 10\.98\.2\.10:3000 /);
    const secretsFinding = mixed.report.findings.find((f) => `${f.subject.ip}:${f.subject.port}` === SECRETS_SERVER)!;
    expect(newServerAlerts(secretsFinding.alerts).length).toBe(1);
  }, 60_000);

  it('a configured baseline file still wins over the store', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const first = await scan(db, [CLEAN]);
    const sessionTs = newServerAlerts(first.report.audit?.alerts)[0].firstTs;
    setFirstSeen(db, CLEAN_SERVER, dayStart(sessionTs) - 3 * DAY); // the store knows it from before

    // A baseline file that has never seen it: the file decides, the alert is raised; not saved without update.
    const emptyBaseline = join(dir, 'baseline-empty.json');
    const byFile = await scan(db, [copyOf(CLEAN, dir, 1)], { newServer: { baseline: emptyBaseline } });
    expect(newServerAlerts(byFile.report.audit?.alerts).map((a) => a.servers)).toEqual([[CLEAN_SERVER]]);
    expect(existsSync(emptyBaseline)).toBe(false);

    // An empty store with a baseline file that knows the server from before: no alert.
    const db2 = join(dir, 'inv2.db');
    const oldBaseline = join(dir, 'baseline-old.json');
    writeFileSync(oldBaseline, JSON.stringify({ servers: { [CLEAN_SERVER]: dayStart(sessionTs) - DAY } }));
    const fileKnows = await scan(db2, [CLEAN], { newServer: { baseline: oldBaseline } });
    expect(fileKnows.report.findings.length).toBeGreaterThan(0);
    expect(newServerAlerts(fileKnows.report.audit?.alerts)).toEqual([]);
    // ... while the same empty store alone would have raised it
    const storeOnly = await scan(join(dir, 'inv3.db'), [CLEAN]);
    expect(newServerAlerts(storeOnly.report.audit?.alerts).length).toBe(1);
  }, 60_000);

  it('alerts switched off in the config: no alert from the store either', async () => {
    const dir = tmp();
    const off = await scan(join(dir, 'inv.db'), [CLEAN], { enabled: false });
    expect(off.report.findings.length).toBeGreaterThan(0);
    expect(off.report.audit?.alerts).toEqual([]);
  }, 60_000);

  it('an explicit `known` in the scan options is used instead of the store', async () => {
    const dir = tmp();
    const seen: string[] = [];
    const run = await scanIntoStore({
      db: join(dir, 'inv.db'), captures: [CLEAN],
      scan: { known: { firstSeen: () => 0, see: (s) => { seen.push(s); } } },
    });
    expect(newServerAlerts(run.report.audit?.alerts)).toEqual([]);
    expect(seen).toEqual([CLEAN_SERVER]);
  }, 60_000);
});

describe('import --db uses the same baseline', () => {
  it('a log import runs with the store as baseline and raises no spurious alert', async () => {
    // Logs carry no MCP message content, so the audit stage sees no requests: nothing to alert on, and the
    // import must not fail for the store being read during the run.
    const dir = tmp();
    const log = join(dir, 'gateway.log');
    writeFileSync(log, gatewayLines(0, 20));
    const db = join(dir, 'inv.db');
    await scan(db, [CLEAN]);
    const run = await importIntoStore({ db, logs: [log], scan: {} });
    expect(run.report.findings.length).toBeGreaterThan(0);
    expect(newServerAlerts(run.report.audit?.alerts)).toEqual([]);
  }, 60_000);
});
