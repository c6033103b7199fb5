// iptables / ip6tables / nftables kernel LOG lines (`net/netfilter/nf_log_syslog.c`, research D.4),
// bare (dmesg), or behind a syslog RFC 3164/5424 or journal short-iso prefix.
// The rule's log prefix is kept as log.rule; a DROP/REJECT/ACCEPT word in it becomes conn.action.
import type { FieldValue } from '../../detect/observation.js';
import { connFields, endpoint, makeObservation, parseAddressPair, parsePort, put, splitSyslog, verdict } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'netfilter';
const LOG_RE = /(?:^|\s)IN=\S* OUT=\S*.* SRC=\S+ DST=\S+/;

export const netfilter: LogFormat = {
  id: 'netfilter',
  title: 'iptables/nftables kernel LOG lines',
  sniff(lines) {
    return lines.some((l) => LOG_RE.test(l));
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        const { ts, msg } = splitSyslog(text, ctx.refYear);
        let at = msg.startsWith('IN=') ? 0 : msg.indexOf(' IN=');
        if (at < 0) return []; // another kernel/syslog message
        const prefix = msg.slice(0, at).trim();
        if (at > 0) at++;
        const kv = new Map<string, string>();
        const flags: string[] = [];
        for (const tok of msg.slice(at).split(' ')) {
          if (tok === '') continue;
          const eq = tok.indexOf('=');
          if (eq > 0) {
            const k = tok.slice(0, eq);
            if (!kv.has(k)) kv.set(k, tok.slice(eq + 1)); // LEN= repeats for UDP: keep the IP one
          } else if (/^[A-Z]{2,4}$/.test(tok)) flags.push(tok);
        }
        const srcRaw = kv.get('SRC');
        const dstRaw = kv.get('DST');
        if (srcRaw === undefined || dstRaw === undefined) return undefined;
        const addrs = parseAddressPair(srcRaw, dstRaw, ctx, lineNo, true);
        if (!addrs) return [];
        const { src, dst } = addrs;
        const proto = kv.get('PROTO')?.toLowerCase();
        const sport = parsePort(kv.get('SPT'));
        const dport = parsePort(kv.get('DPT'));
        const f: Record<string, FieldValue> = connFields(proto, src, sport, dst, dport);
        const rule = prefix.replace(/[:\s]+$/, '');
        put(f, 'log.rule', rule);
        const action = verdict(rule);
        put(f, 'conn.action', action);
        const word = /\b(DROP|REJECT|ACCEPT|DENY|BLOCK|ALLOW|drop|reject|accept|deny|block|allow)\w*/i.exec(rule);
        put(f, 'log.action', word?.[0]);
        return [makeObservation(ctx, FORMAT, lineNo, 'conn', ts ?? ctx.refTime, f, endpoint(src, sport), endpoint(dst, dport))];
      },
    };
  },
};
