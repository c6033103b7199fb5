import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { AuditTrail, requestTarget, sessionFromTarget } from '../../src/audit/trail.js';
import type { AuditRecord, DlpHit } from '../../src/audit/types.js';
import type { FlowRef } from '../../src/flows/types.js';
import type { JsonRpcMessage, SseEvent } from '../../src/protocols/messages.js';

let nextFlow = 1;
function flow(clientPort: number, server = { ip: '10.0.0.1', port: 3000 }, clientIp = '10.0.0.2'): FlowRef {
  return { id: nextFlow++, proto: 'tcp', client: { ip: clientIp, port: clientPort }, server, vlan: [], rolesBy: 'handshake', firstFrame: 1, firstTs: 0 };
}
let frame = 1;
function rpc(f: FlowRef, dir: 'c2s' | 's2c', ts: number, m: Partial<JsonRpcMessage>, target = '/mcp'): JsonRpcMessage {
  return {
    kind: 'jsonrpc', carrier: dir === 'c2s' ? 'http-request' : 'sse', type: 'request', flow: f, dir, frame: frame++, ts,
    http: { method: dir === 'c2s' ? 'POST' : 'GET', target, host: '10.0.0.1:3000' }, ...m,
  };
}
const req = (f: FlowRef, ts: number, id: number, method: string, params?: unknown, target?: string) =>
  rpc(f, 'c2s', ts, { type: 'request', id, method, params }, target);
const res = (f: FlowRef, ts: number, id: number, result: unknown, target?: string) =>
  rpc(f, 's2c', ts, { type: 'response', id, result }, target);

function collect(opts: { window?: number } = {}) {
  const records: AuditRecord[] = [];
  const hits: DlpHit[] = [];
  const anomalies = new Anomalies();
  const trail = new AuditTrail({
    onRecord: (r) => records.push(r), onHit: (h) => hits.push(h), anomalies,
    limits: opts.window ? { auditPairWindowSeconds: opts.window } : undefined,
  });
  return { trail, records, hits, anomalies };
}

describe('helpers', () => {
  it('session ids from legacy SSE targets', () => {
    expect(sessionFromTarget('/messages?sessionId=abc-1')).toBe('abc-1');
    expect(sessionFromTarget('/messages/?session_id=9f%2F1')).toBe('9f/1');
    expect(sessionFromTarget('/mcp')).toBeUndefined();
    expect(sessionFromTarget('/x?foo=1&sessionId=z')).toBe('z');
  });
  it('request targets', () => {
    expect(requestTarget('tools/call', { name: 'search', arguments: {} })).toBe('search');
    expect(requestTarget('resources/read', { uri: 'file:///etc/passwd' })).toBe('file:///etc/passwd');
    expect(requestTarget('prompts/get', { name: 'review' })).toBe('review');
    expect(requestTarget('completion/complete', { ref: { type: 'ref/prompt', name: 'p' } })).toBe('p');
    expect(requestTarget('tools/list', {})).toBeUndefined();
  });
});

describe('pairing', () => {
  it('Streamable HTTP: answers on the same flow, names from initialize', () => {
    const { trail, records } = collect();
    const f1 = flow(5001);
    const f2 = flow(5002);
    trail.add(req(f1, 1, 0, 'initialize', { protocolVersion: '2025-11-25', clientInfo: { name: 'cursor', version: '1.2' } }));
    trail.add(res(f1, 1.01, 0, { serverInfo: { name: 'srv', version: '9' } }));
    // Two requests in flight with the same id on two connections (two sessions from one host): each pairs on its own flow.
    trail.add(req(f1, 2, 1, 'tools/call', { name: 'a', arguments: { x: 1 } }));
    trail.add(req(f2, 2.1, 1, 'tools/call', { name: 'b', arguments: { y: 2 } }));
    trail.add(res(f2, 2.2, 1, { content: [{ type: 'text', text: 'bbbb' }] }));
    trail.add(res(f1, 2.3, 1, { content: [{ type: 'text', text: 'a' }], isError: true }));
    trail.finish();
    expect(records.map((r) => [r.method, r.target, r.status, r.resultBytes, r.durationMs])).toEqual([
      ['initialize', undefined, 'ok', JSON.stringify({ serverInfo: { name: 'srv', version: '9' } }).length, 10],
      ['tools/call', 'b', 'ok', JSON.stringify({ content: [{ type: 'text', text: 'bbbb' }] }).length, 100],
      ['tools/call', 'a', 'tool-error', JSON.stringify({ content: [{ type: 'text', text: 'a' }], isError: true }).length, 300],
    ]);
    expect(records[2].client).toMatchObject({ ip: '10.0.0.2', name: 'cursor', version: '1.2' });
    expect(records[2].server).toMatchObject({ ip: '10.0.0.1', port: 3000, name: 'srv', host: '10.0.0.1:3000' });
    expect(records[2].args).toBe('{"x":1}');
  });

  it('legacy HTTP+SSE: answers on the GET stream, told apart by session when ids repeat', () => {
    const { trail, records, anomalies } = collect();
    const getA = flow(6001);
    const getB = flow(6002);
    const post = flow(6003);
    const endpoint = (f: FlowRef, sid: string): SseEvent => ({
      kind: 'sse.event', event: 'endpoint', data: `/messages?sessionId=${sid}`, index: 0, flow: f, dir: 's2c', frame: frame++, ts: 0.5,
    });
    trail.add(endpoint(getA, 'AAA'));
    trail.add(endpoint(getB, 'BBB'));
    // Both sessions send id 3 over the same POST connection; the answers come back in the other order.
    trail.add(req(post, 1, 3, 'tools/call', { name: 'in-a' }, '/messages?sessionId=AAA'));
    trail.add(req(post, 1.1, 3, 'tools/call', { name: 'in-b' }, '/messages?sessionId=BBB'));
    trail.add(res(getB, 1.2, 3, { content: [{ type: 'text', text: 'from b' }] }, '/sse'));
    trail.add(res(getA, 1.3, 3, { content: [{ type: 'text', text: 'from a!!' }] }, '/sse'));
    trail.finish();
    expect(records.map((r) => [r.target, r.responseFrame !== undefined, r.resultBytes])).toEqual([
      ['in-b', true, JSON.stringify({ content: [{ type: 'text', text: 'from b' }] }).length],
      ['in-a', true, JSON.stringify({ content: [{ type: 'text', text: 'from a!!' }] }).length],
    ]);
    expect(anomalies.count('audit.unmatched_response')).toBe(0);
  });

  it('legacy SSE without the endpoint event still pairs by client, server and id', () => {
    const { trail, records } = collect();
    const get = flow(6101);
    const post = flow(6102);
    trail.add(req(post, 1, 7, 'resources/read', { uri: 'doc://1' }, '/messages?sessionId=S'));
    trail.add(res(get, 1.5, 7, { contents: [] }, '/sse'));
    trail.finish();
    expect(records.map((r) => [r.target, r.status])).toEqual([['doc://1', 'ok']]);
  });

  it('flow ids restart per capture file: a session learnt in one file does not leak into the next', () => {
    const { trail, records, anomalies } = collect();
    const mk = (id: number, port: number): FlowRef => ({ ...flow(port), id });
    trail.file = 'a.pcap';
    trail.add({ kind: 'sse.event', event: 'endpoint', data: '/messages?sessionId=AAA', index: 0, flow: mk(1, 6201), dir: 's2c', frame: 1, ts: 0 });
    trail.file = 'b.pcap';
    // In b.pcap flow 1 is another GET stream whose endpoint event was before the capture started.
    trail.add(req(mk(2, 6203), 5, 4, 'tools/call', { name: 'late' }, '/messages?sessionId=BBB'));
    trail.add(res(mk(1, 6202), 5.1, 4, { content: [] }, '/sse'));
    trail.finish();
    expect(records.map((r) => [r.target, r.status, r.file])).toEqual([['late', 'ok', 'b.pcap']]);
    expect(anomalies.count('audit.unmatched_response')).toBe(0);
  });

  it('server-initiated requests (sampling) pair with the client answer on another flow', () => {
    const { trail, records } = collect();
    const get = flow(7001);
    const post = flow(7002);
    trail.add(req(post, 1, 0, 'tools/call', { name: 'summarize' }));
    trail.add(rpc(get, 's2c', 1.1, { type: 'request', id: 0, method: 'sampling/createMessage', params: { messages: [] } }));
    trail.add(rpc(post, 'c2s', 1.2, { type: 'response', id: 0, result: { model: 'm', content: { type: 'text', text: 'ok' } } }));
    trail.add(res(post, 1.3, 0, { content: [] }));
    trail.finish();
    expect(records.map((r) => [r.from, r.method, r.status])).toEqual([
      ['server', 'sampling/createMessage', 'ok'],
      ['client', 'tools/call', 'ok'],
    ]);
  });

  it('errors, unanswered requests past the window, unmatched responses, notifications', () => {
    const { trail, records, anomalies } = collect({ window: 10 });
    const f = flow(8001);
    trail.add(rpc(f, 'c2s', 1, { type: 'notification', method: 'notifications/initialized' }));
    trail.add(req(f, 1, 1, 'tools/call', { name: 'x' }));
    trail.add(rpc(f, 's2c', 1.5, { type: 'error', id: 1, error: { code: -32602, message: 'bad args' } }));
    trail.add(req(f, 2, 2, 'tools/call', { name: 'slow' }));
    trail.add(res(f, 20, 2, { content: [] })); // 18 s later: outside the 10 s window
    trail.add(res(f, 21, 99, { content: [] }));
    trail.finish();
    expect(records.map((r) => [r.method, r.target, r.status, r.error?.code])).toEqual([
      ['notifications/initialized', undefined, 'notification', undefined],
      ['tools/call', 'x', 'error', -32602],
      ['tools/call', 'slow', 'no-response', undefined],
    ]);
    expect(anomalies.count('audit.unmatched_response')).toBe(2);
  });

  it('sweeps requests whose window passed while traffic goes on', () => {
    const { trail, records } = collect({ window: 5 });
    const f = flow(8101);
    trail.add(req(f, 0, 1, 'tools/call', { name: 'lost' }));
    for (let i = 0; i < 1100; i++) trail.add(rpc(f, 'c2s', 10 + i * 0.001, { type: 'notification', method: 'notifications/progress' }));
    const lost = records.find((r) => r.target === 'lost');
    expect(lost?.status).toBe('no-response');
  });

  it('caps pending requests: the oldest is listed unanswered', () => {
    const records: AuditRecord[] = [];
    const anomalies = new Anomalies();
    const trail = new AuditTrail({ onRecord: (r) => records.push(r), anomalies, limits: { auditMaxPending: 3 } });
    const f = flow(8201);
    for (let i = 0; i < 5; i++) trail.add(req(f, i, i, 'tools/call', { name: `t${i}` }));
    expect(records.map((r) => r.target)).toEqual(['t0', 't1']);
    expect(anomalies.count('audit.pending_cap_hit')).toBe(2);
  });
});

describe('DLP in the trail', () => {
  it('hits carry the method, part and path; summaries are redacted before they are cut', () => {
    const { trail, records, hits } = collect();
    const f = flow(9001);
    const token = `ghp_${'Fake0Token1Value2Abc3'.repeat(2).slice(0, 36)}`;
    const long = 'x'.repeat(131); // the token starts just before the display cut
    trail.add(req(f, 1, 1, 'tools/call', { name: 'send', arguments: { pad: long, token } }));
    trail.add(res(f, 1.1, 1, { content: [{ type: 'text', text: `here: ${token}` }] }));
    trail.finish();
    expect(hits.map((h) => [h.detector, h.where.part, h.where.method, h.where.path])).toEqual([
      ['secret.github_token', 'request', 'tools/call', '$.params.arguments.token'],
      ['secret.github_token', 'response', 'tools/call', '$.result.content[0].text'],
    ]);
    const r = records[0];
    expect(r.dlp).toHaveLength(2);
    expect(r.args.length).toBeLessThanOrEqual(160);
    expect(r.args.endsWith('…')).toBe(true);
    expect(JSON.stringify(r)).not.toContain(token.slice(4));
    expect(r.args).not.toContain('ghp_Fake');
    expect(r.argsBytes).toBe(JSON.stringify({ pad: long, token }).length);
  });

  it('masks secrets that follow an escaped character, credential-named fields and JSON keys in the summary', () => {
    const { trail, records } = collect();
    const f = flow(9101);
    const args = { note: 'line one\nAKIAIOSFODNN7EXAMPLE\tend', api_key: 'Zx8kP2mQ9vL4nR7t', ['AKIAIOSFODNN7EXAMPLE']: 1 };
    trail.add(req(f, 1, 1, 'tools/call', { name: 'x', arguments: args }));
    trail.finish();
    const r = records[0];
    expect(r.args).not.toContain('IOSFODNN7');
    expect(r.args).not.toContain('Zx8kP2mQ9vL4nR7t');
    expect(r.args).toContain('AKIA…(20)');
    expect(r.args).toContain('"api_key":"Zx8k…(16)"');
    expect(r.dlp.map((h) => h.detector).sort()).toEqual(['secret.aws_access_key_id', 'secret.keyed_value']);
  });

  it('arguments nested too deep to print are summarised, never thrown', () => {
    const { trail, records } = collect();
    let deep: unknown = 'x';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    trail.add(req(flow(9201), 1, 1, 'tools/call', { name: 'deep', arguments: { deep } }));
    trail.finish();
    expect(records).toHaveLength(1);
    expect(records[0].args.length).toBeLessThanOrEqual(160);
  });
});
