// Messages → observations: flat named fields (detect/fields.ts) that signatures match on.
// Strings are built here, once per message, never per packet.
import { LIMITS } from '../config/limits.js';
import type { Anomalies } from '../core/anomalies.js';
import type { FieldValue, JsonValue, Observation } from '../detect/observation.js';
import type { FlowRef } from '../flows/types.js';
import type { Headers, Message } from './messages.js';

export interface ObserveSource {
  file: string;
  format: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Media type without parameters, lowercase (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  const t = (semi >= 0 ? value.slice(0, semi) : value).trim().toLowerCase();
  return t === '' ? undefined : t;
}

/** Host header or authority → lowercase name without port or trailing dot (`[::1]:8080` → `::1`). */
export function hostName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let h = value.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h.slice(1);
  } else {
    const colon = h.indexOf(':');
    // A single colon is a port; more than one is a bare IPv6 address.
    if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h === '' ? undefined : h;
}

interface SplitTarget {
  path: string;
  query?: string;
  host?: string;
}

/** Origin-form `/a?b` or absolute-form `http://h:1/a?b` → path, query, host. */
export function splitTarget(target: string): SplitTarget {
  let rest = target;
  let host: string | undefined;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) {
    rest = rest.slice(scheme[0].length);
    const slash = rest.search(/[/?#]/);
    host = hostName(slash >= 0 ? rest.slice(0, slash) : rest);
    rest = slash >= 0 ? rest.slice(slash) : '/';
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  if (q < 0) return { path: rest, host };
  return { path: rest.slice(0, q), query: rest.slice(q + 1), host };
}

function bodyText(body: Uint8Array, msg: Message, source: ObserveSource, anomalies?: Anomalies): string | undefined {
  if (body.length === 0) return undefined;
  if (body.length > LIMITS.detectBodyTextBytes) {
    anomalies?.add('detect.body_truncated', () => ({ file: source.file, frame: msg.frame, flow: String(msg.flow.id) }));
    return utf8.decode(body.subarray(0, LIMITS.detectBodyTextBytes));
  }
  return utf8.decode(body);
}

function putHeaders(fields: Record<string, FieldValue>, prefix: string, headers: Headers): string[] {
  const names: string[] = [];
  for (const [name, value] of headers) {
    const key = prefix + name;
    const prev = fields[key];
    if (typeof prev === 'string') fields[key] = `${prev}, ${value}`;
    else {
      fields[key] = value;
      names.push(name);
    }
  }
  return names;
}

function headerValue(headers: Headers, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

function putRequestLine(
  fields: Record<string, FieldValue>,
  request: { method: string; target: string; host?: string } | undefined,
): void {
  if (!request) return;
  const t = splitTarget(request.target);
  fields['http.request.method'] = request.method;
  fields['http.request.path'] = t.path;
  const host = hostName(request.host) ?? t.host;
  if (host !== undefined) fields['http.request.host'] = host;
}

function tlsVersionName(v: number): string | undefined {
  switch (v) {
    case 0x0304: return '1.3';
    case 0x0303: return '1.2';
    case 0x0302: return '1.1';
    case 0x0301: return '1.0';
    case 0x0300: return 'ssl3';
    default: return undefined;
  }
}

function dnsName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** One message → its observation(s). Never throws on odd values; unknown kinds give none. Body text beyond the cap is counted in `anomalies`. */
export function observeMessage(msg: Message, source: ObserveSource, anomalies?: Anomalies): Observation[] {
  const fields: Record<string, FieldValue> = {};
  switch (msg.kind) {
    case 'http.request': {
      // CONNECT's target is an authority (host:port), not a path: its host is what a proxy log shows.
      const t: SplitTarget = msg.method === 'CONNECT' ? { path: '', host: hostName(msg.target) } : splitTarget(msg.target);
      fields['http.request.method'] = msg.method;
      fields['http.request.uri'] = msg.target;
      if (t.path !== '') fields['http.request.path'] = t.path;
      if (t.query !== undefined) fields['http.request.query'] = t.query;
      const host = t.host !== undefined && msg.method === 'CONNECT' ? t.host : (hostName(headerValue(msg.headers, 'host')) ?? t.host);
      if (host !== undefined) fields['http.request.host'] = host;
      const ua = headerValue(msg.headers, 'user-agent');
      if (ua !== undefined) fields['http.request.user_agent'] = ua;
      const ct = mediaType(headerValue(msg.headers, 'content-type'));
      if (ct !== undefined) fields['http.request.content_type'] = ct;
      fields['http.request.header_names'] = putHeaders(fields, 'http.request.header.', msg.headers);
      const body = bodyText(msg.body, msg, source, anomalies);
      if (body !== undefined) fields['http.request.body'] = body;
      break;
    }
    case 'http.response': {
      fields['http.response.status'] = msg.status;
      const ct = mediaType(headerValue(msg.headers, 'content-type'));
      if (ct !== undefined) fields['http.response.content_type'] = ct;
      fields['http.response.header_names'] = putHeaders(fields, 'http.response.header.', msg.headers);
      const body = bodyText(msg.body, msg, source, anomalies);
      if (body !== undefined) fields['http.response.body'] = body;
      putRequestLine(fields, msg.request);
      break;
    }
    case 'sse.event':
      fields['sse.event'] = msg.event;
      fields['sse.data'] = msg.data;
      if (msg.id !== undefined) fields['sse.id'] = msg.id;
      fields['sse.index'] = msg.index;
      putRequestLine(fields, msg.request);
      break;
    case 'ws.text':
      fields['ws.text'] = msg.text;
      putRequestLine(fields, msg.request);
      break;
    case 'jsonrpc':
      fields['jsonrpc.type'] = msg.type;
      fields['jsonrpc.transport'] = msg.carrier;
      if (msg.method !== undefined) fields['jsonrpc.method'] = msg.method;
      if (msg.id !== undefined && msg.id !== null) fields['jsonrpc.id'] = String(msg.id);
      if (msg.params !== undefined) fields['jsonrpc.params'] = msg.params as JsonValue;
      if (msg.result !== undefined) fields['jsonrpc.result'] = msg.result as JsonValue;
      if (msg.error) {
        fields['jsonrpc.error.code'] = msg.error.code;
        fields['jsonrpc.error.message'] = msg.error.message;
      }
      putRequestLine(fields, msg.http);
      break;
    case 'dns': {
      const q = msg.questions[0];
      if (q) {
        fields['dns.query.name'] = dnsName(q.name);
        fields['dns.query.type'] = q.type;
      }
      if (msg.response) {
        fields['dns.rcode'] = msg.rcode;
        const addrs: string[] = [];
        const cnames: string[] = [];
        for (const a of msg.answers) {
          if (a.type === 'A' || a.type === 'AAAA') addrs.push(a.data);
          else if (a.type === 'CNAME') cnames.push(dnsName(a.data));
        }
        if (addrs.length > 0) fields['dns.answer.address'] = addrs;
        if (cnames.length > 0) fields['dns.answer.name'] = cnames;
      }
      break;
    }
    case 'tls.client_hello': {
      if (msg.sni !== undefined) fields['tls.sni'] = dnsName(msg.sni);
      if (msg.alpn.length > 0) fields['tls.alpn'] = [...msg.alpn];
      // Highest real version offered; GREASE values (0x?a?a) are skipped.
      let best = msg.version;
      for (const v of msg.supportedVersions) if ((v & 0x0f0f) !== 0x0a0a && v > best && v <= 0x0304) best = v;
      const name = tlsVersionName(best);
      if (name !== undefined) fields['tls.version'] = name;
      break;
    }
    default:
      return [];
  }
  const flow = msg.flow;
  return [
    {
      kind: msg.kind,
      fields,
      ts: msg.ts,
      source: { kind: 'pcap', file: source.file, frame: msg.frame, format: source.format },
      // The flow's client stays the client whatever the message's direction.
      client: { ip: flow.client.ip, port: flow.client.port },
      server: { ip: flow.server.ip, port: flow.server.port },
      flowId: flow.id,
    },
  ];
}

/** A flow → its `conn` observation (who talked to which port). */
export function observeFlow(flow: FlowRef, source: ObserveSource): Observation {
  return {
    kind: 'conn',
    fields: {
      'conn.proto': flow.proto,
      'conn.src_ip': flow.client.ip,
      'conn.src_port': flow.client.port,
      'conn.dst_ip': flow.server.ip,
      'conn.dst_port': flow.server.port,
    },
    ts: flow.firstTs,
    source: { kind: 'pcap', file: source.file, frame: flow.firstFrame, format: source.format },
    client: { ip: flow.client.ip, port: flow.client.port },
    server: { ip: flow.server.ip, port: flow.server.port },
    flowId: flow.id,
  };
}
