// JSON-RPC inside other messages: HTTP bodies, SSE event data, WebSocket text messages.
import type { ParserContext } from '../context.js';
import type { Headers, JsonRpcMessage, Message } from '../messages.js';
import { parseJsonRpc, type HttpExchange } from './parse.js';

const BOM = [0xef, 0xbb, 0xbf];

/** The JSON-RPC messages carried by one application message (none for DNS, TLS or JSON-RPC itself). */
export function jsonRpcFromMessage(msg: Message, ctx?: ParserContext): JsonRpcMessage[] {
  switch (msg.kind) {
    case 'http.request': {
      const http: HttpExchange = { method: msg.method, target: msg.target };
      const host = headerValue(msg.headers, 'host');
      if (host !== undefined) http.host = host;
      return fromBody(msg.body, msg.bodyTruncated, 'http-request', msg, http, ctx);
    }
    case 'http.response':
      return fromBody(msg.body, msg.bodyTruncated, 'http-response', msg, msg.request, ctx);
    case 'sse.event':
      return parseJsonRpc(msg.data, 'sse', msg, msg.request, ctx);
    case 'ws.text':
      return parseJsonRpc(msg.text, 'ws', msg, msg.request, ctx);
    default:
      return [];
  }
}

/**
 * A body is looked at when its first non-space byte (after an optional BOM) is { or [. A JSON
 * content type adds nothing: a JSON body that is not an object or array cannot be JSON-RPC.
 */
function fromBody(
  body: Uint8Array,
  truncated: boolean,
  carrier: 'http-request' | 'http-response',
  meta: Message,
  http: HttpExchange | undefined,
  ctx: ParserContext | undefined,
): JsonRpcMessage[] {
  let i = 0;
  if (body.length >= 3 && body[0] === BOM[0] && body[1] === BOM[1] && body[2] === BOM[2]) i = 3;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x09 || body[i] === 0x0a || body[i] === 0x0d)) i++;
  if (i >= body.length || (body[i] !== 0x7b && body[i] !== 0x5b)) return [];
  if (truncated) {
    // A cut body cannot parse; say why instead of counting it invalid.
    ctx?.anomalies.add('jsonrpc.body_truncated', { file: ctx.file, frame: meta.frame, flow: String(meta.flow.id) });
    return [];
  }
  const text = Buffer.from(body.buffer, body.byteOffset + i, body.length - i).toString('utf8');
  return parseJsonRpc(text, carrier, meta, http, ctx);
}

function headerValue(headers: Headers, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}
