// Cloudflare Gateway Logpush NDJSON: gateway_dns, gateway_http, gateway_network, and mcp_portal_logs
// (research D.1). A job may select any subset of fields, so the dataset is told from the keys present.
// `Datetime` is RFC 3339 or Unix s/ms/ns depending on the job's timestamp option.
import type { FieldValue, Observation } from '../../detect/observation.js';
import {
  connFields, endpoint, makeObservation, normHost, normName, parseAnyTime, parseAddressPair, parseIp, parseJsonObject,
  parsePort, put, qtypeName, rcodeName, setUri, str, num, verdict,
} from './common.js';
import type { LogFormat } from './types.js';

const KNOWN_KEYS = new Set([
  'Datetime', 'QueryName', 'QueryType', 'QueryTypeName', 'ResolverDecision', 'ResolvedIPs', 'SrcIP', 'SrcPort', 'DstIP',
  'DstPort', 'HTTPHost', 'HTTPMethod', 'HTTPStatusCode', 'URL', 'SourceIP', 'SourcePort', 'DestinationIP',
  'DestinationPort', 'TransportProtocol', 'SNI', 'Action', 'PolicyName', 'Email', 'DeviceID', 'AccountID', 'RCode',
  'ServerURL', 'ToolCallName', 'Method', 'PortalID', 'ClientIP', 'UserEmail', 'DetectedProtocol', 'UserAgent',
]);

type Dataset = 'gateway_dns' | 'gateway_http' | 'gateway_network' | 'mcp_portal' | undefined;

function dataset(o: Record<string, unknown>): Dataset {
  if ('QueryName' in o || 'ResolverDecision' in o || 'QueryTypeName' in o) return 'gateway_dns';
  if ('HTTPHost' in o || 'HTTPMethod' in o || 'HTTPStatusCode' in o || 'URL' in o) return 'gateway_http';
  if ('ServerURL' in o || 'ToolCallName' in o || 'PortalID' in o) return 'mcp_portal';
  if ('SourceIP' in o || 'DestinationIP' in o || 'DestinationPort' in o || 'SNI' in o) return 'gateway_network';
  return undefined;
}

export const cloudflare: LogFormat = {
  id: 'cloudflare',
  title: 'Cloudflare Gateway Logpush (gateway_dns, gateway_http, gateway_network, mcp_portal_logs)',
  sniff(lines) {
    const o = parseJsonObject(lines[0] ?? '');
    if (!o || 'event_type' in o || 'id.orig_h' in o) return false;
    let known = 0;
    for (const k of Object.keys(o)) if (KNOWN_KEYS.has(k)) known++;
    return known >= 2 && dataset(o) !== undefined;
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        const o = parseJsonObject(text);
        if (!o) return undefined;
        const ds = dataset(o);
        if (!ds) return undefined;
        let ts: number | undefined;
        if (o.Datetime !== undefined) {
          ts = parseAnyTime(o.Datetime);
          if (ts === undefined) {
            ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
            return [];
          }
        }
        const srcRaw = str(o.SrcIP ?? o.SourceIP ?? o.ClientIP);
        const dstRaw = str(o.DstIP ?? o.DestinationIP);
        const addrs = parseAddressPair(srcRaw, dstRaw, ctx, lineNo, false);
        if (!addrs) return [];
        const { src, dst } = addrs;
        const sport = parsePort(o.SrcPort ?? o.SourcePort);
        const dport = parsePort(o.DstPort ?? o.DestinationPort);
        const format = `cloudflare.${ds}`;
        const out: Observation[] = [];
        const emit = (kind: Observation['kind'], f: Record<string, FieldValue>) => {
          put(f, 'log.rule', str(o.PolicyName));
          put(f, 'log.user', str(o.Email ?? o.UserEmail));
          out.push(makeObservation(ctx, format, lineNo, kind, ts ?? 0, f, endpoint(src, sport), endpoint(dst, dport)));
        };
        switch (ds) {
          case 'gateway_dns': {
            const name = str(o.QueryName);
            if (!name) return [];
            const f: Record<string, FieldValue> = { 'dns.query.name': normName(name) };
            put(f, 'dns.query.type', str(o.QueryTypeName) ?? qtypeName(o.QueryType));
            put(f, 'dns.rcode', rcodeName(o.RCode));
            const ips = Array.isArray(o.ResolvedIPs) ? o.ResolvedIPs.map((x) => parseIp(str(x))).filter((x): x is string => !!x) : [];
            put(f, 'dns.answer.address', ips);
            const cnames = Array.isArray(o.CNAMEs) ? o.CNAMEs.map((x) => str(x)).filter((x): x is string => !!x).map(normName) : [];
            put(f, 'dns.answer.name', cnames);
            // gateway_dns has no Action field: ResolverDecision says allowed/blocked and why.
            put(f, 'log.action', str(o.ResolverDecision));
            emit('dns', f);
            break;
          }
          case 'gateway_http': {
            const f: Record<string, FieldValue> = {};
            put(f, 'http.request.method', str(o.HTTPMethod));
            put(f, 'http.request.host', normHost(str(o.HTTPHost)));
            setUri(f, str(o.URL));
            put(f, 'http.request.user_agent', str(o.UserAgent));
            put(f, 'http.request.header.referer', str(o.Referer));
            put(f, 'log.action', str(o.Action));
            emit('http.request', f);
            const status = num(o.HTTPStatusCode);
            if (status !== undefined && status > 0) {
              const r: Record<string, FieldValue> = { 'http.response.status': status };
              for (const k of ['http.request.method', 'http.request.host', 'http.request.path']) put(r, k, f[k]);
              emit('http.response', r);
            }
            break;
          }
          case 'gateway_network': {
            const f = connFields(str(o.TransportProtocol ?? o.Transport)?.toLowerCase(), src, sport, dst, dport);
            put(f, 'conn.service', str(o.DetectedProtocol));
            const action = str(o.Action);
            put(f, 'log.action', action);
            put(f, 'conn.action', verdict(action));
            emit('conn', f);
            const sni = str(o.SNI);
            if (sni) emit('tls.client_hello', { 'tls.sni': sni.toLowerCase() });
            break;
          }
          case 'mcp_portal': {
            // The portal logs the MCP call itself: method, tool, the server it was sent to.
            const f: Record<string, FieldValue> = {};
            const method = str(o.Method);
            put(f, 'jsonrpc.method', method);
            if (method) f['jsonrpc.type'] = 'request';
            const params: Record<string, string> = {};
            if (str(o.ToolCallName)) params.name = str(o.ToolCallName)!;
            else if (str(o.PromptGetName)) params.name = str(o.PromptGetName)!;
            if (str(o.ResourceReadURI)) params.uri = str(o.ResourceReadURI)!;
            if (Object.keys(params).length) f['jsonrpc.params'] = params;
            put(f, 'log.action', o.Success === false ? 'error' : undefined);
            emit('jsonrpc', f);
            const url = str(o.ServerURL);
            if (url) {
              const h: Record<string, FieldValue> = {};
              setUri(h, url);
              emit('http.request', h);
            }
            break;
          }
        }
        return out;
      },
    };
  },
};

