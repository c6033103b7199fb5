// Helpers for HTTP/SSE/WebSocket parser tests: a flow, feeding strategies, a frame-free projection of messages,
// and a WebSocket frame builder.
import { createDeflateRaw, deflateRawSync, constants as zlibConstants } from 'node:zlib';
import { Anomalies } from '../../src/core/anomalies.js';
import { limits as makeLimits, type Limits } from '../../src/config/limits.js';
import type { Dir, FlowRef } from '../../src/flows/types.js';
import type { Message } from '../../src/protocols/messages.js';
import { HttpSession } from '../../src/protocols/http1/session.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function testFlow(id = 1): FlowRef {
  return {
    id,
    proto: 'tcp',
    client: { ip: '10.0.0.1', port: 50000 },
    server: { ip: '10.0.0.2', port: 8080 },
    vlan: [],
    rolesBy: 'handshake',
    firstFrame: 1,
    firstTs: 0,
  };
}

/** One piece of a conversation: bytes sent in one direction (optionally after `gap` lost bytes). */
export interface Segment {
  dir: Dir;
  data: Uint8Array | string;
  gap?: number;
}

/** How to cut each segment into chunks: returns the cut points (strictly inside 0..len). */
export type Splitter = (len: number, segmentIndex: number) => number[];

export const whole: Splitter = () => [];
export const byteByByte: Splitter = (len) => Array.from({ length: Math.max(0, len - 1) }, (_, i) => i + 1);
/** Fixed cut points (used with fast-check generated offsets), taken modulo the length. */
export const cutsAt =
  (cuts: number[]): Splitter =>
  (len) =>
    [...new Set(cuts.map((c) => (len > 1 ? 1 + (c % (len - 1)) : 0)).filter((c) => c > 0 && c < len))].sort(
      (a, b) => a - b,
    );

export interface RunResult {
  messages: Message[];
  anomalies: Anomalies;
  statuses: string[];
}

/**
 * Feed a conversation into one HttpSession, cutting every segment with `split`. Each segment is carried
 * by frame number (its index + 1), so a message's frame is that of the segment holding its first byte.
 */
export function runHttp(
  segments: Segment[],
  split: Splitter = whole,
  overrides: Partial<Limits> = {},
  endDirs: Dir[] = ['c2s', 's2c'],
): RunResult {
  const messages: Message[] = [];
  const anomalies = new Anomalies();
  const session = new HttpSession((m) => messages.push(m), {
    anomalies,
    limits: makeLimits(overrides),
    file: 'test',
  });
  const flow = testFlow();
  const offsets: Record<Dir, number> = { c2s: 0, s2c: 0 };
  const statuses: string[] = [];
  segments.forEach((seg, si) => {
    const data = typeof seg.data === 'string' ? enc(seg.data) : seg.data;
    const cuts = [0, ...split(data.length, si), data.length];
    let gap = seg.gap ?? 0;
    offsets[seg.dir] += gap;
    for (let k = 0; k + 1 < cuts.length; k++) {
      // Copy each piece into a fresh buffer, then scribble over it after the call: parsers must not keep views.
      const piece = data.slice(cuts[k], cuts[k + 1]);
      if (piece.length === 0 && gap === 0) continue;
      statuses.push(
        session.feed({ flow, dir: seg.dir, offset: offsets[seg.dir], data: piece, gapBefore: gap, frame: si + 1, ts: si + 1 }),
      );
      piece.fill(0x5a);
      offsets[seg.dir] += piece.length;
      gap = 0;
    }
  });
  for (const d of endDirs) session.end(d);
  return { messages, anomalies, statuses };
}

/** A message without flow/frame/ts, bodies as text: what must not depend on how bytes were split. */
export function project(m: Message): Record<string, unknown> {
  const { flow: _f, frame: _fr, ts: _ts, ...rest } = m as Message & { flow: unknown };
  const out: Record<string, unknown> = { ...rest };
  if ('body' in m) out.body = Buffer.from(m.body).toString('latin1');
  return out;
}

export function projectAll(r: RunResult): unknown {
  return {
    messages: r.messages.map(project),
    anomalies: r.anomalies.summary().map((s) => [s.name, s.count]),
  };
}

export interface WsFrameSpec {
  fin?: boolean;
  rsv1?: boolean;
  opcode: number;
  payload: Uint8Array | string;
  /** Mask key (client frames); omitted for server frames. */
  mask?: [number, number, number, number];
  /** Force a length encoding: 7-bit, 16-bit or 64-bit. */
  lengthForm?: 7 | 16 | 64;
}

export function wsFrame(spec: WsFrameSpec): Uint8Array {
  const payload = typeof spec.payload === 'string' ? enc(spec.payload) : spec.payload;
  const len = payload.length;
  const form = spec.lengthForm ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | spec.opcode];
  const maskBit = spec.mask ? 0x80 : 0;
  if (form === 7) head.push(maskBit | len);
  else if (form === 16) head.push(maskBit | 126, (len >> 8) & 0xff, len & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  const body = new Uint8Array(len);
  if (spec.mask) {
    head.push(...spec.mask);
    for (let i = 0; i < len; i++) body[i] = payload[i]! ^ spec.mask[i & 3]!;
  } else body.set(payload);
  return concatBytes(new Uint8Array(head), body);
}

/** permessage-deflate payloads, each message compressed alone (no context takeover). */
export function deflateMessages(texts: string[]): Uint8Array[] {
  return texts.map((t) => {
    const full = deflateRawSync(enc(t), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    // Strip the trailing empty stored block 00 00 ff ff (RFC 7692 §7.2.1).
    return full.subarray(0, full.length - 4);
  });
}

/** permessage-deflate payloads compressed with one shared window (context takeover, as browsers and `ws` do). */
export async function deflateWithTakeover(texts: string[]): Promise<Uint8Array[]> {
  const stream = createDeflateRaw();
  const out: Uint8Array[] = [];
  let pending: Buffer[] = [];
  stream.on('data', (c: Buffer) => pending.push(c));
  for (const t of texts) {
    stream.write(enc(t));
    await new Promise<void>((resolve) => stream.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
    const all = Buffer.concat(pending);
    pending = [];
    out.push(new Uint8Array(all.subarray(0, all.length - 4)));
  }
  stream.close();
  return out;
}
