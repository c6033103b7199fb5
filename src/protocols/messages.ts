// Application messages: owned values (copied out of frames), safe to keep.
import type { Dir, FlowRef, StreamChunk } from '../flows/types.js';

export interface MessageMeta {
  flow: FlowRef;
  dir: Dir;
  /** Frame that carried the first byte of the message, and its time. */
  frame: number;
  ts: number;
}

/** Header names lowercased, values as sent (trimmed), in wire order. */
export type Headers = Array<[name: string, value: string]>;

export interface HttpRequest extends MessageMeta {
  kind: 'http.request';
  method: string;
  /** Request target as sent (origin-form path?query, or absolute-form). */
  target: string;
  version: string;
  headers: Headers;
  /** Body after Transfer-Encoding and Content-Encoding are undone, up to the inspect cap. */
  body: Uint8Array;
  /** Body length on the wire after transfer decoding (before Content-Encoding is undone). */
  bodyLength: number;
  bodyTruncated: boolean;
}

export interface HttpResponse extends MessageMeta {
  kind: 'http.response';
  status: number;
  reason: string;
  version: string;
  headers: Headers;
  /** Empty for text/event-stream (its events come as SseEvent) and after a WebSocket upgrade. */
  body: Uint8Array;
  bodyLength: number;
  bodyTruncated: boolean;
  /** The request this answers, when it was seen. */
  request?: { method: string; target: string; host?: string };
}

export interface SseEvent extends MessageMeta {
  kind: 'sse.event';
  /** `message` when the event had no `event:` field (as browsers dispatch it). */
  event: string;
  /** Data lines joined with LF. */
  data: string;
  id?: string;
  retry?: number;
  /** 0-based position of this event in its stream. */
  index: number;
  request?: { method: string; target: string; host?: string };
}

export interface WsText extends MessageMeta {
  kind: 'ws.text';
  text: string;
  request?: { method: string; target: string; host?: string };
}

export interface DnsQuestion {
  name: string;
  type: string;
}

export interface DnsAnswer {
  name: string;
  type: string;
  ttl: number;
  /** A/AAAA address, CNAME/NS/PTR target, TXT joined; other types summarised. */
  data: string;
}

export interface DnsMessage extends MessageMeta {
  kind: 'dns';
  transport: 'udp' | 'tcp';
  id: number;
  response: boolean;
  rcode: string;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
}

export interface TlsClientHello extends MessageMeta {
  kind: 'tls.client_hello';
  /** legacy_version of the ClientHello (0x0303 for TLS 1.2 and 1.3). */
  version: number;
  /** Highest version from supported_versions, when present. */
  supportedVersions: number[];
  sni?: string;
  alpn: string[];
}

export type JsonRpcCarrier = 'http-request' | 'http-response' | 'sse' | 'ws' | 'ndjson';

export interface JsonRpcMessage extends MessageMeta {
  kind: 'jsonrpc';
  carrier: JsonRpcCarrier;
  /** Position inside a batch array, when the body was a batch. */
  batchIndex?: number;
  type: 'request' | 'notification' | 'response' | 'error';
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  /** The HTTP exchange that carried it, when it came over HTTP. */
  http?: { method: string; target: string; host?: string };
}

export type Message =
  | HttpRequest
  | HttpResponse
  | SseEvent
  | WsText
  | DnsMessage
  | TlsClientHello
  | JsonRpcMessage;

export type MessageSink = (msg: Message) => void;

/** Result of feeding a stream parser. `error`: this direction cannot be parsed further. */
export type FeedStatus = 'ok' | 'error';

/** A parser of one TCP flow (both directions), fed in-order chunks. */
export interface StreamParser {
  feed(chunk: StreamChunk): FeedStatus;
  /** The direction ended (FIN/RST/end of input): flush what a close completes (bodies read until close). */
  end(dir: Dir): void;
}

/** Every message kind (decode --kind); the check below fails to compile when a kind is missing. */
export const MESSAGE_KINDS = ['http.request', 'http.response', 'sse.event', 'ws.text', 'jsonrpc', 'dns', 'tls.client_hello'] as const satisfies readonly Message['kind'][];
const everyKind: [Exclude<Message['kind'], (typeof MESSAGE_KINDS)[number]>] extends [never] ? true : false = true;
void everyKind;
