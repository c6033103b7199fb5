// The string-built `decode` line must be byte-identical to JSON.stringify of messageToJson's object, on every
// message of every fixture capture; the byte writer `decode` uses, to those lines; and isoTime's per-second cache
// must not change any timestamp.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { collectMessages } from '../pipeline/capture.js';
import type { Message } from '../protocols/messages.js';
import { isoTime, messageToJson, messageToJsonLine } from './messages.js';
import { MessageLineWriter } from './message-writer.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const captures = ['fixtures/pcap', 'fixtures/sample', 'fixtures/audit'].flatMap((dir) =>
  readdirSync(join(ROOT, dir)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(dir, f)),
);

function reference(file: string, msg: Message): string {
  return JSON.stringify({ file, ...messageToJson(msg) });
}

/** The timestamp format without the cache: one Date per call, from whole microseconds. */
function isoTimeUncached(ts: number): string {
  const us = Math.round(ts * 1e6);
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  return new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

const kindsSeen = new Set<string>();

/** What MessageLineWriter hands its sink for `msgs`, as one string; `size` small forces flushes inside lines. */
function written(file: string, msgs: Message[], size?: number): { text: string; pieces: number } {
  const pieces: Uint8Array[] = [];
  const w = new MessageLineWriter(file, (b) => pieces.push(b), size);
  for (const msg of msgs) w.write(msg);
  w.flush();
  return { text: Buffer.concat(pieces).toString('utf8'), pieces: pieces.length };
}

function lines(file: string, msgs: Message[]): string {
  return msgs.map((m) => `${messageToJsonLine(JSON.stringify(file), m)}\n`).join('');
}

describe('messageToJsonLine', () => {
  it('finds fixtures to compare on', () => {
    expect(captures.length).toBeGreaterThan(20);
  });

  it.each(captures)('%s: every line equals JSON.stringify({ file, ...messageToJson })', async (path) => {
    const msgs = await collectMessages(join(ROOT, path));
    for (const msg of msgs) {
      kindsSeen.add(msg.kind);
      expect(messageToJsonLine(JSON.stringify(path), msg)).toBe(reference(path, msg));
    }
    expect(written(path, msgs).text).toBe(lines(path, msgs));
    const small = written(path, msgs, 64);
    expect(small.text).toBe(lines(path, msgs));
    if (msgs.length > 1) expect(small.pieces).toBeGreaterThan(msgs.length);
  }, 30_000);

  it('the fixtures covered every message kind', () => {
    expect([...kindsSeen].sort()).toEqual(['dns', 'http.request', 'http.response', 'jsonrpc', 'sse.event', 'tls.client_hello', 'ws.text']);
  });

  it('leaves out undefined values, writes null for non-finite numbers and keeps odd values as JSON does', () => {
    const flow = {
      id: 3, proto: 'tcp' as const, client: { ip: '10.0.0.1', port: 5 }, server: { ip: '::1', port: 80 }, vlan: [7, 8],
      rolesBy: 'handshake' as const, firstFrame: 1, firstTs: 0,
    };
    const odd: Message[] = [
      { kind: 'jsonrpc', flow, dir: 'c2s', frame: 9, ts: 1.5, carrier: 'sse', type: 'request', id: null, method: 'm\u2028"x"',
        params: { a: [1, undefined, () => 1], b: undefined, c: new Date(0), d: Number.NaN } },
      { kind: 'sse.event', flow, dir: 's2c', frame: Number.NaN, ts: 1e9 + 0.9999996, index: Number.POSITIVE_INFINITY, event: 'message',
        data: '\u0000\ud800', retry: -0 },
      { kind: 'http.request', flow, dir: 'c2s', frame: 1, ts: 0, method: 'GET', target: '/', version: 'HTTP/1.1', headers: [['a', 'b']],
        body: new TextEncoder().encode('{"x":"\u00e9"}'), bodyLength: 12, bodyTruncated: true },
      { kind: 'tls.client_hello', flow: { ...flow, vlan: [] }, dir: 'c2s', frame: 2, ts: 3, version: 771, supportedVersions: [772], alpn: [] },
    ];
    for (const msg of odd) expect(messageToJsonLine('"f"', msg)).toBe(reference('f', msg));
    for (const file of ['f', 'caf\u00e9 \ud83d\ude00 "q"\n.pcap']) {
      for (const size of [1 << 18, 64, 1]) expect(written(file, odd, size).text).toBe(lines(file, odd));
    }
  });
});

describe('MessageLineWriter: values, strings and bodies by hand', () => {
  const flow = {
    id: 1, proto: 'tcp' as const, client: { ip: '10.0.0.1', port: 5 }, server: { ip: '10.0.0.2', port: 80 }, vlan: [],
    rolesBy: 'handshake' as const, firstFrame: 1, firstTs: 0,
  };
  const asciiish = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 80 });

  it('writes any JSON value and any string as JSON.stringify does (JSON.parse output, control characters, non-ASCII, lone surrogates)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.jsonValue({ depthSize: 'large' })), fc.oneof(asciiish, fc.string({ unit: 'binary' })), fc.integer({ min: 1, max: 300 }), (value, text, size) => {
        const msgs: Message[] = [
          { kind: 'jsonrpc', flow, dir: 'c2s', frame: 1, ts: 1, carrier: 'http-request', type: 'request', id: text, method: text,
            params: JSON.parse(JSON.stringify(value)), result: value },
          { kind: 'sse.event', flow, dir: 's2c', frame: 2, ts: 1, index: 0, event: text, data: text },
        ];
        expect(written('f', msgs, size).text).toBe(lines('f', msgs));
      }),
      { numRuns: 400 },
    );
  });

  it('writes any body as bodyText would show it: ASCII escaped from the bytes, the rest decoded (cut UTF-8, BOM, invalid bytes)', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200, max: 0x7f }),
      fc.string({ unit: 'binary', maxLength: 60 }).map((t) => new TextEncoder().encode(t)),
      fc.constant(new Uint8Array(5000).fill(0x22)), // past the 4096-byte preview, all escaped
      fc.constant(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])),
    );
    fc.assert(
      fc.property(bytes, fc.integer({ min: 1, max: 300 }), (body, size) => {
        const msgs: Message[] = [
          { kind: 'http.request', flow, dir: 'c2s', frame: 1, ts: 0, method: 'POST', target: '/', version: 'HTTP/1.1', headers: [],
            body, bodyLength: body.length, bodyTruncated: false },
        ];
        expect(written('f', msgs, size).text).toBe(lines('f', msgs));
      }),
      { numRuns: 400 },
    );
  });
});

describe('isoTime', () => {
  it('matches one-Date-per-call formatting, in and out of time order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e10, max: 4.2e9, noNaN: true }), { minLength: 1, maxLength: 20 }), (tss) => {
        for (const ts of tss) {
          expect(isoTime(ts)).toBe(isoTimeUncached(ts));
          expect(isoTime(ts + 0.000001)).toBe(isoTimeUncached(ts + 0.000001));
        }
      }),
      { numRuns: 500 },
    );
    expect(isoTime(1763999999.9999996)).toBe(isoTimeUncached(1763999999.9999996));
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    // A sub-millisecond part that rounds up carries into the millisecond (and second).
    expect(isoTime(1795599793 + 123999700e-9)).toBe('2026-11-25T09:43:13.124000Z');
    expect(isoTime(1795599793.9999996)).toBe('2026-11-25T09:43:14.000000Z');
  });
});
