// What the flow stage hands to application parsers.

export interface Endpoint {
  ip: string;
  port: number;
}

export type Dir = 'c2s' | 's2c';

/** Identity of a bidirectional flow. Created once per flow; strings are built here, not per packet. */
export interface FlowRef {
  /** 1-based, in order of first packet. */
  id: number;
  proto: 'tcp' | 'udp';
  client: Endpoint;
  server: Endpoint;
  vlan: number[];
  /** How client and server were told apart: the SYN handshake, or port/first-packet heuristics. */
  rolesBy: 'handshake' | 'heuristic';
  /** Frame number and time of the first packet. */
  firstFrame: number;
  firstTs: number;
}

/**
 * In-order bytes of one direction of a TCP flow. `data` is a view valid only during the call.
 * `gapBefore` > 0 means that many bytes were lost (capture loss, capped buffer) just before `data`;
 * `skipped` > 0, that many bytes the consumer asked to skip (FlowTable.skip) came before those.
 */
export interface StreamChunk {
  flow: FlowRef;
  dir: Dir;
  /** Stream offset of data[0] from the start of this direction (ISN + 1, or first byte seen). */
  offset: number;
  data: Uint8Array;
  gapBefore: number;
  /** Absent: 0. */
  skipped?: number;
  /** Frame that carried the first byte of `data`, and its time. */
  frame: number;
  ts: number;
}

export type FlowEndReason = 'fin' | 'rst' | 'idle' | 'evicted' | 'eof';

export interface FlowEvents {
  /** A new flow was seen (TCP or UDP). */
  onFlowStart?(flow: FlowRef): void;
  /** In-order TCP bytes of one direction. */
  onChunk(chunk: StreamChunk): void;
  /** One direction of a TCP flow ended (FIN or RST reached in sequence, or the flow is dropped). */
  onStreamEnd?(flow: FlowRef, dir: Dir, reason: FlowEndReason): void;
  /** One UDP datagram; `data` is a view valid only during the call. */
  onDatagram(flow: FlowRef, dir: Dir, data: Uint8Array, frame: number, ts: number): void;
  /** The flow is gone (both directions ended, idle, evicted, or end of input). */
  onFlowEnd?(flow: FlowRef, reason: FlowEndReason): void;
}
