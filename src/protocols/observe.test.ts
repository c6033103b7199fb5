import { describe, expect, it } from 'vitest';
import type { FlowRef } from '../flows/types.js';
import type { DnsMessage, HttpRequest, HttpResponse, JsonRpcMessage, SseEvent, TlsClientHello } from './messages.js';
import { hostName, mediaType, observeFlow, observeMessage, splitTarget } from './observe.js';

const flow: FlowRef = {
  id: 7, proto: 'tcp', client: { ip: '10.0.0.2', port: 50123 }, server: { ip: '10.0.0.5', port: 8000 },
  vlan: [], rolesBy: 'handshake', firstFrame: 3, firstTs: 100.5,
};
const src = { file: 'cap.pcapng', format: 'pcapng' };
const te = new TextEncoder();

describe('observeMessage', () => {
  it('http request: flat header fields, host without port, media type without parameters', () => {
    const req: HttpRequest = {
      kind: 'http.request', flow, dir: 'c2s', frame: 9, ts: 101, method: 'POST', target: '/mcp?x=1', version: 'HTTP/1.1',
      headers: [['host', 'Tools.Example.COM:8000'], ['accept', 'application/json'], ['accept', 'text/event-stream'], ['content-type', 'application/json; charset=utf-8'], ['mcp-session-id', 'abc'], ['user-agent', 'node']],
      body: te.encode('{"jsonrpc":"2.0"}'), bodyLength: 17, bodyTruncated: false,
    };
    const [o] = observeMessage(req, src);
    expect(o.kind).toBe('http.request');
    expect(o.fields).toMatchObject({
      'http.request.method': 'POST', 'http.request.uri': '/mcp?x=1', 'http.request.path': '/mcp', 'http.request.query': 'x=1',
      'http.request.host': 'tools.example.com', 'http.request.content_type': 'application/json', 'http.request.user_agent': 'node',
      'http.request.header.accept': 'application/json, text/event-stream', 'http.request.header.mcp-session-id': 'abc',
      'http.request.body': '{"jsonrpc":"2.0"}',
    });
    expect(o.fields['http.request.header_names']).toEqual(['host', 'accept', 'content-type', 'mcp-session-id', 'user-agent']);
    expect(o.source).toEqual({ kind: 'pcap', file: 'cap.pcapng', frame: 9, format: 'pcapng' });
    expect(o.client).toEqual({ ip: '10.0.0.2', port: 50123 });
    expect(o.server).toEqual({ ip: '10.0.0.5', port: 8000 });
    expect(o.flowId).toBe(7);
    expect(o.ts).toBe(101);
  });

  it('caps body text and counts the cut', async () => {
    const { Anomalies } = await import('../core/anomalies.js');
    const { LIMITS } = await import('../config/limits.js');
    const big = new Uint8Array(LIMITS.detectBodyTextBytes + 10).fill(0x61);
    const req: HttpRequest = {
      kind: 'http.request', flow, dir: 'c2s', frame: 9, ts: 101, method: 'POST', target: '/', version: 'HTTP/1.1',
      headers: [], body: big, bodyLength: big.length, bodyTruncated: false,
    };
    const anomalies = new Anomalies();
    const f = observeMessage(req, src, anomalies)[0].fields;
    expect((f['http.request.body'] as string).length).toBe(LIMITS.detectBodyTextBytes);
    expect(anomalies.count('detect.body_truncated')).toBe(1);
  });

  it('CONNECT: host from the authority target, no path', () => {
    const req: HttpRequest = {
      kind: 'http.request', flow, dir: 'c2s', frame: 9, ts: 101, method: 'CONNECT', target: 'MCP.Asana.com:443', version: 'HTTP/1.1',
      headers: [['host', 'proxy.local:3128']], body: new Uint8Array(), bodyLength: 0, bodyTruncated: false,
    };
    const f = observeMessage(req, src)[0].fields;
    expect(f['http.request.host']).toBe('mcp.asana.com');
    expect(f['http.request.path']).toBeUndefined();
  });

  it('http response carries its request line; s2c keeps the flow client as client', () => {
    const res: HttpResponse = {
      kind: 'http.response', flow, dir: 's2c', frame: 10, ts: 102, status: 202, reason: 'Accepted', version: 'HTTP/1.1',
      headers: [['Content-Type', 'text/event-stream'].map((x, i) => (i === 0 ? x.toLowerCase() : x)) as [string, string]],
      body: new Uint8Array(), bodyLength: 0, bodyTruncated: false, request: { method: 'POST', target: 'http://h.example:9/messages?sessionId=1' },
    };
    const [o] = observeMessage(res, src);
    expect(o.fields).toMatchObject({ 'http.response.status': 202, 'http.response.content_type': 'text/event-stream', 'http.request.method': 'POST', 'http.request.path': '/messages', 'http.request.host': 'h.example' });
    expect(o.fields['http.response.body']).toBeUndefined();
    expect(o.client?.ip).toBe('10.0.0.2');
    expect(o.server?.port).toBe(8000);
  });

  it('sse and jsonrpc', () => {
    const ev: SseEvent = { kind: 'sse.event', flow, dir: 's2c', frame: 11, ts: 103, event: 'endpoint', data: '/messages?sessionId=1', index: 0, request: { method: 'GET', target: '/sse' } };
    expect(observeMessage(ev, src)[0].fields).toEqual({ 'sse.event': 'endpoint', 'sse.data': '/messages?sessionId=1', 'sse.index': 0, 'http.request.method': 'GET', 'http.request.path': '/sse' });
    const rpc: JsonRpcMessage = {
      kind: 'jsonrpc', flow, dir: 'c2s', frame: 12, ts: 104, carrier: 'http-request', type: 'request', id: 3, method: 'tools/call',
      params: { name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } }, http: { method: 'POST', target: '/mcp' },
    };
    const f = observeMessage(rpc, src)[0].fields;
    expect(f).toMatchObject({ 'jsonrpc.type': 'request', 'jsonrpc.method': 'tools/call', 'jsonrpc.id': '3', 'jsonrpc.transport': 'http-request', 'http.request.path': '/mcp' });
    expect(f['jsonrpc.params']).toEqual(rpc.params);
    const err: JsonRpcMessage = { kind: 'jsonrpc', flow, dir: 's2c', frame: 13, ts: 105, carrier: 'http-response', type: 'error', id: null, error: { code: -32000, message: 'Bad Request' } };
    expect(observeMessage(err, src)[0].fields).toEqual({ 'jsonrpc.type': 'error', 'jsonrpc.transport': 'http-response', 'jsonrpc.error.code': -32000, 'jsonrpc.error.message': 'Bad Request' });
  });

  it('dns: first question, answer addresses and CNAMEs', () => {
    const dns: DnsMessage = {
      kind: 'dns', flow: { ...flow, proto: 'udp', server: { ip: '10.0.0.53', port: 53 } }, dir: 's2c', frame: 14, ts: 106, transport: 'udp', id: 1, response: true, rcode: 'NOERROR',
      questions: [{ name: 'MCP.Asana.com.', type: 'A' }],
      answers: [{ name: 'mcp.asana.com', type: 'CNAME', ttl: 60, data: 'edge.asana.com.' }, { name: 'edge.asana.com', type: 'A', ttl: 60, data: '203.0.113.7' }, { name: 'edge.asana.com', type: 'AAAA', ttl: 60, data: '2001:db8::7' }],
    };
    expect(observeMessage(dns, src)[0].fields).toEqual({
      'dns.query.name': 'mcp.asana.com', 'dns.query.type': 'A', 'dns.rcode': 'NOERROR',
      'dns.answer.address': ['203.0.113.7', '2001:db8::7'], 'dns.answer.name': ['edge.asana.com'],
    });
  });

  it('tls: sni lowercased, alpn, highest non-GREASE version', () => {
    const hello: TlsClientHello = { kind: 'tls.client_hello', flow, dir: 'c2s', frame: 15, ts: 107, version: 0x0303, supportedVersions: [0x7a7a, 0x0304, 0x0303], sni: 'MCP.Notion.com', alpn: ['h2', 'http/1.1'] };
    expect(observeMessage(hello, src)[0].fields).toEqual({ 'tls.sni': 'mcp.notion.com', 'tls.alpn': ['h2', 'http/1.1'], 'tls.version': '1.3' });
    const old: TlsClientHello = { ...hello, supportedVersions: [], sni: undefined, alpn: [] };
    expect(observeMessage(old, src)[0].fields).toEqual({ 'tls.version': '1.2' });
  });
});

describe('observeFlow and helpers', () => {
  it('conn observation', () => {
    const o = observeFlow(flow, src);
    expect(o).toEqual({
      kind: 'conn', ts: 100.5, flowId: 7,
      fields: { 'conn.proto': 'tcp', 'conn.src_ip': '10.0.0.2', 'conn.src_port': 50123, 'conn.dst_ip': '10.0.0.5', 'conn.dst_port': 8000 },
      source: { kind: 'pcap', file: 'cap.pcapng', frame: 3, format: 'pcapng' },
      client: { ip: '10.0.0.2', port: 50123 }, server: { ip: '10.0.0.5', port: 8000 },
    });
  });

  it('host, media type and target splitting', () => {
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('fe80::1')).toBe('fe80::1');
    expect(hostName('Example.COM.')).toBe('example.com');
    expect(hostName('')).toBeUndefined();
    expect(mediaType(' Text/Event-Stream ; charset=utf-8')).toBe('text/event-stream');
    expect(splitTarget('https://a.example/x/y?q#f')).toEqual({ path: '/x/y', query: 'q', host: 'a.example' });
    expect(splitTarget('http://a.example')).toEqual({ path: '/', host: 'a.example' });
    expect(splitTarget('/p#frag')).toEqual({ path: '/p', host: undefined });
  });
});
