// Generic CSV/TSV with a header line and a column mapping from the command line, e.g.
//   --map ts=time,src=client_ip,dst=server_ip,dport=port,host=hostname,path=url_path
// Keys are short aliases (below) or any catalogue field name (`dns.query.name=qname`).
// Never auto-detected: chosen by --format csv, or by giving --map.
import type { FieldValue, Observation } from '../../detect/observation.js';
import {
  endpoint, ipProtoName, makeObservation, normHost, normName, parseAnyTime, parseAddressPair, parseIp, parsePort, put, setUri, splitCsv, verdict,
} from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'csv';
const ALIASES: Record<string, string> = {
  ts: 'ts', time: 'ts', timestamp: 'ts',
  src: 'conn.src_ip', src_ip: 'conn.src_ip', client: 'conn.src_ip',
  sport: 'conn.src_port', src_port: 'conn.src_port',
  dst: 'conn.dst_ip', dst_ip: 'conn.dst_ip', server: 'conn.dst_ip',
  dport: 'conn.dst_port', dst_port: 'conn.dst_port', port: 'conn.dst_port',
  proto: 'conn.proto', action: 'log.action', rule: 'log.rule', user: 'log.user',
  host: 'http.request.host', path: 'http.request.path', uri: 'http.request.uri', url: 'http.request.uri',
  method: 'http.request.method', status: 'http.response.status', ua: 'http.request.user_agent',
  user_agent: 'http.request.user_agent', query: 'dns.query.name', qname: 'dns.query.name', qtype: 'dns.query.type',
  rcode: 'dns.rcode', answer: 'dns.answer.address', sni: 'tls.sni',
};

export class CsvMapError extends Error {
  override name = 'CsvMapError';
}

/** `a=b,c=d` → field name → column name. Throws CsvMapError on a key it does not know. */
export function parseMap(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq <= 0 || eq === p.length - 1) throw new CsvMapError(`--map: "${p}" is not key=column`);
    const key = p.slice(0, eq).trim();
    const field = ALIASES[key] ?? (/^(conn|http|dns|tls|log)\.[a-z0-9_.-]+$/.test(key) ? key : undefined);
    if (!field) throw new CsvMapError(`--map: unknown key "${key}" (known: ${Object.keys(ALIASES).join(', ')} or a field name)`);
    out.set(field, p.slice(eq + 1).trim());
  }
  if (out.size === 0) throw new CsvMapError('--map: empty mapping');
  return out;
}

export const csv: LogFormat = {
  id: 'csv',
  title: 'CSV with a --map column mapping',
  sniff() {
    return false;
  },
  parser(ctx) {
    if (!ctx.map) throw new CsvMapError('csv format needs --map (e.g. --map ts=time,src=client_ip,dst=server_ip,dport=port)');
    const mapping = parseMap(ctx.map);
    let delim = ',';
    let index: Map<string, number> | undefined; // field → column index
    return {
      line(text, lineNo) {
        if (!index) {
          delim = text.includes('\t') ? '\t' : text.includes(';') && !text.includes(',') ? ';' : ',';
          const header = splitCsv(text, delim).map((h) => h.trim().toLowerCase());
          index = new Map();
          for (const [field, col] of mapping) {
            const i = header.indexOf(col.toLowerCase());
            if (i >= 0) index.set(field, i);
            else ctx.anomalies.add('log.csv_missing_column', { file: ctx.file, line: lineNo, detail: col });
          }
          return [];
        }
        const cells = splitCsv(text, delim);
        const get = (field: string): string | undefined => {
          const i = index!.get(field);
          const v = i === undefined ? undefined : cells[i]?.trim();
          return v === '' || v === '-' ? undefined : v;
        };
        let ts = 0;
        if (index.has('ts')) {
          const t = parseAnyTime(get('ts'));
          if (t === undefined) {
            ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
            return [];
          }
          ts = t;
        } else ts = ctx.refTime;
        const srcRaw = get('conn.src_ip');
        const dstRaw = get('conn.dst_ip');
        const addrs = parseAddressPair(srcRaw, dstRaw, ctx, lineNo, false);
        if (!addrs) return [];
        const { src, dst } = addrs;
        const sport = parsePort(get('conn.src_port'));
        const dport = parsePort(get('conn.dst_port'));
        const byKind = new Map<Observation['kind'], Record<string, FieldValue>>();
        const bucket = (kind: Observation['kind']) => {
          let b = byKind.get(kind);
          if (!b) byKind.set(kind, (b = {}));
          return b;
        };
        for (const field of index.keys()) {
          if (field === 'ts') continue;
          const raw = get(field);
          if (raw === undefined) continue;
          if (field.startsWith('http.response.')) {
            bucket('http.response')[field] = field === 'http.response.status' ? Number(raw) : raw;
          } else if (field.startsWith('http.')) {
            const b = bucket('http.request');
            if (field === 'http.request.uri') setUri(b, raw);
            else if (field === 'http.request.host') put(b, field, normHost(raw));
            else b[field] = raw;
          } else if (field.startsWith('dns.')) {
            const b = bucket('dns');
            if (field === 'dns.query.name') b[field] = normName(raw);
            else if (field === 'dns.answer.address') put(b, field, raw.split(/[ ;|]+/).map((x) => parseIp(x)).filter((x): x is string => !!x));
            else b[field] = raw.toUpperCase();
          } else if (field.startsWith('tls.')) {
            bucket('tls.client_hello')[field] = raw.toLowerCase();
          }
        }
        const conn = bucket('conn');
        put(conn, 'conn.proto', ipProtoName(get('conn.proto')));
        put(conn, 'conn.src_ip', src);
        put(conn, 'conn.src_port', sport);
        put(conn, 'conn.dst_ip', dst);
        put(conn, 'conn.dst_port', dport);
        const action = get('log.action');
        put(conn, 'log.action', action);
        put(conn, 'conn.action', verdict(action));
        const extras: Record<string, FieldValue> = {};
        put(extras, 'log.rule', get('log.rule'));
        put(extras, 'log.user', get('log.user'));
        const resp = byKind.get('http.response');
        const req = byKind.get('http.request');
        if (resp && req) for (const k of ['http.request.method', 'http.request.host', 'http.request.path']) put(resp, k, req[k]);
        const out: Observation[] = [];
        for (const [kind, fields] of byKind) {
          if (kind === 'conn' && dst === undefined && dport === undefined) continue;
          if (Object.keys(fields).length === 0) continue;
          Object.assign(fields, extras);
          out.push(makeObservation(ctx, FORMAT, lineNo, kind, ts, fields, endpoint(src, sport), endpoint(dst, dport)));
        }
        return out;
      },
    };
  },
};
