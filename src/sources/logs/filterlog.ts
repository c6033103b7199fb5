// pfSense / OPNsense `filterlog` CSV (docs.netgate.com raw-filter-log-format; opnsense filterlog
// description.txt; research D.5), with or without the syslog prefix.
// common: rulenr,subrulenr,anchor,tracker,interface,reason,action,dir, then
//   IPv4: ipversion=4,tos,ecn,ttl,id,offset,flags,protonum,protoname,length,src,dst
//   IPv6: ipversion=6,class,flowlabel,hoplimit,protoname,protonum,length,src,dst
// then TCP/UDP: srcport,dstport,datalen,...
import type { FieldValue } from '../../detect/observation.js';
import { connFields, endpoint, ipProtoName, makeObservation, parseAddressPair, parsePort, put, splitSyslog, verdict } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'filterlog';
const CSV_RE = /^\d*,\d*,[^,]*,[^,]*,[^,]*,[^,]*,(pass|block|reject|match|scrub|nat|rdr|binat),(in|out),(4|6),/;

function csvPart(text: string, refYear: number): { ts?: number; csv: string } | undefined {
  if (CSV_RE.test(text)) return { csv: text };
  const s = splitSyslog(text, refYear);
  if (s.tag === 'filterlog' && CSV_RE.test(s.msg)) return { ts: s.ts, csv: s.msg };
  return undefined;
}

export const filterlog: LogFormat = {
  id: 'filterlog',
  title: 'pfSense/OPNsense filterlog CSV',
  sniff(lines) {
    return lines.some((l) => csvPart(l, 2000) !== undefined);
  },
  parser(ctx) {
    return {
      line(text, lineNo) {
        const part = csvPart(text, ctx.refYear);
        if (!part) {
          const s = splitSyslog(text, ctx.refYear);
          return s.tag !== undefined && s.tag !== 'filterlog' ? [] : undefined; // other programs' lines
        }
        const c = part.csv.split(',');
        const action = c[6];
        const v6 = c[8] === '6';
        let protoNum: string;
        let protoName: string;
        let srcRaw: string;
        let dstRaw: string;
        let next: number;
        if (v6) {
          protoName = c[12]; protoNum = c[13]; srcRaw = c[15]; dstRaw = c[16]; next = 17;
        } else {
          protoNum = c[15]; protoName = c[16]; srcRaw = c[18]; dstRaw = c[19]; next = 20;
        }
        if (srcRaw === undefined || dstRaw === undefined) return undefined;
        const addrs = parseAddressPair(srcRaw, dstRaw, ctx, lineNo, true);
        if (!addrs) return [];
        const { src, dst } = addrs;
        const proto = (protoName || ipProtoName(protoNum) || '').toLowerCase() || undefined;
        let sport: number | undefined;
        let dport: number | undefined;
        if (proto === 'tcp' || proto === 'udp') {
          sport = parsePort(c[next]);
          dport = parsePort(c[next + 1]);
        }
        const f: Record<string, FieldValue> = connFields(proto, src, sport, dst, dport);
        put(f, 'log.action', action);
        put(f, 'conn.action', verdict(action));
        // tracker/label identifies the rule (rule number is not stable across reloads).
        put(f, 'log.rule', c[3] || c[0]);
        return [makeObservation(ctx, FORMAT, lineNo, 'conn', part.ts ?? ctx.refTime, f, endpoint(src, sport), endpoint(dst, dport))];
      },
    };
  },
};
