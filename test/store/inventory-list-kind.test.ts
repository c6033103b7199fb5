// `shadowtap inventory list <kind>`: the word after `list` names what to list (it used to be taken as the show
// key and ignored, so `inventory list domains` printed servers); an unknown word is a one-line usage error.
// Runs the CLI in-process (main), so it needs no build.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, gatewayLines, tmp } from './support.js';

const ROOT = join(import.meta.dirname, '../..');
const SECRETS = join(ROOT, 'fixtures/audit/audit-secrets.pcapng');
const BURST = join(ROOT, 'fixtures/audit/audit-burst.pcapng');
const KINDS = ['servers', 'domains', 'clients', 'dlp', 'alerts'] as const;
const TYPES: Record<(typeof KINDS)[number], string> = {
  servers: 'shadowtap.inventory.server', domains: 'shadowtap.inventory.domain', clients: 'shadowtap.inventory.client',
  dlp: 'shadowtap.inventory.dlp', alerts: 'shadowtap.inventory.alert',
};

const cli = cliInProcess;

let db: string;

beforeAll(async () => {
  // Every kind present: DNS names from a gateway log (servers, domains, clients), and the audit captures
  // (data-loss hits on one server, behaviour alerts on another).
  const dir = tmp();
  db = join(dir, 'inv.db');
  const log = join(dir, 'gw.log');
  writeFileSync(log, gatewayLines(0, 30));
  for (const argv of [['import', log, '--format-out', 'json'], ['scan', SECRETS, BURST, '-f', 'json']]) {
    const r = await cli([...argv, '--db', db, '--quiet', '--fail-on', 'none']);
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);

describe('inventory list <kind>', () => {
  it('each kind named after list gives what --kind gives, and only records of that kind', async () => {
    const seen = new Map<string, string>();
    for (const kind of KINDS) {
      const byWord = await cli(['inventory', 'list', kind, '--db', db, '-f', 'json']);
      const byFlag = await cli(['inventory', 'list', '--kind', kind, '--db', db, '-f', 'json']);
      expect([byWord.code, byFlag.code], `${kind}: ${byWord.stderr}${byFlag.stderr}`).toEqual([0, 0]);
      expect(byWord.stdout, kind).toBe(byFlag.stdout);
      const rows = JSON.parse(byWord.stdout) as Array<{ type: string }>;
      expect(rows.length, kind).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.type)), kind).toEqual(new Set([TYPES[kind]]));
      seen.set(kind, byWord.stdout);
    }
    // The bug: `list domains` was the server list.
    expect(seen.get('domains')).not.toBe(seen.get('servers'));
    // No word and no --kind: servers, as before.
    expect((await cli(['inventory', 'list', '--db', db, '-f', 'json'])).stdout).toBe(seen.get('servers'));
  });

  it('the table of a named kind has that kind\'s columns and count line', async () => {
    const domains = (await cli(['inventory', 'list', 'domains', '--db', db])).stdout.trimEnd().split('\n');
    expect(domains[0]).toMatch(/^STATUS\s+NAME\s+SERVERS/);
    const n = JSON.parse((await cli(['inventory', 'list', 'domains', '--db', db, '-f', 'json'])).stdout).length as number;
    expect(domains.at(-1)).toBe(`${n} domains`);
    const alerts = (await cli(['inventory', 'list', 'alerts', '--db', db])).stdout.trimEnd().split('\n');
    expect(alerts[0]).toMatch(/^SEVERITY\s+KIND\s+CLIENT/);
    expect(alerts.slice(1, -2).some((l) => /tool_call_burst/.test(l))).toBe(true);
  });

  it('accepts the singular and any case, and the same word given twice', async () => {
    const want = (await cli(['inventory', 'list', '--kind', 'clients', '--db', db, '-f', 'json'])).stdout;
    for (const argv of [['client'], ['Clients'], ['clients', '--kind', 'clients']]) {
      const r = await cli(['inventory', 'list', ...argv, '--db', db, '-f', 'json']);
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout, argv.join(' ')).toBe(want);
    }
  });

  it('an unknown word is a one-line usage error (exit 2), even before the store is opened', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['list', 'domians'], /^shadowtap: inventory list domians: not a kind; use one of servers, domains, clients, dlp, alerts$/],
      [['list', 'runs'], /^shadowtap: inventory list runs: not a kind; .*\(for runs: inventory runs\)$/],
      [['list', '10.0.0.1'], /^shadowtap: inventory list 10\.0\.0\.1: not a kind/],
      [['list', 'two\nlines'], /^shadowtap: inventory list "two\\nlines": not a kind/],
      [['list', 'domains', '--kind', 'clients'], /^shadowtap: inventory list domains --kind clients: two different kinds/],
      [['export', 'everything', '-f', 'csv'], /^shadowtap: inventory export everything: not a kind/],
      [['runs', 'all'], /^shadowtap: inventory runs all: runs takes no argument$/],
    ];
    for (const [argv, message] of cases) {
      for (const store of [db, join(tmp(), 'missing.db')]) {
        const r = await cli(['inventory', ...argv, '--db', store]);
        expect(r.code, argv.join(' ')).toBe(2);
        expect(r.stdout, argv.join(' ')).toBe('');
        expect(r.stderr.endsWith('\n') && r.stderr.split('\n').length === 2, JSON.stringify(r.stderr)).toBe(true);
        expect(r.stderr.trimEnd(), argv.join(' ')).toMatch(message);
      }
    }
  });

  it('export takes the word too (for csv and table), and show still takes its key', async () => {
    const byWord = await cli(['inventory', 'export', 'dlp', '--db', db, '-f', 'csv']);
    const byFlag = await cli(['inventory', 'export', '-k', 'dlp', '--db', db, '-f', 'csv']);
    expect(byWord.code, byWord.stderr).toBe(0);
    expect(byWord.stdout).toBe(byFlag.stdout);
    expect(byWord.stdout.split('\n')[0].split(',').slice(0, 3)).toEqual(['server_id', 'server', 'detector']);
    const hit = (JSON.parse((await cli(['inventory', 'list', 'dlp', '--db', db, '-f', 'json'])).stdout) as Array<{ server: string; server_id: string }>)[0];
    const shown = await cli(['inventory', 'show', hit.server, '--db', db, '-f', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect((JSON.parse(shown.stdout) as Array<{ id: string }>).map((r) => r.id)).toContain(hit.server_id);
  });
});
