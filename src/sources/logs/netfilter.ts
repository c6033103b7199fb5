// iptables / ip6tables / nftables kernel LOG lines (`net/netfilter/nf_log_syslog.c`, research D.4),
// bare (dmesg), or behind a syslog RFC 3164/5424 or journal short-iso prefix, or as the MESSAGE of a
// journald JSON export (`journalctl -o json`: one object per line, systemd.io/JOURNAL_EXPORT_FORMATS).
// The rule's log prefix is kept as log.rule; a DROP/REJECT/ACCEPT word in it becomes conn.action.
import type { FieldValue, Observation } from '../../detect/observation.js';
import { connFields, endpoint, makeObservation, parseAddressPair, parseJsonObject, parsePort, put, splitSyslog, verdict } from './common.js';
import type { LogFormat, LogParserContext } from './types.js';

const FORMAT = 'netfilter';
const LOG_RE = /(?:^|\s)IN=\S* OUT=\S*.* SRC=\S+ DST=\S+/;

/**
 * One kernel LOG message (no syslog prefix) → a conn observation; [] for a message that is not a LOG line,
 * undefined for a LOG line without SRC/DST.
 */
function logLine(msg: string, ts: number, ctx: LogParserContext, lineNo: number): Observation[] | undefined {
  let at = msg.startsWith('IN=') ? 0 : msg.indexOf(' IN=');
  if (at < 0) return []; // another kernel/syslog message
  const prefix = msg.slice(0, at).trim();
  if (at > 0) at++;
  const kv = new Map<string, string>();
  for (const tok of msg.slice(at).split(' ')) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    if (eq > 0) {
      const k = tok.slice(0, eq);
      if (!kv.has(k)) kv.set(k, tok.slice(eq + 1)); // LEN= repeats for UDP: keep the IP one
    }
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
  return [makeObservation(ctx, FORMAT, lineNo, 'conn', ts, f, endpoint(src, sport), endpoint(dst, dport))];
}

/**
 * A journal field's text: a string, or the byte array the JSON export writes for a value with control
 * characters or invalid UTF-8; a field with several values is an array of those, the first one is taken.
 * undefined when absent or elided (null: larger than the exporter's size limit).
 */
function journalText(v: unknown, several = true): string | undefined {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v) || v.length === 0) return undefined;
  if (v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Buffer.from(v as number[]).toString('utf8');
  return several ? journalText(v[0], false) : undefined;
}

/** One `journalctl -o json` line: MESSAGE is the kernel text, __REALTIME_TIMESTAMP µs since the epoch. */
function journalLine(text: string, ctx: LogParserContext, lineNo: number): Observation[] | undefined {
  const o = parseJsonObject(text);
  if (!o) return undefined;
  const msg = journalText(o.MESSAGE);
  if (msg === undefined) {
    ctx.anomalies.add('log.journal_no_message', { file: ctx.file, line: lineNo });
    return [];
  }
  // A journal export holds every service's messages: like another message in a syslog file, not a bad line.
  if (!LOG_RE.test(msg)) return [];
  const us = journalText(o.__REALTIME_TIMESTAMP);
  if (us === undefined || !/^\d{1,17}$/.test(us)) {
    ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
    return [];
  }
  return logLine(msg, Number(us) / 1e6, ctx, lineNo);
}

export const netfilter: LogFormat = {
  id: 'netfilter',
  title: 'iptables/nftables kernel LOG lines',
  sniff(lines) {
    return lines.some((l) => {
      if (!l.startsWith('{')) return LOG_RE.test(l);
      const o = parseJsonObject(l);
      const msg = o && '__REALTIME_TIMESTAMP' in o ? journalText(o.MESSAGE) : undefined;
      return msg !== undefined && LOG_RE.test(msg);
    });
  },
  parser(ctx) {
    // A journal JSON export is JSON on every line: decided on the first line, so a broken one is counted.
    let json: boolean | undefined;
    return {
      line(text, lineNo) {
        json ??= text.trimStart().startsWith('{');
        if (json) return journalLine(text, ctx, lineNo);
        const { ts, msg } = splitSyslog(text, ctx.refYear);
        return logLine(msg, ts ?? ctx.refTime, ctx, lineNo);
      },
    };
  },
};
