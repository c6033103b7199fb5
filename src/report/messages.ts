// `shadowtap decode` output: one JSON object per message, with where it came from.
import type { FlowRef } from '../flows/types.js';
import type { Message } from '../protocols/messages.js';

/** Bytes of a body `decode` shows (decoded as UTF-8). */
export const BODY_PREVIEW_BYTES = 4096;
const decoder = new TextDecoder('utf-8', { fatal: false });

// The last whole second formatted, up to and including the '.': messages come in time order, so a Date and an
// ISO string per message (a tenth of `decode`'s time) become one per second of capture.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** ISO 8601 UTC with microseconds: 2025-11-24T16:00:00.000028Z. */
export function isoTime(ts: number): string {
  // Whole microseconds first, so a fraction that rounds up carries into the millisecond and second.
  const us = Math.round(ts * 1e6);
  const second = Math.floor(us / 1e6);
  const frac = us - second * 1e6;
  if (second !== cachedSecond) {
    cachedPrefix = isoSecondPrefix(second);
    cachedSecond = second;
  }
  const ms = Math.floor(frac / 1000);
  return `${cachedPrefix}${pad3(ms)}${pad3(frac - ms * 1000)}Z`;
}

/** `2025-11-24T16:00:00.`: a whole second (since 1970) in ISO 8601 UTC, up to the fraction. */
export function isoSecondPrefix(second: number): string {
  const iso = new Date(second * 1000).toISOString(); // throws RangeError for NaN
  return iso.slice(0, iso.length - 4);
}

function pad3(n: number): string {
  if (n >= 100) return String(n);
  if (n >= 10) return `0${n}`;
  return n >= 0 ? `00${n}` : String(n).padStart(3, '0'); // negative only before 1970, kept as it was
}

export function bodyText(body: Uint8Array): string {
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

// --- `decode` lines built as strings: the same bytes as JSON.stringify({ file, ...messageToJson(msg) }), without
// the three intermediate objects per message. `decode` itself writes bytes (message-writer.ts); this is the string
// form the tests hold that writer to. Keys keep messageToJson's order; a value JSON.stringify turns into
// undefined (undefined itself) leaves its key out, as it does inside an object.

/** `,"key":value`, or nothing when the value is left out. */
function field(key: string, v: unknown): string {
  if (typeof v === 'string') return `,"${key}":${JSON.stringify(v)}`;
  if (typeof v === 'number') return Number.isFinite(v) ? `,"${key}":${v}` : `,"${key}":null`;
  const j = JSON.stringify(v);
  return j === undefined ? '' : `,"${key}":${j}`;
}

/** A flow's part of every line: `,"flow":…,"proto":…,"client":…,"server":…` and `,"vlan":[…]` (or ''). */
interface FlowJson {
  head: string;
  vlan: string;
}

// Built once per flow, not once per message; a WeakMap, so a flow's strings go when the flow does.
const flowJsonCache = new WeakMap<FlowRef, FlowJson>();

function flowJson(f: FlowRef): FlowJson {
  let j = flowJsonCache.get(f);
  if (j === undefined) {
    const head = `${field('flow', f.id)}${field('proto', f.proto)}${field('client', `${f.client.ip}:${f.client.port}`)}${field('server', `${f.server.ip}:${f.server.port}`)}`;
    j = { head, vlan: f.vlan.length ? field('vlan', f.vlan) : '' };
    flowJsonCache.set(f, j);
  }
  return j;
}

/**
 * One `decode` NDJSON line (without the newline) for a message; `fileJson` is JSON.stringify(file).
 * Byte-identical to JSON.stringify({ file, ...messageToJson(msg) }) (tests check both on every fixture).
 */
export function messageToJsonLine(fileJson: string, msg: Message): string {
  const fj = flowJson(msg.flow);
  // isoTime's characters (digits, - : . T Z +), directions and kinds never need escaping.
  let s = `{"file":${fileJson}${field('frame', msg.frame)},"ts":"${isoTime(msg.ts)}"${fj.head},"dir":"${msg.dir}","kind":"${msg.kind}"${fj.vlan}`;
  switch (msg.kind) {
    case 'http.request':
      s += `${field('method', msg.method)}${field('target', msg.target)}${field('version', msg.version)}${field('headers', msg.headers)}`;
      s += `${field('bodyLength', msg.bodyLength)}${msg.bodyTruncated ? field('bodyTruncated', msg.bodyTruncated) : ''}`;
      if (msg.body.length) s += field('body', bodyText(msg.body));
      break;
    case 'http.response':
      s += `${field('status', msg.status)}${field('reason', msg.reason)}${field('version', msg.version)}${field('headers', msg.headers)}`;
      s += `${field('request', msg.request)}${field('bodyLength', msg.bodyLength)}${msg.bodyTruncated ? field('bodyTruncated', msg.bodyTruncated) : ''}`;
      if (msg.body.length) s += field('body', bodyText(msg.body));
      break;
    case 'sse.event':
      s += `${field('index', msg.index)}${field('event', msg.event)}${field('data', msg.data)}${field('id', msg.id)}${field('retry', msg.retry)}${field('request', msg.request)}`;
      break;
    case 'ws.text':
      s += `${field('text', msg.text)}${field('request', msg.request)}`;
      break;
    case 'dns':
      s += `${field('transport', msg.transport)}${field('id', msg.id)}${field('response', msg.response)}${field('rcode', msg.rcode)}`;
      s += `${field('questions', msg.questions)}${field('answers', msg.answers)}`;
      break;
    case 'tls.client_hello':
      s += `${field('version', msg.version)}${field('supportedVersions', msg.supportedVersions)}${field('sni', msg.sni)}${field('alpn', msg.alpn)}`;
      break;
    case 'jsonrpc':
      s += `${field('carrier', msg.carrier)}${field('batchIndex', msg.batchIndex)}${field('type', msg.type)}${field('id', msg.id)}${field('method', msg.method)}`;
      s += `${field('params', msg.params)}${field('result', msg.result)}${field('error', msg.error)}${field('http', msg.http)}`;
      break;
  }
  return `${s}}`;
}
