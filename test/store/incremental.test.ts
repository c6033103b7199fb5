// Incremental imports into the inventory store, in process: idempotence, appends, a partial last line,
// logrotate rename / copytruncate / gzip, Zeek headers replayed on resume. The oracle for every case is
// the same lines imported whole into a fresh store: a split import must give the same inventory.
import { appendFileSync, copyFileSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importIntoStore } from '../../src/store/import.js';
import { gatewayLines, inventoryView, runCount, tmp, totalHits } from './support.js';

const ZEEK_DNS = join(import.meta.dirname, '../../fixtures/logs/zeek/dns.log');

async function imp(db: string, logs: string[]) {
  return importIntoStore({ db, logs, scan: { audit: false } });
}

/** The inventory of `content` imported whole, in one run, into a fresh store. */
async function oracle(content: string, name = 'whole.log') {
  const dir = tmp();
  const f = join(dir, name);
  writeFileSync(f, content);
  await imp(join(dir, 'oracle.db'), [f]);
  const v = inventoryView(join(dir, 'oracle.db'));
  expect(totalHits(v)).toBeGreaterThan(0);
  return v;
}

/** Source paths differ between the oracle and the case; compare what must agree. */
function counts(v: ReturnType<typeof inventoryView>) {
  return v;
}

describe('inventory store: idempotent and incremental', () => {
  it('imports the same file twice: the second run reads nothing and adds nothing', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 40));
    const first = await imp(db, [f]);
    expect(first.newFindings.length).toBe(5);
    const after1 = inventoryView(db);
    const second = await imp(db, [f]);
    expect(second.files[0].end - second.files[0].start).toBe(0);
    expect(second.report.findings).toEqual([]);
    expect(second.newFindings).toEqual([]);
    expect(inventoryView(db)).toEqual(after1);
    expect(runCount(db)).toBe(2);
    expect(counts(after1)).toEqual(await oracle(gatewayLines(0, 40)));
  });

  it('a file appended between runs: only the new lines are read, the inventory equals a whole import', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    writeFileSync(f, gatewayLines(0, 25));
    await imp(db, [f]);
    appendFileSync(f, gatewayLines(25, 60, 7));
    const r = await imp(db, [f]);
    expect(r.files[0].resumed).toBe(true);
    expect(r.files[0].start).toBe(Buffer.byteLength(gatewayLines(0, 25)));
    expect(r.report.inputs[0].records).toBe(35);
    // names svc5 and svc6 appear only in the appended part: they are the new findings
    expect(r.newFindings.map((x) => x.subject.names[0]).sort()).toEqual(['svc5.mcp.run', 'svc6.mcp.run']);
    expect(inventoryView(db)).toEqual(await oracle(gatewayLines(0, 25) + gatewayLines(25, 60, 7)));
  });

  it('leaves an unterminated last line for the next run, and line numbers continue', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'gw.log');
    const all = gatewayLines(0, 30);
    const cut = all.indexOf('\n', all.length / 2) + 20; // in the middle of a line
    writeFileSync(f, all.slice(0, cut));
    const r1 = await imp(db, [f]);
    expect(r1.files[0].end).toBe(all.lastIndexOf('\n', cut) + 1);
    appendFileSync(f, all.slice(cut));
    const r2 = await imp(db, [f]);
    expect(r2.files[0].start).toBe(r1.files[0].end);
    const lines1 = r1.report.inputs[0].records;
    expect(lines1 + r2.report.inputs[0].records).toBe(30);
    const ev = r2.report.findings.flatMap((x) => x.signals.flatMap((s) => s.evidence.map((e) => e.source.line!)));
    expect(Math.min(...ev)).toBeGreaterThan(lines1);
    expect(inventoryView(db)).toEqual(await oracle(all));
  });

  it('logrotate rename: lines written to app.log before it became app.log.1 are read from the old offset', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'app.log');
    writeFileSync(f, gatewayLines(0, 20));
    await imp(db, [f]);
    appendFileSync(f, gatewayLines(20, 30)); // written after our run, before rotation
    renameSync(f, `${f}.1`);
    writeFileSync(f, gatewayLines(30, 45, 6));
    const r = await imp(db, [f]); // only the live name is given, as cron would
    const byFile = Object.fromEntries(r.files.map((x) => [x.file, x]));
    expect(byFile[`${f}.1`].start).toBe(Buffer.byteLength(gatewayLines(0, 20)));
    expect(byFile[f].start).toBe(0);
    expect(inventoryView(db)).toEqual(await oracle(gatewayLines(0, 30) + gatewayLines(30, 45, 6)));
    // the next run, with a glob over the archive too, finds nothing new anywhere
    const again = await imp(db, [join(dir, 'app.log*')]);
    expect(again.files.reduce((t, x) => t + x.end - x.start, 0)).toBe(0);
    expect(again.report.findings).toEqual([]);
  });

  it('copytruncate: the copy is finished from the old offset, the truncated file read from 0', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'app.log');
    writeFileSync(f, gatewayLines(0, 20));
    await imp(db, [f]);
    appendFileSync(f, gatewayLines(20, 28));
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    appendFileSync(f, gatewayLines(28, 40, 6));
    const r = await imp(db, [f]);
    const live = r.files.find((x) => x.file === f)!;
    expect(live.start).toBe(0);
    expect(r.files.find((x) => x.file === `${f}.1`)!.start).toBe(Buffer.byteLength(gatewayLines(0, 20)));
    expect(inventoryView(db)).toEqual(await oracle(gatewayLines(0, 28) + gatewayLines(28, 40, 6)));
  });

  it('copytruncate where the new content is still shorter than the old offset: read from 0, not skipped', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'app.log');
    writeFileSync(f, gatewayLines(0, 30));
    await imp(db, [f]);
    truncateSync(f, 0);
    writeFileSync(f, gatewayLines(100, 103, 9, 'other'));
    const r = await imp(db, [f]);
    expect(r.files[0].start).toBe(0);
    expect(r.report.inputs[0].records).toBe(3);
  });

  it('gzip-rotated archives: a partly read file finished from its .gz, a known .gz skipped unopened', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'app.log');
    writeFileSync(f, gatewayLines(0, 20));
    await imp(db, [f]);
    appendFileSync(f, gatewayLines(20, 26));
    // rotated and compressed between two runs: app.log → app.log.1.gz, new app.log
    writeFileSync(`${f}.1.gz`, gzipSync(readFileSync(f)));
    rmSync(f);
    writeFileSync(f, gatewayLines(26, 35, 6));
    const r = await imp(db, [f]);
    const gz = r.files.find((x) => x.file === `${f}.1.gz`)!;
    expect(gz.resumed).toBe(true);
    expect(gz.start).toBe(Buffer.byteLength(gatewayLines(0, 20)));
    expect(inventoryView(db)).toEqual(await oracle(gatewayLines(0, 26) + gatewayLines(26, 35, 6)));
    const again = await imp(db, [join(dir, 'app.log*')]);
    expect(again.files.find((x) => x.file === `${f}.1.gz`)!.skipped).toBe(true);
    expect(again.report.findings).toEqual([]);
  });

  it('the same content twice in one run (a plain copy and its .gz) is counted once', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    writeFileSync(join(dir, 'a.log'), gatewayLines(0, 30));
    writeFileSync(join(dir, 'a.log.gz'), gzipSync(gatewayLines(0, 30)));
    await imp(db, [dir]);
    expect(inventoryView(db)).toEqual(await oracle(gatewayLines(0, 30)));
  });

  it('Zeek TSV resumed mid-file: the #fields header is replayed, so appended rows are parsed', async () => {
    const text = readFileSync(ZEEK_DNS, 'utf8');
    const lines = text.split('\n');
    const firstData = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    const head = `${lines.slice(0, firstData + 1).join('\n')}\n`;
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const f = join(dir, 'dns.log');
    writeFileSync(f, head);
    await imp(db, [f]);
    appendFileSync(f, text.slice(head.length));
    const r = await imp(db, [f]);
    expect(r.files[0].start).toBe(Buffer.byteLength(head));
    expect(r.report.anomalies).toEqual([]);
    expect(r.report.findings.length).toBeGreaterThan(0);
    expect(inventoryView(db)).toEqual(await oracle(text, 'dns.log'));
  });
});
