// The flow table: packets in, per-flow events out (flow start, in-order TCP chunks, UDP datagrams, ends).
//
// Lookup is a numeric symmetric hash of the 5-tuple bytes into a Map<number, FlowState | FlowState[]>, then a byte
// comparison that also gives the direction: no string and no object per packet. Flows sit on an intrusive LRU list
// ordered by last packet (capture time), so idle expiry looks only at the head and eviction takes the head.
// Flows that ended by FIN/RST linger on a second list (to absorb trailing ACKs and retransmissions) and are
// evicted before any open flow.
import type { Limits } from '../config/limits.js';
import type { Anomalies, Location } from '../core/anomalies.js';
import { formatIp } from '../decode/net/address.js';
import { L4, TcpFlag, type DecodedPacket } from '../decode/packet.js';
import { FlowKey, KeyMatch, flowHash, serverSideByPorts } from './flow-key.js';
import {
  TcpStream,
  newReassemblyCounters,
  type ReassemblyCounters,
  type ReassemblyHost,
  type ReassemblyMemory,
} from './tcp/reassembler.js';
import type { Dir, FlowEndReason, FlowEvents, FlowRef, StreamChunk } from './types.js';

/** The table's counters; the byte, gap and overlap counts are the reassembler's (ReassemblyCounters). */
export interface FlowStats extends ReassemblyCounters {
  /** Packets given to `packet()`. */
  packets: number;
  /** Packets that were not TCP/UDP over IP (ARP, ICMP, ...). */
  packetsIgnored: number;
  /** IP fragments without a transport header (non-first fragments). */
  fragmentsIgnored: number;
  flowsCreated: number;
  tcpFlows: number;
  udpFlows: number;
  /** Flows in the table now (open, or ended and lingering), and the most at once. */
  flowsInTable: number;
  flowsPeak: number;
  /** How flows ended. */
  closedByFin: number;
  closedByRst: number;
  idleExpired: number;
  evicted: number;
  endedAtEof: number;
  /** Directions that a consumer asked to ignore. */
  directionsIgnored: number;
  datagrams: number;
  /** Out-of-order bytes buffered now, and the most at once. */
  oooBytesBuffered: number;
  oooBytesPeak: number;
}

const SYN_ACK_RST = TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST;

/** An intrusive doubly linked list of flows, least recently seen first. */
class LruList {
  head: FlowState | null = null;
  tail: FlowState | null = null;

  append(st: FlowState): void {
    st.prev = this.tail;
    st.next = null;
    if (this.tail !== null) this.tail.next = st;
    else this.head = st;
    this.tail = st;
  }

  unlink(st: FlowState): void {
    if (st.prev !== null) st.prev.next = st.next;
    else if (this.head === st) this.head = st.next;
    if (st.next !== null) st.next.prev = st.prev;
    else if (this.tail === st) this.tail = st.prev;
    st.prev = null;
    st.next = null;
  }

  /** Move to the most-recent end. */
  touch(st: FlowState): void {
    if (this.tail === st) return;
    this.unlink(st);
    this.append(st);
  }
}

class FlowState {
  /** LRU neighbours (head = least recently seen). */
  prev: FlowState | null = null;
  next: FlowState | null = null;
  /** Both directions ended (FIN/RST) and onFlowEnd was sent; kept a while to absorb trailing ACKs. */
  closed = false;
  c2sEnded = false;
  s2cEnded = false;
  /** UDP: a direction the consumer ignored, and bytes delivered per direction (for stream depth). */
  c2sIgnored = false;
  s2cIgnored = false;
  c2sBytes = 0;
  s2cBytes = 0;
  /**
   * Time of the last packet. Declared with a number (not as a constructor parameter, which emits a field that starts
   * undefined): V8 then keeps it as a double field, and the store once per packet allocates nothing.
   */
  lastTs = 0;
  readonly c2s: TcpStream<FlowState> | null;
  readonly s2c: TcpStream<FlowState> | null;

  constructor(
    readonly ref: FlowRef,
    readonly key: FlowKey,
    host: ReassemblyHost<FlowState> | null,
    lastTs: number,
  ) {
    this.lastTs = lastTs;
    this.c2s = host ? new TcpStream(host, this) : null;
    this.s2c = host ? new TcpStream(host, this) : null;
  }
}

export class FlowTable implements ReassemblyHost<FlowState> {
  readonly memory: ReassemblyMemory = { used: 0, peak: 0 };
  readonly counters: ReassemblyCounters = newReassemblyCounters();

  private readonly buckets = new Map<number, FlowState | FlowState[]>();
  /** Every flow in the table by id; Map order is insertion order, which is id order. */
  private readonly byId = new Map<number, FlowState>();
  private readonly open = new LruList();
  private readonly closed = new LruList();
  private nextId = 1;
  /** Capture clock: the latest packet time seen (never goes back, so the LRU stays ordered by time). */
  private clock = Number.NEGATIVE_INFINITY;
  private lastFrame = 0;
  /** Direction of the last `find()` hit. */
  private lastMatch: KeyMatch = KeyMatch.None;
  /** One chunk object, refilled for every onChunk call. */
  private readonly chunk: StreamChunk;
  private readonly s = {
    packets: 0, packetsIgnored: 0, fragmentsIgnored: 0, flowsCreated: 0, tcpFlows: 0, udpFlows: 0, flowsPeak: 0,
    closedByFin: 0, closedByRst: 0, idleExpired: 0, evicted: 0, endedAtEof: 0, directionsIgnored: 0, datagrams: 0,
  };

  constructor(
    private readonly events: FlowEvents,
    readonly anomalies: Anomalies,
    readonly limits: Limits,
    private readonly file: string,
  ) {
    this.chunk = { flow: null as unknown as FlowRef, dir: 'c2s', offset: 0, data: new Uint8Array(0), gapBefore: 0, skipped: 0, frame: 0, ts: 0 };
  }

  /**
   * One decoded packet. Not TCP/UDP, no IP, or a fragment without transport header: counted and ignored.
   * Events are called synchronously; the StreamChunk object and every `data` view are valid only during the call.
   */
  packet(pkt: DecodedPacket): void {
    this.s.packets++;
    this.lastFrame = pkt.frame;
    if (pkt.ts > this.clock) this.clock = pkt.ts;
    this.expireIdle();

    const l4 = pkt.l4;
    if (l4 !== L4.Tcp && l4 !== L4.Udp) {
      if (pkt.fragment) this.s.fragmentsIgnored++;
      else this.s.packetsIgnored++;
      return;
    }
    if (pkt.ipVersion === 0 || pkt.src.length === 0 || pkt.src.length !== pkt.dst.length) {
      this.s.packetsIgnored++;
      return;
    }
    const tcp = l4 === L4.Tcp;
    const flags = tcp ? pkt.tcpFlags : 0;
    const hash = flowHash(pkt);
    let st = this.find(pkt, hash);
    if (st !== null) {
      if (this.clock - st.lastTs > this.limits.flowIdleSeconds) {
        this.expire(st);
        st = null;
      } else if (st.closed) {
        if (tcp && (flags & SYN_ACK_RST) === TcpFlag.SYN) {
          // A new connection reusing the ports of one that ended.
          this.drop(st);
          st = null;
        } else {
          this.touch(st);
          if (pkt.payloadLength > 0) {
            this.counters.bytesSkipped += pkt.payloadLength;
            this.anomalies.add('flow.data_after_close', () => this.whereFlow(st!, pkt.frame));
          }
          return;
        }
      } else if (tcp && (flags & SYN_ACK_RST) === TcpFlag.SYN && this.isNewConnection(st, pkt)) {
        // A SYN with another ISN on an open flow: the old connection ended unseen and the ports were reused.
        this.anomalies.add('flow.port_reused', () => this.whereFlow(st!, pkt.frame));
        this.endFlow(st, 'rst', pkt.frame);
        this.drop(st);
        st = null;
      } else {
        this.touch(st);
      }
    }
    if (st === null) st = this.create(pkt, hash, flags);
    const dir: Dir = this.lastMatch === KeyMatch.Forward ? 'c2s' : 's2c';
    if (tcp) this.tcpSegment(st, dir, pkt, flags);
    else this.udpDatagram(st, dir, pkt);
  }

  /** Stop buffering and delivering one direction of a flow; its bytes are only counted from now on. */
  ignore(flow: FlowRef, dir: Dir): void {
    const st = this.byId.get(flow.id);
    if (st === undefined || st.ref !== flow || st.closed) return;
    if (st.c2s !== null) {
      const stream = dir === 'c2s' ? st.c2s : st.s2c!;
      if (stream.ignored) return;
      stream.ignore();
    } else {
      if (dir === 'c2s' ? st.c2sIgnored : st.s2cIgnored) return;
      if (dir === 'c2s') st.c2sIgnored = true;
      else st.s2cIgnored = true;
    }
    this.s.directionsIgnored++;
  }

  /**
   * The consumer needs no bytes of this TCP direction before stream offset `end`: count them, and tell it how many
   * with the next chunk (StreamChunk.skipped) instead of handing them on packet by packet.
   */
  skip(flow: FlowRef, dir: Dir, end: number): void {
    const st = this.byId.get(flow.id);
    if (st === undefined || st.ref !== flow || st.closed || st.c2s === null) return;
    (dir === 'c2s' ? st.c2s : st.s2c!).skipUntil(end);
  }

  /** End of input: deliver what is buffered (holes as gaps), then end every open flow with 'eof', in id order. */
  flushAll(): void {
    const all = [...this.byId.values()];
    for (const st of all) {
      if (!st.closed) {
        this.s.endedAtEof++;
        this.endFlow(st, 'eof', this.lastFrame);
      }
      this.drop(st);
    }
  }

  get stats(): FlowStats {
    const c = this.counters;
    return {
      ...this.s,
      flowsInTable: this.byId.size,
      bytesDelivered: c.bytesDelivered,
      bytesSkipped: c.bytesSkipped,
      bytesRetransmitted: c.bytesRetransmitted,
      gaps: c.gaps,
      gapBytes: c.gapBytes,
      overlapConflicts: c.overlapConflicts,
      oooBytesBuffered: this.memory.used,
      oooBytesPeak: this.memory.peak,
    };
  }

  // --- ReassemblyHost ---

  deliver(
    stream: TcpStream<FlowState>, data: Uint8Array, offset: number, gapBefore: number, frame: number, ts: number, skipped: number,
  ): void {
    const c = this.chunk;
    c.flow = stream.owner.ref;
    c.dir = stream === stream.owner.c2s ? 'c2s' : 's2c';
    c.offset = offset;
    c.data = data;
    c.gapBefore = gapBefore;
    c.skipped = skipped;
    c.frame = frame;
    c.ts = ts;
    this.events.onChunk(c);
  }

  finished(stream: TcpStream<FlowState>): void {
    const st = stream.owner;
    if (st.closed) return;
    const dir: Dir = stream === st.c2s ? 'c2s' : 's2c';
    if (dir === 'c2s') st.c2sEnded = true;
    else st.s2cEnded = true;
    this.events.onStreamEnd?.(st.ref, dir, 'fin');
    if (st.c2sEnded && st.s2cEnded) this.closeFlow(st, 'fin');
  }

  where(stream: TcpStream<FlowState>, frame: number): Location {
    return this.whereFlow(stream.owner, frame);
  }

  // --- internals ---

  private whereFlow(st: FlowState, frame: number): Location {
    const r = st.ref;
    return { file: this.file, frame, flow: `#${r.id} ${r.proto} ${r.client.ip}:${r.client.port} > ${r.server.ip}:${r.server.port}` };
  }

  private find(pkt: DecodedPacket, hash: number): FlowState | null {
    const e = this.buckets.get(hash);
    if (e === undefined) return null;
    if (e instanceof FlowState) {
      const m = e.key.match(pkt);
      if (m === KeyMatch.None) return null;
      this.lastMatch = m;
      return e;
    }
    for (let i = 0; i < e.length; i++) {
      const m = e[i].key.match(pkt);
      if (m !== KeyMatch.None) {
        this.lastMatch = m;
        return e[i];
      }
    }
    return null;
  }

  /** A pure SYN whose direction already carried another connection (another ISN, or data before any SYN). */
  private isNewConnection(st: FlowState, pkt: DecodedPacket): boolean {
    const stream = this.lastMatch === KeyMatch.Forward ? st.c2s! : st.s2c!;
    return stream.started && !(stream.hasIsn && stream.isn === pkt.seq);
  }

  private create(pkt: DecodedPacket, hash: number, flags: number): FlowState {
    while (this.byId.size >= this.limits.maxFlows && this.byId.size > 0) this.evictOldest();
    const tcp = pkt.l4 === L4.Tcp;
    let srcIsClient: boolean;
    let rolesBy: FlowRef['rolesBy'];
    if (tcp && flags & TcpFlag.SYN) {
      srcIsClient = (flags & TcpFlag.ACK) === 0; // SYN alone: the opener; SYN+ACK: the answer from the server
      rolesBy = 'handshake';
    } else {
      srcIsClient = serverSideByPorts(pkt.srcPort, pkt.dstPort) === 'dst';
      rolesBy = 'heuristic';
    }
    const key = FlowKey.fromPacket(pkt, hash, srcIsClient);
    const ref: FlowRef = {
      id: this.nextId++,
      proto: tcp ? 'tcp' : 'udp',
      client: { ip: formatIp(key.aAddr), port: key.aPort },
      server: { ip: formatIp(key.bAddr), port: key.bPort },
      vlan: key.vlan.slice(),
      rolesBy,
      firstFrame: pkt.frame,
      firstTs: pkt.ts,
    };
    const st = new FlowState(ref, key, tcp ? this : null, this.clock);
    const e = this.buckets.get(hash);
    if (e === undefined) this.buckets.set(hash, st);
    else if (e instanceof FlowState) this.buckets.set(hash, [e, st]);
    else e.push(st);
    this.byId.set(ref.id, st);
    this.open.append(st);
    this.s.flowsCreated++;
    if (tcp) this.s.tcpFlows++;
    else this.s.udpFlows++;
    if (this.byId.size > this.s.flowsPeak) this.s.flowsPeak = this.byId.size;
    this.lastMatch = srcIsClient ? KeyMatch.Forward : KeyMatch.Reverse;
    this.events.onFlowStart?.(ref);
    return st;
  }

  private tcpSegment(st: FlowState, dir: Dir, pkt: DecodedPacket, flags: number): void {
    if (flags & TcpFlag.RST) {
      this.endFlow(st, 'rst', pkt.frame);
      return;
    }
    const stream = dir === 'c2s' ? st.c2s! : st.s2c!;
    stream.segment(pkt, flags);
    if (flags & TcpFlag.ACK && !st.closed) (dir === 'c2s' ? st.s2c! : st.c2s!).peerAck(pkt.ack, pkt.frame);
  }

  private udpDatagram(st: FlowState, dir: Dir, pkt: DecodedPacket): void {
    const len = pkt.payloadLength;
    const c2s = dir === 'c2s';
    if (c2s ? st.c2sIgnored : st.s2cIgnored) {
      this.counters.bytesSkipped += len;
      return;
    }
    if (pkt.fragment) {
      // First fragment of a datagram that is not reassembled: half a message would only mislead a parser.
      this.counters.bytesSkipped += len;
      this.anomalies.add('flow.udp_fragment_skipped', () => this.whereFlow(st, pkt.frame));
      return;
    }
    const sent = c2s ? st.c2sBytes : st.s2cBytes;
    if (sent + len > this.limits.streamDepthBytes) {
      this.counters.bytesSkipped += len;
      this.anomalies.add('stream.depth_reached', () => this.whereFlow(st, pkt.frame));
      if (c2s) st.c2sIgnored = true;
      else st.s2cIgnored = true;
      return;
    }
    if (c2s) st.c2sBytes = sent + len;
    else st.s2cBytes = sent + len;
    this.s.datagrams++;
    this.counters.bytesDelivered += len;
    this.events.onDatagram(st.ref, dir, pkt.payload, pkt.frame, pkt.ts);
  }

  /**
   * End an open flow for `reason` (rst, idle, evicted, eof): deliver what is buffered, holes as gaps (which may
   * reach a FIN and end a direction with 'fin'), end the directions still open, then the flow.
   */
  private endFlow(st: FlowState, reason: FlowEndReason, frame: number): void {
    if (st.closed) return;
    if (st.c2s !== null && st.s2c !== null) {
      st.c2s.flush(frame);
      if (!st.closed) st.s2c.flush(frame);
      if (st.closed) return;
      if (!st.c2sEnded) {
        st.c2sEnded = true;
        this.events.onStreamEnd?.(st.ref, 'c2s', reason);
      }
      if (!st.s2cEnded) {
        st.s2cEnded = true;
        this.events.onStreamEnd?.(st.ref, 's2c', reason);
      }
    }
    this.closeFlow(st, reason);
  }

  private closeFlow(st: FlowState, reason: FlowEndReason): void {
    this.open.unlink(st);
    st.closed = true;
    this.closed.append(st);
    st.c2s?.close();
    st.s2c?.close();
    if (reason === 'fin') this.s.closedByFin++;
    else if (reason === 'rst') this.s.closedByRst++;
    this.events.onFlowEnd?.(st.ref, reason);
  }

  private expireIdle(): void {
    const idle = this.limits.flowIdleSeconds;
    const open = this.open;
    const closed = this.closed;
    while (open.head !== null && this.clock - open.head.lastTs > idle) this.expire(open.head);
    while (closed.head !== null && this.clock - closed.head.lastTs > idle) this.expire(closed.head);
  }

  private expire(st: FlowState): void {
    if (!st.closed) {
      this.s.idleExpired++;
      this.endFlow(st, 'idle', this.lastFrame);
    }
    this.drop(st);
  }

  private evictOldest(): void {
    const st = (this.closed.head ?? this.open.head)!;
    if (!st.closed) {
      this.s.evicted++;
      this.anomalies.add('flow.evicted', () => this.whereFlow(st, this.lastFrame));
      this.endFlow(st, 'evicted', this.lastFrame);
    }
    this.drop(st);
  }

  /** Remove a flow from every index (its events are already sent). */
  private drop(st: FlowState): void {
    st.c2s?.close();
    st.s2c?.close();
    const hash = st.key.hash;
    const e = this.buckets.get(hash);
    if (e === st) {
      this.buckets.delete(hash);
    } else if (Array.isArray(e)) {
      const i = e.indexOf(st);
      if (i >= 0) e.splice(i, 1);
      if (e.length === 1) this.buckets.set(hash, e[0]);
    }
    this.byId.delete(st.ref.id);
    (st.closed ? this.closed : this.open).unlink(st);
  }

  private touch(st: FlowState): void {
    st.lastTs = this.clock;
    (st.closed ? this.closed : this.open).touch(st);
  }
}
