// dnsmasq `log-queries` and Pi-hole (FTL embeds dnsmasq) pihole.log lines (research D.6):
//   Nov 25 09:38:20 dnsmasq[26243]: query[A] mcp.linear.app from 127.0.0.1
//   ... reply mcp.linear.app is 203.0.113.10 | cached ... | config ... is NXDOMAIN | /etc/hosts ... is ...
//   ... gravity blocked ads.example is 0.0.0.0 (Pi-hole; the reason words are open-ended)
//   ... 4 127.0.0.1/49546 reply mcp.notion.com is <CNAME>   (--log-queries=extra: query serial, client/port)
// A query line names the client; answer lines name the result. Each becomes a dns observation;
// an answer is tied to its query's client (extra: on the line; otherwise the last client that asked for the name).
//
// dnsmasq logs one answer as consecutive lines: `reply NAME is <CNAME>` then the target's lines
// (`reply TARGET is <CNAME>` for another hop, `reply TARGET is 1.2.3.4`, several for several addresses), and the
// target's name is only known from the line after. Those lines are linked into a chain, so each address (or rcode)
// at the end also yields an observation for the name that was asked, with the chain in dns.answer.name, as a
// capture's DNS response does. A CNAME-only answer (the target has nothing to add) ends without target lines, so
// the next answer line may belong to another query: with extra, the serial number tells; without, a name that has
// its own unanswered query is taken to start a new answer, not to continue the chain.
import { LIMITS } from '../../config/limits.js';
import type { FieldValue } from '../../detect/observation.js';
import type { Endpoint } from '../../flows/types.js';
import { endpoint, makeObservation, normName, parseIp, parsePort, put, splitSyslog } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'dnsmasq';
const TAGS = new Set(['dnsmasq', 'pihole-FTL', 'pihole', 'dnsmasq-dhcp']);
const QUERY_RE = /^query\[([A-Za-z0-9]+)\] (\S+) from (\S+)$/;
const ANSWER_RE = /^(.+?) (\S+) is (.+)$/;
const MSG_RE = /^(query\[|forwarded |reply |cached |config |gravity |started, version |\/\S+ \S+ is )/;
/** --log-queries=extra: the query's serial number, then its client address/port (absent on lines tied to none). */
const EXTRA_RE = /^(\d+) (?:(\S+)\/(\d+) )?(.*)$/;
// Caps of the chain linking: LIMITS.logDnsmasqPendingQueries, logDnsmasqPendingSeconds, logDnsmasqCnameHops.
const DNSMASQ_MAX_PENDING = LIMITS.logDnsmasqPendingQueries;
const DNSMASQ_PENDING_SECONDS = LIMITS.logDnsmasqPendingSeconds;
const DNSMASQ_MAX_CNAME_HOPS = LIMITS.logDnsmasqCnameHops;

interface Parts {
  ts?: number;
  pid?: string;
  /** extra: query serial number, and the client's address and port when the line names one. */
  id?: string;
  client?: string;
  port?: string;
  msg: string;
  ours: boolean;
}

function message(line: string, refYear: number): Parts {
  const s = splitSyslog(line, refYear);
  const tagged = s.tag !== undefined;
  let msg = tagged ? s.msg : line;
  const x = EXTRA_RE.exec(msg);
  const p: Parts = { ts: tagged ? s.ts : undefined, pid: s.pid, msg, ours: false };
  if (x) {
    p.id = x[1];
    p.client = x[2];
    p.port = x[3];
    p.msg = msg = x[4];
  }
  p.ours = tagged ? TAGS.has(s.tag!) : QUERY_RE.test(msg);
  return p;
}

interface Pending {
  client: string;
  time: number;
  /** An answer for it was logged (a later answer for the name may still be another hop's or record type's). */
  answered: boolean;
}

/** The answer being logged: its first name, the CNAME targets after it, and where the next line may continue it. */
interface Chain {
  pid?: string;
  id?: string;
  head: string;
  client?: Endpoint;
  targets: string[];
  last: string;
  /** The last line was `<CNAME>`: the next answer line names its target. */
  cname: boolean;
}

/** Fields of one answer line's value: an address, an rcode, and the verdict word. */
function answerFields(source: string, name: string, value: string): Record<string, FieldValue> {
  const f: Record<string, FieldValue> = { 'dns.query.name': name };
  const ip = parseIp(value);
  if (ip) f['dns.answer.address'] = [ip];
  else if (/^(NXDOMAIN|REFUSED|SERVFAIL|NOTIMP)/.test(value)) f['dns.rcode'] = value.split(/[-\s]/)[0];
  else if (value.startsWith('NODATA')) f['dns.rcode'] = 'NOERROR';
  if (ip && /^(0\.0\.0\.0|::)$/.test(ip) && source !== 'reply' && source !== 'cached') put(f, 'log.action', source);
  if (/blocked|denied|blacklisted|blocklist|special domain/i.test(source)) f['log.action'] = source;
  else if (!('log.action' in f)) f['log.action'] = source.startsWith('/') ? 'hosts' : source;
  return f;
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
    const pending = new Map<string, Pending>();
    let chain: Chain | undefined;

    const remember = (name: string, client: string, time: number, lineNo: number): void => {
      pending.delete(name);
      pending.set(name, { client, time, answered: false });
      // Oldest first: forget queries dnsmasq itself has long given up on.
      for (const [k, p] of pending) {
        if (p.time > time - DNSMASQ_PENDING_SECONDS) break;
        pending.delete(k);
      }
      if (pending.size > DNSMASQ_MAX_PENDING) {
        ctx.anomalies.add('log.dnsmasq_pending_cap_hit', { file: ctx.file, line: lineNo });
        pending.delete(pending.keys().next().value!);
      }
    };
    const awaiting = (name: string, time: number): boolean => {
      const p = pending.get(name);
      return p !== undefined && !p.answered && p.time > time - DNSMASQ_PENDING_SECONDS;
    };

    return {
      line(text, lineNo) {
        const m = message(text, ctx.refYear);
        if (!m.ours) return [];
        const time = m.ts ?? ctx.refTime;
        const prev = chain;
        chain = undefined; // kept below only by an answer line that continues it
        let lineClient: Endpoint | undefined;
        if (m.client !== undefined) {
          const ip = parseIp(m.client);
          if (!ip) {
            ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
            return [];
          }
          lineClient = endpoint(ip, parsePort(m.port));
        }
        const q = QUERY_RE.exec(m.msg);
        if (q) {
          const client = parseIp(q[3]);
          if (!client) {
            ctx.anomalies.add('log.bad_address', { file: ctx.file, line: lineNo });
            return [];
          }
          const name = normName(q[2]);
          if (m.id === undefined) remember(name, client, time, lineNo);
          const f: Record<string, FieldValue> = { 'dns.query.name': name, 'dns.query.type': q[1].toUpperCase() };
          const port = lineClient?.ip === client ? lineClient.port : undefined;
          return [makeObservation(ctx, FORMAT, lineNo, 'dns', time, f, endpoint(client, port))];
        }
        if (m.msg.startsWith('forwarded ') || m.msg.startsWith('started, ') || m.msg.startsWith('compile time')) return [];
        const a = ANSWER_RE.exec(m.msg);
        if (!a) return [];
        const source = a[1];
        const name = normName(a[2]);
        if (source === 'reply' && name === 'error') return []; // upstream error, no name
        const value = a[3].trim();

        let link: Chain | undefined;
        if (prev && prev.pid === m.pid && prev.id === m.id) {
          if (!prev.cname) link = name === prev.last ? prev : undefined; // the same name's next record
          else if (m.id !== undefined || !awaiting(name, time)) link = prev;
        }
        if (link?.cname && name !== link.last) {
          if (link.targets.length < DNSMASQ_MAX_CNAME_HOPS) link.targets.push(name);
          else {
            ctx.anomalies.add('log.dnsmasq_cname_cap_hit', { file: ctx.file, line: lineNo });
            link = undefined;
          }
        }
        if (!link) {
          // A new answer: its first name is the one that was asked.
          let client = lineClient;
          const p = m.id === undefined ? pending.get(name) : undefined;
          if (p) {
            p.answered = true;
            client = endpoint(p.client, undefined);
          }
          link = { pid: m.pid, id: m.id, head: name, client, targets: [], last: name, cname: false };
        }
        link.last = name;
        link.cname = value === '<CNAME>';
        chain = link;

        const f = answerFields(source, name, value);
        const out = [makeObservation(ctx, FORMAT, lineNo, 'dns', time, f, link.client)];
        if (link.targets.length > 0 && !link.cname) {
          const head = { ...f, 'dns.query.name': link.head, 'dns.answer.name': [...link.targets] };
          out.push(makeObservation(ctx, FORMAT, lineNo, 'dns', time, head, link.client));
        }
        return out;
      },
    };
  },
};
