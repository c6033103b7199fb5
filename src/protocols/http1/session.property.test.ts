// Chunking invariance and never-throws properties for HttpSession.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse, SseEvent } from '../messages.js';
import {
  byteByByte,
  concatBytes,
  cutsAt,
  dec,
  enc,
  projectAll,
  runHttp,
  type Segment,
  testFlow,
} from '../../../test/support/http.js';
import { HttpSession } from './session.js';
import { Anomalies } from '../../core/anomalies.js';
import { limits } from '../../config/limits.js';

type Framing = 'length' | 'chunked' | 'close';

interface BodySpec {
  text: string;
  framing: Framing;
  gzip: boolean;
  /** Chunk sizes for chunked framing (cycled). */
  chunkSizes: number[];
  ext: boolean;
  trailer: boolean;
}

interface ExchangeSpec {
  method: 'GET' | 'POST' | 'HEAD' | 'DELETE';
  path: string;
  reqBody: BodySpec;
  status: 200 | 201 | 202 | 204 | 404 | 500;
  sse: boolean;
  sseEvents: Array<{ event?: string; data: string[]; id?: string }>;
  respBody: BodySpec;
  interimContinue: boolean;
}

const textArb = fc.string({ maxLength: 120 });
const bodyArb = (framings: Framing[]) =>
  fc.record({
    text: textArb,
    framing: fc.constantFrom(...framings),
    gzip: fc.boolean(),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
    ext: fc.boolean(),
    trailer: fc.boolean(),
  });

const exchangeArb: fc.Arbitrary<ExchangeSpec> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE'),
  path: fc.stringMatching(/^\/[a-z0-9/?=&_-]{0,20}$/),
  reqBody: bodyArb(['length', 'chunked']),
  status: fc.constantFrom(200, 201, 202, 204, 404, 500),
  sse: fc.boolean(),
  sseEvents: fc.array(
    fc.record(
      {
        event: fc.constantFrom('message', 'endpoint', 'ping'),
        data: fc.array(fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ' ')), { minLength: 1, maxLength: 3 }),
        id: fc.stringMatching(/^[0-9a-f]{1,8}$/),
      },
      { requiredKeys: ['data'] },
    ),
    { maxLength: 4 },
  ),
  respBody: bodyArb(['length', 'chunked', 'close']),
  interimContinue: fc.boolean(),
});

function encodeBody(raw: Uint8Array, spec: BodySpec): { headers: string[]; bytes: Uint8Array } {
  const headers: string[] = [];
  let payload = raw;
  if (spec.gzip) {
    payload = gzipSync(raw);
    headers.push('Content-Encoding: gzip');
  }
  if (spec.framing === 'length') {
    headers.push(`Content-Length: ${payload.length}`);
    return { headers, bytes: payload };
  }
  if (spec.framing === 'close') return { headers, bytes: payload };
  headers.push('Transfer-Encoding: chunked');
  const parts: Uint8Array[] = [];
  let off = 0;
  let k = 0;
  while (off < payload.length) {
    const n = Math.min(spec.chunkSizes[k++ % spec.chunkSizes.length]!, payload.length - off);
    parts.push(enc(`${n.toString(16)}${spec.ext ? ';ext=1' : ''}\r\n`), payload.subarray(off, off + n), enc('\r\n'));
    off += n;
  }
  parts.push(enc(spec.trailer ? '0\r\nX-Checksum: abc\r\n\r\n' : '0\r\n\r\n'));
  return { headers, bytes: concatBytes(...parts) };
}

function sseText(evs: ExchangeSpec['sseEvents']): string {
  return evs
    .map((e) => `${e.event ? `event: ${e.event}\n` : ''}${e.id ? `id: ${e.id}\r\n` : ''}${e.data.map((d) => `data: ${d}\n`).join('')}\n`)
    .join(': keepalive\r\n\r\n');
}

/** Build the bytes of a conversation; the last response alone may be close-delimited. */
function conversation(specs: ExchangeSpec[]): { segments: Segment[]; expect: { reqBodies: string[]; respBodies: string[]; events: number } } {
  const c2s: Uint8Array[] = [];
  const s2c: Uint8Array[] = [];
  const reqBodies: string[] = [];
  const respBodies: string[] = [];
  let events = 0;
  specs.forEach((x, i) => {
    const last = i === specs.length - 1;
    const hasReqBody = x.method === 'POST';
    const rb = hasReqBody ? encodeBody(enc(x.reqBody.text), x.reqBody) : { headers: [], bytes: new Uint8Array(0) };
    c2s.push(enc(`${x.method} ${x.path} HTTP/1.1\r\nHost: mcp.example\r\n${rb.headers.map((h) => h + '\r\n').join('')}\r\n`), rb.bytes);
    reqBodies.push(hasReqBody ? x.reqBody.text : '');
    if (x.interimContinue) s2c.push(enc('HTTP/1.1 100 Continue\r\n\r\n'));
    const noBody = x.method === 'HEAD' || x.status === 204;
    let spec = x.respBody;
    if (spec.framing === 'close' && !last) spec = { ...spec, framing: 'length' };
    if (noBody) {
      s2c.push(enc(`HTTP/1.1 ${x.status} X\r\nContent-Length: 17\r\n\r\n`));
      respBodies.push('');
      return;
    }
    const sse = x.sse && x.status === 200;
    const raw = sse ? enc(sseText(x.sseEvents)) : enc(x.respBody.text);
    const b = encodeBody(raw, spec);
    const ct = sse ? 'Content-Type: text/event-stream\r\n' : 'Content-Type: application/json\r\n';
    s2c.push(enc(`HTTP/1.1 ${x.status} X\r\n${ct}${b.headers.map((h) => h + '\r\n').join('')}\r\n`), b.bytes);
    respBodies.push(sse ? '' : x.respBody.text);
    if (sse) events += x.sseEvents.length;
  });
  return {
    segments: [
      { dir: 'c2s', data: concatBytes(...c2s) },
      { dir: 's2c', data: concatBytes(...s2c) },
    ],
    expect: { reqBodies, respBodies, events },
  };
}

describe('HttpSession properties', () => {
  it('gives the same messages whole, byte by byte and at random split points', () => {
    fc.assert(
      fc.property(fc.array(exchangeArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (specs, cuts) => {
        const conv = conversation(specs);
        const base = runHttp(conv.segments);
        // The generated conversation is well formed: what came out is what went in.
        expect(base.anomalies.total).toBe(0);
        const rq = base.messages.filter((m): m is HttpRequest => m.kind === 'http.request');
        const rs = base.messages.filter((m): m is HttpResponse => m.kind === 'http.response' && m.status >= 200);
        expect(rq.map((q) => dec(q.body))).toEqual(conv.expect.reqBodies);
        expect(rs.map((s) => dec(s.body))).toEqual(conv.expect.respBodies);
        expect(rs.map((s) => s.request?.target)).toEqual(specs.map((x) => x.path));
        expect(base.messages.filter((m): m is SseEvent => m.kind === 'sse.event').length).toBe(conv.expect.events);

        const want = projectAll(base);
        expect(projectAll(runHttp(conv.segments, byteByByte))).toEqual(want);
        expect(projectAll(runHttp(conv.segments, cutsAt(cuts)))).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws and never returns anything but ok/error on arbitrary bytes, gaps and ends', () => {
    const prefix = fc.constantFrom(
      '',
      'GET / HTTP/1.1\r\n',
      'POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: deflate\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
    );
    const piece = fc.record({
      dir: fc.constantFrom('c2s' as const, 's2c' as const),
      prefix,
      bytes: fc.uint8Array({ maxLength: 200 }),
      gap: fc.constantFrom(0, 0, 0, 1, 17),
    });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const anomalies = new Anomalies();
        const session = new HttpSession(() => {}, {
          anomalies,
          limits: limits({ httpMaxHeaderBytes: 300, httpResyncMaxBytes: 200, sseMaxEventBytes: 100 }),
          file: 't',
        });
        const flow = testFlow();
        pieces.forEach((p, i) => {
          const data = concatBytes(enc(p.prefix), p.bytes);
          const st = session.feed({ flow, dir: p.dir, offset: 0, data, gapBefore: p.gap, frame: i, ts: i });
          expect(['ok', 'error']).toContain(st);
        });
        session.end('c2s');
        session.end('s2c');
        expect(anomalies.count('http.internal_error')).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
