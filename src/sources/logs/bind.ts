// BIND 9 query log (category `queries`, and `rpz` rewrites), with or without print-time/category/severity,
// or behind a syslog prefix (research D.6).
//   25-Nov-2026 08:14:53.873 queries: info: client @0x7f.. 127.0.0.1#60784 (mcp.example.com): query: mcp.example.com IN A +E(0)K (127.0.0.1)
import type { FieldValue } from '../../detect/observation.js';
import { endpoint, makeObservation, monthIndex, normName, parseIp, parsePort, put, splitSyslog, utcSeconds } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'bind.query';
const BIND_TIME_RE = /^(\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? (.*)$/;
const CLIENT_RE = /(?:^|\s)client (?:@0x[0-9a-fA-F]+ )?(\S+)#(\d+)(?: \(([^)]*)\))?: (?:view [^:]+: )?(query:|rpz) (.*)$/;

export const bind: LogFormat = {
  id: 'bind',
  title: 'BIND 9 query log',
  sniff(lines) {
    return lines.some((l) => CLIENT_RE.test(l) && / (query: \S+ \S+ \S+|rpz \S+ )/.test(l));
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        let ts: number | undefined;
        let msg: string;
        const t = BIND_TIME_RE.exec(text);
        if (t) {
          const mon = monthIndex(t[2]);
          ts = mon === undefined ? undefined : utcSeconds(+t[3], mon, +t[1], +t[4], +t[5], +t[6], t[7]);
          if (ts === undefined) {
            ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
            return [];
          }
          msg = t[8];
        } else {
          const s = splitSyslog(text, ctx.refYear);
          ts = s.ts;
          msg = s.msg;
        }
        const m = CLIENT_RE.exec(msg);
        if (!m) {
          // Other categories (general, resolver, ...) share the file; only malformed query lines are bad.
          return /\bquery: /.test(msg) ? undefined : [];
        }
        const client = parseIp(m[1]);
        if (!client) {
          ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
          return [];
        }
        const cport = parsePort(m[2]);
        const f: Record<string, FieldValue> = {};
        let server: string | undefined;
        if (m[4] === 'query:') {
          // NAME CLASS TYPE FLAGS (SERVER)
          const parts = m[5].split(' ');
          if (parts.length < 3) return undefined;
          f['dns.query.name'] = normName(parts[0]);
          put(f, 'dns.query.type', parts[2].toUpperCase());
          const last = parts[parts.length - 1];
          if (last.startsWith('(') && last.endsWith(')')) server = parseIp(last.slice(1, -1));
        } else {
          // rpz QNAME NXDOMAIN rewrite name/A/IN via name.zone
          const r = /^(\S+) (\S+) rewrite (\S+?)\/(\S+?)\/\S+(?: via (\S+))?/.exec(m[5]);
          if (!r) return [];
          f['dns.query.name'] = normName(r[3]);
          put(f, 'dns.query.type', r[4].toUpperCase());
          f['log.action'] = `rpz ${r[2]}`;
          put(f, 'log.rule', r[5]);
          if (r[2] === 'NXDOMAIN') f['dns.rcode'] = 'NXDOMAIN';
        }
        return [makeObservation(ctx, FORMAT, lineNo, 'dns', ts ?? ctx.refTime, f, endpoint(client, cport), endpoint(server, undefined))];
      },
    };
  },
};
