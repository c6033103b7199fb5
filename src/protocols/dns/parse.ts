// DNS messages over UDP (one per datagram) and TCP (2-byte length prefix, RFC 1035 §4.2.2), decoded
// with dns-packet. dns-packet allocates per message; acceptable, DNS is small and rare next to TCP bulk.
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket as DnsPacket } from 'dns-packet';
import type { ParserContext } from '../context.js';
import type { DnsAnswer, DnsMessage, DnsQuestion, FeedStatus, MessageMeta, MessageSink } from '../messages.js';
import type { Dir, FlowRef, StreamChunk } from '../../flows/types.js';

/** Ports where UDP payloads are taken as DNS without a content check (DNS, mDNS, LLMNR). */
export const DNS_UDP_PORTS: ReadonlySet<number> = new Set([53, 5353, 5355]);
/** Ports where a TCP stream may be DNS (checked further by `isPlausibleDnsTcp`). */
export const DNS_TCP_PORTS: ReadonlySet<number> = new Set([53, 5353]);

const HEADER_BYTES = 12;
/** Smallest question: root name (1 byte) + type + class. */
const MIN_QUESTION_BYTES = 5;
/** Smallest resource record: root name + type + class + ttl + rdlength. */
const MIN_RR_BYTES = 11;

/** Type numbers dns-packet does not know (it reports them as UNKNOWN_<n>). */
const EXTRA_TYPES: Record<string, string> = { UNKNOWN_64: 'SVCB', UNKNOWN_65: 'HTTPS' };

/** A name made only of these is ordinary; anything else is counted as `dns.suspicious_name`. */
const ORDINARY_NAME = /^[a-z0-9\-_.*]*$/;

/**
 * A cheap header check: could these bytes be the start of a DNS message? Used to recognise DNS on
 * ports that are not DNS ports, so it is strict (one question, sane counts, a query has rcode 0).
 */
export function isPlausibleDnsHeader(data: Uint8Array, offset = 0): boolean {
  const len = data.length - offset;
  if (len < HEADER_BYTES + MIN_QUESTION_BYTES) return false;
  const flags = (data[offset + 2]! << 8) | data[offset + 3]!;
  const qr = flags >> 15;
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0 && opcode !== 1 && opcode !== 2 && opcode !== 4 && opcode !== 5) return false;
  if (qr === 0 && (flags & 0xf) !== 0) return false; // a query carries no rcode
  const qd = u16(data, offset + 4);
  const an = u16(data, offset + 6);
  const ns = u16(data, offset + 8);
  const ar = u16(data, offset + 10);
  if (qd !== 1) return false;
  if (qr === 0 && an > 0 && opcode === 0) return false; // standard queries carry no answers
  return HEADER_BYTES + qd * MIN_QUESTION_BYTES + (an + ns + ar) * MIN_RR_BYTES <= len;
}

/** Header check plus a full decode that uses every byte: DNS recognised by content alone. */
export function isPlausibleDnsMessage(data: Uint8Array): boolean {
  if (!isPlausibleDnsHeader(data)) return false;
  try {
    dnsPacket.decode(asBuffer(data));
    return dnsPacket.decode.bytes === data.length;
  } catch {
    return false;
  }
}

/** Could this TCP direction be DNS: a length prefix of a plausible size, then a plausible header. */
export function isPlausibleDnsTcp(data: Uint8Array): boolean {
  if (data.length < 2 + HEADER_BYTES + MIN_QUESTION_BYTES) return false;
  const len = u16(data, 0);
  if (len < HEADER_BYTES + MIN_QUESTION_BYTES) return false;
  return isPlausibleDnsHeader(data.subarray(0, Math.min(data.length, 2 + len)), 2);
}

/**
 * Decode one DNS message. Malformed input is counted as `dns.malformed` and gives null.
 * Names come back lowercase without a trailing dot; hostile names are kept as decoded text.
 */
export function parseDns(
  data: Uint8Array,
  meta: MessageMeta,
  transport: 'udp' | 'tcp',
  ctx: ParserContext,
): DnsMessage | null {
  let packet: DnsPacket;
  try {
    packet = dnsPacket.decode(asBuffer(data));
  } catch (err) {
    ctx.anomalies.add('dns.malformed', () => ({
      file: ctx.file,
      frame: meta.frame,
      flow: String(meta.flow.id),
      detail: err instanceof Error ? err.message.slice(0, 120) : 'decode failed',
    }));
    return null;
  }
  const where = () => ({ file: ctx.file, frame: meta.frame, flow: String(meta.flow.id) });
  const name = (raw: string): string => {
    const n = normaliseName(raw);
    if (!ORDINARY_NAME.test(n)) ctx.anomalies.add('dns.suspicious_name', where);
    return n;
  };

  const questions: DnsQuestion[] = [];
  for (const q of packet.questions ?? []) {
    if (q) questions.push({ name: name(q.name), type: typeName(q.type) });
  }
  const answers: DnsAnswer[] = [];
  for (const a of packet.answers ?? []) {
    if (!a || a.type === 'OPT') continue;
    answers.push({ name: name(a.name), type: typeName(a.type), ttl: a.ttl ?? 0, data: answerData(a, name) });
  }
  return {
    kind: 'dns',
    flow: meta.flow,
    dir: meta.dir,
    frame: meta.frame,
    ts: meta.ts,
    transport,
    id: packet.id ?? 0,
    response: packet.flag_qr,
    rcode: (packet as DnsPacket & { rcode?: string }).rcode ?? 'NOERROR',
    questions,
    answers,
  };
}

/** Lowercase, no trailing dot; the root stays ".". */
export function normaliseName(raw: string): string {
  if (raw === '.' || raw === '') return '.';
  const lower = raw.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function typeName(t: string): string {
  return EXTRA_TYPES[t] ?? t;
}

/** Answer data as text: addresses and target names as is, TXT joined, others summarised. */
function answerData(a: Answer, name: (raw: string) => string): string {
  const d = (a as { data?: unknown }).data;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return name(String(d));
    case 'TXT': {
      const parts = Array.isArray(d) ? d : [d];
      return parts.map((p) => (typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('utf8') : '')).join('');
    }
    case 'MX':
      return `${a.data.preference ?? 0} ${name(a.data.exchange)}`;
    case 'SRV':
      return `${a.data.priority ?? 0} ${a.data.weight ?? 0} ${a.data.port} ${name(a.data.target)}`;
    case 'SOA':
      return `${name(a.data.mname)} ${name(a.data.rname)} ${a.data.serial ?? 0}`;
    case 'CAA':
      return `${a.data.flags ?? 0} ${a.data.tag} "${a.data.value}"`;
    default:
      if (Buffer.isBuffer(d)) return `<${d.length} bytes>`;
      return `<${typeName(a.type)}>`;
  }
}

/**
 * DNS over TCP, one direction: 2-byte length prefix then the message, several messages per
 * stream, split anywhere. A message wholly inside one chunk is decoded from the chunk's view;
 * otherwise it is copied into a buffer sized by its length prefix (at most 65535 bytes).
 */
export class DnsTcpStream {
  /** Bytes of the length prefix seen so far (0, 1 or 2) and its value. */
  private prefixBytes = 0;
  private msgLen = 0;
  private body: Uint8Array | null = null;
  private have = 0;
  private msgFrame = 0;
  private msgTs = 0;
  private failed = false;

  constructor(
    private readonly flow: FlowRef,
    private readonly dir: Dir,
    private readonly sink: MessageSink,
    private readonly ctx: ParserContext,
  ) {}

  feed(chunk: StreamChunk): FeedStatus {
    if (this.failed) return 'error';
    if (chunk.gapBefore > 0) {
      // Lost bytes break the length framing; there is no way to find the next prefix.
      this.ctx.anomalies.add('dns.tcp_gap', { file: this.ctx.file, frame: chunk.frame, flow: String(this.flow.id) });
      this.failed = true;
      return 'error';
    }
    const data = chunk.data;
    let pos = 0;
    while (pos < data.length) {
      if (this.prefixBytes < 2) {
        if (this.prefixBytes === 0) {
          this.msgFrame = chunk.frame;
          this.msgTs = chunk.ts;
          // Fast path: prefix and whole message inside this chunk, decode from the view.
          if (data.length - pos >= 2) {
            const len = u16(data, pos);
            if (data.length - pos - 2 >= len) {
              this.emit(data.subarray(pos + 2, pos + 2 + len));
              pos += 2 + len;
              continue;
            }
          }
          this.msgLen = data[pos++]! << 8;
          this.prefixBytes = 1;
        } else {
          this.msgLen |= data[pos++]!;
          this.prefixBytes = 2;
          this.body = new Uint8Array(this.msgLen);
          this.have = 0;
        }
        if (this.prefixBytes === 2 && this.msgLen === 0) this.finishBuffered();
        continue;
      }
      const take = Math.min(this.msgLen - this.have, data.length - pos);
      this.body!.set(data.subarray(pos, pos + take), this.have);
      this.have += take;
      pos += take;
      if (this.have === this.msgLen) this.finishBuffered();
    }
    return 'ok';
  }

  /** The direction ended: a message cut short is counted. */
  end(): void {
    if (!this.failed && this.prefixBytes > 0) {
      this.ctx.anomalies.add('dns.tcp_truncated', { file: this.ctx.file, frame: this.msgFrame, flow: String(this.flow.id) });
    }
    this.reset();
  }

  private finishBuffered(): void {
    const body = this.body ?? new Uint8Array(0);
    this.reset();
    this.emit(body);
  }

  private reset(): void {
    this.prefixBytes = 0;
    this.msgLen = 0;
    this.body = null;
    this.have = 0;
  }

  private emit(bytes: Uint8Array): void {
    const msg = parseDns(bytes, { flow: this.flow, dir: this.dir, frame: this.msgFrame, ts: this.msgTs }, 'tcp', this.ctx);
    if (msg) this.sink(msg);
  }
}

function u16(data: Uint8Array, at: number): number {
  return (data[at]! << 8) | data[at + 1]!;
}

/** A Buffer view over the same bytes (dns-packet reads with Buffer methods); no copy. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
