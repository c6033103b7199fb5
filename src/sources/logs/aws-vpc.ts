// AWS VPC Flow Logs (docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html; research D.7):
// space-separated; default v2 order unless the file starts with a header naming the fields
// (S3 delivery, custom formats v3-v8). `-` = not applicable; NODATA/SKIPDATA records carry no flow.
import type { FieldValue } from '../../detect/observation.js';
import { connFields, endpoint, ipProtoName, makeObservation, parseAnyTime, parseAddressPair, parsePort, put, verdict } from './common.js';
import type { LogFormat } from './types.js';

const FORMAT = 'aws-vpc';
const DEFAULT_V2 = ['version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol',
  'packets', 'bytes', 'start', 'end', 'action', 'log-status'];
const V2_LINE_RE = /^2 (\d{12}|unknown|-) (eni-[0-9a-f]+|-) \S+ \S+ \S+ \S+ \S+ \S+ \S+ (\d+|-) (\d+|-) (ACCEPT|REJECT|-) (OK|NODATA|SKIPDATA)$/;

function headerNames(line: string): string[] | undefined {
  const names = line.trim().split(/\s+/).map((n) => n.replace(/^\$\{(.*)\}$/, '$1').replace(/_/g, '-').toLowerCase());
  return names.includes('srcaddr') && names.includes('dstaddr') ? names : undefined;
}

export const awsVpc: LogFormat = {
  id: 'aws-vpc',
  title: 'AWS VPC Flow Logs',
  sniff(lines) {
    const first = lines[0] ?? '';
    return headerNames(first) !== undefined || V2_LINE_RE.test(first.trim());
  },
  parser(ctx) {
    let cols = new Map(DEFAULT_V2.map((n, i) => [n, i]));
    return {
      line(text, lineNo) {
        const t = text.trim();
        const header = headerNames(t);
        if (header) {
          cols = new Map(header.map((n, i) => [n, i]));
          return [];
        }
        const cells = t.split(/\s+/);
        const get = (n: string): string | undefined => {
          const i = cols.get(n);
          const v = i === undefined ? undefined : cells[i];
          return v === undefined || v === '-' ? undefined : v;
        };
        if (cells.length < cols.size) return undefined;
        const status = get('log-status');
        if (status === 'NODATA' || status === 'SKIPDATA') return [];
        const ts = parseAnyTime(get('start'));
        if (ts === undefined) {
          ctx.anomalies.add('log.bad_timestamp', { file: ctx.file, line: lineNo });
          return [];
        }
        // pkt-srcaddr/pkt-dstaddr are the packet's own addresses (NAT, load balancers); prefer them.
        const srcRaw = get('pkt-srcaddr') ?? get('srcaddr');
        const dstRaw = get('pkt-dstaddr') ?? get('dstaddr');
        const addrs = parseAddressPair(srcRaw, dstRaw, ctx, lineNo, true);
        if (!addrs) return [];
        const { src, dst } = addrs;
        const sport = parsePort(get('srcport'));
        const dport = parsePort(get('dstport'));
        const f: Record<string, FieldValue> = connFields(ipProtoName(get('protocol')), src, sport, dst, dport);
        const action = get('action');
        put(f, 'log.action', action);
        put(f, 'conn.action', verdict(action));
        return [makeObservation(ctx, FORMAT, lineNo, 'conn', ts, f, endpoint(src, sport), endpoint(dst, dport))];
      },
    };
  },
};
