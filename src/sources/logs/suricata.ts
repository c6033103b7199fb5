// Suricata EVE JSON: dns (v2 and the v3 layout of Suricata 8), http, tls, flow and alert events (research D.3).
import type { FieldValue, Observation } from '../../detect/observation.js';
import {
  connFields, endpoint, makeObservation, mediaType, normHost, normName, parseAnyTime, parseIp, parseJsonObject,
  parsePort, put, qtypeName, rcodeName, setUri, str, num, verdict,
} from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'suricata.eve';

export const suricata: LogFormat = {
  id: 'suricata',
  title: 'Suricata EVE JSON',
  sniff(lines) {
    const first = lines[0] ?? '';
    return first.startsWith('{') && first.includes('"event_type"') && first.includes('"timestamp"');
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        const ev = parseJsonObject(text);
        if (!ev || typeof ev.event_type !== 'string') return undefined;
        // A flow event's own timestamp is when it was written (in pcap mode: the capture's start); flow.start is the flow's.
        const flowStart = ev.event_type === 'flow' ? parseAnyTime(obj(ev.flow)?.start) : undefined;
        const ts = flowStart ?? parseAnyTime(ev.timestamp);
        if (ts === undefined) {
          ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
          return [];
        }
        const srcRaw = str(ev.src_ip);
        const dstRaw = str(ev.dest_ip);
        const src = parseIp(srcRaw);
        const dst = parseIp(dstRaw);
        if ((srcRaw && !src) || (dstRaw && !dst)) {
          ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
          return [];
        }
        let sport = parsePort(ev.src_port);
        let dport = parsePort(ev.dest_port);
        let cIp = src;
        let sIp = dst;
        // Transaction events (dns, http, tls, flow) are written in flow direction: src = client.
        // Alerts are written in packet direction; their `flow` object (7.x) or `direction` says the flow's.
        const flowSide = obj(ev.flow);
        if (ev.event_type === 'alert' && flowSide && parseIp(str(flowSide.src_ip)) && parseIp(str(flowSide.dest_ip))) {
          cIp = parseIp(str(flowSide.src_ip));
          sIp = parseIp(str(flowSide.dest_ip));
          sport = parsePort(flowSide.src_port) ?? sport;
          dport = parsePort(flowSide.dest_port) ?? dport;
        } else if (ev.event_type === 'alert' && ev.direction === 'to_client') {
          [cIp, sIp] = [dst, src];
          [sport, dport] = [dport, sport];
        }
        const client = endpoint(cIp, sport);
        const server = endpoint(sIp, dport);
        const out: Observation[] = [];
        const emit = (kind: Observation['kind'], fields: Record<string, FieldValue>) =>
          out.push(makeObservation(ctx, FORMAT, lineNo, kind, ts, fields, client, server));
        const proto = str(ev.proto)?.toLowerCase();

        switch (ev.event_type) {
          case 'dns': dnsObservations(ev.dns, emit); break;
          case 'http': httpObservations(ev.http, emit); break;
          case 'tls': tlsObservation(ev.tls, emit); break;
          case 'flow': {
            const f = connFields(proto, cIp, sport, sIp, dport);
            put(f, 'conn.service', str(ev.app_proto));
            const flow = obj(ev.flow);
            const action = str(flow?.action);
            put(f, 'log.action', action);
            put(f, 'conn.action', verdict(action));
            emit('conn', f);
            break;
          }
          case 'alert': {
            const alert = obj(ev.alert);
            const f = connFields(proto, cIp, sport, sIp, dport);
            put(f, 'conn.service', str(ev.app_proto));
            put(f, 'log.rule', str(alert?.signature));
            const action = str(alert?.action);
            put(f, 'log.action', action);
            put(f, 'conn.action', verdict(action));
            emit('conn', f);
            const rule = str(alert?.signature);
            const tag = (kind: Observation['kind'], fields: Record<string, FieldValue>) => {
              put(fields, 'log.rule', rule);
              emit(kind, fields);
            };
            dnsObservations(ev.dns, tag);
            httpObservations(ev.http, tag);
            tlsObservation(ev.tls, tag);
            break;
          }
          default:
            break; // stats, anomaly, fileinfo, netflow ...: nothing to observe
        }
        return out;
      },
    };
  },
};

type Emit = (kind: Observation['kind'], fields: Record<string, FieldValue>) => void;

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function dnsObservations(v: unknown, emit: Emit): void {
  const d = obj(v);
  if (!d) return;
  const questions: Array<{ name: string; type?: string }> = [];
  // v3 (Suricata 8): queries[] of {rrname, rrtype}; v2 inside alerts: query[] of {type, rrname, rrtype}.
  const qlist = Array.isArray(d.queries) ? d.queries : Array.isArray(d.query) ? d.query : undefined;
  if (qlist) {
    for (const q of qlist) {
      const qo = obj(q);
      const n = str(qo?.rrname);
      if (n) questions.push({ name: normName(n), type: qtypeName(qo?.rrtype) });
    }
  } else {
    const n = str(d.rrname);
    if (n) questions.push({ name: normName(n), type: qtypeName(d.rrtype) });
  }
  if (questions.length === 0) return;
  const addrs: string[] = [];
  const names: string[] = [];
  const addAnswer = (rrtype: unknown, rdata: unknown) => {
    const data = str(rdata);
    if (!data) return;
    const t = str(rrtype)?.toUpperCase();
    if (t === 'A' || t === 'AAAA') { const ip = parseIp(data); if (ip) addrs.push(ip); }
    else if (t === 'CNAME') names.push(normName(data));
  };
  if (Array.isArray(d.answers)) for (const a of d.answers) { const ao = obj(a); addAnswer(ao?.rrtype, ao?.rdata); }
  const grouped = obj(d.grouped);
  if (grouped && !Array.isArray(d.answers)) {
    for (const [t, list] of Object.entries(grouped)) if (Array.isArray(list)) for (const x of list) addAnswer(t, x);
  }
  const rcode = rcodeName(d.rcode);
  const response = d.type === 'answer' || d.type === 'response';
  for (const q of questions) {
    const f: Record<string, FieldValue> = { 'dns.query.name': q.name };
    put(f, 'dns.query.type', q.type);
    if (response) put(f, 'dns.rcode', rcode);
    put(f, 'dns.answer.address', [...new Set(addrs)]);
    put(f, 'dns.answer.name', [...new Set(names)]);
    emit('dns', f);
  }
}

function headerMap(v: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (!Array.isArray(v)) return m;
  for (const h of v) {
    const ho = obj(h);
    const name = str(ho?.name)?.toLowerCase();
    const value = typeof ho?.value === 'string' ? ho.value : undefined;
    if (!name || value === undefined) continue;
    const prev = m.get(name);
    m.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return m;
}

function httpObservations(v: unknown, emit: Emit): void {
  const h = obj(v);
  if (!h) return;
  const f: Record<string, FieldValue> = {};
  put(f, 'http.request.method', str(h.http_method));
  put(f, 'http.request.host', normHost(str(h.hostname)));
  setUri(f, str(h.url));
  put(f, 'http.request.user_agent', str(h.http_user_agent));
  const req = headerMap(h.request_headers);
  for (const [name, value] of req) f[`http.request.header.${name}`] = value;
  if (req.size) f['http.request.header_names'] = [...req.keys()];
  put(f, 'http.request.content_type', mediaType(req.get('content-type')));
  put(f, 'http.request.body', str(h.http_request_body_printable));
  if (Object.keys(f).length) emit('http.request', f);
  const status = num(h.status);
  if (status !== undefined) {
    const r: Record<string, FieldValue> = { 'http.response.status': status };
    put(r, 'http.response.content_type', mediaType(str(h.http_content_type)));
    const res = headerMap(h.response_headers);
    for (const [name, value] of res) r[`http.response.header.${name}`] = value;
    if (res.size) r['http.response.header_names'] = [...res.keys()];
    for (const k of ['http.request.method', 'http.request.host', 'http.request.path']) put(r, k, f[k]);
    emit('http.response', r);
  }
}

function tlsObservation(v: unknown, emit: Emit): void {
  const t = obj(v);
  const sni = str(t?.sni);
  if (!t || !sni) return;
  const f: Record<string, FieldValue> = { 'tls.sni': sni.toLowerCase() };
  const ver = str(t.version);
  const m = ver ? /^TLS ?v?1\.(\d)$/i.exec(ver) : null;
  put(f, 'tls.version', m ? `1.${m[1]}` : ver);
  // ja4 / alpn are only present when enabled; Suricata 8 logs client_alpns.
  if (Array.isArray(t.client_alpns)) put(f, 'tls.alpn', t.client_alpns.filter((x): x is string => typeof x === 'string'));
  emit('tls.client_hello', f);
}

