// `shadowtap decode` output: one JSON object per message, with where it came from.
import type { Message } from '../protocols/messages.js';

const BODY_PREVIEW_BYTES = 4096;
const decoder = new TextDecoder('utf-8', { fatal: false });

export function isoTime(ts: number): string {
  const ms = Math.floor(ts * 1000);
  const micros = Math.round((ts * 1e6) % 1000);
  return new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

function bodyText(body: Uint8Array): string {
  return decoder.decode(body.subarray(0, BODY_PREVIEW_BYTES));
}

export function messageToJson(msg: Message): Record<string, unknown> {
  const f = msg.flow;
  const base: Record<string, unknown> = {
    frame: msg.frame,
    ts: isoTime(msg.ts),
    flow: f.id,
    proto: f.proto,
    client: `${f.client.ip}:${f.client.port}`,
    server: `${f.server.ip}:${f.server.port}`,
    dir: msg.dir,
    kind: msg.kind,
  };
  if (f.vlan.length) base.vlan = f.vlan;
  switch (msg.kind) {
    case 'http.request':
      return {
        ...base, method: msg.method, target: msg.target, version: msg.version, headers: msg.headers,
        bodyLength: msg.bodyLength, bodyTruncated: msg.bodyTruncated || undefined,
        body: msg.body.length ? bodyText(msg.body) : undefined,
      };
    case 'http.response':
      return {
        ...base, status: msg.status, reason: msg.reason, version: msg.version, headers: msg.headers,
        request: msg.request, bodyLength: msg.bodyLength, bodyTruncated: msg.bodyTruncated || undefined,
        body: msg.body.length ? bodyText(msg.body) : undefined,
      };
    case 'sse.event':
      return { ...base, index: msg.index, event: msg.event, data: msg.data, id: msg.id, retry: msg.retry, request: msg.request };
    case 'ws.text':
      return { ...base, text: msg.text, request: msg.request };
    case 'dns':
      return {
        ...base, transport: msg.transport, id: msg.id, response: msg.response, rcode: msg.rcode,
        questions: msg.questions, answers: msg.answers,
      };
    case 'tls.client_hello':
      return { ...base, version: msg.version, supportedVersions: msg.supportedVersions, sni: msg.sni, alpn: msg.alpn };
    case 'jsonrpc':
      return {
        ...base, carrier: msg.carrier, batchIndex: msg.batchIndex, type: msg.type, id: msg.id, method: msg.method,
        params: msg.params, result: msg.result, error: msg.error, http: msg.http,
      };
  }
}
