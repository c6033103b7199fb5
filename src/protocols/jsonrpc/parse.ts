// JSON-RPC 2.0 messages (https://www.jsonrpc.org/specification), parsed as real JSON (escapes,
// whitespace, batches), never by substring. Only "jsonrpc":"2.0" objects of a valid shape count.
import type { ParserContext } from '../context.js';
import type { JsonRpcCarrier, JsonRpcMessage, MessageMeta } from '../messages.js';

export type HttpExchange = { method: string; target: string; host?: string };

/** First index at or after `from` that is not JSON whitespace (or a UTF-8 BOM), or -1. */
export function firstNonSpace(text: string, from = 0): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0xfeff) return i;
  }
  return -1;
}

/**
 * Parse a text that may hold one JSON-RPC message or a batch. Returns [] for anything that is not
 * JSON-RPC 2.0; counts `jsonrpc.invalid` only when the text named "jsonrpc" (parsed key or,
 * for unparsable text, the raw token) and `jsonrpc.too_large` when the text is over the inspect cap.
 */
export function parseJsonRpc(
  text: string,
  carrier: JsonRpcCarrier,
  meta: MessageMeta,
  http?: HttpExchange,
  ctx?: ParserContext,
): JsonRpcMessage[] {
  return parseJsonRpcText(text, carrier, meta, http, ctx).messages;
}

/** As parseJsonRpc, and also says whether the text was JSON at all (NDJSON uses it to give up on non-JSON streams). */
export function parseJsonRpcText(
  text: string,
  carrier: JsonRpcCarrier,
  meta: MessageMeta,
  http?: HttpExchange,
  ctx?: ParserContext,
): { messages: JsonRpcMessage[]; json: boolean } {
  const none = { messages: [], json: false };
  const start = firstNonSpace(text);
  if (start < 0) return none;
  const c = text.charCodeAt(start);
  if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) return none;
  const where = () => ({ file: ctx?.file, frame: meta.frame, flow: String(meta.flow.id), detail: carrier });
  const cap = ctx?.limits.httpBodyInspectBytes ?? Infinity;
  if (text.length > cap) {
    ctx?.anomalies.add('jsonrpc.too_large', where);
    return none;
  }
  let value: unknown;
  try {
    value = JSON.parse(start === 0 ? text : text.slice(start));
  } catch {
    if (text.includes('jsonrpc')) ctx?.anomalies.add('jsonrpc.invalid', where);
    return none;
  }
  const messages: JsonRpcMessage[] = [];
  let invalid = false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = toMessage(value[i], carrier, meta, http, i);
      if (r === INVALID) invalid = true;
      else if (r) messages.push(r);
    }
  } else {
    const r = toMessage(value, carrier, meta, http, undefined);
    if (r === INVALID) invalid = true;
    else if (r) messages.push(r);
  }
  if (invalid) ctx?.anomalies.add('jsonrpc.invalid', where);
  return { messages, json: true };
}

const INVALID = Symbol('invalid');

/** null: not JSON-RPC at all (no "jsonrpc" key); INVALID: said "jsonrpc" but is not a valid 2.0 message. */
function toMessage(
  v: unknown,
  carrier: JsonRpcCarrier,
  meta: MessageMeta,
  http: HttpExchange | undefined,
  batchIndex: number | undefined,
): JsonRpcMessage | null | typeof INVALID {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(o, 'jsonrpc')) return null;
  if (o.jsonrpc !== '2.0') return INVALID;
  const hasId = Object.prototype.hasOwnProperty.call(o, 'id');
  if (hasId && !isId(o.id)) return INVALID;

  const base: JsonRpcMessage = {
    kind: 'jsonrpc', flow: meta.flow, dir: meta.dir, frame: meta.frame, ts: meta.ts, carrier, type: 'request',
  };
  if (batchIndex !== undefined) base.batchIndex = batchIndex;
  if (http) base.http = http;

  if (Object.prototype.hasOwnProperty.call(o, 'method')) {
    if (typeof o.method !== 'string') return INVALID;
    if (o.params !== undefined && (o.params === null || typeof o.params !== 'object')) return INVALID;
    base.method = o.method;
    if (o.params !== undefined) base.params = o.params;
    if (hasId) {
      base.type = 'request';
      base.id = o.id as string | number | null;
    } else {
      base.type = 'notification';
    }
    return base;
  }
  if (!hasId) return INVALID;
  base.id = o.id as string | number | null;
  const hasResult = Object.prototype.hasOwnProperty.call(o, 'result');
  const hasError = Object.prototype.hasOwnProperty.call(o, 'error');
  if (hasResult === hasError) return INVALID;
  if (hasResult) {
    base.type = 'response';
    base.result = o.result;
    return base;
  }
  const e = o.error;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return INVALID;
  const err = e as Record<string, unknown>;
  if (typeof err.code !== 'number' || !Number.isInteger(err.code) || typeof err.message !== 'string') return INVALID;
  base.type = 'error';
  base.error = { code: err.code, message: err.message };
  if (Object.prototype.hasOwnProperty.call(err, 'data')) base.error.data = err.data;
  return base;
}

function isId(id: unknown): boolean {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}
