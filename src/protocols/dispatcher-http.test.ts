// JSON-RPC extraction through the real HTTP session (src/protocols/http1/session.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Anomalies } from '../core/anomalies.js';
import { limits } from '../config/limits.js';
import type { ParserContext } from './context.js';
import type { Message } from './messages.js';
import type { Dir, FlowRef, StreamChunk } from '../flows/types.js';
import { Dispatcher } from './dispatcher.js';

const enc = new TextEncoder();

function flowOn(id: number, port: number): FlowRef {
  return {
    id, proto: 'tcp', client: { ip: '10.0.0.2', port: 51000 + id }, server: { ip: '10.0.0.1', port },
    vlan: [], rolesBy: 'handshake', firstFrame: 1, firstTs: 0,
  };
}

/** Feed a conversation: [dir, text] steps, each cut at `cuts` (offsets within the step). */
function converse(flow: FlowRef, steps: Array<[Dir, string]>, cuts: number[] = [], strict = true) {
  const msgs: Message[] = [];
  const ignored: string[] = [];
  const c: ParserContext = { anomalies: new Anomalies(), limits: limits(), file: 't.pcap' };
  const d = new Dispatcher((m) => msgs.push(m), c, { ignore: (f, dir) => ignored.push(`${f.id}:${dir}`) }, { strict });
  const offsets: Record<Dir, number> = { c2s: 0, s2c: 0 };
  let frame = 1;
  for (const [dir, text] of steps) {
    const bytes = enc.encode(text);
    const points = [...new Set(cuts.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
    let prev = 0;
    for (const at of [...points, bytes.length]) {
      if (ignored.includes(`${flow.id}:${dir}`)) break;
      const chunk: StreamChunk = { flow, dir, offset: offsets[dir], data: bytes.slice(prev, at), gapBefore: 0, frame: frame++, ts: 0 };
      d.onChunk(chunk);
      chunk.data.fill(0xee);
      offsets[dir] += at - prev;
      prev = at;
    }
  }
  d.onStreamEnd(flow, 'c2s', 'fin');
  d.onStreamEnd(flow, 's2c', 'fin');
  d.onFlowEnd(flow, 'fin');
  return { msgs, ignored, c, counts: d.protocolCounts() };
}

/** What the detection stage cares about, without frame numbers. */
function project(msgs: Message[]): unknown[] {
  return msgs.map((m) => {
    switch (m.kind) {
      case 'http.request': return ['http.request', m.method, m.target];
      case 'http.response': return ['http.response', m.status];
      case 'sse.event': return ['sse.event', m.event, m.data];
      case 'jsonrpc': return ['jsonrpc', m.carrier, m.type, m.method ?? null, m.id ?? null, m.http ?? null];
      default: return [m.kind];
    }
  });
}

const POST_BODY = '{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"name":"search","arguments":{"q":"x"}}}';
const POST = `POST /mcp HTTP/1.1\r\nHost: mcp.example.com\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${POST_BODY.length}\r\n\r\n${POST_BODY}`;
const RESP_BODY = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}';
const RESP = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${RESP_BODY.length}\r\n\r\n${RESP_BODY}`;

const SSE_REQ = 'GET /sse HTTP/1.1\r\nHost: localhost:3001\r\nAccept: text/event-stream\r\n\r\n';
const SSE_RESP =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n' +
  chunked([
    'event: endpoint\ndata: /messages?sessionId=abc\n\n',
    'event: message\ndata: {"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2024-11-05","serverInfo":{"name":"demo"}}}\n\n',
    'data: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n',
  ]);

function chunked(parts: string[]): string {
  return parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
}

describe('Dispatcher with HTTP', () => {
  it('emits JSON-RPC right after the HTTP request and response that carried it', () => {
    const r = converse(flowOn(1, 8080), [['c2s', POST], ['s2c', RESP]]);
    const http = { method: 'POST', target: '/mcp' };
    expect(project(r.msgs)).toEqual([
      ['http.request', 'POST', '/mcp'],
      ['jsonrpc', 'http-request', 'request', 'tools/call', 1, { ...http, host: 'mcp.example.com' }],
      ['http.response', 200],
      ['jsonrpc', 'http-response', 'response', null, 1, expect.objectContaining(http)],
    ]);
    expect(r.counts).toEqual({ 'tcp/http': 1 });
    expect(r.c.anomalies.count('parser.internal_error')).toBe(0);
  });

  it('emits JSON-RPC from SSE events, not from the endpoint event', () => {
    const r = converse(flowOn(2, 3001), [['c2s', SSE_REQ], ['s2c', SSE_RESP]]);
    const got = project(r.msgs);
    expect(got.filter((x) => (x as string[])[0] === 'jsonrpc')).toEqual([
      ['jsonrpc', 'sse', 'response', null, 0, expect.objectContaining({ method: 'GET', target: '/sse' })],
      ['jsonrpc', 'sse', 'notification', 'notifications/tools/list_changed', null, expect.objectContaining({ target: '/sse' })],
    ]);
    // each JSON-RPC message follows its SSE event
    const kinds = got.map((x) => (x as string[])[0]);
    expect(kinds).toEqual(['http.request', 'http.response', 'sse.event', 'sse.event', 'jsonrpc', 'sse.event', 'jsonrpc']);
  });

  it('gives the same messages however the bytes are split', () => {
    const steps: Array<[Dir, string]> = [['c2s', POST], ['s2c', RESP], ['c2s', SSE_REQ], ['s2c', SSE_RESP]];
    const want = project(converse(flowOn(3, 80), steps).msgs);
    expect(want.length).toBeGreaterThan(6);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 12 }), (cuts) => {
      expect(project(converse(flowOn(3, 80), steps, cuts).msgs)).toEqual(want);
    }), { numRuns: 100 });
    expect(project(converse(flowOn(3, 80), steps, Array.from({ length: 400 }, (_, i) => i)).msgs)).toEqual(want);
  });

  it('a form POST carries no JSON-RPC', () => {
    const body = 'jsonrpc=2.0&method=tools/call';
    const r = converse(flowOn(4, 80), [['c2s', `POST /f HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`]]);
    expect(project(r.msgs)).toEqual([['http.request', 'POST', '/f']]);
  });
});

describe('Dispatcher with HTTP: internal errors', () => {
  it('an exception inside the HTTP path stops that flow\'s direction, the run goes on', () => {
    const c: ParserContext = { anomalies: new Anomalies(), limits: limits(), file: 't.pcap' };
    const ignored: string[] = [];
    const seen: string[] = [];
    const d = new Dispatcher((m) => {
      seen.push(`${m.flow.id}:${m.kind}`);
      if (m.kind === 'http.request' && m.flow.id === 1) throw new Error('boom');
    }, c, { ignore: (f, dir) => ignored.push(`${f.id}:${dir}`) });
    const chunk = (flow: FlowRef, dir: Dir, text: string): StreamChunk =>
      ({ flow, dir, offset: 0, data: enc.encode(text), gapBefore: 0, frame: 1, ts: 0 });
    const bad = flowOn(1, 80);
    expect(() => d.onChunk(chunk(bad, 'c2s', POST + POST))).not.toThrow();
    expect(ignored).toContain('1:c2s');
    // HttpSession counts its own exceptions (http.internal_error); the dispatcher counts parser.internal_error.
    expect(c.anomalies.count('http.internal_error') + c.anomalies.count('parser.internal_error')).toBe(1);
    expect(seen).toEqual(['1:http.request']);
    const good = flowOn(2, 80);
    d.onChunk(chunk(good, 'c2s', POST));
    expect(seen.filter((x) => x.startsWith('2:'))).toEqual(['2:http.request', '2:jsonrpc']);
  });
});
