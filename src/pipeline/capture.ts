// A capture file, end to end up to messages: sources → decode → flows → protocols.
import { Anomalies } from '../core/anomalies.js';
import { limits as makeLimits, type Limits } from '../config/limits.js';
import { openCapture } from '../sources/capture-file.js';
import type { CaptureFormat, CaptureSource, Pace, RawFrame } from '../sources/types.js';
import { decodeFrame } from '../decode/decode-frame.js';
import { newDecodedPacket } from '../decode/packet.js';
import { FlowTable } from '../flows/flow-table.js';
import type { Dir, FlowRef } from '../flows/types.js';
import { Dispatcher } from '../protocols/dispatcher.js';
import type { Message } from '../protocols/messages.js';

export interface CaptureRunOptions {
  onMessage(msg: Message): void;
  /** Every raw frame, before it is decoded (live capture writes them to a file). */
  onFrame?(frame: RawFrame): void;
  /** A new TCP or UDP flow. */
  onFlowStart?(flow: FlowRef): void;
  /** Called every few thousand frames with the bytes read so far. */
  onProgress?(p: { file: string; bytes: number; frames: number }): void;
  anomalies?: Anomalies;
  limits?: Partial<Limits>;
  /** Rethrow parser exceptions instead of counting them (tests). */
  strict?: boolean;
  /** Backpressure: awaited between read chunks while it returns a promise (decode's stdout reader is behind). */
  pace?: Pace;
}

export interface CaptureRunStats {
  file: string;
  format: CaptureFormat;
  frames: number;
  bytes: number;
  /** Frames that carried an IP packet. */
  ipFrames: number;
  messages: number;
  flows: Record<string, number>;
  protocols: Record<string, number>;
}

const PROGRESS_EVERY = 1 << 14;

/** Open a capture by path (`-` for stdin) and run it through the pipeline. */
export async function runCapture(path: string, options: CaptureRunOptions): Promise<CaptureRunStats> {
  const anomalies = options.anomalies ?? new Anomalies();
  const source = await openCapture(path, anomalies);
  return runCaptureSource(source, anomalies, options);
}

export async function runCaptureSource(
  source: CaptureSource,
  anomalies: Anomalies,
  options: CaptureRunOptions,
): Promise<CaptureRunStats> {
  const limits = makeLimits(options.limits);
  let messages = 0;
  const { table, dispatcher } = packetPipeline(anomalies, limits, source.name, {
    ...options,
    onMessage: (msg) => {
      messages++;
      options.onMessage(msg);
    },
  });
  const pkt = newDecodedPacket();
  let ipFrames = 0;
  let bytesSeen = 0;
  const onFrame = (frame: RawFrame): void => {
    options.onFrame?.(frame);
    bytesSeen += frame.capLen + 16;
    if (decodeFrame(frame, pkt, anomalies, source.name)) {
      ipFrames++;
      table.packet(pkt);
    }
    if (options.onProgress && (frame.index & (PROGRESS_EVERY - 1)) === 0) {
      options.onProgress({ file: source.name, bytes: bytesSeen, frames: frame.index });
    }
  };
  const stats = await source.run(onFrame, options.pace);
  table.flushAll();
  const flowStats = table.stats as unknown as Record<string, number>;
  return {
    file: source.name,
    format: source.format,
    frames: stats.frames,
    bytes: stats.bytes,
    ipFrames,
    messages,
    flows: { ...flowStats },
    protocols: dispatcher.protocolCounts(),
  };
}

/**
 * Decoded packets in, messages out: the flow table and the dispatcher wired together (the parsers' ignore and skip
 * requests go back to the table). Feed `table.packet()`, end with `table.flushAll()`.
 */
export function packetPipeline(
  anomalies: Anomalies,
  limits: Limits,
  file: string,
  options: Pick<CaptureRunOptions, 'onMessage' | 'onFlowStart' | 'strict'>,
): { table: FlowTable; dispatcher: Dispatcher } {
  const ctx = { anomalies, limits, file, strict: options.strict };
  let flows: FlowTable | undefined;
  const control = { ignore: (flow: FlowRef, dir: Dir) => flows!.ignore(flow, dir), skip: (flow: FlowRef, dir: Dir, end: number) => flows!.skip(flow, dir, end) };
  const dispatcher = new Dispatcher(options.onMessage, ctx, control, { strict: options.strict });
  flows = new FlowTable(
    {
      onFlowStart: (flow) => options.onFlowStart?.(flow),
      onChunk: (chunk) => dispatcher.onChunk(chunk),
      onStreamEnd: (flow, dir, reason) => dispatcher.onStreamEnd?.(flow, dir, reason),
      onDatagram: (flow, dir, data, frame, ts) => dispatcher.onDatagram(flow, dir, data, frame, ts),
      onFlowEnd: (flow, reason) => dispatcher.onFlowEnd?.(flow, reason),
    },
    anomalies,
    limits,
    file,
  );
  return { table: flows, dispatcher };
}

/** Every message of a capture, in pipeline order (tests and small files only: it keeps them all). */
export async function collectMessages(path: string, options: Partial<CaptureRunOptions> = {}): Promise<Message[]> {
  const out: Message[] = [];
  await runCapture(path, { ...options, onMessage: (m) => out.push(m) });
  return out;
}
