// The decoder's output: one reused object per run. Payload is a view over the frame's bytes; addresses are
// copied into storage the packet owns (a 4- or 16-byte copy is cheaper than a new view object per packet).

export const enum L4 {
  None = 0,
  Tcp = 6,
  Udp = 17,
  Other = 255,
}

export interface DecodedPacket {
  frame: number;
  ts: number;
  linkType: number;
  /** 802.1Q / QinQ VLAN ids, outermost first (length reset per frame). */
  vlan: number[];
  /** 0 when no IP header was decoded. */
  ipVersion: 0 | 4 | 6;
  /** Address bytes (4 or 16): views of `addrStore` after a decode (valid until the next frame). */
  src: Uint8Array;
  dst: Uint8Array;
  /** Where the decoder copies addresses to; owned by this packet, never by a frame. */
  readonly addrStore: AddressStore;
  /** IP protocol number of the transport header (after IPv6 extension headers). */
  ipProto: number;
  /** A non-first fragment or a first fragment with more to come (not reassembled). */
  fragment: boolean;
  l4: L4;
  srcPort: number;
  dstPort: number;
  /** TCP only. */
  seq: number;
  ack: number;
  tcpFlags: number;
  window: number;
  /**
   * Transport payload (TCP/UDP data), clamped to the IP length: a view into the frame, made when first read (most
   * packets of an ignored direction are only counted, and never need one). Assigning a view sets it directly.
   */
  payload: Uint8Array;
  /** payload.length, without making the view. */
  readonly payloadLength: number;
  /** Set the payload to bytes[start, end) without making a view yet (the decoder's way). */
  setPayload(bytes: Uint8Array, start: number, end: number): void;
  /** The frame was cut by snaplen (or a length field points past the bytes present). */
  truncated: boolean;
}

/** Fixed views over one 32-byte buffer: source in the first half, destination in the second. */
export interface AddressStore {
  readonly src4: Uint8Array;
  readonly dst4: Uint8Array;
  readonly src6: Uint8Array;
  readonly dst6: Uint8Array;
  /**
   * The same bytes as 32-bit words (host byte order): source words 0–3, destination 4–7; an IPv4 address is word 0
   * or 4 alone. The flow table hashes and compares these: one or four integers instead of a byte loop.
   */
  readonly words: Int32Array;
}

export function newAddressStore(): AddressStore {
  const b = new Uint8Array(32);
  return {
    src4: b.subarray(0, 4), dst4: b.subarray(16, 20), src6: b.subarray(0, 16), dst6: b.subarray(16, 32),
    words: new Int32Array(b.buffer, 0, 8),
  };
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
} as const;

const EMPTY = new Uint8Array(0);

/** The decoder's reused packet: plain fields, and the payload kept as a location until someone reads it. */
class Packet implements DecodedPacket {
  frame = 0;
  ts = 0;
  linkType = 0;
  vlan: number[] = [];
  ipVersion: 0 | 4 | 6 = 0;
  src: Uint8Array = EMPTY;
  dst: Uint8Array = EMPTY;
  readonly addrStore = newAddressStore();
  ipProto = 0;
  fragment = false;
  l4 = L4.None;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  tcpFlags = 0;
  window = 0;
  truncated = false;
  payloadLength = 0;
  #payloadBytes: Uint8Array = EMPTY;
  #payloadStart = 0;
  #payloadView: Uint8Array | null = EMPTY;

  get payload(): Uint8Array {
    if (this.#payloadView === null) {
      const start = this.#payloadStart;
      this.#payloadView = this.payloadLength === 0 ? EMPTY : this.#payloadBytes.subarray(start, start + this.payloadLength);
    }
    return this.#payloadView;
  }

  set payload(view: Uint8Array) {
    this.#payloadBytes = view;
    this.#payloadStart = 0;
    this.payloadLength = view.length;
    this.#payloadView = view;
  }

  setPayload(bytes: Uint8Array, start: number, end: number): void {
    this.#payloadBytes = bytes;
    this.#payloadStart = start;
    this.payloadLength = end > start ? end - start : 0;
    this.#payloadView = null;
  }
}

export function newDecodedPacket(): DecodedPacket {
  return new Packet();
}
