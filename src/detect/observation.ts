// One evidence shape for captures and logs alike (Zeek's Intel `seen`).
// Signatures match on `fields` by name; see detect/fields.ts for the catalogue of names.
import type { Endpoint } from '../flows/types.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** A field's value: scalars, lists (e.g. dns.answer.address, tls.alpn) or parsed JSON (jsonrpc.params). */
export type FieldValue = string | number | boolean | null | string[] | JsonValue;

export type ObservationKind =
  | 'conn'
  | 'http.request'
  | 'http.response'
  | 'sse.event'
  | 'ws.text'
  | 'jsonrpc'
  | 'dns'
  | 'tls.client_hello';

/** Where an observation came from: frame N of a capture, or line N of a log file. */
export interface SourceRef {
  kind: 'pcap' | 'log';
  file: string;
  frame?: number;
  line?: number;
  /** Log format (`zeek.dns`, `suricata.eve`, ...) or `pcap`/`pcapng`. */
  format: string;
}

export interface Observation {
  kind: ObservationKind;
  fields: Record<string, FieldValue>;
  ts: number;
  source: SourceRef;
  /** Who initiated and who answered, when known (a DNS log knows only the client). */
  client?: Endpoint;
  server?: Endpoint;
  /** Capture flow id, to correlate observations of one connection. */
  flowId?: number;
}
