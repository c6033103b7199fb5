// dnsmasq `log-queries` and Pi-hole (FTL embeds dnsmasq) pihole.log lines (research D.6):
//   Nov 25 09:38:20 dnsmasq[26243]: query[A] mcp.linear.app from 127.0.0.1
//   ... reply mcp.linear.app is 203.0.113.10 | cached ... | config ... is NXDOMAIN | /etc/hosts ... is ...
//   ... gravity blocked ads.example is 0.0.0.0 (Pi-hole; the reason words are open-ended)
// A query line names the client; answer lines name the result. Each becomes a dns observation;
// an answer is tied to the last client that asked for that name, when known.
import type { FieldValue } from '../../detect/observation.js';
import { endpoint, makeObservation, normName, parseIp, put, splitSyslog } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'dnsmasq';
const TAGS = new Set(['dnsmasq', 'pihole-FTL', 'pihole', 'dnsmasq-dhcp']);
const QUERY_RE = /^query\[([A-Za-z0-9]+)\] (\S+) from (\S+)$/;
const ANSWER_RE = /^(.+?) (\S+) is (.+)$/;
const MSG_RE = /^(query\[|forwarded |reply |cached |config |gravity |started, version |\/\S+ \S+ is )/;
/** Names remembered to tie answers to their client; oldest dropped first. */
const MAX_PENDING = 4096;

function message(line: string, refYear: number): { ts?: number; msg: string; ours: boolean } {
  const s = splitSyslog(line, refYear);
  if (s.tag !== undefined) return { ts: s.ts, msg: s.msg, ours: TAGS.has(s.tag) };
  return { msg: line, ours: QUERY_RE.test(line) };
}

export const dnsmasq: LogFormat = {
  id: 'dnsmasq',
  title: 'dnsmasq / Pi-hole log-queries',
  sniff(lines) {
    return lines.some((l) => {
      const m = message(l, 2000);
      return m.ours && MSG_RE.test(m.msg);
    });
  },
  parser(ctx) {
    const askedBy = new Map<string, string>();
    return {
      line(text, lineNo) {
        const { ts, msg, ours } = message(text, ctx.refYear);
        if (!ours) return [];
        const time = ts ?? ctx.refTime;
        const q = QUERY_RE.exec(msg);
        if (q) {
          const client = parseIp(q[3]);
          if (!client) {
            ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
            return [];
          }
          const name = normName(q[2]);
          askedBy.delete(name);
          askedBy.set(name, client);
          if (askedBy.size > MAX_PENDING) askedBy.delete(askedBy.keys().next().value!);
          const f: Record<string, FieldValue> = { 'dns.query.name': name, 'dns.query.type': q[1].toUpperCase() };
          return [makeObservation(ctx, FORMAT, lineNo, 'dns', time, f, endpoint(client, undefined))];
        }
        if (msg.startsWith('forwarded ') || msg.startsWith('started, ') || msg.startsWith('compile time')) return [];
        const a = ANSWER_RE.exec(msg);
        if (!a) return [];
        const source = a[1];
        const name = normName(a[2]);
        if (source === 'reply' && name === 'error') return []; // upstream error, no name
        const value = a[3].trim();
        const f: Record<string, FieldValue> = { 'dns.query.name': name };
        const ip = parseIp(value);
        if (ip) f['dns.answer.address'] = [ip];
        else if (/^(NXDOMAIN|REFUSED|SERVFAIL|NOTIMP)/.test(value)) f['dns.rcode'] = value.split(/[-\s]/)[0];
        else if (value.startsWith('NODATA')) f['dns.rcode'] = 'NOERROR';
        if (ip && /^(0\.0\.0\.0|::)$/.test(ip) && source !== 'reply' && source !== 'cached') put(f, 'log.action', source);
        if (/blocked|denied|blacklisted|blocklist|special domain/i.test(source)) f['log.action'] = source;
        else if (!('log.action' in f)) f['log.action'] = source.startsWith('/') ? 'hosts' : source;
        const client = askedBy.get(name);
        return [makeObservation(ctx, FORMAT, lineNo, 'dns', time, f, endpoint(client, undefined))];
      },
    };
  },
};
