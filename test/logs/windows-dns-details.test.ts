// Windows DNS debug log with "Details": each packet line's detail block is read for the answers
// (fixtures/logs/PROVENANCE.md, Windows DNS section), a cut or garbled block is counted at file:line, a block has a line cap,
// and an incremental import leaves a block still being written for the next run.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import type { Observation } from '../../src/detect/observation.js';
import { LOG_FORMATS, importLogs, type LogFileCursor, type LogResume } from '../../src/sources/logs/index.js';
import { LIMITS } from '../../src/config/limits.js';
import { windowsDns } from '../../src/sources/logs/windows-dns.js';

const WINDOWS_DNS_DETAIL_MAX_LINES = LIMITS.logWindowsDnsDetailLines;

const DIR = join(import.meta.dirname, '../../fixtures/logs/windows-dns');
const CRLF = join(DIR, 'dns-details.log');
const LF = join(DIR, 'dns-details-lf.log');
const TEXT = readFileSync(LF, 'utf8');
const LINES = TEXT.split('\n');
/** The fixture's records (packet line + block), without their blank line. */
const RECORDS = TEXT.split('\n\n').filter((r) => / PACKET /.test(r)).map((r) => r.split('\n'));
const EDGE = 'mcp-edge.example.net';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'shadowtap-wdns-'));
}

/** The parser alone, fed as index.ts feeds it; `undefined` from `line` is counted as index.ts counts it. */
function parse(lines: string[]) {
  const anomalies = new Anomalies();
  const p = windowsDns.parser({ file: 'dns.log', anomalies, refYear: 2026, refTime: 0, notice: anomalies.add.bind(anomalies) });
  const obs: Observation[] = [];
  lines.forEach((text, i) => {
    const r = text.trim() === '' ? p.blank!(i + 1) : p.line(text, i + 1);
    if (r === undefined) anomalies.add('log.unparsed_line', { file: 'dns.log', line: i + 1 });
    else obs.push(...r);
  });
  obs.push(...p.end!(false)!);
  return { obs, anomalies, summary: anomalies.summary().map((a) => [a.name, a.count, a.examples.map((e) => e.line)]) };
}

async function run(inputs: string[], resume?: LogResume) {
  const anomalies = new Anomalies();
  const obs: Observation[] = [];
  const stats = await importLogs(inputs, { anomalies, onObservation: (o) => obs.push(o), resume });
  return { obs, stats, anomalies };
}

/** name/type, rcode, client ip:port, answer addresses and CNAME targets, at the packet line. */
function show(o: Observation): string {
  const f = o.fields;
  const parts = [`${o.source.line} ${f['dns.query.name']}/${f['dns.query.type']} ${f['dns.rcode'] ?? '-'} ${o.client?.ip}:${o.client?.port}`];
  if (f['dns.answer.name']) parts.push(`cname=${(f['dns.answer.name'] as string[]).join(',')}`);
  if (f['dns.answer.address']) parts.push(`addr=${(f['dns.answer.address'] as string[]).join(',')}`);
  return parts.join(' ');
}

/** Line number (1-based) of the first fixture line equal to `text` at or after line `from`. */
function lineOf(lines: string[], text: string, from = 1): number {
  const i = lines.indexOf(text, from - 1);
  if (i < 0) throw new Error(`not in fixture: ${text}`);
  return i + 1;
}

const WHOLE = [
  '31 mcp.linear.app/A - 10.1.2.3:50123',
  `123 mcp.linear.app/A NOERROR 10.1.2.3:50123 cname=${EDGE} addr=203.0.113.10,203.0.113.11`,
  '179 registry.smithery.ai/AAAA - 2001:db8::23:61002',
  '215 registry.smithery.ai/AAAA NOERROR 2001:db8::23:61002 addr=2001:db8:20::5',
  '257 mcp.corp.test/A - 10.1.2.4:53318',
  '293 mcp.corp.test/A NXDOMAIN 10.1.2.4:53318',
];

describe('Windows DNS debug log with details', () => {
  it('a packet line and its block: one observation, at the packet line, with the ANSWER SECTION', () => {
    const { obs, summary } = parse(RECORDS[2]);
    expect(summary).toEqual([]);
    expect(obs.map(show)).toEqual([`1 mcp.linear.app/A NOERROR 10.1.2.3:50123 cname=${EDGE} addr=203.0.113.10,203.0.113.11`]);
  });

  it('the fixture (CRLF, LF, gzip): every client packet once, A/AAAA/CNAME answers, forwarder traffic and SOA passed', async () => {
    const dir = tmp();
    const gz = join(dir, 'dns-details.log.gz');
    writeFileSync(gz, gzipSync(readFileSync(CRLF)));
    for (const f of [CRLF, LF, gz]) {
      const { obs, stats, anomalies } = await run([f]);
      expect(stats.files[0]).toMatchObject({ format: 'windows-dns', lines: LINES.length - 1, observations: 6, badLines: 0 });
      expect(anomalies.summary()).toEqual([]);
      expect(obs.map(show)).toEqual(WHOLE);
      expect(obs[2].ts).toBe(Date.UTC(2026, 10, 25, 13, 5, 17) / 1000); // 1:05:17 PM
    }
  });

  it('detection: the detail log, and a piece of it that starts at a block (no legend, no packet line)', () => {
    const fromBlock = LINES.slice(lineOf(LINES, RECORDS[2][1]) - 1).filter((l) => l.trim()).slice(0, 20);
    expect(fromBlock.some((l) => / PACKET /.test(l))).toBe(false);
    for (const sample of [LINES.filter((l) => l.trim()).slice(0, 20), fromBlock]) {
      expect(LOG_FORMATS.filter((f) => f.sniff(sample)).map((f) => f.id)).toEqual(['windows-dns']);
    }
  });

  it('a block cut at the end of the file: counted at its packet line, the records read before it kept', async () => {
    const dir = tmp();
    const f = join(dir, 'dns.log');
    const cut = lineOf(LINES, '      DATA   203.0.113.10', 123); // inside the answer to the client
    writeFileSync(f, LINES.slice(0, cut).join('\r\n') + '\r\n');
    const { obs, stats, anomalies } = await run([f]);
    expect(anomalies.summary()).toEqual([{ name: 'log.windows_dns_truncated_detail', count: 1, examples: [{ file: f, line: 123 }] }]);
    expect(stats.files[0].badLines).toBe(1);
    // What the cut block did say (a CNAME, one address) is kept: each of those lines was complete.
    expect(obs.map(show)).toEqual([WHOLE[0], `123 mcp.linear.app/A NOERROR 10.1.2.3:50123 cname=${EDGE} addr=203.0.113.10`]);
  });

  it('a block cut by the next packet line is counted the same way, and the next record is read', () => {
    const cutRecord = RECORDS[2].slice(0, RECORDS[2].indexOf('    ANSWER SECTION:'));
    const { obs, summary } = parse([...cutRecord, ...RECORDS[3], '']);
    expect(summary).toEqual([['log.windows_dns_truncated_detail', 1, [1]]]);
    expect(obs.map(show)).toEqual([
      '1 mcp.linear.app/A NOERROR 10.1.2.3:50123',
      `${cutRecord.length + 1} registry.smithery.ai/AAAA - 2001:db8::23:61002`,
    ]);
  });

  describe('a garbled block: counted at the line, the packet kept without the block\'s answers, the next record read', () => {
    const rec = RECORDS[2]; // the answer to the client, lines 1.. of its own
    const at = (text: string) => rec.indexOf(text) + 1;
    const cases: Array<[string, (r: string[]) => string[], number, string]> = [
      ['A DATA that is no address', (r) => r.map((l) => l.replace('DATA   203.0.113.11', 'DATA   203.0.113.311')),
        at('      DATA   203.0.113.11'), 'A DATA is not an address'],
      ['an XID other than the packet line\'s', (r) => r.map((l) => l.replace('XID       0x5b47', 'XID       0x5b48')),
        at('    XID       0x5b47'), 'XID differs from the packet line'],
      ['the info line of another packet', (r) => r.map((l) => l.replace('info at 000001D2C3B4A590', 'info at 000001D2C3B4FFFF')),
        2, 'detail block of another packet'],
      ['another remote address', (r) => r.map((l) => l.replace('Remote addr 10.1.2.3,', 'Remote addr 10.1.2.9,')),
        at('  Remote addr 10.1.2.3, port 50123'), 'remote address differs from the packet line'],
      ['another question name', (r) => r.map((l) => l.replace('Name      "(3)mcp(6)linear(3)app(0)"', 'Name      "(3)mcp(6)notion(3)com(0)"')),
        at('    Name      "(3)mcp(6)linear(3)app(0)"'), 'question name differs from the packet line'],
      ['more answers than ACOUNT', (r) => r.map((l) => l.replace('ACOUNT    3', 'ACOUNT    2')),
        at('    Offset = 0x0052, RR count = 2'), 'record number out of sequence or beyond the section count'],
      ['fewer answers than ACOUNT', (r) => r.map((l) => l.replace('ACOUNT    3', 'ACOUNT    4')),
        at('    AUTHORITY SECTION:'), 'ANSWER SECTION has fewer records than its count'],
      ['sections out of order', (r) => r.map((l) => l.replace('    AUTHORITY SECTION:', '    ADDITIONAL SECTION:')),
        at('    AUTHORITY SECTION:'), 'ADDITIONAL SECTION out of order'],
      ['a TYPE without its number', (r) => r.map((l) => l.replace('TYPE   CNAME  (5)', 'TYPE   CNAME')),
        at('      TYPE   CNAME  (5)'), 'bad TYPE'],
      ['a CNAME target that does not end', (r) => r.map((l) => l.replace(`DATA   (8)mcp-edge(7)example(3)net(0)`, 'DATA   (8)mcp-edge(7)example(3)net')),
        at('      DATA   (8)mcp-edge(7)example(3)net(0)'), 'CNAME DATA is not a name'],
      ['a second DATA line', (r) => r.flatMap((l) => (l === '      DATA   203.0.113.10' ? [l, '      DATA   203.0.113.12'] : [l])),
        at('      DATA   203.0.113.10') + 1, 'unexpected line after A DATA'],
      ['a line that is no record field', (r) => r.map((l) => l.replace('      TTL    60', '      TTL    sixty')),
        at('      TTL    60'), 'unexpected line in ANSWER SECTION'],
      ['no info line', (r) => r.filter((_, i) => i !== 1), 2, 'detail lines without their info line'],
      ['a record without DATA', (r) => r.filter((l) => l !== '      DATA   (8)mcp-edge(7)example(3)net(0)'),
        at('    Offset = 0x0042, RR count = 1') - 1, 'answer record without DATA'],
    ];
    for (const [what, mutate, line, detail] of cases) {
      it(what, () => {
        const bad = mutate(rec);
        const r = parse([...bad, '', ...RECORDS[4], '']);
        expect(r.summary).toEqual([['log.windows_dns_bad_detail', 1, [line]]]);
        expect(r.anomalies.summary()[0].examples[0].detail).toBe(detail);
        expect(r.obs.map(show)).toEqual([
          '1 mcp.linear.app/A NOERROR 10.1.2.3:50123', // the port is from the block's Remote addr line, read before
          `${bad.length + 2} registry.smithery.ai/AAAA NOERROR 2001:db8::23:61002 addr=2001:db8:20::5`,
        ].map((s, i) => (i === 0 && line <= at('  Remote addr 10.1.2.3, port 50123') ? s.replace(':50123', ':0') : s)));
      });
    }

    it('AAAA DATA that is an IPv4 address', () => {
      const bad = RECORDS[4].map((l) => l.replace('DATA   2001:db8:20::5', 'DATA   203.0.113.5'));
      const { obs, summary } = parse(bad);
      expect(summary).toEqual([['log.windows_dns_bad_detail', 1, [bad.indexOf('      DATA   203.0.113.5') + 1]]]);
      expect(obs.map(show)).toEqual(['1 registry.smithery.ai/AAAA NOERROR 2001:db8::23:61002']);
    });
  });

  it('a block without its packet line, and a packet line that cannot be read, are counted once each', () => {
    const { obs, summary } = parse([
      ...RECORDS[2].slice(1), '', // the block alone
      RECORDS[2][0].replace(' UDP Snd ', ' UDP Xyz '), ...RECORDS[2].slice(1), '', // its block is passed over
      ...RECORDS[4], '',
    ]);
    const n = RECORDS[2].length;
    expect(summary).toEqual([
      ['log.unparsed_line', 1, [n + 1]],
      ['log.windows_dns_bad_detail', 1, [1]],
    ]);
    expect(obs.map(show)).toEqual([`${2 * n + 2} registry.smithery.ai/AAAA NOERROR 2001:db8::23:61002 addr=2001:db8:20::5`]);
  });

  it('blocks of other opcodes (a dynamic update) are passed over unchecked', () => {
    const update = [
      '11/25/2026 1:09:00 PM 0B20 PACKET  000001D2C3B4E000 UDP Rcv 10.1.2.5        2e3f   U [0028       NOERROR] SOA    (4)corp(4)test(0)',
      'UDP question info at 000001D2C3B4E000',
      '  Message:',
      '    ZONE SECTION:',
      '    Name      "(4)corp(4)test(0)"',
      '    UPDATE SECTION:',
      '      anything the server prints for an update',
    ];
    const { obs, summary } = parse([...update, '', ...RECORDS[4], '']);
    expect(summary).toEqual([]);
    expect(obs.map(show)).toEqual([`${update.length + 2} registry.smithery.ai/AAAA NOERROR 2001:db8::23:61002 addr=2001:db8:20::5`]);
  });

  it('lines dropped, repeated, cut or blanked anywhere: no exception, at most one observation per packet line', () => {
    const edit = fc.record({ at: fc.nat(LINES.length - 1), op: fc.constantFrom('drop', 'repeat', 'cut', 'blank') });
    fc.assert(fc.property(fc.array(edit, { maxLength: 8 }), (edits) => {
      const lines = [...LINES];
      for (const { at, op } of edits) {
        const i = Math.min(at, lines.length - 1);
        if (op === 'drop') lines.splice(i, 1);
        else if (op === 'repeat') lines.splice(i, 0, lines[i]);
        else if (op === 'cut') lines[i] = lines[i].slice(0, lines[i].length >> 1);
        else lines[i] = '';
      }
      const { obs, anomalies } = parse(lines);
      const at = obs.map((o) => o.source.line!);
      expect(new Set(at).size).toBe(at.length);
      for (const n of at) expect(lines[n - 1]).toContain(' PACKET ');
      for (const a of anomalies.summary()) for (const e of a.examples) expect(e.line).toBeGreaterThan(0);
    }), { numRuns: 300 });
  });

  it('the line cap: counted once, the addresses read before it kept, the rest of the block passed over', () => {
    const head = RECORDS[2].slice(0, RECORDS[2].indexOf('    ANSWER SECTION:') + 1);
    const n = Math.ceil(WINDOWS_DNS_DETAIL_MAX_LINES / 7) + 10;
    const rrs: string[] = [];
    const addrs: string[] = [];
    for (let i = 0; i < n; i++) {
      const ip = `198.51.${i >> 8}.${i & 255}`;
      addrs.push(ip);
      rrs.push(`    Offset = 0x${(0x20 + 16 * i).toString(16).padStart(4, '0')}, RR count = ${i}`, '    Name      "[C00C](3)mcp(6)linear(3)app(0)"',
        '      TYPE   A  (1)', '      CLASS  1', '      TTL    60', '      DLEN   4', `      DATA   ${ip}`);
    }
    const block = [...head.map((l) => l.replace('ACOUNT    3', `ACOUNT    ${n}`)), ...rrs,
      '    AUTHORITY SECTION:', '      empty', '    ADDITIONAL SECTION:', '      empty'];
    const capLine = 2 + WINDOWS_DNS_DETAIL_MAX_LINES + 1; // packet line, info line, then the detail lines counted
    const { obs, summary } = parse([...block, '', ...RECORDS[4], '']);
    expect(summary).toEqual([['log.windows_dns_detail_cap_hit', 1, [capLine]]]);
    const kept = addrs.filter((ip) => block.indexOf(`      DATA   ${ip}`) + 1 < capLine);
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.length).toBeLessThan(n);
    expect(obs[0].fields['dns.answer.address']).toEqual(kept);
    expect(obs.slice(1).map(show)).toEqual([`${block.length + 2} registry.smithery.ai/AAAA NOERROR 2001:db8::23:61002 addr=2001:db8:20::5`]);
  });

  describe('incremental import of a log still being written', () => {
    const resumeAt = (c: LogFileCursor | undefined): LogResume => ({
      candidates: () => (c ? [{ offset: c.end, lines: c.lines, tailHash: c.tailHash, tailLen: c.tailLen, format: 'windows-dns' }] : []),
    });

    for (const [what, cut] of [
      ['cut inside a block', lineOf(LINES, '      DATA   203.0.113.10', 123)],
      ['cut between a packet line and its block', 123],
    ] as const) {
      it(`${what}: the first run stops before the record, the next reads it whole`, async () => {
        const dir = tmp();
        const f = join(dir, 'dns.log');
        writeFileSync(f, LINES.slice(0, cut).join('\n') + '\n');
        const first = await run([f], resumeAt(undefined));
        expect(first.anomalies.summary()).toEqual([]);
        expect(first.obs.map(show)).toEqual(WHOLE.slice(0, 1));
        const c = first.stats.files[0].cursor!;
        expect(c.lines).toBe(122);
        expect(c.end).toBe(Buffer.byteLength(LINES.slice(0, 122).join('\n') + '\n'));
        appendFileSync(f, LINES.slice(cut).join('\n'));
        const second = await run([f], resumeAt(c));
        expect(second.stats.files[0].cursor?.resumed).toBeDefined();
        expect(second.anomalies.summary()).toEqual([]);
        expect(second.obs.map(show)).toEqual(WHOLE.slice(1));
      });
    }

    it('a one-line log ends with its last packet read (nothing is left for a next run)', async () => {
      const { obs, stats } = await run([join(DIR, 'dns.log')], resumeAt(undefined));
      expect(obs.map((o) => o.source.line)).toEqual([31, 34, 35, 36]);
      expect(stats.files[0].cursor?.end).toBe(readFileSync(join(DIR, 'dns.log')).length);
    });
  });
});
