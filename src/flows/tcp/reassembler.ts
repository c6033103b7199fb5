// One direction of a TCP connection: turns segments (any order, duplicated, overlapping) into in-order bytes.
//
// Positions are kept twice: `nextSeq` (uint32 on the wire) and `offset` (stream offset of that same byte, a float
// that never wraps). A segment is placed by its signed 32-bit distance to `nextSeq`, so wraparound at 2^32 needs no
// special case. In-order data with nothing buffered is handed on as a view of the packet; only data that arrives
// ahead of a hole is copied into `segs`, and every byte there is capped (per direction, per hole, across the table).
// A consumer that needs no bytes up to some offset (the rest of an HTTP body of a type nobody reads) asks to skip
// them: they are counted and handed on as a number with the next chunk, one call instead of one per packet.
import type { Limits } from '../../config/limits.js';
import type { Anomalies, Location } from '../../core/anomalies.js';
import { TcpFlag, type DecodedPacket } from '../../decode/packet.js';
import { MAX_SEQ_AHEAD, seqAdd, seqDiff } from './seq.js';

const EMPTY = new Uint8Array(0);

/** Out-of-order bytes buffered across every stream of one table (for `maxOutOfOrderBytesTotal`). */
export interface ReassemblyMemory {
  used: number;
  peak: number;
}

/** Counters shared by every stream of one table; FlowTable.stats reads them. */
export interface ReassemblyCounters {
  /** Bytes handed on in order. */
  bytesDelivered: number;
  /** Bytes seen but not handed on: ignored direction, past stream depth, after FIN. */
  bytesSkipped: number;
  /** Bytes that arrived again after they were already delivered or buffered. */
  bytesRetransmitted: number;
  /** Holes given up on, and their total size in bytes. */
  gaps: number;
  gapBytes: number;
  /** Overlapping segments whose bytes differed (the first copy was kept). */
  overlapConflicts: number;
}

export function newReassemblyCounters(): ReassemblyCounters {
  return { bytesDelivered: 0, bytesSkipped: 0, bytesRetransmitted: 0, gaps: 0, gapBytes: 0, overlapConflicts: 0 };
}

/** What a stream needs from its owner: where output goes and where problems are counted. */
export interface ReassemblyHost<T> {
  readonly limits: Limits;
  readonly anomalies: Anomalies;
  readonly memory: ReassemblyMemory;
  readonly counters: ReassemblyCounters;
  /**
   * In-order bytes at stream `offset`, `gapBefore` lost bytes just before, and before those `skipped` bytes the
   * consumer asked to skip (skipUntil). `data` is valid only during the call.
   */
  deliver(stream: TcpStream<T>, data: Uint8Array, offset: number, gapBefore: number, frame: number, ts: number, skipped: number): void;
  /** The FIN was reached in sequence: nothing more will come in this direction. */
  finished(stream: TcpStream<T>): void;
  /** Anomaly location for this stream (called only when an example is kept). */
  where(stream: TcpStream<T>, frame: number): Location;
}

/** A copied piece of out-of-order data. Pieces in `segs` are sorted and never overlap. */
interface Piece {
  off: number;
  end: number;
  data: Uint8Array;
  frame: number;
  ts: number;
}

export class TcpStream<T> {
  /** A base sequence number is known (from a SYN, or the first segment seen carrying data or FIN). */
  started = false;
  /** The SYN was seen: `isn` is valid and offset 0 is ISN + 1. */
  hasIsn = false;
  isn = 0;
  /** Sequence number of the next byte to deliver, and its stream offset. */
  nextSeq = 0;
  offset = 0;
  /** Stream offset of the FIN, -1 until one is seen. */
  finOffset = -1;
  /** FIN reached in order, or the stream was closed: later segments are only counted. */
  finished = false;
  /** Stop buffering and delivering; only count bytes (ignore() or stream depth reached). */
  ignored = false;
  depthReached = false;
  /** Bytes held in `segs`. */
  buffered = 0;
  private segs: Piece[] = [];
  /** skipUntil(): bytes before stream offset `skipEnd` are counted into `skipped`, not handed on; 0 = off. */
  private skipEnd = 0;
  private skipped = 0;
  /** Frame and time of the last skipped bytes (for a chunk that only reports them). */
  private skipFrame = 0;
  private skipTs = 0;

  constructor(
    private readonly host: ReassemblyHost<T>,
    readonly owner: T,
  ) {}

  /** Segments waiting above a hole (for tests and stats). */
  get bufferedSegments(): number {
    return this.segs.length;
  }

  /**
   * One segment in this direction: the packet's seq, payload, frame and time; `flags` are the TCP flags (SYN and FIN
   * are used here; RST is the table's job). The payload (a view into the frame) is delivered without a copy when in
   * order, copied otherwise, and not even made into a view when it is only counted. Taking the packet, not its
   * fields, also spares boxing seq and ts (doubles) for the call, once per packet.
   */
  segment(pkt: DecodedPacket, flags: number): void {
    const seq = pkt.seq;
    const frame = pkt.frame;
    const ts = pkt.ts;
    let dataSeq = seq;
    if (flags & TcpFlag.SYN) {
      dataSeq = seqAdd(seq, 1);
      if (!this.hasIsn && !this.started) {
        this.hasIsn = true;
        this.isn = seq;
        this.started = true;
        this.nextSeq = dataSeq;
        this.offset = 0;
      } else if (this.hasIsn && seq !== this.isn) {
        // A SYN for another connection on the same ports (or a forged one): its bytes do not belong here.
        this.anomaly('reassembly.syn_seq_changed', frame);
        return;
      }
    }
    let len = pkt.payloadLength;
    const fin = (flags & TcpFlag.FIN) !== 0;
    if (!this.started) {
      if (len === 0 && !fin) return; // a bare ACK does not fix the start: keep-alives carry seq - 1
      this.started = true;
      this.nextSeq = dataSeq;
      this.offset = 0;
    }
    const d = seqDiff(dataSeq, this.nextSeq);
    if (d >= MAX_SEQ_AHEAD || d < -MAX_SEQ_AHEAD) {
      this.anomaly('reassembly.seq_out_of_window', frame);
      return;
    }
    const startAbs = this.offset + d;
    let endAbs = startAbs + len;

    if (this.finished) {
      const fence = this.finOffset >= 0 ? this.finOffset : this.offset;
      if (endAbs > fence) {
        this.anomaly('reassembly.data_after_fin', frame);
        this.host.counters.bytesSkipped += endAbs - Math.max(startAbs, fence);
      } else if (len > 0) {
        this.host.counters.bytesRetransmitted += len;
      }
      return;
    }

    if (fin) {
      if (this.finOffset < 0) {
        if (endAbs >= this.offset) this.finOffset = endAbs;
        else this.anomaly('reassembly.fin_mismatch', frame); // a FIN behind bytes already delivered
      } else if (this.finOffset !== endAbs) {
        this.anomaly('reassembly.fin_mismatch', frame);
      }
    }
    if (this.finOffset >= 0 && endAbs > this.finOffset) {
      this.anomaly('reassembly.data_after_fin', frame);
      this.host.counters.bytesSkipped += endAbs - Math.max(startAbs, this.finOffset);
      endAbs = Math.max(startAbs, this.finOffset);
      len = endAbs - startAbs;
    }

    if (len > 0) {
      if (endAbs <= this.offset) {
        this.host.counters.bytesRetransmitted += len;
      } else if (this.ignored) {
        this.skipTo(Math.max(startAbs, this.offset), endAbs);
      } else if (startAbs <= this.offset) {
        if (this.skipEnd > 0 && this.segs.length === 0 && endAbs < this.skipEnd) {
          this.countSkipped(endAbs - this.offset, frame, ts); // not even a view of the payload
        } else {
          const payload = pkt.payload;
          this.inOrder(len === payload.length ? payload : payload.subarray(0, len), startAbs, frame, ts);
        }
      } else {
        this.outOfOrder(pkt.payload, startAbs, len, frame, ts);
        this.enforceCaps(frame);
      }
    }
    this.checkFin();
  }

  /**
   * An ACK from the other side. If the receiver acknowledged bytes we never saw, and past the first piece waiting
   * above the hole, the hole is capture loss: no retransmission will fill it, so deliver what follows as a gap.
   */
  peerAck(ack: number, frame: number): void {
    if (!this.started || this.finished || this.ignored) return;
    if (this.segs.length === 0 && this.finOffset < 0) return;
    const d = seqDiff(ack, this.nextSeq);
    if (d <= 0 || d >= MAX_SEQ_AHEAD) return;
    const ackAbs = this.offset + d;
    while (this.segs.length > 0 && !this.ignored && ackAbs >= this.segs[0].end) {
      this.skipHole('reassembly.capture_loss', frame);
    }
    if (this.segs.length === 0 && this.finOffset > this.offset && ackAbs > this.finOffset && !this.ignored) {
      this.anomaly('reassembly.capture_loss', frame);
      this.gapOnly(this.finOffset - this.offset);
    }
    this.checkFin();
  }

  /** End of the stream's life (FIN/RST of the flow, idle, eviction, end of input): deliver every piece, holes as gaps. */
  flush(frame: number): void {
    if (this.finished) return;
    this.reportSkipped();
    if (this.segs.length > 0 && !this.ignored) this.anomaly('reassembly.hole_at_end', frame);
    while (this.segs.length > 0 && !this.ignored) this.skipHole(undefined, frame);
    this.release();
    if (this.finOffset > this.offset && !this.ignored) this.gapOnly(this.finOffset - this.offset);
    this.checkFin();
  }

  /**
   * The consumer needs none of the bytes before stream offset `end` (a body it only counts): they are counted as
   * they come and handed on as a number, `skipped`, with the next chunk, which comes when the bytes reach `end`,
   * or earlier when a gap, the FIN or the end of the flow comes first. Within the stream depth only.
   */
  skipUntil(end: number): void {
    if (this.ignored || this.finished) return;
    const until = Math.min(end, this.host.limits.streamDepthBytes);
    if (until > this.offset && until > this.skipEnd) this.skipEnd = until;
  }

  /** Stop buffering and delivering this direction; later bytes are only counted. */
  ignore(): void {
    if (this.ignored) return;
    this.ignored = true;
    this.skipEnd = 0;
    this.skipped = 0;
    for (const p of this.segs) this.host.counters.bytesSkipped += p.end - p.off;
    this.release();
  }

  /** The flow is over: drop buffers and take no more segments. */
  close(): void {
    this.finished = true;
    this.skipEnd = 0;
    this.skipped = 0;
    this.release();
  }

  // --- internals ---

  /** Data that starts at or before the next expected byte. Buffered pieces it overlaps win (first data wins). */
  private inOrder(payload: Uint8Array, startAbs: number, frame: number, ts: number): void {
    const endAbs = startAbs + payload.length;
    if (this.segs.length === 0) {
      const skip = this.offset - startAbs;
      this.emit(skip === 0 ? payload : payload.subarray(skip), 0, frame, ts);
    } else {
      if (this.overlapsDiffer(payload, startAbs)) this.conflict(frame);
      while (!this.ignored && !this.finished) {
        const first = this.segs.length > 0 ? this.segs[0] : undefined;
        if (first !== undefined && first.off <= this.offset) {
          this.shiftPiece();
          if (first.end > this.offset) this.emit(first.data.subarray(this.offset - first.off), 0, first.frame, first.ts);
          continue;
        }
        if (endAbs > this.offset) {
          const stop = first !== undefined && first.off < endAbs ? first.off : endAbs;
          this.emit(payload.subarray(this.offset - startAbs, stop - startAbs), 0, frame, ts);
          continue;
        }
        break;
      }
    }
    // ignore() from inside a callback, or stream depth: the rest of this segment is only counted.
    if (this.ignored && endAbs > this.offset) this.skipTo(this.offset, endAbs);
  }

  /** Copy the parts of an early segment that are not buffered yet; compare the parts that are. */
  private outOfOrder(payload: Uint8Array, startAbs: number, len: number, frame: number, ts: number): void {
    const endAbs = startAbs + len;
    const segs = this.segs;
    let pos = startAbs;
    let i = 0;
    let differs = false;
    let dup = 0;
    while (pos < endAbs) {
      while (i < segs.length && segs[i].end <= pos) i++;
      const s = i < segs.length ? segs[i] : undefined;
      if (s === undefined || s.off >= endAbs) {
        this.insertPiece(i, payload, startAbs, pos, endAbs, frame, ts);
        break;
      }
      if (s.off > pos) {
        this.insertPiece(i, payload, startAbs, pos, s.off, frame, ts);
        i++;
        pos = s.off;
        continue;
      }
      const oEnd = Math.min(endAbs, s.end);
      if (!differs && !sameBytes(payload, pos - startAbs, s.data, pos - s.off, oEnd - pos)) differs = true;
      dup += oEnd - pos;
      pos = oEnd;
      i++;
    }
    if (dup > 0) this.host.counters.bytesRetransmitted += dup;
    if (differs) this.conflict(frame);
  }

  private insertPiece(
    i: number, payload: Uint8Array, startAbs: number, from: number, to: number, frame: number, ts: number,
  ): void {
    // The copy is the one allocation of the reassembler; only early data pays it.
    const data = Uint8Array.prototype.slice.call(payload, from - startAbs, to - startAbs); // a copy, even of a Buffer
    this.segs.splice(i, 0, { off: from, end: to, data, frame, ts });
    this.account(to - from);
  }

  private enforceCaps(frame: number): void {
    const lim = this.host.limits;
    const mem = this.host.memory;
    while (this.segs.length > 0 && !this.ignored) {
      let reason: string;
      if (this.buffered > lim.maxOutOfOrderBytesPerDir) reason = 'reassembly.ooo_cap_hit';
      else if (this.segs.length > lim.maxSegmentsAboveHole) reason = 'reassembly.hole_skipped';
      else if (mem.used > lim.maxOutOfOrderBytesTotal) reason = 'reassembly.memcap_hit';
      else break;
      this.skipHole(reason, frame);
    }
  }

  /** Give up on the hole before the first piece: deliver it with `gapBefore`, then whatever is contiguous. */
  private skipHole(reason: string | undefined, frame: number): void {
    const first = this.segs[0];
    if (reason !== undefined) this.anomaly(reason, frame);
    this.shiftPiece();
    if (first.off > this.offset) {
      this.emit(first.data, first.off - this.offset, first.frame, first.ts);
    } else if (first.end > this.offset) {
      this.emit(first.data.subarray(this.offset - first.off), 0, first.frame, first.ts);
    }
    this.drain();
  }

  /** Deliver buffered pieces that have become contiguous. */
  private drain(): void {
    while (this.segs.length > 0 && !this.ignored && this.segs[0].off <= this.offset) {
      const p = this.segs[0];
      this.shiftPiece();
      if (p.end > this.offset) this.emit(p.data.subarray(this.offset - p.off), 0, p.frame, p.ts);
    }
  }

  /** Hand bytes on (or count them, past the depth). Position is advanced before the callback, so it may re-enter. */
  private emit(data: Uint8Array, gap: number, frame: number, ts: number): void {
    const c = this.host.counters;
    if (gap > 0) {
      // A hole inside the skipped bytes: the consumer learns of the bytes before it first, as if they had come.
      if (this.skipEnd > 0) this.reportSkipped();
      c.gaps++;
      c.gapBytes += gap;
    } else if (this.skipEnd > 0 && this.offset + data.length < this.skipEnd) {
      this.countSkipped(data.length, frame, ts);
      return;
    }
    let start = this.offset + gap;
    let len = data.length;
    this.offset = start + len;
    this.nextSeq = seqAdd(this.nextSeq, gap + len);
    if (this.ignored) {
      c.bytesSkipped += len;
      return;
    }
    let skipped = 0;
    if (this.skipEnd > 0) {
      // The skip ends in these bytes (no gap here): its count goes out with the rest of them.
      const inSkip = this.skipEnd - start;
      skipped = this.skipped + inSkip;
      this.skipEnd = 0;
      this.skipped = 0;
      c.bytesDelivered += inSkip;
      if (inSkip > 0) {
        data = data.subarray(inSkip);
        start += inSkip;
        len -= inSkip;
      }
    }
    const depth = this.host.limits.streamDepthBytes;
    if (start + len > depth) {
      const keep = Math.max(0, depth - start);
      c.bytesSkipped += len - keep;
      if (!this.depthReached) {
        this.depthReached = true;
        this.anomaly('stream.depth_reached', frame);
      }
      this.ignore();
      if (keep > 0 || skipped > 0) {
        c.bytesDelivered += keep;
        this.host.deliver(this, data.subarray(0, keep), start, gap, frame, ts, skipped);
      }
      return;
    }
    c.bytesDelivered += len;
    this.host.deliver(this, data, start, gap, frame, ts, skipped);
  }

  /** The next `len` in-order bytes fall before `skipEnd`: count them (as delivered) instead of handing them on. */
  private countSkipped(len: number, frame: number, ts: number): void {
    this.offset += len;
    this.nextSeq = seqAdd(this.nextSeq, len);
    this.skipped += len;
    this.skipFrame = frame;
    this.skipTs = ts;
    this.host.counters.bytesDelivered += len;
  }

  /**
   * Skipped bytes not handed on yet (a hole, the FIN or the end of the flow came before `skipEnd`): report them
   * now, and end the skip. A skip the consumer asks for in this call is dropped too: it cannot know of the hole.
   */
  private reportSkipped(): void {
    const n = this.skipped;
    this.skipEnd = 0;
    this.skipped = 0;
    if (n === 0) return;
    this.host.deliver(this, EMPTY, this.offset, 0, this.skipFrame, this.skipTs, n);
    this.skipEnd = 0;
  }

  /** Ignored direction: advance over [from, to) and only count it. */
  private skipTo(from: number, to: number): void {
    this.host.counters.bytesSkipped += to - from;
    this.nextSeq = seqAdd(this.nextSeq, to - this.offset);
    this.offset = to;
  }

  /** A hole that runs up to the FIN with no data after it: count it and move on. */
  private gapOnly(n: number): void {
    this.reportSkipped();
    this.host.counters.gaps++;
    this.host.counters.gapBytes += n;
    this.offset += n;
    this.nextSeq = seqAdd(this.nextSeq, n);
  }

  private checkFin(): void {
    if (this.finished || this.finOffset < 0) return;
    if (this.ignored || (this.offset >= this.finOffset && this.segs.length === 0)) {
      if (this.ignored && this.finOffset > this.offset) this.skipTo(this.offset, this.finOffset);
      this.reportSkipped();
      this.finished = true;
      this.release();
      this.host.finished(this);
    }
  }

  private overlapsDiffer(payload: Uint8Array, startAbs: number): boolean {
    const endAbs = startAbs + payload.length;
    for (const s of this.segs) {
      if (s.off >= endAbs) break;
      const from = Math.max(s.off, startAbs, this.offset);
      const to = Math.min(s.end, endAbs);
      if (from < to && !sameBytes(payload, from - startAbs, s.data, from - s.off, to - from)) return true;
    }
    return false;
  }

  private conflict(frame: number): void {
    this.host.counters.overlapConflicts++;
    this.anomaly('reassembly.overlap_conflict', frame);
  }

  private shiftPiece(): void {
    const p = this.segs.shift()!;
    this.account(-(p.end - p.off));
  }

  private account(n: number): void {
    this.buffered += n;
    const mem = this.host.memory;
    mem.used += n;
    if (mem.used > mem.peak) mem.peak = mem.used;
  }

  private release(): void {
    if (this.buffered !== 0) this.account(-this.buffered);
    this.segs.length = 0;
  }

  private anomaly(name: string, frame: number): void {
    this.host.anomalies.add(name, () => this.host.where(this, frame));
  }
}

function sameBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}
