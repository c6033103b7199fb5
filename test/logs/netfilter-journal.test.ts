// Kernel LOG lines in a journald JSON export (`journalctl -o json`): detected by content, parsed like the
// dmesg lines they carry, timed by __REALTIME_TIMESTAMP; broken and foreign entries counted at their line.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import type { Observation } from '../../src/detect/observation.js';
import { LOG_FORMATS, detectFormat, importLogs } from '../../src/sources/logs/index.js';

const FIX = join(import.meta.dirname, '../../fixtures/logs/iptables');
const JOURNAL = join(FIX, 'journal.json');

async function run(file: string) {
  const anomalies = new Anomalies();
  const obs: Observation[] = [];
  const stats = await importLogs([file], { anomalies, onObservation: (o) => obs.push(o) });
  return { obs, stats, anomalies };
}

const entries = () => readFileSync(JOURNAL, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

function tmpFile(lines: string[]): string {
  const f = join(mkdtempSync(join(tmpdir(), 'shadowtap-journal-')), 'journal.json');
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

describe('journald JSON export of kernel LOG lines', () => {
  it('is netfilter, and no other format claims it', () => {
    const sample = readFileSync(JOURNAL, 'utf8').split('\n').filter((l) => l.trim()).slice(0, 20);
    expect(detectFormat(sample)?.id).toBe('netfilter');
    expect(LOG_FORMATS.filter((f) => f.sniff(sample)).map((f) => f.id)).toEqual(['netfilter']);
  });

  it('gives the observations of the dmesg lines it was made from, at __REALTIME_TIMESTAMP', async () => {
    const j = await run(JOURNAL);
    const d = await run(join(FIX, 'dmesg.log'));
    expect(j.anomalies.total).toBe(0);
    expect(j.stats.files[0]).toMatchObject({ format: 'netfilter', lines: 11, observations: 11, badLines: 0 });
    expect(j.obs.map((o) => [o.fields, o.client, o.server])).toEqual(d.obs.map((o) => [o.fields, o.client, o.server]));
    expect(j.obs.find((o) => o.fields['log.rule'] === 'SHADOWMCP DROP')?.fields).toMatchObject({ 'conn.action': 'block', 'conn.dst_port': 6274 });
    const us = entries().map((e) => Number(e.__REALTIME_TIMESTAMP));
    expect(j.obs.map((o) => o.ts)).toEqual(us.map((t) => t / 1e6));
    expect(j.obs[10].ts).toBe(Date.UTC(2026, 10, 25, 9, 38, 43, 205) / 1000); // the nft line, as in rfc5424.log
  });

  it('a MESSAGE written as a byte array (control characters) is decoded; several values: the first is read', async () => {
    const [a, b] = entries();
    const bytes = { ...a, MESSAGE: [...Buffer.from(`\u0007${String(a.MESSAGE)}`)] };
    const several = { ...b, MESSAGE: [String(b.MESSAGE), 'second value'] };
    const { obs, anomalies } = await run(tmpFile([JSON.stringify(bytes), JSON.stringify(several)]));
    expect(anomalies.total).toBe(0);
    expect(obs.map((o) => [o.fields['log.rule'], o.fields['conn.src_port']])).toEqual([['\u0007DNS-ACCEPT', 55828], ['DNS-ACCEPT', 50255]]);
  });

  it('malformed JSON, entries without MESSAGE, other messages and bad times are counted with file and line', async () => {
    const all = entries();
    const good = JSON.stringify(all[7]);
    const f = tmpFile([
      good,
      good.slice(0, 120), // truncated
      JSON.stringify({ ...all[8], MESSAGE: undefined }),
      JSON.stringify({ ...all[8], MESSAGE: null }), // elided by the exporter's size limit
      // Another service's message: not a bad line (as in a syslog file), just no observation.
      JSON.stringify({ ...all[8], _TRANSPORT: 'stdout', SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'Accepted publickey for root from 10.0.0.5 port 50122 ssh2' }),
      JSON.stringify({ ...all[8], __REALTIME_TIMESTAMP: 'yesterday' }),
      JSON.stringify({ ...all[8], __REALTIME_TIMESTAMP: undefined }),
      JSON.stringify({ ...all[8], MESSAGE: String(all[8].MESSAGE).replace('SRC=127.0.0.1', 'SRC=127.0.0.300') }),
      'Nov 25 09:38:43 gw kernel: not JSON in a JSON export',
      JSON.stringify(all[10]),
    ]);
    const { obs, stats, anomalies } = await run(f);
    expect(stats.files[0]).toMatchObject({ format: 'netfilter', lines: 10, observations: 2, badLines: 7 });
    expect(obs.map((o) => o.source.line)).toEqual([1, 10]);
    const where = Object.fromEntries(anomalies.summary().map((a) => [a.name, a.examples.map((e) => `${e.file === f ? '' : e.file}:${e.line}`)]));
    expect(where).toEqual({
      'log.unparsed_line': [':2', ':9'],
      'log.journal_no_message': [':3', ':4'],
      'log.bad_timestamp': [':6', ':7'],
      'log.bad_address': [':8'],
    });
  });

  it('a journal export whose first entries are other messages is still found by its LOG lines', () => {
    const [a] = entries();
    const other = JSON.stringify({ ...a, _TRANSPORT: 'kernel', MESSAGE: 'eth0: link up' });
    expect(detectFormat([other, other, JSON.stringify(a)])?.id).toBe('netfilter');
    expect(detectFormat([other, other])).toBeUndefined();
  });
});
