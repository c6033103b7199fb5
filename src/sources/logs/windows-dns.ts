// Windows DNS Server debug log (dns.log) (research D.6; MS-DNSP DNS_LOG_LEVELS; the legend the server writes at
// the top of the file; fixtures/logs/PROVENANCE.md, Windows DNS section):
//   11/25/2026 8:20:01 AM 0A1C PACKET  000001D2C3B4A590 UDP Rcv 10.1.2.3        5b47   Q [0001   D   NOERROR] A      (3)mcp(7)example(3)com(0)
// Date and time are in the server's locale short-date format: M/D/Y (en-US, with AM/PM), D/M/Y (en-GB, fr-FR, ...),
// D.M.Y, D-M-Y, Y-M-D and Y/M/D are read; the 4-digit year's position tells them apart but for M/D/Y and D/M/Y.
// Those two are decided per file (SlashDates below): `import --date-order` if given; else by a date valid in only one
// order (kept with the file's cursor for the next `import --db` run); until one comes, guessed from the clock.
// Switches and guesses are counted (log.windows_dns_date_order, log.windows_dns_date_order_guessed): never silent.
// Rcv without R = a client's query; Snd with R = the answer sent back to it. Queries the server
// itself forwards (Snd Q / Rcv R) are skipped: their client is the server.
//
// With "Details" logging (log level bit 0x1000000, "Logs full packets") each packet line is followed by the
// whole message, ended by a blank line:
//   UDP response info at 000001D2C3B4A590        (the packet line's internal identifier)
//     Socket = 512 / Remote addr 10.1.2.3, port 50123 / ... / Message:
//       XID 0x5b47 / Flags 0x8180 / flag lines / QCOUNT 1 / ACOUNT 3 / NSCOUNT 0 / ARCOUNT 0
//       QUESTION SECTION: / ANSWER SECTION: / AUTHORITY SECTION: / ADDITIONAL SECTION:
//       each RR: Offset = 0x0020, RR count = 0 / Name "..." / TYPE A (1) / CLASS / TTL / DLEN / DATA 203.0.113.10
// A packet is one record: its observation is made when its block (if any) has ended, with the A/AAAA
// addresses and CNAME targets of the ANSWER SECTION, as a capture's DNS response gives them.
import { LIMITS } from '../../config/limits.js';
import type { FieldValue, Observation } from '../../detect/observation.js';
import { endpoint, makeObservation, normName, parseIp, parsePort, utcSeconds } from './common.js';
import type { DateOrder, LogFormat, LogParserContext } from './types.js';

const FORMAT = 'windows-dns';
const PACKET_RE = /^(\S+) (\d{1,2}):(\d\d):(\d\d)(?: ?([AP]M))? +[0-9A-Fa-f]+ PACKET +([0-9A-Fa-f]+) (UDP|TCP) (Snd|Rcv) (\S+) +([0-9A-Fa-f]{1,4}) +(R)? *([QNU?]) +\[([0-9A-Fa-f]{1,4}) +([A-Z ]*?) *([A-Za-z]+)\] +(\S+) +(\S+)\s*$/;
/** First line of a detail block; the identifier is its packet line's. */
const INFO_RE = /^(?:UDP|TCP) \w+ info at ([0-9A-Fa-f]+)\s*$/;
const SECTION_RE = /^\s+(QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:\s*$/;
const SECTIONS = ['QUESTION', 'ANSWER', 'AUTHORITY', 'ADDITIONAL'] as const;
/** The header's record count of each section, in the same order. */
const COUNT_KEYS = ['QCOUNT', 'ACOUNT', 'NSCOUNT', 'ARCOUNT'] as const;
type Section = (typeof SECTIONS)[number];
type CountKey = (typeof COUNT_KEYS)[number];
const COUNT_RE = /^\s+(QCOUNT|ACOUNT|NSCOUNT|ARCOUNT)\s+(\d+)\s*$/;
const RR_RE = /^\s+Offset = 0x[0-9A-Fa-f]+, RR count = (\d+)\s*$/;
const FIELD_RE = /^\s+(\w+)\s*(.*?)\s*$/;
/** Compression pointers the server prints inside names: `(9)amazonaws[C026](3)com(0)`. */
const POINTER_RE = /\[C[0-9A-Fa-f]{3}\]/g;
const WINDOWS_DNS_DETAIL_MAX_LINES = LIMITS.logWindowsDnsDetailLines;

/** A packet line's date: the year, then month and day (1-based) or, `either`, the two fields of a slash date
 * with the year last in the order written (M/D or D/M: the file's order decides). */
interface DateFields {
  y: number;
  a: number;
  b: number;
  either: boolean;
}

function parseDate(d: string): DateFields | undefined {
  let m = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$/.exec(d);
  if (m) return m[2] === '/' ? { y: +m[4], a: +m[1], b: +m[3], either: true } : { y: +m[4], a: +m[3], b: +m[1], either: false };
  m = /^(\d{4})([/-])(\d{1,2})\2(\d{1,2})$/.exec(d);
  if (m) return { y: +m[1], a: +m[3], b: +m[4], either: false };
  return undefined;
}

const ORDER_NAME: Record<DateOrder, string> = { mdy: 'M/D/Y', dmy: 'D/M/Y' };
/** Log lines are written before the file's last change; a day's slack for local time and clock skew. */
const FUTURE_SLACK_SECONDS = 86400;

/**
 * A file's packet-line dates. Slash dates with the year last are M/D/Y or D/M/Y: `--date-order` when given; else a
 * date that is valid (and not after the file's mtime) in only one order proves it; until one does, the order is
 * guessed from the clock (12-hour with AM/PM: M/D/Y, as en-US writes; 24-hour: D/M/Y, as en-GB, fr-FR, es-ES write).
 * A proof against the order earlier lines were read in, and a file read on a guess to its end, are counted.
 */
class SlashDates {
  private order: DateOrder | undefined;
  private readonly given: boolean;
  private proven = false;
  /** A date was read in `order` since it was last set; the line of the first date read on a guess. */
  private dated = false;
  private guessedAt: number | undefined;
  private guessedBy = '';
  private readonly latest: number;

  constructor(private readonly ctx: LogParserContext) {
    this.order = ctx.dateOrder;
    this.given = ctx.dateOrder !== undefined;
    this.latest = ctx.refTime + FUTURE_SLACK_SECONDS;
    // An earlier run of an incremental import proved the order (memo): the file's earlier lines were read in it.
    if (!this.given && (ctx.memo === 'mdy' || ctx.memo === 'dmy')) {
      this.order = ctx.memo;
      this.proven = true;
      this.dated = true;
    }
  }

  /** The proven order, for the next incremental run (LogLineParser.memo). */
  memo(): DateOrder | undefined {
    return this.proven ? this.order : undefined;
  }

  /** The packet line's time (epoch s), or undefined when its date or time is not valid. */
  time(date: string, h: number, mi: number, ss: number, twelveHour: boolean, lineNo: number): number | undefined {
    const f = parseDate(date);
    if (!f) return undefined;
    if (!f.either) return utcSeconds(f.y, f.a - 1, f.b, h, mi, ss);
    const mdy = utcSeconds(f.y, f.a - 1, f.b, h, mi, ss);
    const dmy = utcSeconds(f.y, f.b - 1, f.a, h, mi, ss);
    if (!this.given) {
      // Valid in one order only; else, both valid, not after the file's last change in one order only.
      const one = (mdy === undefined) !== (dmy === undefined);
      this.decide(one ? mdy !== undefined : mdy! <= this.latest, one ? dmy !== undefined : dmy! <= this.latest, twelveHour, lineNo);
    }
    const ts = this.order === 'mdy' ? mdy : dmy;
    if (ts !== undefined) {
      this.dated = true;
      if (!this.given && !this.proven && this.guessedAt === undefined) this.guessedAt = lineNo;
    }
    return ts;
  }

  private decide(mdyOk: boolean, dmyOk: boolean, twelveHour: boolean, lineNo: number): void {
    if (mdyOk !== dmyOk) {
      const proves: DateOrder = mdyOk ? 'mdy' : 'dmy';
      if (this.order !== undefined && proves !== this.order) {
        if (this.dated) {
          const detail = `dates read as ${ORDER_NAME[proves]} from this line on; earlier lines of this file were read as ${ORDER_NAME[this.order]}`;
          this.ctx.notice('log.windows_dns_date_order', { file: this.ctx.file, line: lineNo, detail });
        }
        this.dated = false;
      }
      this.order = proves;
      this.proven = true;
      this.guessedAt = undefined;
    } else if (this.order === undefined) {
      this.order = twelveHour ? 'mdy' : 'dmy';
      this.guessedBy = twelveHour ? 'its 12-hour clock' : 'its 24-hour clock';
    }
  }

  /** The file was read: if its slash dates were all read on a guess, say so. */
  end(): void {
    if (this.guessedAt === undefined || this.order === undefined) return;
    const other = ORDER_NAME[this.order === 'mdy' ? 'dmy' : 'mdy'];
    const detail = `dates like 05/11 read as ${ORDER_NAME[this.order]}, guessed from ${this.guessedBy}: no date of the file tells; give --date-order if the server writes ${other}`;
    this.ctx.notice('log.windows_dns_date_order_guessed', { file: this.ctx.file, line: this.guessedAt, detail });
    this.guessedAt = undefined; // said once (a resumed run's header replay ends too, before its own lines)
  }
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

type Part = 'packet' | 'head' | 'message' | Section | 'skip';

/** One packet line and what its detail block has told so far. */
interface Rec {
  line: number;
  packetId: string;
  xid: number;
  remote: string;
  qname: string;
  /** What the packet line observes (undefined: nothing, e.g. the server's own forwarded query). */
  obs?: Observation;
  /** Check the block (standard queries); other opcodes' blocks are passed over. */
  check: boolean;
  part: Part;
  lines: number;
  counts: Partial<Record<CountKey, number>>;
  /** RRs begun in the current section. */
  rrs: number;
  /** The current answer RR: its TYPE, and whether its DATA was read. */
  type?: string;
  data: boolean;
  addrs: string[];
  names: string[];
  /** The block was garbled: its answers are not used. */
  bad: boolean;
}

function indented(text: string): boolean {
  const c = text.charCodeAt(0);
  return c === 32 || c === 9;
}

export const windowsDns: LogFormat = {
  id: 'windows-dns',
  title: 'Windows DNS Server debug log',
  sniff(lines) {
    return lines.some((l) => l.startsWith('DNS Server log file creation') || l.startsWith('Message logging key') || PACKET_RE.test(l) || INFO_RE.test(l));
  },
  parser(ctx) {
    let rec: Rec | undefined;
    /** A detail block was seen: indented lines are detail lines now, not the legend's rows. */
    let details = false;
    const dates = new SlashDates(ctx);

    const bad = (r: Rec, lineNo: number, why: string): void => {
      ctx.anomalies.add('log.windows_dns_bad_detail', { file: ctx.file, line: lineNo, detail: why });
      r.bad = true;
      r.part = 'skip';
    };

    /** The record ends (blank line, next unindented line, end of file): its observation, if it has one. */
    const close = (): Observation[] => {
      const r = rec;
      rec = undefined;
      if (!r) return [];
      if (r.check && r.part !== 'packet' && r.part !== 'skip' && !complete(r)) {
        ctx.anomalies.add('log.windows_dns_truncated_detail', { file: ctx.file, line: r.line });
      }
      if (!r.obs) return [];
      if (!r.bad) {
        if (r.addrs.length > 0) r.obs.fields['dns.answer.address'] = r.addrs;
        if (r.names.length > 0) r.obs.fields['dns.answer.name'] = r.names;
      }
      return [r.obs];
    };

    return {
      line(text, lineNo) {
        if (indented(text)) {
          if (!rec) {
            // Before any block these are the legend's rows; after one, detail lines that lost their packet line.
            if (details) {
              const detail = 'detail lines without their packet line';
              ctx.anomalies.add('log.windows_dns_bad_detail', { file: ctx.file, line: lineNo, detail });
              rec = passOver(lineNo, 'skip');
            }
          } else if (rec.part !== 'packet') detail(rec, text, lineNo);
          else if (rec.check) bad(rec, lineNo, 'detail lines without their info line');
          else rec.part = 'skip';
          return [];
        }
        const info = INFO_RE.exec(text);
        if (info) {
          details = true;
          if (rec?.part === 'packet') {
            if (!rec.check) rec.part = 'skip'; // the packet line was counted already
            else if (info[1].toUpperCase() !== rec.packetId) bad(rec, lineNo, 'detail block of another packet');
            else rec.part = 'head';
            return [];
          }
          const out = close();
          ctx.anomalies.add('log.windows_dns_bad_detail', { file: ctx.file, line: lineNo, detail: 'detail block without its packet line' });
          rec = passOver(lineNo, 'skip');
          return out;
        }
        const out = close();
        if (!text.includes(' PACKET ')) return out; // legend, EVENT lines
        // A packet line that yields nothing still owns its block, which is then passed over. Its anomaly is
        // counted here (not by returning undefined) so that the record closed above is kept.
        rec = passOver(lineNo, 'packet');
        const m = PACKET_RE.exec(text);
        if (!m) return counted(out, 'log.unparsed_line', lineNo);
        const [, date, hh, mi, ss, ampm, packetId, , dir, remote, xid, resp, opcode, , , rcode, qtype, qname] = m;
        let h = +hh;
        if (ampm === 'PM' && h < 12) h += 12;
        if (ampm === 'AM' && h === 12) h = 0;
        const ts = dates.time(date, h, +mi, +ss, ampm !== undefined, lineNo);
        if (ts === undefined) return counted(out, 'log.bad_timestamp', lineNo);
        if (opcode !== 'Q') return out; // notify, update: their blocks are passed over
        const ip = parseIp(remote);
        const name = windowsDnsName(qname);
        if (ip && name) Object.assign(rec, { check: true, packetId: packetId.toUpperCase(), xid: parseInt(xid, 16), remote: ip, qname });
        const isResponse = resp === 'R';
        if ((dir === 'Rcv') === isResponse) return out; // the server's own forwarded queries
        if (!ip) return counted(out, 'log.bad_address', lineNo);
        if (!name) return counted(out, 'log.unparsed_line', lineNo);
        const f: Record<string, FieldValue> = { 'dns.query.name': name, 'dns.query.type': qtype.toUpperCase() };
        if (isResponse) f['dns.rcode'] = rcode.toUpperCase();
        rec.obs = makeObservation(ctx, FORMAT, lineNo, 'dns', ts, f, endpoint(ip, undefined));
        return out;
      },
      blank() {
        return close();
      },
      open() {
        return rec?.line;
      },
      memo() {
        return dates.memo();
      },
      end(more) {
        dates.end();
        // A file still being written may be cut inside a block, or (with details) between a packet line and its block.
        if (more && rec && (rec.part !== 'packet' || details)) return undefined;
        return close();
      },
    };

    function counted(out: Observation[], name: string, lineNo: number): Observation[] {
      ctx.anomalies.add(name, { file: ctx.file, line: lineNo });
      return out;
    }

    /** A record whose block is passed over unchecked; at 'packet', until its packet line has been read. */
    function passOver(lineNo: number, part: Part): Rec {
      return {
        line: lineNo, packetId: '', xid: 0, remote: '', qname: '', check: false, part, lines: 0, counts: {},
        rrs: 0, data: false, addrs: [], names: [], bad: false,
      };
    }

    function detail(r: Rec, text: string, lineNo: number): void {
      if (r.part === 'skip') return;
      if (++r.lines > WINDOWS_DNS_DETAIL_MAX_LINES) {
        ctx.anomalies.add('log.windows_dns_detail_cap_hit', { file: ctx.file, line: lineNo });
        r.part = 'skip';
        return;
      }
      const sec = SECTION_RE.exec(text);
      if (sec) return section(r, sec[1] as Section, lineNo);
      switch (r.part) {
        case 'head': return head(r, text, lineNo);
        case 'message': return message(r, text, lineNo);
        case 'QUESTION': return question(r, text, lineNo);
        case 'ANSWER': return answer(r, text, lineNo);
        default: return other(r, text, lineNo);
      }
    }

    function head(r: Rec, text: string, lineNo: number): void {
      const t = text.trim();
      if (t === 'Message:') { r.part = 'message'; return; }
      const a = /^Remote addr (\S+), port (\d+)$/.exec(t);
      if (!a) return; // Socket, Time, Buf/Msg length
      if (parseIp(a[1]) !== r.remote) return bad(r, lineNo, 'remote address differs from the packet line');
      if (r.obs?.client) r.obs.client = endpoint(r.obs.client.ip, parsePort(a[2]));
    }

    function message(r: Rec, text: string, lineNo: number): void {
      const c = COUNT_RE.exec(text);
      if (c) { r.counts[c[1] as CountKey] = +c[2]; return; }
      const x = /^\s+XID\s+0x([0-9A-Fa-f]{1,4})$/.exec(text);
      if (x && parseInt(x[1], 16) !== r.xid) bad(r, lineNo, 'XID differs from the packet line');
      // Flags and the flag lines: the packet line has them already.
    }

    function section(r: Rec, name: Section, lineNo: number): void {
      const at = SECTIONS.indexOf(name);
      const prev = SECTIONS.indexOf(r.part as Section);
      if (at !== prev + 1 || (prev < 0 && r.part !== 'message')) return bad(r, lineNo, `${name} SECTION out of order`);
      if (prev >= 0 && !sectionDone(r, prev)) return bad(r, lineNo, `${SECTIONS[prev]} SECTION has fewer records than its count`);
      r.part = name;
      r.rrs = 0;
      r.type = undefined;
      r.data = false;
    }

    /** `Offset = ..., RR count = N` begins the section's Nth record (from 0), within the header's count. */
    function record(r: Rec, n: string, lineNo: number): void {
      const expected = r.counts[COUNT_KEYS[SECTIONS.indexOf(r.part as Section)]];
      if (+n !== r.rrs || (expected !== undefined && r.rrs >= expected)) {
        return bad(r, lineNo, 'record number out of sequence or beyond the section count');
      }
      r.rrs++;
      r.type = undefined;
      r.data = false;
    }

    function question(r: Rec, text: string, lineNo: number): void {
      const rr = RR_RE.exec(text);
      if (rr) return record(r, rr[1], lineNo);
      const f = FIELD_RE.exec(text);
      const key = f?.[1];
      if (key === 'empty' && r.rrs === 0) return;
      if (key === 'Name' && r.rrs > 0) {
        if (f![2] !== `"${r.qname}"`) bad(r, lineNo, 'question name differs from the packet line');
        return;
      }
      if ((key === 'QTYPE' || key === 'QCLASS') && r.rrs > 0) return;
      bad(r, lineNo, 'unexpected line in QUESTION SECTION');
    }

    function answer(r: Rec, text: string, lineNo: number): void {
      const rr = RR_RE.exec(text);
      if (rr) return r.rrs > 0 && !r.data ? bad(r, lineNo, 'answer record without DATA') : record(r, rr[1], lineNo);
      const f = FIELD_RE.exec(text);
      const key = f?.[1];
      const value = f?.[2] ?? '';
      if (key === 'empty' && r.rrs === 0) return;
      if (r.rrs === 0) return bad(r, lineNo, 'unexpected line in ANSWER SECTION');
      if (r.data) {
        // Multi-line DATA (SOA, TXT, ...) continues on indented lines; A/AAAA/CNAME DATA is one line.
        if (r.type === 'A' || r.type === 'AAAA' || r.type === 'CNAME') bad(r, lineNo, `unexpected line after ${r.type} DATA`);
        return;
      }
      if (key === 'Name' && /^".*"$/.test(value)) return;
      if (key === 'TYPE') {
        const t = /^(\S+)\s+\((\d+)\)$/.exec(value);
        if (!t) return bad(r, lineNo, 'bad TYPE');
        r.type = t[1];
        return;
      }
      if ((key === 'CLASS' || key === 'TTL' || key === 'DLEN') && /^\d+$/.test(value)) return;
      if (key !== 'DATA') return bad(r, lineNo, 'unexpected line in ANSWER SECTION');
      r.data = true;
      if (r.type === 'A' || r.type === 'AAAA') {
        const ip = parseIp(value);
        if (!ip || ip.includes(':') !== (r.type === 'AAAA')) return bad(r, lineNo, `${r.type} DATA is not an address`);
        r.addrs.push(ip);
      } else if (r.type === 'CNAME') {
        const target = windowsDnsName(value.replace(POINTER_RE, ''));
        if (!target || target === '.') return bad(r, lineNo, 'CNAME DATA is not a name');
        r.names.push(target);
      }
    }

    /** AUTHORITY and ADDITIONAL: only their record numbering is checked (SOA DATA spans lines). */
    function other(r: Rec, text: string, lineNo: number): void {
      const rr = RR_RE.exec(text);
      if (rr) record(r, rr[1], lineNo);
    }

    function sectionDone(r: Rec, index: number): boolean {
      const expected = r.counts[COUNT_KEYS[index]];
      if (expected !== undefined && r.rrs !== expected) return false;
      return SECTIONS[index] !== 'ANSWER' || r.rrs === 0 || r.data;
    }

    function complete(r: Rec): boolean {
      return r.part === 'ADDITIONAL' && sectionDone(r, 3);
    }
  },
};

