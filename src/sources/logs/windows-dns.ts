// Windows DNS Server debug log (dns.log), PACKET lines only (research D.6; MS-DNSP DNS_LOG_LEVELS;
// the legend the server writes at the top of the file):
//   11/25/2026 8:20:01 AM 0A1C PACKET  000001D2C3B4A590 UDP Rcv 10.1.2.3        5b47   Q [0001   D   NOERROR] A      (3)mcp(7)example(3)com(0)
// Date and time are locale-dependent: M/D/Y (US, with AM/PM), D.M.Y and Y-M-D are read.
// Rcv without R = a client's query; Snd with R = the answer sent back to it. Queries the server
// itself forwards (Snd Q / Rcv R) are skipped: their client is the server.
import type { FieldValue } from '../../detect/observation.js';
import { endpoint, makeObservation, normName, parseIp, utcSeconds } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'windows-dns';
const PACKET_RE = /^(\S+) (\d{1,2}):(\d\d):(\d\d)(?: ?([AP]M))? +[0-9A-Fa-f]+ PACKET +[0-9A-Fa-f]+ (UDP|TCP) (Snd|Rcv) (\S+) +([0-9A-Fa-f]{1,4}) +(R)? *([QNU?]) +\[([0-9A-Fa-f]{1,4}) +([A-Z ]*?) *([A-Za-z]+)\] +(\S+) +(\S+)\s*$/;

function parseDate(d: string): [number, number, number] | undefined {
  let m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(d);
  if (m) return [+m[3], +m[1] - 1, +m[2]];
  m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(d);
  if (m) return [+m[3], +m[2] - 1, +m[1]];
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(d);
  if (m) return [+m[1], +m[2] - 1, +m[3]];
  return undefined;
}

/** `(3)mcp(7)example(3)com(0)` → `mcp.example.com`. */
export function windowsDnsName(s: string): string | undefined {
  const labels: string[] = [];
  const re = /\((\d+)\)/g;
  let m: RegExpExecArray | null;
  let last = 0;
  let pendingLen = -1;
  while ((m = re.exec(s))) {
    if (pendingLen >= 0) labels.push(s.slice(last, m.index));
    pendingLen = +m[1];
    last = m.index + m[0].length;
    if (pendingLen === 0) break;
  }
  if (pendingLen !== 0) return undefined;
  return labels.length ? normName(labels.join('.')) : '.';
}

export const windowsDns: LogFormat = {
  id: 'windows-dns',
  title: 'Windows DNS Server debug log',
  sniff(lines) {
    return lines.some((l) => l.startsWith('DNS Server log file creation') || l.startsWith('Message logging key') || PACKET_RE.test(l));
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        if (!text.includes(' PACKET ')) return []; // legend, EVENT lines, detail continuation lines
        const m = PACKET_RE.exec(text);
        if (!m) return undefined;
        const [, date, hh, mi, ss, ampm, proto, dir, remote, , resp, opcode, , , rcode, qtype, qname] = m;
        const ymd = parseDate(date);
        let h = +hh;
        if (ampm === 'PM' && h < 12) h += 12;
        if (ampm === 'AM' && h === 12) h = 0;
        const ts = ymd ? utcSeconds(ymd[0], ymd[1], ymd[2], h, +mi, +ss) : undefined;
        if (ts === undefined) {
          ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
          return [];
        }
        const isResponse = resp === 'R';
        if ((dir === 'Rcv') === isResponse) return []; // the server's own forwarded queries
        if (opcode !== 'Q') return [];
        const client = parseIp(remote);
        if (!client) {
          ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
          return [];
        }
        const name = windowsDnsName(qname);
        if (!name) return undefined;
        const f: Record<string, FieldValue> = { 'dns.query.name': name, 'dns.query.type': qtype.toUpperCase() };
        if (isResponse) f['dns.rcode'] = rcode.toUpperCase();
        void proto;
        return [makeObservation(ctx, FORMAT, lineNo, 'dns', ts, f, endpoint(client, undefined))];
      },
    };
  },
};
