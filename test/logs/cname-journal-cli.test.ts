// `shadowtap import` (the built binary) on the dnsmasq CNAME log and the journald JSON export together: the name
// asked through a CNAME chain reaches the endpoints its answers point at, and the rules built from them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shadowtap.js');
const CNAME = 'fixtures/logs/dnsmasq/cname-extra.log';
const JOURNAL = 'fixtures/logs/iptables/journal.json';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Finding {
  subject: { ip?: string; port?: number; names: string[] };
  transport: string;
  confidence: string;
  clients: Array<{ ip: string }>;
  signals: Array<{ signatureId: string; evidence: Array<{ source: { file: string; line: number } }> }>;
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'bundle'))) throw new Error('build first: npm run build (npm test does)');
});

describe('shadowtap import: dnsmasq CNAME chains and journald JSON', () => {
  it('each file alone', () => {
    const j = run(['import', JOURNAL, '--format-out', 'json', '--quiet']);
    expect(j.code).toBe(1);
    const jr = JSON.parse(j.stdout) as { inputs: Array<{ format: string; records: number }>; findings: Finding[]; anomalies: unknown[] };
    expect(jr.inputs).toMatchObject([{ format: 'netfilter', records: 11 }]);
    expect(jr.anomalies).toEqual([]);
    expect(jr.findings.map((f) => `${f.subject.ip}:${f.subject.port} ${f.confidence}`).sort()).toEqual(['127.0.0.1:6274 low', '127.0.0.1:8811 low', '::1:6277 low']);

    const c = run(['import', CNAME, '--format-out', 'json', '--quiet']);
    const cr = JSON.parse(c.stdout) as { findings: Finding[] };
    expect(cr.findings.map((f) => [f.subject.names, f.transport, f.confidence, f.clients.map((x) => x.ip)])).toEqual([
      [['mcp.notion.com'], 'dns-only', 'high', ['127.0.0.1']],
    ]);
  });

  it('together: mcp.example.com, asked through a CNAME, folds into the endpoints at its addresses', () => {
    const r = run(['import', CNAME, JOURNAL, '--format-out', 'json', '--quiet']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { findings: Finding[]; anomalies: unknown[] };
    expect(report.anomalies).toEqual([]);
    const byEndpoint = new Map(report.findings.filter((f) => f.subject.ip).map((f) => [`${f.subject.ip}:${f.subject.port}`, f]));
    expect([...byEndpoint.keys()].sort()).toEqual(['127.0.0.1:6274', '127.0.0.1:8811', '::1:6277']);
    for (const f of byEndpoint.values()) {
      expect(f.subject.names).toContain('mcp.example.com');
      expect(f.confidence).toBe('medium'); // the port alone is low; the name's signal raises it
      const label = f.signals.find((s) => s.signatureId === 'mcp.name.mcp_label')!;
      // evidence ends at line 9: `reply mcp-edge.example.net is 127.0.0.1`, the chain's address line
      expect(label.evidence.map((e) => e.source.line)).toContain(9);
    }

    // rules (default --min-confidence medium) now block those endpoints
    const dir = mkdtempSync(join(tmpdir(), 'shadowtap-cname-'));
    const json = join(dir, 'findings.json');
    writeFileSync(json, r.stdout);
    const rules = run(['rules', '--from', json, '-t', 'nftables']);
    expect(rules.code).toBe(0);
    expect(rules.stdout).toMatch(/^\s*127\.0\.0\.1 \. 8811 comment "shadowtap finding [0-9a-f]+ medium/m);
    expect(rules.stdout).toMatch(/^\s*::1 \. 6277 comment/m);
  });
});
