// `shadowtap scan --db` and the inventory commands showing data-loss hits and behaviour alerts, through
// the built CLI (npm run build first; npm test does it).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { tmp } from './support.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'shadowtap.js');
const SECRETS = join(ROOT, 'fixtures/audit/audit-secrets.pcapng');
const BURST = join(ROOT, 'fixtures/audit/audit-burst.pcapng');

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'store', 'scan.js'))) throw new Error('build first: npm run build (npm test does)');
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shadowtap scan --db and the inventory of hits and alerts', () => {
  it('merges a capture once; list, show and export carry the hits and alerts', () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const first = cli(['scan', SECRETS, BURST, '--db', db, '-f', 'json']);
    expect(first.code).toBe(1); // shadow MCP found
    const report = JSON.parse(first.stdout);
    const secretsFinding = report.findings.find((f: { dlp?: unknown[] }) => f.dlp?.length);
    // The store is the new-server baseline: empty, so both servers also carry a new_server alert.
    type Alerted = { alerts?: Array<{ kind: string }> };
    const burstFinding = report.findings.find((f: Alerted) => f.alerts?.some((a) => a.kind !== 'new_server'));
    const allAlerts = report.findings.flatMap((f: Alerted) => f.alerts ?? []) as Array<{ kind: string }>;
    expect(allAlerts.filter((a) => a.kind === 'new_server').length).toBe(2);

    const again = cli(['scan', SECRETS, '--db', db, '-f', 'json', '--new-only']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already in .* \(run 1\), skipped/);
    expect(JSON.parse(again.stdout).findings).toEqual([]);

    const list = JSON.parse(cli(['inventory', 'list', '--db', db, '-f', 'json']).stdout);
    const s = list.find((x: { id: string }) => x.id === secretsFinding.id);
    const b = list.find((x: { id: string }) => x.id === burstFinding.id);
    expect([s.dlp, s.alerts, s.runs]).toEqual([secretsFinding.dlp.length, 1, 1]);
    expect([b.dlp, b.alerts]).toEqual([0, burstFinding.alerts.length]);
    const table = cli(['inventory', 'list', '--db', db]).stdout.split('\n');
    expect(table[0]).toMatch(/HITS\s+DLP\s+ALERTS/);

    const show = JSON.parse(cli(['inventory', 'show', `${secretsFinding.subject.ip}:${secretsFinding.subject.port}`, '--db', db, '-f', 'json']).stdout);
    const masks = show[0].dlp_hits.map((h: { masked: string }) => h.masked);
    expect(masks).toContain('ghp_…(40)');
    expect(show[0].dlp_hits.every((h: { run_ids: number[] }) => h.run_ids.join() === '1')).toBe(true);
    const showText = cli(['inventory', 'show', `${secretsFinding.subject.ip}:${secretsFinding.subject.port}`, '--db', db]).stdout;
    expect(showText).toMatch(/data-loss hits:\n {2}\S+ secret\.\S+ /);
    expect(showText).toMatch(/behaviour alerts:\n.*new_server/);

    const alertsCsv = cli(['inventory', 'list', '--db', db, '-k', 'alerts', '-f', 'csv']).stdout.trim().split('\n');
    expect(alertsCsv[0].split(',').slice(0, 3)).toEqual(['server_id', 'client', 'kind']);
    expect(alertsCsv.length).toBe(1 + allAlerts.length);
    const dlpTable = cli(['inventory', 'list', '--db', db, '-k', 'dlp']).stdout.split('\n');
    expect(dlpTable[1]).toContain(`${secretsFinding.subject.ip}:${secretsFinding.subject.port}`);
    const dlpCsv = cli(['inventory', 'export', '--db', db, '-k', 'dlp', '-f', 'csv']).stdout.trim().split('\n');
    expect(dlpCsv.length).toBe(1 + secretsFinding.dlp.length);

    const nd = cli(['inventory', 'export', '--db', db, '-f', 'ndjson']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.filter((r) => r.type === 'shadowtap.inventory.dlp').length).toBe(secretsFinding.dlp.length);
    expect(nd.filter((r) => r.type === 'shadowtap.inventory.alert').map((r) => r.kind).sort())
      .toEqual(allAlerts.map((a) => a.kind).sort());
    const all = JSON.parse(cli(['inventory', 'export', '--db', db]).stdout);
    expect(Object.keys(all)).toEqual(['servers', 'domains', 'clients', 'dlp', 'alerts', 'runs']);
    expect(all.runs.map((r: { kind: string; files: number }) => [r.kind, r.files])).toEqual([['scan', 2], ['scan', 0]]);
  }, 120_000);

  it('two scans of the same capture at once: it is merged once', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    // The first reads, then stalls before committing; the second commits meanwhile, so the first must
    // notice (generation), redo its work under the write lock, and find the capture already merged.
    const run = (env: Record<string, string>) => new Promise<number | null>((res) => {
      const p = spawn(process.execPath, [BIN, 'scan', SECRETS, '--db', db, '-q', '-f', 'json'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, ...env } });
      p.on('close', (code) => res(code));
    });
    const slow = run({ SHADOWTAP_TEST_STALL_AFTER_READ_MS: '1500' });
    await new Promise((r) => setTimeout(r, 300));
    const codes = await Promise.all([slow, run({})]);
    expect(codes.every((c) => c === 0 || c === 1)).toBe(true);
    const d = new Database(db, { readonly: true });
    try {
      expect((d.prepare('SELECT count(*) AS n FROM captures').get() as { n: number }).n).toBe(1);
      expect((d.prepare('SELECT files, attempts FROM runs ORDER BY id').all() as Array<{ files: number; attempts: number }>).map((r) => [r.files, r.attempts]))
        .toEqual([[1, 1], [0, 2]]);
      const counts = d.prepare('SELECT runs, count FROM dlp_hits').all() as Array<{ runs: number; count: number }>;
      expect(counts.length).toBeGreaterThan(10);
      expect(counts.every((c) => c.runs === 1)).toBe(true);
      expect((d.prepare('SELECT hits, runs FROM servers').all() as Array<{ runs: number }>).every((r) => r.runs === 1)).toBe(true);
    } finally {
      d.close();
    }
  }, 120_000);

  it('scan --db refuses stdin and logs, and writes no run', () => {
    const dir = tmp();
    const r = cli(['scan', '--db', join(dir, 'inv.db'), '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not stdin/);
    const logs = cli(['scan', '--db', join(dir, 'inv.db'), join(ROOT, 'fixtures/logs/zeek/dns.log')]);
    expect(logs.code).toBe(2);
    expect(logs.stderr).toMatch(/import --db/);
    expect(existsSync(join(dir, 'inv.db'))).toBe(false);
  });
});
