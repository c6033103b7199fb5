// Cross-check our decoder against an independent one: for every capture in fixtures/manifest.json, the HTTP
// request lines, Host values, response codes, DNS question names and TLS SNIs that tshark decodes must equal
// (as multisets) what src/pipeline/capture.ts produces.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Message } from '../src/protocols/messages.js';
import { FIXTURES_DIR, fixturePath, loadManifest, MANIFEST_PATH, type ManifestTransport } from './support/manifest.js';
import { tsharkAvailable, tsharkFields, type TsharkFields } from './support/tshark.js';

const sorted = <T extends string | number>(xs: T[]): T[] => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function fieldsFromMessages(messages: Message[]): TsharkFields {
  const out: TsharkFields = { httpRequests: [], hosts: [], responseCodes: [], dnsQueries: [], dnsResponses: [], snis: [] };
  for (const m of messages) {
    switch (m.kind) {
      case 'http.request':
        out.httpRequests.push(`${m.method} ${m.target}`);
        for (const [name, value] of m.headers) if (name === 'host') out.hosts.push(value);
        break;
      case 'http.response':
        out.responseCodes.push(m.status);
        break;
      case 'dns':
        (m.response ? out.dnsResponses : out.dnsQueries).push(...m.questions.map((q) => q.name));
        break;
      case 'tls.client_hello':
        if (m.sni !== undefined) out.snis.push(m.sni);
        break;
      default:
        break;
    }
  }
  return {
    httpRequests: sorted(out.httpRequests),
    hosts: sorted(out.hosts),
    responseCodes: sorted(out.responseCodes),
    dnsQueries: sorted(out.dnsQueries),
    dnsResponses: sorted(out.dnsResponses),
    snis: sorted(out.snis),
  };
}

// Captures where tshark needs body reassembly to keep HTTP message sync (see TsharkOptions.desegmentBody).
const DESEGMENT_BODY = new Set(['pcap/evasion-tcp-out-of-order.pcapng']);

const haveTshark = tsharkAvailable();
const haveManifest = existsSync(MANIFEST_PATH);
const entries = haveManifest ? loadManifest().fixtures : [];

describe.skipIf(!haveTshark || !haveManifest)('tshark cross-check over fixtures/manifest.json', () => {
  for (const entry of entries) {
    it(`${entry.file}: ${entry.description}`, async () => {
      const file = fixturePath(entry);
      const { collectMessages } = await import('../src/pipeline/capture.js');
      const [theirs, messages] = await Promise.all([
        tsharkFields(file, { desegmentBody: DESEGMENT_BODY.has(entry.file) }),
        collectMessages(file),
      ]);
      const ours = fieldsFromMessages(messages);
      // The fixture must give tshark something to agree on, or the comparison proves nothing.
      const total = Object.values(theirs).reduce((n, list) => n + list.length, 0);
      if (entry.httpPorts.length > 0 || entry.names.length > 0) expect(total).toBeGreaterThan(0);
      expect({ file: entry.file, ...ours }).toEqual({ file: entry.file, ...theirs });
    });
  }
});

if (!haveTshark || !haveManifest) {
  describe('tshark cross-check (skipped)', () => {
    it.skip(
      !haveTshark
        ? 'tshark is not installed (apt-get install tshark): the decoder cross-check did not run'
        : `no ${MANIFEST_PATH}: the decoder cross-check did not run`,
      () => {},
    );
  });
}

// The harness itself: tshark's view of fixtures whose content we know from how they were made.
describe.skipIf(!haveTshark || !haveManifest)('tsharkFields', () => {
  const byFile = (name: string) => fixturePath(entries.find((e) => e.file.endsWith(name))!);

  it('splits DNS queries from responses, UDP and TCP alike', async () => {
    const f = await tsharkFields(byFile('dns-mcp-names.pcapng'));
    const names = ['api.github.com', 'mcp.linear.app', 'registry.modelcontextprotocol.io', 'server.smithery.ai', 'www.example.org'];
    expect(f.dnsQueries).toEqual(names);
    expect(f.dnsResponses).toEqual(names);
    expect(f.httpRequests).toEqual([]);
  });

  it('reads the SNI of a ClientHello split over four segments', async () => {
    expect((await tsharkFields(byFile('evasion-tls-clienthello-split.pcapng'))).snis).toEqual(['mcp.linear.app']);
  });

  it('reads a stateful Streamable HTTP session on port 3000', async () => {
    const f = await tsharkFields(byFile('sdk-streamable-json-stateful.pcapng'));
    // initialize, notifications/initialized, tools/list, tools/call x2, then DELETE; plus the GET stream
    expect(f.httpRequests).toEqual(['DELETE /mcp', 'GET /mcp', 'POST /mcp', 'POST /mcp', 'POST /mcp', 'POST /mcp', 'POST /mcp']);
    expect(f.responseCodes.filter((c) => c === 202)).toHaveLength(1);
    expect(new Set(f.hosts)).toEqual(new Set(['10.99.2.10:3000']));
  });

  it('finds no HTTP in LSP Content-Length framing', async () => {
    const f = await tsharkFields(byFile('lookalike-lsp-tcp.pcapng'));
    expect(f.httpRequests).toEqual([]);
    expect(f.responseCodes).toEqual([]);
  });

  it('sees request lines through chunked, gzip and out-of-order bodies', async () => {
    for (const name of ['evasion-chunked-bodies.pcapng', 'evasion-gzip-bodies.pcapng', 'evasion-tcp-out-of-order.pcapng']) {
      const f = await tsharkFields(byFile(name), { desegmentBody: name.includes('out-of-order') });
      expect(f.httpRequests.filter((r) => r === 'POST /mcp').length, name).toBeGreaterThanOrEqual(4);
      expect(f.httpRequests, name).toContain('DELETE /mcp');
    }
  });
});

describe.skipIf(!haveManifest)('fixture set', () => {
  const TRANSPORTS: ManifestTransport[] = ['streamable-http', 'legacy-sse', 'websocket', 'ndjson-tcp', 'tls', 'dns-only'];

  it('has every listed capture, each small, the set under 5 MB', () => {
    let total = 0;
    for (const e of entries) {
      const size = statSync(fixturePath(e)).size;
      expect(size, e.file).toBeLessThan(1 << 20);
      total += size;
    }
    expect(total).toBeLessThan(5 << 20);
    expect(statSync(join(FIXTURES_DIR, 'sample', 'demo.pcapng')).size).toBeLessThan(500 << 10);
  });

  it('describes MCP captures with servers, clients and known transports, look-alikes with none', () => {
    for (const e of entries) {
      if (!e.mcp) {
        expect([e.servers, e.clients, e.methods, e.tools, e.names].flat(), e.file).toEqual([]);
        continue;
      }
      expect(e.servers.length, e.file).toBeGreaterThan(0);
      expect(e.clients.length, e.file).toBeGreaterThan(0);
      for (const s of e.servers) {
        expect(TRANSPORTS, e.file).toContain(s.transport);
        expect(s.port === 0, `${e.file} ${s.ip}`).toBe(s.transport === 'dns-only');
        if (s.transport === 'dns-only') expect(e.names, e.file).toContain(s.name);
      }
      if (e.methods.length > 0) expect(e.methods, e.file).toContain('initialize');
    }
  });

  // The manifest against the wire, by tshark alone (fixtures/make/wire-summary.mjs): connections, every
  // JSON-RPC method, tools called, DNS answers, SNIs, hosts, and no TCP stream cut short.
  it.skipIf(!haveTshark)('matches what tshark finds on the wire', async () => {
    const script = join(FIXTURES_DIR, 'make', 'wire-summary.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--check', MANIFEST_PATH], { maxBuffer: 16 << 20 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }),
    );
    expect(stdout.split('\n').filter((l) => l && !l.startsWith('ok ')).join('\n')).toBe('');
  });
});
