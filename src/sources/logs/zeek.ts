// Zeek conn/dns/http/ssl logs, TSV ("ASCII" writer, header-driven) and JSON lines.
// Columns are found by name from `#fields` (or JSON keys), never by position: they change with
// Zeek version and loaded scripts (research D.2).
import type { FieldValue, Observation } from '../../detect/observation.js';
import {
  connFields, endpoint, makeObservation, mediaType, normHost, normName, parseAnyTime, parseIp, parseJsonObject,
  parsePort, put, qtypeName, rcodeName, setUri,
} from './common.js';
import type { LogFormat, LogParserContext } from './types.js';

type ZeekPath = 'conn' | 'dns' | 'http' | 'ssl';
type Row = (name: string) => string | string[] | undefined;

const JSON_PATH_KEYS: Array<[ZeekPath, string[]]> = [
  ['dns', ['query', 'qtype_name', 'rcode_name', 'trans_id']],
  ['http', ['method', 'uri', 'trans_depth', 'status_code']],
  ['ssl', ['server_name', 'cipher', 'established', 'ssl_history']],
  ['conn', ['conn_state', 'history', 'duration', 'orig_bytes']],
];

function isZeekJson(line: string): boolean {
  return line.startsWith('{') && line.includes('"id.orig_h"') && line.includes('"ts"');
}

export const zeek: LogFormat = {
  id: 'zeek',
  title: 'Zeek conn/dns/http/ssl log (TSV or JSON)',
  sniff(lines) {
    const first = lines[0] ?? '';
    if (first.startsWith('#separator')) return true;
    if (first.startsWith('#fields') || first.startsWith('#path')) return true;
    return isZeekJson(first);
  },
  parser(ctx) {
    // TSV header state.
    let sep = '\t';
    let setSep = ',';
    let unset = '-';
    let empty = '(empty)';
    let path: string | undefined;
    let columns: Map<string, number> | undefined;

    const unescape = (s: string): string =>
      s.includes('\\x') ? s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : s;

    return {
      line(text, lineNo) {
        if (text.startsWith('#')) {
          const sp = text.startsWith('#separator') ? text.indexOf(' ') : text.indexOf(sep);
          const key = sp > 0 ? text.slice(1, sp) : text.slice(1);
          const value = sp > 0 ? text.slice(sp + 1) : '';
          switch (key) {
            case 'separator': sep = unescape(value); break;
            case 'set_separator': setSep = unescape(value); break;
            case 'unset_field': unset = value; break;
            case 'empty_field': empty = value; break;
            case 'path': path = value; break;
            case 'fields': columns = new Map(value.split(sep).map((n, i) => [n, i])); break;
            default: break; // #open, #close, #types: nothing to keep
          }
          return [];
        }
        if (text.startsWith('{')) {
          const obj = parseJsonObject(text);
          if (!obj) return undefined;
          const p = typeof obj._path === 'string' ? obj._path : JSON_PATH_KEYS.find(([, keys]) => keys.some((k) => k in obj))?.[0];
          const row: Row = (name) => {
            const v = obj[name];
            if (v === undefined || v === null) return undefined;
            if (Array.isArray(v)) return v.map(String);
            return String(v);
          };
          return record(ctx, p ?? '', row, lineNo);
        }
        if (!columns) return undefined;
        const cells = text.split(sep);
        const row: Row = (name) => {
          const i = columns!.get(name);
          if (i === undefined || i >= cells.length) return undefined;
          const raw = cells[i];
          if (raw === unset) return undefined;
          if (raw === empty) return [];
          return unescape(raw);
        };
        const list = (name: string): string[] | undefined => {
          const v = row(name);
          if (v === undefined || Array.isArray(v)) return v;
          return v.split(setSep).map(unescape);
        };
        const rowWithSets: Row = (name) => (SET_FIELDS.has(name) ? list(name) : row(name));
        return record(ctx, path ?? guessPath(columns), rowWithSets, lineNo);
      },
    };
  },
};

const SET_FIELDS = new Set(['answers', 'TTLs', 'tags', 'resp_mime_types', 'orig_mime_types', 'cert_chain_fps', 'tunnel_parents']);

function guessPath(columns: Map<string, number>): string {
  for (const [p, keys] of JSON_PATH_KEYS) if (keys.some((k) => columns.has(k))) return p;
  return '';
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function record(ctx: LogParserContext, path: string, row: Row, lineNo: number): Observation[] | undefined {
  const ts = parseAnyTime(one(row('ts')));
  if (ts === undefined) {
    ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
    return [];
  }
  const srcRaw = one(row('id.orig_h'));
  const dstRaw = one(row('id.resp_h'));
  const src = parseIp(srcRaw);
  const dst = parseIp(dstRaw);
  if ((srcRaw !== undefined && !src) || (dstRaw !== undefined && !dst)) {
    ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
    return [];
  }
  const sport = parsePort(one(row('id.orig_p')));
  const dport = parsePort(one(row('id.resp_p')));
  const client = endpoint(src, sport);
  const server = endpoint(dst, dport);
  const format = `zeek.${path || 'unknown'}`;
  const obs = (kind: Observation['kind'], fields: Record<string, FieldValue>) =>
    makeObservation(ctx, format, lineNo, kind, ts, fields, client, server);

  switch (path) {
    case 'conn': {
      const f = connFields(one(row('proto')), src, sport, dst, dport);
      put(f, 'conn.service', one(row('service')));
      return [obs('conn', f)];
    }
    case 'dns': {
      const q = one(row('query'));
      if (!q) return [];
      const f: Record<string, FieldValue> = {};
      f['dns.query.name'] = normName(q);
      put(f, 'dns.query.type', one(row('qtype_name')) ?? qtypeName(one(row('qtype'))));
      put(f, 'dns.rcode', one(row('rcode_name')) ?? rcodeName(one(row('rcode'))));
      const answers = row('answers');
      const list = answers === undefined ? [] : Array.isArray(answers) ? answers : [answers];
      const addrs: string[] = [];
      const names: string[] = [];
      for (const a of list) {
        const ip = parseIp(a);
        if (ip) addrs.push(ip);
        else if (a) names.push(normName(a));
      }
      put(f, 'dns.answer.address', addrs);
      put(f, 'dns.answer.name', names);
      return [obs('dns', f)];
    }
    case 'http': {
      const f: Record<string, FieldValue> = {};
      put(f, 'http.request.method', one(row('method')));
      put(f, 'http.request.host', normHost(one(row('host'))));
      setUri(f, one(row('uri')));
      put(f, 'http.request.user_agent', one(row('user_agent')));
      put(f, 'http.request.header.origin', one(row('origin')));
      put(f, 'http.request.header.referer', one(row('referrer')));
      const out = [obs('http.request', f)];
      const status = Number(one(row('status_code')));
      if (Number.isInteger(status) && status > 0) {
        const r: Record<string, FieldValue> = { 'http.response.status': status };
        put(r, 'http.response.content_type', mediaType(one(row('resp_mime_types'))));
        for (const k of ['http.request.method', 'http.request.host', 'http.request.path']) put(r, k, f[k]);
        out.push(obs('http.response', r));
      }
      return out;
    }
    case 'ssl': {
      const sni = one(row('server_name'));
      if (!sni) return [];
      const f: Record<string, FieldValue> = { 'tls.sni': sni.toLowerCase() };
      const v = one(row('version'));
      // Zeek writes TLSv13 / TLSv12 / TLSv10; the field catalogue uses 1.3 / 1.2.
      const m = v ? /^TLSv1(\d)$/.exec(v) : null;
      put(f, 'tls.version', m ? `1.${m[1]}` : v);
      const alpn = one(row('next_protocol'));
      if (alpn) f['tls.alpn'] = [alpn];
      return [obs('tls.client_hello', f)];
    }
    default:
      return []; // other Zeek logs (files, x509, weird, ...) carry nothing we observe
  }
}
