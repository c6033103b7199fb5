// The decoder's output: one reused object per run, views over the frame's bytes.

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
  /** Address bytes (4 or 16), views into the frame. */
  src: Uint8Array;
  dst: Uint8Array;
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
  /** Transport payload (TCP/UDP data), clamped to the IP length; view into the frame. */
  payload: Uint8Array;
  /** The frame was cut by snaplen (or a length field points past the bytes present). */
  truncated: boolean;
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

export function newDecodedPacket(): DecodedPacket {
  return {
    frame: 0, ts: 0, linkType: 0, vlan: [], ipVersion: 0, src: EMPTY, dst: EMPTY, ipProto: 0,
    fragment: false, l4: L4.None, srcPort: 0, dstPort: 0, seq: 0, ack: 0, tcpFlags: 0, window: 0,
    payload: EMPTY, truncated: false,
  };
}
