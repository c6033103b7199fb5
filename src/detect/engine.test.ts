import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Anomalies } from '../core/anomalies.js';
import { BoundedMap } from './bounded-map.js';
import { Detector } from './engine.js';
import { parseApproved } from './approved.js';
import { loadSignatures } from './signatures/load.js';
import type { SignatureSet } from './signatures/types.js';
import type { FieldValue, Observation, ObservationKind } from './observation.js';

let set: SignatureSet;
beforeAll(async () => {
  set = await loadSignatures();
});

const CLIENT = { ip: '10.0.0.2', port: 50000 };
let frame = 0;
function obs(
  kind: ObservationKind,
  fields: Record<string, FieldValue>,
  server: { ip: string; port: number } | undefined,
  flowId?: number,
  client = CLIENT,
): Observation {
  frame++;
  return { kind, fields, ts: 1000 + frame, source: { kind: 'pcap', file: 't.pcap', frame, format: 'pcap' }, client, server, flowId };
}

const SRV = { ip: '10.0.0.5', port: 8000 };

function streamableSession(d: Detector, srv = SRV): void {
  d.add(obs('conn', { 'conn.proto': 'tcp', 'conn.dst_port': srv.port, 'conn.dst_ip': srv.ip }, srv, 1));
  d.add(obs('http.request', {
    'http.request.method': 'POST', 'http.request.path': '/mcp', 'http.request.host': 'tools.corp.example',
    'http.request.user_agent': 'node', 'http.request.header.accept': 'application/json, text/event-stream',
    'http.request.header_names': ['host', 'accept', 'user-agent'],
  }, srv, 1));
  d.add(obs('jsonrpc', {
    'jsonrpc.type': 'request', 'jsonrpc.method': 'initialize', 'jsonrpc.transport': 'http-request',
    'jsonrpc.params': { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'claude-code', version: '2.1.0' } },
    'http.request.method': 'POST', 'http.request.path': '/mcp',
  }, srv, 1));
  d.add(obs('http.response', {
    'http.response.status': 200, 'http.response.content_type': 'application/json',
    'http.response.header.mcp-session-id': 'abc123', 'http.response.header_names': ['mcp-session-id'],
    'http.request.method': 'POST', 'http.request.path': '/mcp',
  }, srv, 1));
  d.add(obs('jsonrpc', {
    'jsonrpc.type': 'response', 'jsonrpc.transport': 'http-response',
    'jsonrpc.result': { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'demo-server', version: '1.2.3' } },
  }, srv, 1));
  for (const tool of ['search', 'search', 'fetch']) {
    d.add(obs('jsonrpc', {
      'jsonrpc.type': 'request', 'jsonrpc.method': 'tools/call', 'jsonrpc.transport': 'http-request',
      'jsonrpc.params': { name: tool, arguments: {} }, 'http.request.path': '/mcp',
    }, srv, 2));
  }
}

describe('Detector', () => {
  it('counts names it cannot keep instead of dropping them silently', () => {
    const anomalies = new Anomalies();
    const d = new Detector(set, { anomalies, limits: { detectMaxNames: 2 } });
    for (const host of ['a.corp.example', 'b.corp.example', 'c.corp.example', 'd.corp.example']) {
      d.add(obs('http.request', {
        'http.request.method': 'POST', 'http.request.path': '/mcp', 'http.request.host': host,
        'http.request.header.mcp-protocol-version': '2025-06-18', 'http.request.header_names': ['mcp-protocol-version'],
      }, SRV, 7));
    }
    const f = d.findings().find((x) => x.subject.ip === SRV.ip)!;
    expect(f.subject.names).toHaveLength(2);
    expect(anomalies.count('detect.names_cap_hit')).toBe(2);
  });

  it('keeps flow contexts per capture file (flow ids restart in each file)', () => {
    const d = new Detector(set);
    // File a.pcap, flow 1: a plain HTTP request carrying a Host name; no MCP.
    const a = obs('http.request', { 'http.request.method': 'GET', 'http.request.path': '/', 'http.request.host': 'www.other.example' }, { ip: '10.9.9.9', port: 80 }, 1);
    d.add({ ...a, source: { ...a.source, file: 'a.pcap' } });
    // File b.pcap, flow 1 again: an MCP request with no Host header.
    const b = obs('jsonrpc', {
      'jsonrpc.type': 'request', 'jsonrpc.method': 'tools/list', 'jsonrpc.transport': 'http-request',
    }, SRV, 1);
    d.add({ ...b, source: { ...b.source, file: 'b.pcap' } });
    const found = d.findings().find((f) => f.subject.ip === SRV.ip)!;
    expect(found).toBeDefined();
    expect(found.subject.names).not.toContain('www.other.example');
  });

  it('correlates a Streamable HTTP session into one finding', () => {
    const d = new Detector(set);
    streamableSession(d);
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.subject.ip).toBe('10.0.0.5');
    expect(f.subject.port).toBe(8000);
    expect(f.subject.names).toContain('tools.corp.example');
    expect(f.transport).toBe('streamable-http');
    expect(f.server).toEqual({ name: 'demo-server', version: '1.2.3', protocolVersion: '2025-06-18' });
    expect(f.methods).toEqual({ initialize: 1, 'tools/call': 3 });
    expect(f.tools).toEqual({ fetch: 1, search: 2 });
    expect(f.clients).toEqual([{ ip: '10.0.0.2', name: 'claude-code', version: '2.1.0', userAgent: 'node' }]);
    expect(f.paths).toEqual(['/mcp']);
    expect(f.confidence).toBe('high');
    expect(f.approved).toBe(false);
    const ids = f.signals.map((s) => s.signatureId);
    expect(ids).toEqual(expect.arrayContaining(['mcp.jsonrpc.initialize', 'mcp.http.session_header', 'mcp.jsonrpc.method', 'mcp.jsonrpc.initialize_result']));
    const method = f.signals.find((s) => s.signatureId === 'mcp.jsonrpc.method')!;
    expect(method.count).toBe(3);
    expect(method.evidence.length).toBeLessThanOrEqual(3);
    expect(method.evidence[0].detail).toContain('tools/call');
    expect(f.firstSeen).toBeLessThan(f.lastSeen);
  });

  it('gives stable ids and deterministic order', () => {
    const a = new Detector(set);
    const b = new Detector(set);
    streamableSession(a, { ip: '10.0.0.9', port: 3000 });
    streamableSession(a);
    streamableSession(b);
    streamableSession(b, { ip: '10.0.0.9', port: 3000 });
    const fa = a.findings();
    const fb = b.findings();
    expect(fa.map((f) => f.id)).toEqual(fb.map((f) => f.id));
    expect(new Set(fa.map((f) => f.id)).size).toBe(2);
    expect(fa[0].id).toMatch(/^[0-9a-f]{12}$/);
    // findings() does not change state
    expect(a.findings()).toEqual(fa);
  });

  it('folds a legacy HTTP+SSE session (GET stream + POST flows) into one legacy-sse finding', () => {
    const d = new Detector(set);
    const srv = { ip: '192.168.1.20', port: 3001 };
    d.add(obs('http.request', { 'http.request.method': 'GET', 'http.request.path': '/sse', 'http.request.header.accept': 'text/event-stream' }, srv, 10));
    d.add(obs('sse.event', { 'sse.event': 'endpoint', 'sse.index': 0, 'sse.data': '/messages?sessionId=3b9e1c2d-0000-4000-8000-123456789abc', 'http.request.method': 'GET', 'http.request.path': '/sse' }, srv, 10));
    d.add(obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'tools/list', 'jsonrpc.transport': 'http-request', 'http.request.method': 'POST', 'http.request.path': '/messages' }, srv, 11));
    d.add(obs('http.response', { 'http.response.status': 202, 'http.request.method': 'POST', 'http.request.path': '/messages', 'http.response.body': 'Accepted' }, srv, 11));
    d.add(obs('jsonrpc', { 'jsonrpc.type': 'response', 'jsonrpc.transport': 'sse', 'jsonrpc.result': { tools: [] } }, srv, 10));
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    expect(fs[0].transport).toBe('legacy-sse');
    expect(fs[0].paths).toEqual(['/messages', '/sse']);
    expect(fs[0].methods).toEqual({ 'tools/list': 1 });
  });

  it('reports WebSocket and NDJSON transports', () => {
    const d = new Detector(set);
    const ws = { ip: '10.1.1.1', port: 9000 };
    const nd = { ip: '10.1.1.2', port: 7000 };
    d.add(obs('http.request', { 'http.request.method': 'GET', 'http.request.path': '/ws', 'http.request.header.sec-websocket-protocol': 'mcp' }, ws, 20));
    d.add(obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'tools/list', 'jsonrpc.transport': 'ws' }, ws, 20));
    d.add(obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'resources/read', 'jsonrpc.transport': 'ndjson' }, nd, 21));
    const byIp = Object.fromEntries(d.findings().map((f) => [f.subject.ip, f.transport]));
    expect(byIp).toEqual({ '10.1.1.1': 'websocket', '10.1.1.2': 'ndjson-tcp' });
  });

  it('reports a DNS-only sighting of a hosted MCP name, and folds it into the endpoint later contacted', () => {
    const only = new Detector(set);
    only.add(obs('dns', { 'dns.query.name': 'mcp.asana.com', 'dns.query.type': 'A' }, { ip: '10.0.0.53', port: 53 }));
    const f1 = only.findings();
    expect(f1).toHaveLength(1);
    expect(f1[0].transport).toBe('dns-only');
    expect(f1[0].subject.ip).toBeUndefined();
    expect(f1[0].subject.names).toEqual(['mcp.asana.com']);
    expect(f1[0].subject.domain).toBe('mcp.asana.com');
    expect(f1[0].confidence).toBe('high');

    const d = new Detector(set);
    d.add(obs('dns', { 'dns.query.name': 'mcp.asana.com', 'dns.answer.address': ['203.0.113.7'] }, { ip: '10.0.0.53', port: 53 }));
    d.add(obs('conn', { 'conn.proto': 'tcp', 'conn.dst_port': 443 }, { ip: '203.0.113.7', port: 443 }, 30));
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    expect(fs[0].subject.ip).toBe('203.0.113.7');
    expect(fs[0].subject.port).toBe(443);
    expect(fs[0].subject.names).toEqual(['mcp.asana.com']);
    expect(fs[0].signals.map((s) => s.signatureId)).toContain('mcp.name.hosted_server');
  });

  it('folds a DNS sighting into the endpoint reached under that name even without answer addresses', () => {
    const d = new Detector(set);
    d.add(obs('dns', { 'dns.query.name': 'mcp.linear.app', 'dns.query.type': 'A' }, { ip: '10.0.0.53', port: 53 }));
    d.add(obs('tls.client_hello', { 'tls.sni': 'mcp.linear.app' }, { ip: '198.51.100.44', port: 443 }, 41));
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    expect(fs[0].subject).toMatchObject({ ip: '198.51.100.44', port: 443, names: ['mcp.linear.app'], domain: 'mcp.linear.app' });
    expect(fs[0].signals.find((s) => s.signatureId === 'mcp.name.hosted_server')!.count).toBe(2);
  });

  it('reports an SNI-only sighting as a tls finding named by the SNI', () => {
    const d = new Detector(set);
    d.add(obs('tls.client_hello', { 'tls.sni': 'mcp.notion.com', 'tls.alpn': ['h2', 'http/1.1'] }, { ip: '198.51.100.4', port: 443 }, 40));
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    expect(fs[0].transport).toBe('tls');
    expect(fs[0].subject).toMatchObject({ ip: '198.51.100.4', port: 443, names: ['mcp.notion.com'] });
  });

  it('makes a low finding from a dev-tool port alone, none from a generic port alone', () => {
    const d = new Detector(set);
    d.add(obs('conn', { 'conn.proto': 'tcp', 'conn.dst_port': 6274 }, { ip: '10.9.9.9', port: 6274 }));
    d.add(obs('conn', { 'conn.proto': 'tcp', 'conn.dst_port': 8080 }, { ip: '10.9.9.8', port: 8080 }));
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    expect(fs[0].subject.port).toBe(6274);
    expect(fs[0].confidence).toBe('low');
    expect(fs[0].transport).toBe('conn-only');
  });

  it('needs two medium supporting signals: mcp.* host alone is nothing, with /mcp it is a medium finding', () => {
    const d = new Detector(set);
    const srv = { ip: '10.2.2.2', port: 443 };
    d.add(obs('http.request', { 'http.request.method': 'GET', 'http.request.path': '/api/users', 'http.request.host': 'mcp.example.com' }, srv, 50));
    expect(d.findings()).toEqual([]);
    d.add(obs('http.request', { 'http.request.method': 'POST', 'http.request.path': '/mcp', 'http.request.host': 'mcp.example.com' }, srv, 51));
    const fs = d.findings();
    expect(fs).toHaveLength(1);
    expect(fs[0].confidence).toBe('medium');
    expect(fs[0].score).toBeCloseTo(0.75, 5);
    expect(fs[0].transport).toBe('http');
  });

  it('raises confidence with independent signals', () => {
    const d = new Detector(set);
    const srv = { ip: '10.3.3.3', port: 6277 };
    d.add(obs('conn', { 'conn.proto': 'tcp', 'conn.dst_port': 6277 }, srv, 60));
    const low = d.findings()[0].score;
    d.add(obs('http.request', { 'http.request.method': 'POST', 'http.request.path': '/mcp' }, srv, 60));
    const mid = d.findings()[0].score;
    d.add(obs('http.request', { 'http.request.method': 'POST', 'http.request.path': '/mcp', 'http.request.header.mcp-session-id': 'x' }, srv, 60));
    const high = d.findings()[0];
    expect(low).toBeCloseTo(0.25, 5);
    expect(mid).toBeGreaterThan(low);
    expect(high.score).toBeGreaterThan(mid);
    expect(high.confidence).toBe('high');
  });

  it('marks findings matched by the approved registry', () => {
    const approved = parseApproved({ servers: [{ ip: '10.0.0.5', port: 8000 }], domains: ['corp.example'] });
    const d = new Detector(set, { approved });
    streamableSession(d);
    streamableSession(d, { ip: '10.0.0.6', port: 8000 });
    const fs = d.findings();
    const a = fs.find((f) => f.subject.ip === '10.0.0.5')!;
    expect(a.approved).toBe(true);
    expect(a.approvedBy).toBe('server 10.0.0.5:8000');
    // 10.0.0.6 was reached by Host tools.corp.example: the domain entry covers it.
    const b = fs.find((f) => f.subject.ip === '10.0.0.6')!;
    expect(b.approvedBy).toBe('domain corp.example');
    const other = new Detector(set, { approved: parseApproved({ ranges: ['192.168.0.0/16'] }) });
    streamableSession(other);
    expect(other.findings()[0].approved).toBe(false);
  });

  it('keeps memory bounded: subjects, clients, evidence and methods are capped and counted', () => {
    const anomalies = new Anomalies();
    const d = new Detector(set, { anomalies, limits: { detectMaxSubjects: 3, detectMaxClients: 2, detectMaxMethods: 2, detectEvidencePerSignal: 1 } });
    for (let i = 0; i < 5; i++) {
      d.add(obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'tools/call', 'jsonrpc.transport': 'ndjson', 'jsonrpc.params': { name: `t${i}` } }, { ip: `10.8.0.${i}`, port: 7000 }, 90 + i));
    }
    for (let i = 0; i < 4; i++) {
      d.add(obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': i % 2 ? 'tools/list' : 'prompts/list', 'jsonrpc.transport': 'ndjson' }, { ip: '10.8.0.0', port: 7000 }, 90, { ip: `10.0.1.${i}`, port: 1 }));
    }
    d.add(obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'resources/list', 'jsonrpc.transport': 'ndjson' }, { ip: '10.8.0.0', port: 7000 }, 90));
    const fs = d.findings();
    expect(fs).toHaveLength(3);
    expect(anomalies.count('detect.subjects_cap_hit')).toBe(2);
    const f = fs.find((x) => x.subject.ip === '10.8.0.0')!;
    expect(f.clients).toHaveLength(2);
    expect(Object.keys(f.methods)).toHaveLength(2);
    expect(anomalies.count('detect.method_cap_hit')).toBeGreaterThan(0);
    for (const sig of f.signals) expect(sig.evidence.length).toBeLessThanOrEqual(1);
    expect(f.signals.find((x) => x.signatureId === 'mcp.jsonrpc.method')!.count).toBe(6);
  });

  it('log observations: a firewall conn line to an Inspector port, a DNS log line folded into the endpoint', () => {
    const d = new Detector(set);
    const log = (line: number, kind: ObservationKind, fields: Record<string, FieldValue>, client?: { ip: string; port: number }): Observation =>
      ({ kind, fields, ts: 2000 + line, source: { kind: 'log', file: 'fw.log', line, format: 'iptables' }, client });
    d.add(log(1, 'dns', { 'dns.query.name': 'registry.modelcontextprotocol.io', 'dns.answer.address': ['198.51.100.9'] }, { ip: '10.0.0.7', port: 0 }));
    d.add(log(2, 'conn', { 'conn.proto': 'tcp', 'conn.src_ip': '10.0.0.7', 'conn.dst_ip': '198.51.100.9', 'conn.dst_port': 443 }));
    d.add(log(3, 'conn', { 'conn.proto': 'tcp', 'conn.src_ip': '10.0.0.8', 'conn.dst_ip': '10.0.0.99', 'conn.dst_port': 6274 }));
    const fs = d.findings();
    const reg = fs.find((f) => f.subject.ip === '198.51.100.9')!;
    expect(reg).toBeDefined();
    expect(reg.subject.port).toBe(443);
    expect(reg.subject.names).toEqual(['registry.modelcontextprotocol.io']);
    expect(reg.sources).toEqual(['log']);
    expect(reg.clients.map((c) => c.ip)).toEqual(['10.0.0.7']);
    expect(reg.signals[0].evidence[0].source.line).toBe(1);
    const insp = fs.find((f) => f.subject.port === 6274)!;
    expect(insp).toMatchObject({ confidence: 'low', transport: 'conn-only', subject: { ip: '10.0.0.99' } });
    expect(insp.clients).toEqual([{ ip: '10.0.0.8' }]);
    expect(fs).toHaveLength(2);
  });

  it('never throws on arbitrary field values', () => {
    const kinds: ObservationKind[] = ['conn', 'http.request', 'http.response', 'sse.event', 'ws.text', 'jsonrpc', 'dns', 'tls.client_hello'];
    const names = ['jsonrpc.method', 'jsonrpc.params', 'jsonrpc.result', 'jsonrpc.transport', 'dns.query.name', 'dns.answer.address', 'tls.sni',
      'http.request.host', 'http.request.path', 'http.request.header_names', 'http.request.header.mcp-session-id', 'conn.dst_port', 'conn.dst_ip', 'sse.event', 'sse.index', 'sse.data'];
    const value = fc.oneof(fc.jsonValue(), fc.constantFrom('tools/call', 'initialize', 'mcp.asana.com', 'endpoint', 6274), fc.array(fc.string()));
    const d = new Detector(set);
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.dictionary(fc.constantFrom(...names), value), fc.option(fc.record({ ip: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) }), { nil: undefined }), (kind, fields, server) => {
        d.add(obs(kind, fields as Record<string, FieldValue>, server, 1));
        expect(() => d.findings()).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('BoundedMap keeps recent keys and drops old generations', () => {
    const m = new BoundedMap<number, number>(4);
    for (let i = 0; i < 100; i++) m.set(i, i);
    expect(m.size).toBeLessThanOrEqual(4);
    expect(m.get(99)).toBe(99);
    expect(m.get(0)).toBeUndefined();
    m.set(1000, 1);
    m.get(98); // promoted from the older generation survives the next drop
    m.set(1001, 1);
    m.set(1002, 1);
    expect(m.get(98)).toBe(98);
  });

  describe('look-alikes produce no finding', () => {
    const srv = { ip: '10.4.4.4', port: 8545 };
    const cases: Array<[string, Observation[]]> = [
      ['Ethereum JSON-RPC', [
        obs('http.request', { 'http.request.method': 'POST', 'http.request.path': '/', 'http.request.header.content-type': 'application/json' }, srv, 70),
        obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'eth_blockNumber', 'jsonrpc.transport': 'http-request', 'jsonrpc.params': [] }, srv, 70),
        obs('jsonrpc', { 'jsonrpc.type': 'response', 'jsonrpc.transport': 'http-response', 'jsonrpc.result': '0x10d4f' }, srv, 70),
      ]],
      ['LSP over TCP', [
        obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'initialize', 'jsonrpc.transport': 'ndjson', 'jsonrpc.params': { processId: null, rootUri: 'file:///w', capabilities: {}, clientInfo: { name: 'Visual Studio Code', version: '1.90.0' } } }, { ip: '127.0.0.1', port: 2087 }, 71),
        obs('jsonrpc', { 'jsonrpc.type': 'response', 'jsonrpc.transport': 'ndjson', 'jsonrpc.result': { capabilities: { hoverProvider: true }, serverInfo: { name: 'pylsp', version: '1.0' } } }, { ip: '127.0.0.1', port: 2087 }, 71),
        obs('jsonrpc', { 'jsonrpc.type': 'notification', 'jsonrpc.method': 'initialized', 'jsonrpc.transport': 'ndjson', 'jsonrpc.params': {} }, { ip: '127.0.0.1', port: 2087 }, 71),
        obs('jsonrpc', { 'jsonrpc.type': 'notification', 'jsonrpc.method': 'textDocument/didOpen', 'jsonrpc.transport': 'ndjson' }, { ip: '127.0.0.1', port: 2087 }, 71),
      ]],
      ['chat-completion SSE mentioning tools/call', [
        obs('http.request', { 'http.request.method': 'POST', 'http.request.path': '/v1/chat/completions', 'http.request.host': 'api.openai.com', 'http.request.header.accept': 'text/event-stream' }, { ip: '162.159.140.245', port: 80 }, 72),
        obs('sse.event', { 'sse.event': 'message', 'sse.index': 0, 'sse.data': '{"choices":[{"delta":{"content":"use \\"method\\":\\"tools/call\\" to call"}}]}' }, { ip: '162.159.140.245', port: 80 }, 72),
      ]],
      ['generic SSE on /sse', [
        obs('http.request', { 'http.request.method': 'GET', 'http.request.path': '/sse', 'http.request.header.accept': 'text/event-stream' }, { ip: '10.5.5.5', port: 8080 }, 73),
        obs('sse.event', { 'sse.event': 'tick', 'sse.index': 0, 'sse.data': 'x' }, { ip: '10.5.5.5', port: 8080 }, 73),
      ]],
      ['slash-named JSON-RPC API', [
        obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'user/get', 'jsonrpc.transport': 'http-request' }, { ip: '10.6.6.6', port: 80 }, 74),
        obs('jsonrpc', { 'jsonrpc.type': 'request', 'jsonrpc.method': 'orders/list', 'jsonrpc.transport': 'http-request' }, { ip: '10.6.6.6', port: 80 }, 74),
      ]],
      ['mcp.* host serving REST', [
        obs('tls.client_hello', { 'tls.sni': 'mcp.example.org' }, { ip: '10.7.7.7', port: 443 }, 75),
        obs('dns', { 'dns.query.name': 'mcp.example.org', 'dns.answer.address': ['10.7.7.7'] }, { ip: '10.0.0.53', port: 53 }),
        obs('http.request', { 'http.request.method': 'GET', 'http.request.path': '/api/v1/items', 'http.request.host': 'mcp.example.org' }, { ip: '10.7.7.7', port: 443 }, 75),
      ]],
      ['ordinary HTTPS', [
        obs('conn', { 'conn.proto': 'tcp', 'conn.dst_port': 443 }, { ip: '93.184.216.34', port: 443 }, 76),
        obs('tls.client_hello', { 'tls.sni': 'www.example.com', 'tls.alpn': ['h2'] }, { ip: '93.184.216.34', port: 443 }, 76),
      ]],
    ];
    for (const [name, list] of cases) {
      it(name, () => {
        const d = new Detector(set);
        for (const o of list) d.add(o);
        expect(d.findings()).toEqual([]);
      });
    }
  });
});
