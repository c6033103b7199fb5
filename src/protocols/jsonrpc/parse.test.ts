import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Anomalies } from '../../core/anomalies.js';
import { limits } from '../../config/limits.js';
import type { ParserContext } from '../context.js';
import type { HttpRequest, HttpResponse, SseEvent, WsText } from '../messages.js';
import type { FlowRef } from '../../flows/types.js';
import { parseJsonRpc } from './parse.js';
import { jsonRpcFromMessage } from './carriers.js';

function ctx(overrides = {}): ParserContext {
  return { anomalies: new Anomalies(), limits: limits(overrides), file: 't.pcap' };
}
const flow: FlowRef = {
  id: 5, proto: 'tcp', client: { ip: '10.0.0.2', port: 50000 }, server: { ip: '10.0.0.1', port: 3000 },
  vlan: [], rolesBy: 'handshake', firstFrame: 1, firstTs: 0,
};
const meta = { flow, dir: 'c2s' as const, frame: 7, ts: 1.5 };

const parse = (text: string, c = ctx()) => parseJsonRpc(text, 'ndjson', meta, undefined, c);
const shape = (text: string) => parse(text).map((m) => ({ type: m.type, id: m.id, method: m.method, batchIndex: m.batchIndex }));

describe('parseJsonRpc', () => {
  it.each([
    ['request', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', [{ type: 'request', id: 1, method: 'tools/list', batchIndex: undefined }]],
    ['request with string id', '{"jsonrpc":"2.0","id":"a-1","method":"initialize","params":{}}', [{ type: 'request', id: 'a-1', method: 'initialize', batchIndex: undefined }]],
    ['null id', '{"jsonrpc":"2.0","id":null,"method":"ping"}', [{ type: 'request', id: null, method: 'ping', batchIndex: undefined }]],
    ['notification', '{"jsonrpc":"2.0","method":"notifications/initialized"}', [{ type: 'notification', id: undefined, method: 'notifications/initialized', batchIndex: undefined }]],
    ['response', '{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}', [{ type: 'response', id: 2, method: undefined, batchIndex: undefined }]],
    ['null result', '{"jsonrpc":"2.0","id":2,"result":null}', [{ type: 'response', id: 2, method: undefined, batchIndex: undefined }]],
    ['error', '{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found"}}', [{ type: 'error', id: 3, method: undefined, batchIndex: undefined }]],
    ['escaped slash', '{"jsonrpc":"2.0","id":4,"method":"tools\\/call","params":{"name":"x"}}', [{ type: 'request', id: 4, method: 'tools/call', batchIndex: undefined }]],
    ['unicode escape in key and value', '{"json\\u0072pc":"2.0","id":4,"method":"tools\\u002flist"}', [{ type: 'request', id: 4, method: 'tools/list', batchIndex: undefined }]],
    ['whitespace', ' \r\n\t{ "jsonrpc" : "2.0" ,\n "method" : "ping" , "id" : 9 }  \n', [{ type: 'request', id: 9, method: 'ping', batchIndex: undefined }]],
    ['ethereum', '{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":83}', [{ type: 'request', id: 83, method: 'eth_blockNumber', batchIndex: undefined }]],
    ['batch', '[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"},{"x":1},{"jsonrpc":"2.0","id":1,"result":0}]', [
      { type: 'request', id: 1, method: 'a', batchIndex: 0 },
      { type: 'notification', id: undefined, method: 'b', batchIndex: 1 },
      { type: 'response', id: 1, method: undefined, batchIndex: 3 },
    ]],
  ])('%s', (_name, text, want) => {
    expect(shape(text)).toEqual(want);
  });

  it('keeps params, result and error fields', () => {
    const [req] = parse('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"}}}');
    expect(req!.params).toEqual({ name: 'search', arguments: { q: 'x' } });
    const [err] = parse('{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"nope","data":{"uri":"a"}}}');
    expect(err!.error).toEqual({ code: -32002, message: 'nope', data: { uri: 'a' } });
    expect(err!.frame).toBe(7);
    expect(err!.carrier).toBe('ndjson');
  });

  it.each([
    ['wrong version', '{"jsonrpc":"1.0","id":1,"method":"a"}'],
    ['method not a string', '{"jsonrpc":"2.0","id":1,"method":5}'],
    ['params not structured', '{"jsonrpc":"2.0","id":1,"method":"a","params":"x"}'],
    ['object id', '{"jsonrpc":"2.0","id":{},"method":"a"}'],
    ['result and error', '{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}'],
    ['neither result nor error', '{"jsonrpc":"2.0","id":1}'],
    ['response without id', '{"jsonrpc":"2.0","result":1}'],
    ['error without message', '{"jsonrpc":"2.0","id":1,"error":{"code":1}}'],
    ['error code not integer', '{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}'],
    ['broken JSON that says jsonrpc', '{"jsonrpc":"2.0","id":1,"method":"a"'],
  ])('invalid: %s → nothing, counted', (_n, text) => {
    const c = ctx();
    expect(parse(text, c)).toEqual([]);
    expect(c.anomalies.count('jsonrpc.invalid')).toBe(1);
  });

  it.each([
    ['plain JSON', '{"hello":"world"}'],
    ['broken JSON', '{"a":'],
    ['not JSON', 'hello'],
    ['JSON string', '"jsonrpc"'],
    ['empty', '   '],
    ['array of numbers', '[1,2,3]'],
  ])('not JSON-RPC: %s → nothing, not counted', (_n, text) => {
    const c = ctx();
    expect(parse(text, c)).toEqual([]);
    expect(c.anomalies.total).toBe(0);
  });

  it('does not parse text over the cap', () => {
    const c = ctx({ httpBodyInspectBytes: 20 });
    expect(parse('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', c)).toEqual([]);
    expect(c.anomalies.count('jsonrpc.too_large')).toBe(1);
  });

  it('never throws on arbitrary text or JSON values', () => {
    fc.assert(fc.property(fc.string(), (s) => { parse(s); }), { numRuns: 2000 });
    fc.assert(fc.property(fc.json(), (s) => { parse(s); }), { numRuns: 2000 });
    fc.assert(fc.property(fc.jsonValue(), (v) => { parse(JSON.stringify({ jsonrpc: '2.0', id: 1, result: v })); }), { numRuns: 500 });
  });
});

// --- carriers ---------------------------------------------------------------------------------

const enc = new TextEncoder();
const base = { flow, dir: 'c2s' as const, frame: 11, ts: 2 };

function request(body: string, headers: Array<[string, string]> = [['host', 'mcp.example.com'], ['content-type', 'application/json']]): HttpRequest {
  const b = enc.encode(body);
  return { ...base, kind: 'http.request', method: 'POST', target: '/mcp', version: '1.1', headers, body: b, bodyLength: b.length, bodyTruncated: false };
}

describe('jsonRpcFromMessage', () => {
  it('reads an HTTP POST body and sets http from the request', () => {
    const out = jsonRpcFromMessage(request('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}'), ctx());
    expect(out.map((m) => [m.carrier, m.type, m.method, m.frame])).toEqual([['http-request', 'request', 'tools/call', 11]]);
    expect(out[0]!.http).toEqual({ method: 'POST', target: '/mcp', host: 'mcp.example.com' });
  });

  it('reads a body that starts with a BOM and whitespace, without a JSON content type', () => {
    const out = jsonRpcFromMessage(request('\ufeff \n[{"jsonrpc":"2.0","method":"notifications/initialized"}]', [['content-type', 'text/plain']]), ctx());
    expect(out.map((m) => [m.type, m.batchIndex])).toEqual([['notification', 0]]);
    expect(out[0]!.http).toEqual({ method: 'POST', target: '/mcp' });
  });

  it('skips a form body and counts a truncated JSON body', () => {
    const c = ctx();
    expect(jsonRpcFromMessage(request('a=1&jsonrpc=2.0'), c)).toEqual([]);
    const cut = { ...request('{"jsonrpc":"2.0","id":1,"method":"tools/li'), bodyTruncated: true };
    expect(jsonRpcFromMessage(cut, c)).toEqual([]);
    expect(c.anomalies.count('jsonrpc.body_truncated')).toBe(1);
    expect(c.anomalies.count('jsonrpc.invalid')).toBe(0);
  });

  it('reads responses, SSE data and WebSocket text with the request they answer', () => {
    const req = { method: 'POST', target: '/mcp', host: 'h' };
    const b = enc.encode('{"jsonrpc":"2.0","id":1,"result":{"ok":true}}');
    const resp: HttpResponse = { ...base, dir: 's2c', kind: 'http.response', status: 200, reason: 'OK', version: '1.1', headers: [], body: b, bodyLength: b.length, bodyTruncated: false, request: req };
    const sse: SseEvent = { ...base, dir: 's2c', kind: 'sse.event', event: 'message', data: '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}', index: 0, request: req };
    const endpoint: SseEvent = { ...sse, event: 'endpoint', data: '/messages?session_id=abc' };
    const ws: WsText = { ...base, kind: 'ws.text', text: '{"jsonrpc":"2.0","id":"w","method":"tools/list"}' };
    const got = [resp, sse, endpoint, ws].flatMap((m) => jsonRpcFromMessage(m, ctx()));
    expect(got.map((m) => [m.carrier, m.type, m.method ?? null, m.http ?? null, m.dir])).toEqual([
      ['http-response', 'response', null, req, 's2c'],
      ['sse', 'notification', 'notifications/progress', req, 's2c'],
      ['ws', 'request', 'tools/list', null, 'c2s'],
    ]);
  });
});
