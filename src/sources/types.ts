// What capture readers hand to the decoder.

/**
 * One captured frame. The object and its `data` view are reused: valid only during the
 * callback that receives it. Copy anything that must outlive it. `data` is a plain Uint8Array, never a Node
 * Buffer, so `.slice()` copies (Buffer#slice is a view, which would pin the whole read buffer).
 */
export interface RawFrame {
  /** 1-based frame number, counted across the whole file (as Wireshark numbers frames). */
  index: number;
  /** Capture time, seconds since the Unix epoch (float; microsecond precision is kept). */
  ts: number;
  /** LINKTYPE_* value of the interface the frame came from. */
  linkType: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
  capLen: number;
  origLen: number;
  data: Uint8Array;
  /**
   * Optional, for the decoder: `data`'s bytes in place, as bytes[offset, offset + capLen). File readers set these and
   * build `data` only when something asks for it, which spares one view object per frame. Same lifetime as `data`.
   */
  readonly bytes?: Uint8Array;
  readonly offset?: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** A capture being read: push-based, so frames are delivered synchronously per read chunk. */
export interface CaptureSource {
  readonly format: CaptureFormat;
  /** Name shown in evidence and anomalies (the path, or `-` for stdin). */
  readonly name: string;
  /**
   * Deliver every frame in order; resolves at end of input. Malformed input is counted, never thrown. `pace` is
   * asked after each read chunk: a promise it returns (the output's reader is behind) is awaited before reading on.
   */
  run(onFrame: (frame: RawFrame) => void, pace?: Pace): Promise<CaptureStats>;
}

/** Backpressure from the end of the pipeline: a promise while the consumer is behind, else undefined. */
export type Pace = () => Promise<void> | undefined;

export interface CaptureStats {
  frames: number;
  /** Bytes of capture file read (after gzip decoding). */
  bytes: number;
}
