// import --db reads a Windows DNS log in pieces, run after run. The date order a run proved (a day above 12) is kept
// with the file's cursor, so the next run reads its new lines in it: without that, a 12-hour D/M/Y log (en-AU)
// appended to with early-month dates would be read as M/D/Y again in every run (and said to be a guess).
import { appendFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cliInProcess, tmp } from './support.js';

/** A client's A query for mcp.linear.app (a hosted MCP server: each line makes a finding) dated `date` at `time`. */
const query = (date: string, time: string, xid: string) =>
  `${date} ${time} 0A1C PACKET  000001D2C3B4A590 UDP Rcv 10.1.2.3        ${xid}   Q [0001   D   NOERROR] A      (3)mcp(6)linear(3)app(0)\r\n`;

/** 20 lines of early-October dates that read either way: more than a resumed run replays of a file's head. */
const ambiguous = Array.from({ length: 20 }, (_, i) => query('05/10/2026', '8:20:01 AM', (0x100 + i).toString(16))).join('');

type Report = { findings: Array<{ subject: { names: string[] }; firstSeen: number; lastSeen: number }>; anomalies: Array<{ name: string; count: number; examples: Array<{ line?: number; detail?: string }> }> };

async function importRun(file: string, db: string): Promise<Report> {
  utimesSync(file, new Date('2026-11-20T00:00:00Z'), new Date('2026-11-20T00:00:00Z'));
  const r = await cliInProcess(['import', file, '--format', 'windows-dns', '--db', db, '--format-out', 'json', '--quiet', '--fail-on', 'none']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Report;
}

const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
const memo = (db: string) => new Database(db, { readonly: true }).prepare('SELECT parser_memo FROM streams').pluck().all();

describe('import --db: the Windows DNS date order a run proved is kept for the next', () => {
  it('a 12-hour D/M/Y log: proved in run 1, early-month lines of run 2 are read as D/M/Y, nothing guessed', async () => {
    const dir = tmp();
    const file = join(dir, 'dns.log');
    const db = join(dir, 'inv.db');
    writeFileSync(file, ambiguous + query('25/10/2026', '1:05:17 PM', '0002'));
    const one = await importRun(file, db);
    // Run 1: lines 1-20 guessed M/D/Y (10 May) until line 21 proved D/M/Y; the switch is said.
    expect(one.anomalies.map((a) => [a.name, a.examples.map((e) => e.line)])).toEqual([['log.windows_dns_date_order', [21]]]);
    expect(memo(db)).toEqual(['dmy']);

    appendFileSync(file, query('06/11/2026', '9:00:00 AM', '0003'));
    const two = await importRun(file, db);
    expect(two.anomalies).toEqual([]);
    expect(two.findings.map((f) => [f.subject.names[0], day(f.lastSeen)])).toEqual([['mcp.linear.app', '2026-11-06']]);
    expect(memo(db)).toEqual(['dmy']);
  });

  it('a later line that proves the other order is still said, as a switch from the kept one', async () => {
    const dir = tmp();
    const file = join(dir, 'dns.log');
    const db = join(dir, 'inv.db');
    writeFileSync(file, ambiguous + query('25/10/2026', '1:05:17 PM', '0001'));
    await importRun(file, db);
    appendFileSync(file, query('10/30/2026', '9:00:00 AM', '0002'));
    const two = await importRun(file, db);
    expect(two.anomalies).toEqual([{
      name: 'log.windows_dns_date_order', count: 1,
      examples: [{ file, line: 22, detail: 'dates read as M/D/Y from this line on; earlier lines of this file were read as D/M/Y' }],
    }]);
    expect(memo(db)).toEqual(['mdy']);
  });

  it('nothing proved: nothing kept, and each run says it guessed', async () => {
    const dir = tmp();
    const file = join(dir, 'dns.log');
    const db = join(dir, 'inv.db');
    writeFileSync(file, query('05/10/2026', '8:20:01 AM', '0001'));
    const one = await importRun(file, db);
    expect(one.anomalies.map((a) => a.name)).toEqual(['log.windows_dns_date_order_guessed']);
    expect(memo(db)).toEqual([null]);
    appendFileSync(file, query('06/10/2026', '8:20:01 AM', '0002'));
    const two = await importRun(file, db);
    expect(two.anomalies.map((a) => [a.name, a.examples.map((e) => e.line)])).toEqual([['log.windows_dns_date_order_guessed', [2]]]);
  });
});
