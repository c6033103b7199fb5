// The catalogue of field names that observations carry and signatures match on.
// Captures and log importers fill the same names, so one signature serves both.
// `<name>` / `<path>` stand for a lowercase header name or a dotted JSON path.

export interface FieldSpec {
  kind: string;
  type: 'string' | 'number' | 'boolean' | 'string[]' | 'json';
  description: string;
}

export const FIELDS: Record<string, FieldSpec> = {
  'conn.proto': { kind: 'conn', type: 'string', description: 'tcp or udp' },
  'conn.src_ip': { kind: 'conn', type: 'string', description: 'client address' },
  'conn.src_port': { kind: 'conn', type: 'number', description: 'client port' },
  'conn.dst_ip': { kind: 'conn', type: 'string', description: 'server address' },
  'conn.dst_port': { kind: 'conn', type: 'number', description: 'server port' },
  'conn.action': { kind: 'conn', type: 'string', description: 'firewall verdict from a log: allow or block' },

  'http.request.method': { kind: 'http.request', type: 'string', description: 'GET, POST, ...' },
  'http.request.uri': { kind: 'http.request', type: 'string', description: 'request target as sent' },
  'http.request.path': { kind: 'http.request', type: 'string', description: 'target without the query' },
  'http.request.query': { kind: 'http.request', type: 'string', description: 'query string without "?"' },
  'http.request.host': { kind: 'http.request', type: 'string', description: 'Host header (port removed, lowercase)' },
  'http.request.user_agent': { kind: 'http.request', type: 'string', description: 'User-Agent header' },
  'http.request.content_type': { kind: 'http.request', type: 'string', description: 'media type, lowercase, no parameters' },
  'http.request.header.<name>': { kind: 'http.request', type: 'string', description: 'any request header (values joined with ", ")' },
  'http.request.body': { kind: 'http.request', type: 'string', description: 'decoded body text (capped)' },
  'http.request.header_names': { kind: 'http.request', type: 'string[]', description: 'all request header names, lowercase (for name patterns such as mcp-param-*)' },

  'http.response.status': { kind: 'http.response', type: 'number', description: 'status code' },
  'http.response.content_type': { kind: 'http.response', type: 'string', description: 'media type, lowercase, no parameters' },
  'http.response.header.<name>': { kind: 'http.response', type: 'string', description: 'any response header' },
  'http.response.body': { kind: 'http.response', type: 'string', description: 'decoded body text (capped)' },
  'http.response.header_names': { kind: 'http.response', type: 'string[]', description: 'all response header names, lowercase' },
  // A response also carries http.request.method|path|host of the request it answers, when seen.

  'sse.event': { kind: 'sse.event', type: 'string', description: 'event type ("message" when absent)' },
  'sse.data': { kind: 'sse.event', type: 'string', description: 'data lines joined with LF' },
  'sse.id': { kind: 'sse.event', type: 'string', description: 'id field' },
  'sse.index': { kind: 'sse.event', type: 'number', description: '0-based position in the stream' },

  'ws.text': { kind: 'ws.text', type: 'string', description: 'WebSocket text message' },

  'jsonrpc.type': { kind: 'jsonrpc', type: 'string', description: 'request, notification, response or error' },
  'jsonrpc.method': { kind: 'jsonrpc', type: 'string', description: 'method of a request or notification' },
  'jsonrpc.id': { kind: 'jsonrpc', type: 'string', description: 'id, as text' },
  'jsonrpc.params.<path>': { kind: 'jsonrpc', type: 'json', description: 'a value inside params' },
  'jsonrpc.result.<path>': { kind: 'jsonrpc', type: 'json', description: 'a value inside result' },
  'jsonrpc.error.code': { kind: 'jsonrpc', type: 'number', description: 'error code' },
  'jsonrpc.error.message': { kind: 'jsonrpc', type: 'string', description: 'error message' },
  'jsonrpc.transport': { kind: 'jsonrpc', type: 'string', description: 'http-request, http-response, sse, ws or ndjson' },

  'dns.query.name': { kind: 'dns', type: 'string', description: 'queried name, lowercase, no trailing dot' },
  'dns.query.type': { kind: 'dns', type: 'string', description: 'A, AAAA, HTTPS, ...' },
  'dns.rcode': { kind: 'dns', type: 'string', description: 'NOERROR, NXDOMAIN, ...' },
  'dns.answer.address': { kind: 'dns', type: 'string[]', description: 'A/AAAA addresses in the answer' },
  'dns.answer.name': { kind: 'dns', type: 'string[]', description: 'CNAME targets in the answer' },

  'tls.sni': { kind: 'tls.client_hello', type: 'string', description: 'server_name, lowercase' },
  'tls.alpn': { kind: 'tls.client_hello', type: 'string[]', description: 'offered ALPN protocols' },
  'tls.version': { kind: 'tls.client_hello', type: 'string', description: 'highest offered version, e.g. 1.3' },

  // Log-only context (log importers): what the log itself says about the record.
  'conn.service': { kind: 'conn', type: 'string', description: 'application protocol the log named (Zeek service, Suricata app_proto)' },
  'log.action': { kind: 'conn', type: 'string', description: 'verdict or decision word as logged (DROP, blockedByQueryName, allowed)' },
  'log.rule': { kind: 'conn', type: 'string', description: 'rule, policy, log prefix or alert signature the log names' },
  'log.user': { kind: 'conn', type: 'string', description: 'user identity the log names (e-mail, user id)' },
};

/** The catalogue entry for a concrete field name (`http.request.header.mcp-session-id` → `...header.<name>`). */
export function fieldSpec(name: string): FieldSpec | undefined {
  const direct = FIELDS[name];
  if (direct) return direct;
  for (const prefix of ['http.request.header.', 'http.response.header.']) {
    if (name.startsWith(prefix) && name.length > prefix.length) return FIELDS[`${prefix}<name>`];
  }
  for (const prefix of ['jsonrpc.params', 'jsonrpc.result']) {
    if (name === prefix || name.startsWith(`${prefix}.`)) return FIELDS[`${prefix}.<path>`];
  }
  return undefined;
}

/**
 * Read a field from an observation's fields, following dotted JSON paths into params/result.
 * Keys that contain dots themselves (`io.modelcontextprotocol/protocolVersion`) are found by
 * trying the longest run of path segments that names a key.
 */
export function getField(fields: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(fields, name)) return fields[name];
  for (const root of ['jsonrpc.params', 'jsonrpc.result']) {
    if (!name.startsWith(`${root}.`)) continue;
    return lookupPath(fields[root], name.slice(root.length + 1).split('.'));
  }
  return undefined;
}

function lookupPath(value: unknown, segments: string[]): unknown {
  if (segments.length === 0) return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  for (let take = segments.length; take >= 1; take--) {
    const key = segments.slice(0, take).join('.');
    if (Object.prototype.hasOwnProperty.call(value, key)) {
      const found = lookupPath((value as Record<string, unknown>)[key], segments.slice(take));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
