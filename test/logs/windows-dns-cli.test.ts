// `shadowtap import` (the built binary) on the Windows DNS debug log with details and the AWS VPC flow logs of the
// same clients: the answers in the detail blocks tie the names asked to the endpoints the clients then reached.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/detect/finding.js';
import type { ScanReport } from '../../src/report/model.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shadowtap.js');
const DETAILS = 'fixtures/logs/windows-dns/dns-details.log';
const FLOWS = ['fixtures/logs/vpc/default-v2.log', 'fixtures/logs/vpc/custom-v5.log'];

/** `import` of these files (and options) as a JSON report. */
function importJson(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'import', ...args, '--format-out', 'json', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(1); // shadow servers found
  return JSON.parse(r.stdout) as ScanReport;
}

const row = (f: Finding) => `${f.subject.ip ? `${f.subject.ip}:${f.subject.port}` : '-'} ${f.subject.names.join(',')} ${f.transport} ${f.confidence} ${f.clients.map((c) => c.ip).join(',')}`;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'bundle'))) throw new Error('build first: npm run build (npm test does)');
});

describe('shadowtap import: Windows DNS debug log with details', () => {
  it('alone: the names asked, by client', () => {
    const r = importJson([DETAILS]);
    expect(r.inputs).toMatchObject([{ format: 'windows-dns', observations: 6 }]);
    expect(r.anomalies).toEqual([]);
    expect(r.findings.map(row)).toEqual([
      '- mcp.linear.app dns-only high 10.1.2.3',
      '- registry.smithery.ai dns-only high 2001:db8::23',
    ]);
  });

  it('with the flow logs: each name folds into the endpoint its answer pointed at', () => {
    const r = importJson([DETAILS, ...FLOWS]);
    expect(r.anomalies).toEqual([]);
    expect(r.findings.map(row)).toEqual([
      '203.0.113.10:443 mcp.linear.app conn-only high 10.1.2.3',
      '2001:db8:20::5:8811 registry.smithery.ai conn-only high 2001:db8::23',
      '10.20.0.5:6274  conn-only low 10.1.2.3',
      '10.20.0.5:6277  conn-only low 10.1.2.3',
    ]);
    const linear = r.findings[0].signals.find((s) => s.signatureId === 'mcp.name.hosted_server')!;
    expect(linear.evidence.map((e) => `${e.source.file}:${e.source.line}`)).toEqual([`${DETAILS}:31`, `${DETAILS}:123`]);
  });

  it('the same log without its detail blocks gives no answers: the names stay apart from the endpoints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowtap-wdns-cli-'));
    const packets = join(dir, 'dns.log');
    writeFileSync(packets, readFileSync(join(ROOT, DETAILS), 'utf8').split('\r\n').filter((l) => / PACKET /.test(l)).join('\r\n') + '\r\n');
    const r = importJson([packets, ...FLOWS]);
    expect(r.findings.map(row)).toEqual([
      '- mcp.linear.app dns-only high 10.1.2.3',
      '- registry.smithery.ai dns-only high 2001:db8::23',
      '10.20.0.5:6274  conn-only low 10.1.2.3',
      '10.20.0.5:6277  conn-only low 10.1.2.3',
      '2001:db8:20::5:8811  conn-only low 2001:db8::23',
    ]);
  });
});

describe('shadowtap import --date-order: a Windows DNS log written in an en-GB locale (24-hour, D/M/Y)', () => {
  const DMY = 'fixtures/logs/windows-dns/dns-dmy.log';
  const seen = (r: ScanReport) => r.findings.map((f) => `${f.subject.names.join(',')} ${new Date(f.firstSeen * 1000).toISOString().slice(0, 10)}`);

  it('dmy, or nothing given (the 24-hour clock guesses D/M/Y, 25/10 proves it): D/M/Y, nothing counted', () => {
    for (const args of [['--date-order', 'dmy'], []]) {
      const r = importJson([DMY, ...args]);
      expect(r.anomalies).toEqual([]);
      expect(seen(r)).toEqual(['mcp.linear.app 2026-11-01', 'registry.smithery.ai 2026-10-25']);
    }
  });

  it('mdy: 25/10 is no date, 01/11 is 11 January', () => {
    const r = importJson([DMY, '--date-order', 'mdy']);
    expect(r.anomalies.map((a) => `${a.name} ${a.examples.map((e) => e.line).join(',')}`)).toEqual(['log.bad_timestamp 35,36']);
    expect(seen(r)).toEqual(['mcp.linear.app 2026-01-11']);
  });

  it('another value is a usage error', () => {
    const r = spawnSync(process.execPath, [BIN, 'import', DMY, '--date-order', 'ymd'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/date-order.*"ymd"/s);
  });
});
