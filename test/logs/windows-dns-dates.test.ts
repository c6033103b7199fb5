// Windows DNS debug log dates are in the server's locale short-date format (fixtures/logs/PROVENANCE.md, Windows DNS
// section): Y/M/D and D-M-Y are read as written; slash dates with the year last are M/D/Y or D/M/Y, decided per file
// by `--date-order`, else by a date valid (and not after the file's mtime) in one order only, else guessed from the
// clock (AM/PM: M/D/Y; 24-hour: D/M/Y). Every switch, and a file read on a guess to its end, is counted as a notice
// about the file (the line itself is read, not bad).
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import type { Observation } from '../../src/detect/observation.js';
import { importLogs, type DateOrder } from '../../src/sources/logs/index.js';

const DIR = join(import.meta.dirname, '../../fixtures/logs/windows-dns');
const DMY = join(DIR, 'dns-dmy.log');
const US = join(DIR, 'dns.log');
const TO_DMY = 'dates read as D/M/Y from this line on; earlier lines of this file were read as M/D/Y';
const TO_MDY = 'dates read as M/D/Y from this line on; earlier lines of this file were read as D/M/Y';

async function run(inputs: string[], dateOrder?: DateOrder) {
  const anomalies = new Anomalies();
  const obs: Observation[] = [];
  const stats = await importLogs(inputs, { format: 'windows-dns', dateOrder, anomalies, onObservation: (o) => obs.push(o) });
  return { stats, summary: anomalies.summary(), times: obs.map((o) => `${o.source.line} ${new Date(o.ts * 1000).toISOString().slice(0, 19)}`) };
}

let files = 0;
const tmp = mkdtempSync(join(tmpdir(), 'shadowtap-wdns-dates-'));
/** A log file of these lines, last changed at `mtime` (the date no line can be after). */
function logFile(lines: string[], mtime = '2026-11-20T00:00:00Z'): string {
  const path = join(tmp, `dns-${++files}.log`);
  writeFileSync(path, `${lines.join('\r\n')}\r\n`);
  const t = new Date(mtime);
  utimesSync(path, t, t);
  return path;
}

/** A client's query packet line dated `date` at `time` (24-hour unless it ends in AM/PM). */
const packet = (date: string, time = '08:20:01') =>
  `${date} ${time} 0A1C PACKET  000001D2C3B4A590 UDP Rcv 10.1.2.3        5b47   Q [0001   D   NOERROR] A      (3)mcp(7)example(3)com(0)`;

/** dns-dmy.log read right: 5 October (lines 31-34), 25 October (35-36), 1 November (37-38); client lines only. */
const DMY_TIMES = ['31 2026-10-05T08:20:01', '34 2026-10-05T08:20:01', '35 2026-10-25T13:05:17', '36 2026-10-25T13:05:17', '37 2026-11-01T09:14:03', '38 2026-11-01T09:14:03'];

describe('Windows DNS dates in the server locale', () => {
  it('an en-GB log (24-hour, D/M/Y): read right with --date-order dmy and without it, nothing counted', async () => {
    for (const order of ['dmy', undefined] as const) {
      const r = await run([DMY], order);
      expect(r.times).toEqual(DMY_TIMES);
      expect(r.summary).toEqual([]);
      expect(r.stats.files[0].badLines).toBe(0);
    }
  });

  it('an en-GB log with --date-order mdy: 25/10 is no date, 05/10 is 10 May', async () => {
    const r = await run([DMY], 'mdy');
    expect(r.times).toEqual(['31 2026-05-10T08:20:01', '34 2026-05-10T08:20:01', '37 2026-01-11T09:14:03', '38 2026-01-11T09:14:03']);
    expect(r.summary.map((a) => [a.name, a.examples.map((e) => e.line)])).toEqual([['log.bad_timestamp', [35, 36]]]);
  });

  it('an en-AU log (AM/PM, D/M/Y): M/D/Y guessed until a day above 12 proves D/M/Y, the switch counted at that line', async () => {
    const file = logFile([packet('05/10/2026', '8:20:01 AM'), packet('25/10/2026', '1:05:17 PM'), packet('06/10/2026', '9:00:00 AM')]);
    const r = await run([file]);
    expect(r.times).toEqual(['1 2026-05-10T08:20:01', '2 2026-10-25T13:05:17', '3 2026-10-06T09:00:00']);
    expect(r.summary).toEqual([{ name: 'log.windows_dns_date_order', count: 1, examples: [{ file, line: 2, detail: TO_DMY }] }]);
    expect(r.stats.files[0].badLines).toBe(0); // line 2 is read: the switch is about the lines before it
  });

  it('every switch is counted, each file its own', async () => {
    const lines = [packet('05/10/2026', '8:20:01 AM'), packet('25/10/2026', '8:20:01 AM'), packet('10/30/2026', '8:20:01 AM'), packet('26/10/2026', '8:20:01 AM')];
    const [a, b] = [logFile(lines), logFile(lines)];
    const r = await run([a, b]);
    expect(r.times.slice(0, 4)).toEqual(['1 2026-05-10T08:20:01', '2 2026-10-25T08:20:01', '3 2026-10-30T08:20:01', '4 2026-10-26T08:20:01']);
    expect(r.times.slice(4)).toEqual(r.times.slice(0, 4)); // the second file starts from the guess again
    const examples = (f: string) => [{ file: f, line: 2, detail: TO_DMY }, { file: f, line: 3, detail: TO_MDY }, { file: f, line: 4, detail: TO_DMY }];
    expect(r.summary).toEqual([{ name: 'log.windows_dns_date_order', count: 6, examples: [...examples(a), ...examples(b)].slice(0, 5) }]);
    expect(r.stats.badLines).toBe(0);
  });

  it('a file whose dates never tell is read on the clock\'s guess, and that is counted once, at its first date', async () => {
    const h24 = logFile([packet('05/10/2026'), packet('06/10/2026')]);
    const h12 = logFile([packet('05/10/2026', '8:20:01 AM'), packet('06/10/2026', '8:20:01 PM')]);
    const r = await run([h24, h12]);
    expect(r.times).toEqual(['1 2026-10-05T08:20:01', '2 2026-10-06T08:20:01', '1 2026-05-10T08:20:01', '2 2026-06-10T20:20:01']);
    const guess = (file: string, order: string, clock: string, other: string) => ({
      file, line: 1, detail: `dates like 05/11 read as ${order}, guessed from its ${clock} clock: no date of the file tells; give --date-order if the server writes ${other}`,
    });
    expect(r.summary).toEqual([{
      name: 'log.windows_dns_date_order_guessed', count: 2,
      examples: [guess(h24, 'D/M/Y', '24-hour', 'M/D/Y'), guess(h12, 'M/D/Y', '12-hour', 'D/M/Y')],
    }]);
    expect(r.stats.badLines).toBe(0);
    // Given, nothing is guessed.
    expect((await run([h24], 'dmy')).summary).toEqual([]);
  });

  it('a date after the file\'s last change in one order proves the other', async () => {
    // Changed on 20 October: 11/10 cannot be 10 November, 10/12 cannot be 10 December.
    const h12 = logFile([packet('11/10/2026', '8:00:00 AM'), packet('05/10/2026', '8:00:00 AM')], '2026-10-20T00:00:00Z');
    const h24 = logFile([packet('10/12/2026'), packet('10/05/2026')], '2026-10-20T00:00:00Z');
    const r = await run([h12, h24]);
    expect(r.times).toEqual(['1 2026-10-11T08:00:00', '2 2026-10-05T08:00:00', '1 2026-10-12T08:20:01', '2 2026-10-05T08:20:01']);
    expect(r.summary).toEqual([]);
    // A day's slack for local time: 21/10 against a file changed at 20 October 00:00 UTC is no proof.
    const edge = logFile([packet('10/21/2026', '1:00:00 AM')], '2026-10-20T00:00:00Z');
    expect((await run([edge])).times).toEqual(['1 2026-10-21T01:00:00']);
  });

  it('a US log reads as before in auto mode and with mdy; --date-order dmy wins over its dates, which are then bad', async () => {
    const us = ['31 2026-11-25T08:20:01', '34 2026-11-25T08:20:01', '35 2026-11-25T13:05:17', '36 2026-11-25T13:05:17'];
    for (const order of [undefined, 'mdy'] as const) {
      const r = await run([US], order);
      expect(r.times).toEqual(us);
      expect(r.summary).toEqual([]);
    }
    const r = await run([US], 'dmy');
    expect(r.times).toEqual([]);
    expect(r.summary.map((a) => [a.name, a.count])).toEqual([['log.bad_timestamp', 6]]);
  });

  it('Y/M/D (ja-JP, zh-CN) and D-M-Y (nl-NL) are read as written, whatever the order', async () => {
    const file = logFile([packet('2026/11/05'), packet('2026/1/25'), packet('05-11-2026'), packet('25-1-2026')]);
    const expected = ['1 2026-11-05T08:20:01', '2 2026-01-25T08:20:01', '3 2026-11-05T08:20:01', '4 2026-01-25T08:20:01'];
    for (const order of [undefined, 'mdy', 'dmy'] as const) {
      const r = await run([file], order);
      expect(r.times).toEqual(expected);
      expect(r.summary).toEqual([]);
    }
  });

  it('a date invalid in both orders is a bad timestamp, and proves nothing', async () => {
    const file = logFile([packet('13/25/2026', '8:20:01 AM'), packet('25/13/2026', '8:20:01 AM'), packet('25/10/2026', '8:20:01 AM'), packet('05/10/2026', '8:20:01 AM')]);
    const r = await run([file]);
    expect(r.summary).toEqual([{ name: 'log.bad_timestamp', count: 2, examples: [{ file, line: 1 }, { file, line: 2 }] }]);
    // No date was read before line 3 proved D/M/Y: no switch to count.
    expect(r.times).toEqual(['3 2026-10-25T08:20:01', '4 2026-10-05T08:20:01']);
  });
});
