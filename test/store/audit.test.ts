// Data-loss hits and behaviour alerts in the inventory, in process: the real pipeline over the audit
// fixtures merged by scanIntoStore (captures remembered by content hash), the rows compared with what the
// report's findings carry, idempotence (a re-scan, a copy, the same run merged twice), sums over two runs,
// the masked-only rule checked on the store's bytes, and a version-1 store migrated in place.
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { BehaviourAlert, DlpHit } from '../../src/audit/types.js';
import type { Finding } from '../../src/detect/finding.js';
import { analyze } from '../../src/pipeline/scan.js';
import { listAlerts, listDlp, mergeAudit, storedMask } from '../../src/store/audit.js';
import { Store } from '../../src/store/db.js';
import { listRuns, listServers, mergeFindings, showEntity } from '../../src/store/inventory.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { scanIntoStore } from '../../src/store/scan.js';
import { FAKE } from '../../fixtures/audit/planted.mjs';
import { inventoryView, runCount, tmp } from './support.js';

const FIX = join(import.meta.dirname, '../../fixtures/audit');
const SECRETS = join(FIX, 'audit-secrets.pcapng');
const BURST = join(FIX, 'audit-burst.pcapng');

const scan = (db: string, captures: string[]) => scanIntoStore({ db, captures, scan: {} });

/** The (detector, masked, path, method) keys and summed counts a report's findings carry, per finding id. */
function expectedHits(findings: Finding[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const f of findings) {
    const m = new Map<string, number>();
    for (const h of f.dlp ?? []) {
      const k = `${h.detector}|${h.masked}|${h.where.path}|${h.where.method ?? ''}`;
      m.set(k, (m.get(k) ?? 0) + h.count);
    }
    if (m.size) out.set(f.id, m);
  }
  return out;
}

function storedHits(db: Database.Database): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const h of listDlp(db)) {
    let m = out.get(h.serverId);
    if (!m) out.set(h.serverId, (m = new Map()));
    m.set(`${h.detector}|${h.masked}|${h.path}|${h.method ?? ''}`, h.count);
  }
  return out;
}

function auditTables(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return {
      dlp: db.prepare('SELECT server_id, detector, masked, path, method, count, first_seen, last_seen, runs, first_run, last_run, severity, clients FROM dlp_hits ORDER BY id').all(),
      dlpRuns: db.prepare('SELECT * FROM dlp_hit_runs ORDER BY hit_id, run_id').all(),
      alerts: db.prepare('SELECT server_id, client, kind, subject, count, value, runs, first_run, last_run, severity, servers, detail FROM alerts ORDER BY id').all(),
      alertRuns: db.prepare('SELECT * FROM alert_runs ORDER BY alert_id, run_id').all(),
    };
  } finally {
    db.close();
  }
}

/** Every byte SQLite wrote for the store (main file, WAL, shared memory). */
function storeBytes(dbPath: string): Buffer {
  const dir = join(dbPath, '..');
  return Buffer.concat(readdirSync(dir).filter((f) => f.startsWith('inv.db')).map((f) => readFileSync(join(dir, f))));
}

describe('inventory: data-loss hits and behaviour alerts', () => {
  it('scan --db of the secrets and burst captures stores exactly the hits and alerts the findings carry', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const run = await scan(db, [SECRETS, BURST]);
    const withDlp = run.report.findings.filter((f) => f.dlp?.length);
    // The store is the new-server baseline (known-servers.ts): empty, so each server also carries new_server.
    const isNew = (a: BehaviourAlert) => a.kind === 'new_server';
    expect(run.report.findings.map((f) => (f.alerts ?? []).filter(isNew).length)).toEqual([1, 1]);
    const withAlerts = run.report.findings.filter((f) => f.alerts?.some((a) => !isNew(a)));
    expect(withDlp.length).toBe(1);
    expect(withAlerts.length).toBe(1);
    expect(withDlp[0].id).not.toBe(withAlerts[0].id);

    const store = Store.open(db, { mustExist: true });
    try {
      expect(storedHits(store.db)).toEqual(expectedHits(run.report.findings));
      const detectors = new Set(listDlp(store.db).map((h) => h.detector));
      for (const d of ['secret.aws_access_key_id', 'secret.github_token', 'pci.card_number', 'pii.email_bulk', 'secret.private_key']) expect(detectors).toContain(d);
      const email = listDlp(store.db).find((h) => h.detector === 'pii.email_bulk')!;
      expect([email.count, email.method, email.path, email.part, email.runIds]).toEqual([12, 'tools/call', '$.params.arguments.to', 'request', [run.runId]]);
      expect(email.example).toMatch(/audit-secrets\.pcapng#\d+$/);

      const alerts = listAlerts(store.db);
      const carried = withAlerts[0].alerts!;
      expect(alerts.map((a) => a.kind).sort()).toEqual(run.report.findings.flatMap((f) => f.alerts ?? []).map((a) => a.kind).sort());
      expect(alerts.filter((a) => a.serverId === withAlerts[0].id).map((a) => a.kind).sort()).toEqual(carried.map((a) => a.kind).sort());
      const burst = alerts.find((a) => a.kind === 'tool_call_burst')!;
      const src = carried.find((a) => a.kind === 'tool_call_burst')!;
      expect([burst.serverId, burst.client, burst.subject, burst.value, burst.threshold, burst.windowSeconds, burst.count])
        .toEqual([withAlerts[0].id, src.client, src.subject, src.value, src.threshold, src.windowSeconds, 1]);
      expect([burst.firstSeen, burst.lastSeen]).toEqual([src.firstTs, src.lastTs]);

      // list columns: counts per server
      const servers = listServers(store.db);
      const s1 = servers.find((s) => s.id === withDlp[0].id)!;
      const s2 = servers.find((s) => s.id === withAlerts[0].id)!;
      expect([s1.dlp, s1.alerts]).toEqual([expectedHits(run.report.findings).get(s1.id)!.size, 1]);
      expect([s2.dlp, s2.alerts]).toEqual([0, carried.length]);

      // show: by server endpoint and by client
      const shown = showEntity(store.db, `${withDlp[0].subject.ip}:${withDlp[0].subject.port}`);
      expect(shown[0].dlp.length).toBe(s1.dlp);
      const client = showEntity(store.db, src.client).find((x) => x.kind === 'client')!;
      expect(client.alerts.map((a) => a.kind).sort()).toEqual(carried.map((a) => a.kind).sort());
      expect(listRuns(store.db).map((r) => r.kind)).toEqual(['scan']);
    } finally {
      store.close();
    }
  }, 60_000);

  it('never stores a planted secret whole: the store bytes hold only the masks', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    await scan(db, [SECRETS]);
    const bytes = storeBytes(db);
    // the masks are there (so the search below looks at the right bytes) ...
    for (const m of ['ghp_…(40)', 'AKIA…(20)', 'wJal…(40)', '4111…(19)']) expect(bytes.includes(Buffer.from(m)), m).toBe(true);
    const whole = [FAKE.awsKeyId, FAKE.awsSecret, FAKE.github, FAKE.slack, FAKE.stripe, FAKE.openai, FAKE.google, FAKE.jwt, FAKE.card];
    for (const secret of whole) {
      // any 12 characters of it beyond the 4 the mask shows
      expect(bytes.includes(Buffer.from(secret.slice(4, 16))), secret.slice(0, 4)).toBe(false);
    }
    expect(bytes.includes(Buffer.from(FAKE.privateKey.split('\n')[1].slice(0, 24)))).toBe(false);
    for (const e of FAKE.emails.slice(1)) expect(bytes.includes(Buffer.from(e))).toBe(false);
  }, 60_000);

  it('the same capture scanned again, or a copy under another name, adds nothing', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    await scan(db, [SECRETS]);
    const before = { view: inventoryView(db), audit: auditTables(db) };
    const again = await scan(db, [SECRETS]);
    expect(again.files.map((f) => [f.read, f.knownRun])).toEqual([[false, 1]]);
    expect(again.report.findings).toEqual([]);
    const copy = join(dir, 'renamed.pcapng');
    copyFileSync(SECRETS, copy);
    const third = await scan(db, [copy, copy]);
    expect(third.files.map((f) => f.read)).toEqual([false, false]);
    expect({ view: inventoryView(db), audit: auditTables(db) }).toEqual(before);
    expect(runCount(db)).toBe(3);
  }, 60_000);

  it('two runs that saw the same hits add to the same rows: counts sum, run ids list both runs', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const report = await analyze({ captures: [SECRETS] });
    const store = Store.open(db);
    try {
      const runIds: number[] = [];
      for (let i = 0; i < 2; i++) {
        store.begin();
        const id = Number(store.db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
          observations, findings, new_findings, new_shadow, attempts) VALUES (0, 0, 't', 'h', 1, '[]', 1, 0, 0, 0, 0, 0, 0, 1)`).run().lastInsertRowid);
        mergeFindings(store.db, id, report.findings, report.audit);
        store.commit();
        runIds.push(id);
      }
      const once = expectedHits(report.findings);
      const stored = storedHits(store.db);
      for (const [id, m] of once) for (const [k, n] of m) expect(stored.get(id)!.get(k)).toBe(2 * n);
      for (const h of listDlp(store.db)) expect([h.runs, h.firstRun, h.lastRun, h.runIds]).toEqual([2, runIds[0], runIds[1], runIds]);
    } finally {
      store.close();
    }
  }, 60_000);

  it('the same run merged twice adds nothing to the hit and alert tables', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const report = await analyze({ captures: [SECRETS, BURST] });
    const store = Store.open(db);
    try {
      store.begin();
      const id = Number(store.db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
        observations, findings, new_findings, new_shadow, attempts) VALUES (0, 0, 't', 'h', 1, '[]', 1, 0, 0, 0, 0, 0, 0, 1)`).run().lastInsertRowid);
      mergeFindings(store.db, id, report.findings, report.audit);
      store.commit();
      const once = auditTables(db);
      expect(once.dlp.length).toBeGreaterThan(10);
      expect(once.alerts.length).toBe(3);
      store.begin();
      mergeAudit(store.db, id, report.findings, report.audit);
      store.commit();
      expect(auditTables(db)).toEqual(once);
    } finally {
      store.close();
    }
  }, 60_000);

  it('alerts on endpoints without a finding are kept under no server, found by their client', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const alert: BehaviourAlert = {
      kind: 'many_servers', title: 'Client used many MCP servers', severity: 'medium', client: '10.9.9.9',
      servers: ['10.1.1.1:3000', '10.1.1.2:3000', '10.1.1.3:3000'], value: 3, threshold: 2, windowSeconds: 3600,
      firstTs: 1795599000, lastTs: 1795599100, detail: '10.9.9.9 used 3 MCP servers within 3600s (threshold 2)',
      evidence: [{ file: 'x.pcapng', frame: 7, ts: 1795599000 }],
    };
    const store = Store.open(db);
    try {
      store.begin();
      const id = Number(store.db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
        observations, findings, new_findings, new_shadow, attempts) VALUES (0, 0, 't', 'h', 1, '[]', 1, 0, 0, 0, 0, 0, 0, 1)`).run().lastInsertRowid);
      mergeFindings(store.db, id, [], { alerts: [alert, { ...alert, value: 5, lastTs: 1795599200 }] });
      store.commit();
      const rows = listAlerts(store.db, { client: '10.9.9.9' });
      expect(rows.map((r) => [r.serverId, r.kind, r.count, r.value, r.firstSeen, r.lastSeen, r.servers.length])).toEqual([
        ['', 'many_servers', 2, 5, 1795599000, 1795599200, 3],
      ]);
      expect(listAlerts(store.db, { status: 'shadow' })).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('a hit whose mask is broken upstream is masked again before it is written', () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const leaked: DlpHit = {
      detector: 'secret.github_token', title: 'GitHub token', category: 'secret', severity: 'high', masked: FAKE.github, count: 1,
      server: '10.1.1.1:3000', client: '10.2.2.2',
      where: { file: 'x.pcapng', frame: 3, ts: 1795599000, flow: '10.2.2.2:5000->10.1.1.1:3000', part: 'request', method: 'tools/call', path: '$.params.arguments.token' },
    };
    const store = Store.open(db);
    try {
      store.begin();
      const id = Number(store.db.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines,
        observations, findings, new_findings, new_shadow, attempts) VALUES (0, 0, 't', 'h', 1, '[]', 1, 0, 0, 0, 0, 0, 0, 1)`).run().lastInsertRowid);
      mergeFindings(store.db, id, [], { unattachedDlp: [leaked] });
      store.commit();
      expect(listDlp(store.db).map((h) => [h.serverId, h.server, h.masked])).toEqual([['', '10.1.1.1:3000', `ghp_…(${FAKE.github.length})`]]);
    } finally {
      store.close();
    }
    expect(storeBytes(db).includes(Buffer.from(FAKE.github.slice(4, 16)))).toBe(false);
  });

  it('storedMask re-masks a value that reached it unmasked and keeps good masks', () => {
    const hit = (category: DlpHit['category'], masked: string) => ({ category, masked });
    expect(storedMask(hit('secret', 'ghp_…(40)'))).toBe('ghp_…(40)');
    expect(storedMask(hit('secret', '-----BEGIN PRIVATE KEY-----…(476)'))).toBe('-----BEGIN PRIVATE KEY-----…(476)');
    expect(storedMask(hit('secret', FAKE.github))).toBe(`ghp_…(${FAKE.github.length})`);
    expect(storedMask(hit('pci', '4111 1111 1111 1111…(19)'))).toBe('4111…(19)');
    expect(storedMask(hit('marker', 'CONFIDENTIAL'))).toBe('CONFIDENTIAL');
    const long = storedMask(hit('custom', 'x'.repeat(500)));
    expect(long.length).toBeLessThan(100);
    expect(long.endsWith('…')).toBe(true);
  });

  it('a version-1 store is migrated in place: its rows kept, the new tables empty', () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const raw = new Database(db);
    raw.exec(MIGRATIONS[0].sql);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO runs (started_at, finished_at, tool_version, host, pid, inputs, files, bytes, lines, observations, findings,
      new_findings, new_shadow, attempts) VALUES (1, 2, 'old', 'h', 1, '[]', 1, 10, 1, 1, 1, 1, 1, 1)`).run();
    raw.prepare(`INSERT INTO servers (id, names, transport, status, confidence, score, severity, first_seen, last_seen, hits, runs, first_run,
      last_run, clients, methods, tools, paths, signatures, sources) VALUES ('abc', '["x.mcp.run"]', 'dns-only', 'shadow', 'low', 0.2, 'low',
      1, 2, 3, 1, 1, 1, '[]', '{}', '{}', '[]', '[]', '[]')`).run();
    raw.close();
    const store = Store.open(db);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
      expect(listServers(store.db).map((s) => [s.id, s.hits, s.dlp, s.alerts])).toEqual([['abc', 3, 0, 0]]);
      expect(listRuns(store.db).map((r) => [r.toolVersion, r.kind])).toEqual([['old', 'import']]);
      expect(listDlp(store.db)).toEqual([]);
    } finally {
      store.close();
    }
  });
});
