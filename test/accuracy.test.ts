// End-to-end accuracy: every capture in fixtures/manifest.json through the full pipeline.
// MCP captures must yield each listed server (ip:port and transport); look-alikes must yield nothing.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/detect/finding.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = join(ROOT, 'fixtures', 'manifest.json');

interface ManifestServer {
  ip?: string;
  port?: number;
  transport?: string;
  name?: string;
  host?: string;
}
interface ManifestEntry {
  file: string;
  mcp: boolean;
  servers?: ManifestServer[];
  clients?: Array<string | { ip: string }>;
  names?: string[];
  /** Non-MCP parts of a mixed capture: they must not become findings. */
  noise?: { servers?: ManifestServer[]; names?: string[] };
  methods?: string[] | Record<string, number>;
  tools?: string[] | Record<string, number>;
}

function readManifest(): ManifestEntry[] {
  if (!existsSync(MANIFEST)) return [];
  const json = JSON.parse(readFileSync(MANIFEST, 'utf8')) as unknown;
  const list = Array.isArray(json) ? json : ((json as { captures?: unknown[]; fixtures?: unknown[] }).captures ?? (json as { fixtures?: unknown[] }).fixtures ?? []);
  return (list as ManifestEntry[]).filter((e) => typeof e.file === 'string' && /\.(pcap|pcapng)(\.gz)?$/.test(e.file));
}

function resolveFixture(file: string): string {
  for (const p of [join(ROOT, file), join(ROOT, 'fixtures', file), join(ROOT, 'fixtures', 'pcap', file)]) if (existsSync(p)) return p;
  return join(ROOT, 'fixtures', file);
}

const names = (v: string[] | Record<string, number> | undefined): string[] => (Array.isArray(v) ? v : v ? Object.keys(v) : []);

function describeFindings(fs: Finding[]): string {
  return fs.map((f) => `${f.subject.ip ?? '-'}:${f.subject.port ?? '-'} ${f.transport} ${f.confidence} [${f.signals.map((s) => s.signatureId).join(',')}] ${f.subject.names.join(',')}`).join('\n');
}

const entries = readManifest();

describe('accuracy over fixtures/manifest.json', () => {
  it('has a manifest with MCP captures and look-alikes', () => {
    expect(entries.filter((e) => e.mcp).length).toBeGreaterThan(10);
    expect(entries.filter((e) => !e.mcp).length).toBeGreaterThan(5);
  });

  for (const entry of entries) {
    it(`${entry.file}: ${entry.mcp ? 'finds every MCP server' : 'look-alike, no finding'}`, async () => {
      const { scanFiles } = await import('../src/pipeline/scan.js');
      const report = await scanFiles([resolveFixture(entry.file)], {});
      const findings = report.findings;
      if (!entry.mcp) {
        expect(describeFindings(findings)).toBe('');
        return;
      }
      expect(findings.length).toBeGreaterThan(0);
      const wantNames = [...(entry.names ?? [])].map((n) => n.toLowerCase());
      for (const srv of entry.servers ?? []) {
        const named = [srv.name, srv.host].filter((n): n is string => !!n).map((n) => n.toLowerCase());
        const hit = findings.find((f) => {
          // A DNS-only sighting has no endpoint: it is known by the name queried.
          if (srv.transport === 'dns-only' || srv.ip === undefined) {
            const names = named.length > 0 ? named : wantNames;
            return f.subject.ip === undefined && f.subject.names.some((n) => names.includes(n));
          }
          return f.subject.ip === srv.ip && (srv.port === undefined || f.subject.port === srv.port);
        });
        expect(hit, `server ${JSON.stringify(srv)} not among:\n${describeFindings(findings)}`).toBeDefined();
        if (srv.transport !== undefined) expect(hit!.transport).toBe(srv.transport);
      }
      const seenNames = new Set(findings.flatMap((f) => f.subject.names));
      for (const n of wantNames) expect(seenNames, `name ${n}`).toContain(n);
      for (const srv of entry.noise?.servers ?? []) {
        const hit = findings.find((f) => f.subject.ip === srv.ip && (srv.port === undefined || f.subject.port === srv.port));
        expect(hit, `noise server ${srv.ip}:${srv.port} flagged`).toBeUndefined();
      }
      for (const n of entry.noise?.names ?? []) expect(seenNames, `noise name ${n}`).not.toContain(n.toLowerCase());
      const clientIps = new Set(findings.flatMap((f) => f.clients.map((c) => c.ip)));
      for (const c of entry.clients ?? []) expect(clientIps, `client ${JSON.stringify(c)}`).toContain(typeof c === 'string' ? c : c.ip);
      const methods = new Set(findings.flatMap((f) => Object.keys(f.methods)));
      for (const m of names(entry.methods)) expect(methods, `method ${m}`).toContain(m);
      const tools = new Set(findings.flatMap((f) => Object.keys(f.tools)));
      for (const t of names(entry.tools)) expect(tools, `tool ${t}`).toContain(t);
    });
  }
});
