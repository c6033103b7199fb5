// Unbound log-queries / log-replies and RPZ lines (unbound.conf(5); research D.6):
//   Nov 25 08:14:53 unbound[14867:0] info: 127.0.0.1 mcp.example.com. A IN
//   Nov 25 08:14:53 unbound[14867:0] info: 127.0.0.1 mcp.example.com. A IN NXDOMAIN 0.000000 1 44
//   [1763629441] unbound[14867:0] info: ...   (logfile without log-time-ascii)
//   ... info: rpz: applied [shadow-mcp] mcp.example.com. rpz-nxdomain 127.0.0.1@45088 mcp.example.com. A IN
import type { FieldValue } from '../../detect/observation.js';
import { endpoint, makeObservation, normName, parseIp, parsePort, splitSyslog } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'unbound';
const LINE_RE = /^(.*?)\bunbound\[[\d:]+\]:? (\w+): (.*)$/;
const QUERY_RE = /^(\S+) (\S+) (\S+) (\S+)(?: (\S+) (\d+(?:\.\d+)?) ([01]) (\d+))?$/;
const RPZ_RE = /^rpz: applied (?:\[([^\]]*)\] )?(\S+) (\S+) (\S+)@(\d+) (\S+) (\S+) (\S+)/;

/**
 * `unbound[pid:thread] level: msg`, after `[epoch] ` (logfile default), a syslog/journal prefix with
 * `unbound[pid:thread]:`, or the log-time-ascii stamp `Nov 25 08:14:53 unbound[...] level:`.
 */
function split(line: string, refYear: number): { ts?: number; level: string; msg: string } | undefined {
  const m = LINE_RE.exec(line);
  if (!m) return undefined;
  const prefix = m[1].trim();
  let ts: number | undefined;
  const epoch = /^\[(\d+)\]$/.exec(prefix);
  if (epoch) ts = Number(epoch[1]);
  else if (prefix) ts = splitSyslog(`${prefix} x: y`, refYear).ts;
  return { ts, level: m[2], msg: m[3] };
}

export const unbound: LogFormat = {
  id: 'unbound',
  title: 'Unbound log-queries / log-replies',
  sniff(lines) {
    return lines.some((l) => /unbound\[\d+:\d+\]:? (info|notice|debug|error|warning):/.test(l));
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        const s = split(text, ctx.refYear);
        if (!s) return [];
        if (s.level !== 'info') return [];
        const time = s.ts ?? ctx.refTime;
        const r = RPZ_RE.exec(s.msg);
        if (r) {
          const client = parseIp(r[4]);
          if (!client) {
            ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
            return [];
          }
          const f: Record<string, FieldValue> = {
            'dns.query.name': normName(r[6]),
            'dns.query.type': r[7].toUpperCase(),
            'log.action': r[3],
          };
          if (r[1]) f['log.rule'] = r[1];
          if (r[3] === 'rpz-nxdomain') f['dns.rcode'] = 'NXDOMAIN';
          return [makeObservation(ctx, FORMAT, lineNo, 'dns', time, f, endpoint(client, parsePort(r[5])))];
        }
        const q = QUERY_RE.exec(s.msg);
        if (!q || !q[2].endsWith('.')) return []; // start/stop, statistics and other info lines
        const client = parseIp(q[1]);
        if (!client) {
          ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
          return [];
        }
        const f: Record<string, FieldValue> = { 'dns.query.name': normName(q[2]), 'dns.query.type': q[3].toUpperCase() };
        if (q[5]) f['dns.rcode'] = q[5].toUpperCase();
        return [makeObservation(ctx, FORMAT, lineNo, 'dns', time, f, endpoint(client, undefined))];
      },
    };
  },
};
