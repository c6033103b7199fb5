import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse, Message, SseEvent, WsText } from '../messages.js';
import { HTTP_ANOMALIES } from './anomalies.js';
import { isHttpStart } from './session.js';
import {
  byteByByte,
  concatBytes,
  dec,
  deflateMessages,
  deflateWithTakeover,
  enc,
  runHttp,
  type Segment,
  wsFrame,
} from '../../../test/support/http.js';

const reqs = (ms: Message[]) => ms.filter((m): m is HttpRequest => m.kind === 'http.request');
const resps = (ms: Message[]) => ms.filter((m): m is HttpResponse => m.kind === 'http.response');
const events = (ms: Message[]) => ms.filter((m): m is SseEvent => m.kind === 'sse.event');
const texts = (ms: Message[]) => ms.filter((m): m is WsText => m.kind === 'ws.text');
const counts = (r: ReturnType<typeof runHttp>) => Object.fromEntries(r.anomalies.summary().map((s) => [s.name, s.count]));

function response(status: string, headers: string[], body: Uint8Array | string = ''): Uint8Array {
  const b = typeof body === 'string' ? enc(body) : body;
  return concatBytes(enc(`HTTP/1.1 ${status}\r\n${headers.map((h) => h + '\r\n').join('')}\r\n`), b);
}

describe('isHttpStart', () => {
  it.each([
    ['GET / HTTP/1.1\r\n', 'c2s', true],
    ['POST /mcp HTTP/1.1', 'c2s', true],
    ['OPTIONS * HTTP/1.1', 'c2s', true],
    ['GETX / HTTP/1.1', 'c2s', false],
    ['get / HTTP/1.1', 'c2s', false],
    ['PRI * HTTP/2.0\r\n', 'c2s', false],
    ['\x16\x03\x01\x02\x00', 'c2s', false],
    ['HTTP/1.1 200 OK', 's2c', true],
    ['HTTP/1.0 404', 's2c', true],
    ['HTTP/2 200', 's2c', false],
    ['GET / HTTP/1.1', 's2c', false],
    ['GE', 'c2s', false],
  ] as const)('%j %s -> %s', (text, dir, want) => {
    expect(isHttpStart(enc(text), dir)).toBe(want);
  });
});

describe('requests and responses', () => {
  it('pairs a GET with its Content-Length response and keeps headers in wire order', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'GET /mcp?x=1 HTTP/1.1\r\nHost: api.example.com\r\nAccept: text/event-stream\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}' },
    ]);
    const [q] = reqs(r.messages);
    const [s] = resps(r.messages);
    expect(q).toMatchObject({ method: 'GET', target: '/mcp?x=1', version: 'HTTP/1.1', bodyLength: 0, frame: 1 });
    expect(q!.headers).toEqual([
      ['host', 'api.example.com'],
      ['accept', 'text/event-stream'],
    ]);
    expect(s).toMatchObject({ status: 200, reason: 'OK', bodyLength: 11, bodyTruncated: false, frame: 2 });
    expect(dec(s!.body)).toBe('{"ok":true}');
    expect(s!.request).toEqual({ method: 'GET', target: '/mcp?x=1', host: 'api.example.com' });
    expect(r.anomalies.total).toBe(0);
  });

  it('parses pipelined keep-alive requests in one chunk and pairs responses FIFO', () => {
    const r = runHttp([
      {
        dir: 'c2s',
        data:
          'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc' +
          'GET /b HTTP/1.1\r\nHost: h\r\n\r\n' +
          '\r\nHEAD /c HTTP/1.1\r\nHost: h\r\n\r\n',
      },
      {
        dir: 's2c',
        data:
          'HTTP/1.1 202 Accepted\r\nContent-Length: 8\r\n\r\nAccepted' +
          'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n',
      },
    ]);
    expect(reqs(r.messages).map((q) => [q.method, q.target, dec(q.body)])).toEqual([
      ['POST', '/a', 'abc'],
      ['GET', '/b', ''],
      ['HEAD', '/c', ''],
    ]);
    expect(resps(r.messages).map((s) => [s.status, s.request?.target, dec(s.body), s.bodyLength])).toEqual([
      [202, '/a', 'Accepted', 8],
      [404, '/b', '', 0],
      [200, '/c', '', 0],
    ]);
    expect(r.anomalies.total).toBe(0);
  });

  it('decodes chunked bodies with extensions and trailers', () => {
    const body = '5;name=value\r\nhello\r\n6 ; x="y"\r\n world\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n';
    const r = runHttp([
      { dir: 'c2s', data: `POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${body}GET /next HTTP/1.1\r\n\r\n` },
    ]);
    const [a, b] = reqs(r.messages);
    expect(dec(a!.body)).toBe('hello world');
    expect(a!.bodyLength).toBe(11);
    expect(b!.target).toBe('/next');
    expect(r.anomalies.total).toBe(0);
  });

  it('reads a body without length until the server closes', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'GET / HTTP/1.0\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one ' },
      { dir: 's2c', data: 'part two' },
    ]);
    const [s] = resps(r.messages);
    expect(dec(s!.body)).toBe('part one part two');
    expect(s!.bodyLength).toBe(17);
  });

  it('does not read a body for HEAD, 204 and 304 even with Content-Length', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'HEAD / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n' },
      {
        dir: 's2c',
        data:
          'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n' +
          'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n' +
          'HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      },
    ]);
    expect(resps(r.messages).map((s) => [s.status, s.request?.target, dec(s.body)])).toEqual([
      [200, '/', ''],
      [204, '/a', ''],
      [304, '/b', ''],
      [200, '/c', 'ok'],
    ]);
  });

  it('keeps the request pending across 100 Continue', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 100 Continue\r\n\r\n' },
      { dir: 'c2s', data: 'data' },
      { dir: 's2c', data: 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n' },
      { dir: 'c2s', data: 'GET /after HTTP/1.1\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(resps(r.messages).map((s) => [s.status, s.request?.target])).toEqual([
      [100, '/up'],
      [103, '/up'],
      [201, '/up'],
      [200, '/after'],
    ]);
    expect(dec(reqs(r.messages)[0]!.body)).toBe('data');
    expect(r.anomalies.total).toBe(0);
  });

  it('tolerates obs-fold, bare LF line ends and keeps values trimmed', () => {
    const r = runHttp([{ dir: 'c2s', data: 'GET / HTTP/1.1\nHost:  h.example  \nX-Long: one\n  two\n\tthree\n\n' }]);
    const [q] = reqs(r.messages);
    expect(q!.headers).toEqual([
      ['host', 'h.example'],
      ['x-long', 'one two three'],
    ]);
    expect(counts(r)).toEqual({ 'http.obs_fold': 1 });
  });

  it('caps header count and header bytes', () => {
    const many = Array.from({ length: 10 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
    const r = runHttp([{ dir: 'c2s', data: `GET / HTTP/1.1\r\n${many}Content-Length: 2\r\n\r\nhi` }], undefined, {
      httpMaxHeaders: 4,
    });
    const [q] = reqs(r.messages);
    expect(q!.headers.length).toBe(4);
    // Framing headers past the cap still count: the body was read.
    expect(dec(q!.body)).toBe('hi');
    expect(counts(r)['http.too_many_headers']).toBe(1);

    const big = runHttp([{ dir: 'c2s', data: `GET / HTTP/1.1\r\nX: ${'a'.repeat(300)}\r\n\r\nGET / HTTP/1.1\r\n\r\n` }], undefined, {
      httpMaxHeaderBytes: 200,
    });
    expect(reqs(big.messages)).toHaveLength(0);
    expect(counts(big)['http.header_too_large']).toBe(1);
    expect(big.statuses).toContain('error');
  });

  it('keeps body bytes up to the inspect cap and counts the rest', () => {
    const r = runHttp(
      [
        { dir: 'c2s', data: 'POST / HTTP/1.1\r\nContent-Length: 26\r\n\r\nabcdefghij' },
        { dir: 'c2s', data: 'klmnopqrstuvwxyz' },
      ],
      undefined,
      { httpBodyInspectBytes: 8 },
    );
    const [q] = reqs(r.messages);
    expect(dec(q!.body)).toBe('abcdefgh');
    expect(q!.bodyLength).toBe(26);
    expect(q!.bodyTruncated).toBe(true);
    expect(counts(r)['http.body_truncated']).toBe(1);
  });

  it('flags Content-Length with chunked (chunked wins) and bad Content-Length', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n' },
    ]);
    expect(dec(reqs(r.messages)[0]!.body)).toBe('ok');
    expect(counts(r)['http.content_length_and_chunked']).toBe(1);

    const bad = runHttp([
      { dir: 'c2s', data: 'POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello\r\nGET /x HTTP/1.1\r\n\r\n' },
    ]);
    expect(counts(bad)['http.bad_content_length']).toBe(1);
    expect(reqs(bad.messages).map((q) => q.target)).toEqual(['/', '/x']);
  });

  it('counts a bad chunk size and resyncs at the next request', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnope\r\n0\r\n\r\nGET /ok HTTP/1.1\r\n\r\n' },
    ]);
    expect(counts(r)['http.bad_chunk_size']).toBe(1);
    expect(reqs(r.messages).map((q) => [q.target, q.bodyTruncated])).toEqual([
      ['/', true],
      ['/ok', false],
    ]);
  });

  it('counts a bad request line and resyncs at the next request line', () => {
    const r = runHttp([{ dir: 'c2s', data: 'BREW /pot HTCPCP/1.0\r\nX: y\r\n\r\nGET /real HTTP/1.1\r\nHost: h\r\n\r\n' }]);
    expect(counts(r)).toEqual({ 'http.bad_request_line': 1 });
    expect(reqs(r.messages).map((q) => q.target)).toEqual(['/real']);
  });

  it('caps pending requests and counts the drop', () => {
    const many = Array.from({ length: 5 }, (_, i) => `GET /${i} HTTP/1.1\r\n\r\n`).join('');
    const r = runHttp(
      [
        { dir: 'c2s', data: many },
        { dir: 's2c', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
      ],
      undefined,
      { httpMaxPendingRequests: 3 },
    );
    expect(counts(r)['http.too_many_pending']).toBe(2);
    expect(resps(r.messages)[0]!.request?.target).toBe('/2');
  });

  it('emits a request cut by the end of the stream with what was seen', () => {
    const r = runHttp([{ dir: 'c2s', data: 'POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc' }]);
    const [q] = reqs(r.messages);
    expect(dec(q!.body)).toBe('abc');
    expect(q!.bodyTruncated).toBe(true);
    expect(counts(r)['http.message_incomplete']).toBe(1);
  });

  it('takes the host from an absolute-form target when there is no Host header', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'GET http://proxy.example:8080/mcp HTTP/1.1\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(resps(r.messages)[0]!.request).toEqual({
      method: 'GET',
      target: 'http://proxy.example:8080/mcp',
      host: 'proxy.example:8080',
    });
  });
});

describe('content encoding', () => {
  const json = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'x'.repeat(50) }] } });
  it.each([
    ['gzip', gzipSync(enc(json))],
    ['x-gzip', gzipSync(enc(json))],
    ['deflate', deflateSync(enc(json))],
    ['deflate', deflateRawSync(enc(json))],
    ['br', brotliCompressSync(enc(json))],
    ['identity', enc(json)],
  ])('%s body is decoded', (coding, bytes) => {
    const r = runHttp([
      { dir: 'c2s', data: 'GET / HTTP/1.1\r\n\r\n' },
      { dir: 's2c', data: response('200 OK', [`Content-Encoding: ${coding}`, `Content-Length: ${bytes.length}`], bytes) },
    ]);
    const [s] = resps(r.messages);
    expect(dec(s!.body)).toBe(json);
    expect(s!.bodyLength).toBe(bytes.length);
    expect(r.anomalies.total).toBe(0);
  });

  it('undoes stacked codings in reverse order', () => {
    const bytes = brotliCompressSync(gzipSync(enc(json)));
    const r = runHttp([
      { dir: 's2c', data: response('200 OK', ['Content-Encoding: gzip, br', `Content-Length: ${bytes.length}`], bytes) },
    ]);
    expect(dec(resps(r.messages)[0]!.body)).toBe(json);
  });

  it('decodes a gzip body fed byte by byte inside chunked framing', () => {
    const gz = gzipSync(enc(json));
    const chunked = concatBytes(enc(`${gz.length.toString(16)}\r\n`), gz, enc('\r\n0\r\n\r\n'));
    const r = runHttp(
      [{ dir: 's2c', data: response('200 OK', ['Content-Encoding: gzip', 'Transfer-Encoding: chunked'], chunked) }],
      byteByByte,
    );
    expect(dec(resps(r.messages)[0]!.body)).toBe(json);
  });

  it('stops at the decompression cap (zip bomb guard)', () => {
    const bomb = gzipSync(new Uint8Array(2_000_000));
    for (const data of [bomb, brotliCompressSync(new Uint8Array(2_000_000))]) {
      const coding = data === bomb ? 'gzip' : 'br';
      const r = runHttp(
        [{ dir: 's2c', data: response('200 OK', [`Content-Encoding: ${coding}`, `Content-Length: ${data.length}`], data) }],
        undefined,
        { httpDecompressedMaxBytes: 100_000, httpBodyInspectBytes: 1_000_000 },
      );
      const [s] = resps(r.messages);
      expect(s!.body.length).toBeLessThanOrEqual(100_000);
      // gzip streams: the decoded prefix up to the cap is kept. brotli has no synchronous streaming decoder
      // in Node, and a bomb of zeros is one long copy command: nothing short of the whole fits.
      if (coding === 'gzip') expect(s!.body.length).toBe(100_000);
      expect(counts(r)['http.decompress_cap_hit']).toBe(1);
    }
  });

  it('keeps the inspect cap on decoded bytes', () => {
    const gz = gzipSync(enc('z'.repeat(50_000)));
    const r = runHttp(
      [{ dir: 's2c', data: response('200 OK', ['Content-Encoding: gzip', `Content-Length: ${gz.length}`], gz) }],
      undefined,
      { httpBodyInspectBytes: 1000 },
    );
    const [s] = resps(r.messages);
    expect(dec(s!.body)).toBe('z'.repeat(1000));
    expect(s!.bodyTruncated).toBe(true);
    expect(s!.bodyLength).toBe(gz.length);
  });

  it('counts corrupt and unknown codings', () => {
    const r = runHttp([
      { dir: 's2c', data: response('200 OK', ['Content-Encoding: gzip', 'Content-Length: 10'], 'not gzip!!') },
      { dir: 's2c', data: response('200 OK', ['Content-Encoding: zstd', 'Content-Length: 3'], 'abc') },
    ]);
    const [a, b] = resps(r.messages);
    expect(a!.body.length).toBe(0);
    expect(dec(b!.body)).toBe('abc');
    expect(counts(r)['http.decompress_error']).toBe(1);
    expect(counts(r)['http.unknown_content_encoding']).toBe(1);
  });
});

describe('server-sent events', () => {
  const sseHead = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n';

  it('emits the response at its head and events as they arrive', () => {
    const messages: Message[] = [];
    const segs: Segment[] = [
      { dir: 'c2s', data: 'GET /sse HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n' },
      { dir: 's2c', data: `${sseHead}\r\nevent: endpoint\r\ndata: /messages?sessionId=abc\r\n\r\n` },
      { dir: 's2c', data: ': ping\r\n\r\nevent: message\r\ndata: {"jsonrpc":"2.0",\r\ndata: "id":1}\r\nid: 7\r\n\r\n' },
    ];
    const r = runHttp(segs, undefined, {}, []);
    messages.push(...r.messages);
    expect(messages.map((m) => m.kind)).toEqual(['http.request', 'http.response', 'sse.event', 'sse.event']);
    const [s] = resps(messages);
    expect(s!.body.length).toBe(0);
    const ev = events(messages);
    expect(ev.map((e) => [e.event, e.data, e.id, e.index, e.frame])).toEqual([
      ['endpoint', '/messages?sessionId=abc', undefined, 0, 2],
      ['message', '{"jsonrpc":"2.0",\n"id":1}', '7', 1, 3],
    ]);
    expect(ev[0]!.request).toEqual({ method: 'GET', target: '/sse', host: 'h' });
  });

  it('parses events inside chunked transfer coding, split at any byte', () => {
    const stream = 'event: endpoint\ndata: /m?session_id=1\n\ndata: a\rdata: b\r\n\r';
    const half = stream.length >> 1;
    const body = `${half.toString(16)}\r\n${stream.slice(0, half)}\r\n${(stream.length - half).toString(16)}\r\n${stream.slice(half)}\r\n0\r\n\r\n`;
    for (const split of [undefined, byteByByte]) {
      const r = runHttp([{ dir: 's2c', data: `${sseHead}Transfer-Encoding: chunked\r\n\r\n${body}` }], split);
      expect(events(r.messages).map((e) => [e.event, e.data])).toEqual([
        ['endpoint', '/m?session_id=1'],
        ['message', 'a\nb'],
      ]);
    }
  });

  it('inflates a gzip event stream as it arrives', () => {
    const gz = gzipSync(enc('data: one\n\ndata: two\n\n'));
    const r = runHttp([{ dir: 's2c', data: response('200 OK', ['Content-Type: text/event-stream', 'Content-Encoding: gzip'], gz) }], byteByByte);
    expect(events(r.messages).map((e) => e.data)).toEqual(['one', 'two']);
  });

  it('counts an event over the cap and keeps going', () => {
    const r = runHttp(
      [{ dir: 's2c', data: `${sseHead}\r\ndata: ${'x'.repeat(100)}\n\ndata: small\n\n` }],
      undefined,
      { sseMaxEventBytes: 50 },
    );
    expect(events(r.messages).map((e) => e.data)).toEqual(['small']);
    expect(counts(r)['sse.event_too_large']).toBe(1);
  });
});

describe('websocket', () => {
  const upgradeReq =
    'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const upgradeResp = (ext = '') =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n${ext}\r\n`;
  const mask: [number, number, number, number] = [0x37, 0xfa, 0x21, 0x3d];

  it('decodes masked client and unmasked server text frames, fragmented, with control frames between', () => {
    const c2s = concatBytes(
      wsFrame({ opcode: 1, fin: false, payload: '{"jsonrpc":"2.0",', mask }),
      wsFrame({ opcode: 9, payload: 'ping', mask }),
      wsFrame({ opcode: 0, fin: false, payload: '"method":', mask }),
      wsFrame({ opcode: 0, payload: '"tools/list"}', mask }),
      wsFrame({ opcode: 2, payload: new Uint8Array([1, 2, 3]), mask }),
    );
    const s2c = concatBytes(
      wsFrame({ opcode: 10, payload: 'ping' }),
      wsFrame({ opcode: 1, payload: 'x'.repeat(300) }),
      wsFrame({ opcode: 1, payload: 'big', lengthForm: 64 }),
      wsFrame({ opcode: 8, payload: new Uint8Array([0x03, 0xe8]) }),
    );
    for (const split of [undefined, byteByByte]) {
      const r = runHttp(
        [
          { dir: 'c2s', data: upgradeReq },
          { dir: 's2c', data: concatBytes(enc(upgradeResp()), s2c) },
          { dir: 'c2s', data: c2s },
        ],
        split,
      );
      expect(resps(r.messages)[0]!.status).toBe(101);
      expect(texts(r.messages).map((t) => [t.dir, t.text, t.request?.target])).toEqual([
        ['s2c', 'x'.repeat(300), '/ws'],
        ['s2c', 'big', '/ws'],
        ['c2s', '{"jsonrpc":"2.0","method":"tools/list"}', '/ws'],
      ]);
      expect(counts(r)).toEqual({ 'ws.binary_message': 1 });
    }
  });

  it('buffers client frames that arrive before the 101 is seen', () => {
    const r = runHttp([
      { dir: 'c2s', data: concatBytes(enc(upgradeReq), wsFrame({ opcode: 1, payload: 'early', mask })) },
      { dir: 's2c', data: upgradeResp() },
    ]);
    expect(texts(r.messages).map((t) => t.text)).toEqual(['early']);
  });

  it('inflates permessage-deflate messages with context takeover', async () => {
    const msgs = ['{"jsonrpc":"2.0","method":"initialize"}', '{"jsonrpc":"2.0","method":"initialize","id":2}', 'tail'];
    const payloads = await deflateWithTakeover(msgs);
    const frames = concatBytes(
      ...payloads.map((p, i) =>
        i === 1
          ? concatBytes(
              wsFrame({ opcode: 1, rsv1: true, fin: false, payload: p.subarray(0, 3) }),
              wsFrame({ opcode: 0, payload: p.subarray(3) }),
            )
          : wsFrame({ opcode: 1, rsv1: true, payload: p }),
      ),
    );
    for (const split of [undefined, byteByByte]) {
      const r = runHttp(
        [
          { dir: 'c2s', data: upgradeReq },
          { dir: 's2c', data: concatBytes(enc(upgradeResp('Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=15\r\n')), frames) },
        ],
        split,
      );
      expect(texts(r.messages).map((t) => t.text)).toEqual(msgs);
      expect(r.anomalies.total).toBe(0);
    }
  });

  it('counts compressed messages when permessage-deflate was not negotiated', () => {
    const [p] = deflateMessages(['hello']);
    const r = runHttp([
      { dir: 'c2s', data: upgradeReq },
      { dir: 's2c', data: concatBytes(enc(upgradeResp()), wsFrame({ opcode: 1, rsv1: true, payload: p! }), wsFrame({ opcode: 1, payload: 'plain' })) },
    ]);
    expect(texts(r.messages).map((t) => t.text)).toEqual(['plain']);
    expect(counts(r)['ws.compressed_not_negotiated']).toBe(1);
  });

  it('abandons the direction on a bad frame', () => {
    const r = runHttp([
      { dir: 'c2s', data: upgradeReq },
      { dir: 's2c', data: concatBytes(enc(upgradeResp()), new Uint8Array([0x83, 0x00]), wsFrame({ opcode: 1, payload: 'lost' })) },
    ]);
    expect(texts(r.messages)).toHaveLength(0);
    expect(counts(r)['ws.bad_frame']).toBe(1);
    expect(r.statuses).toContain('error');
  });

  it('returns to HTTP when the server refuses the upgrade', () => {
    const r = runHttp([
      { dir: 'c2s', data: upgradeReq },
      { dir: 'c2s', data: 'GET /after HTTP/1.1\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(reqs(r.messages).map((q) => q.target)).toEqual(['/ws', '/after']);
    expect(resps(r.messages).map((s) => s.request?.target)).toEqual(['/ws', '/after']);
  });
});

describe('tunnels', () => {
  it('stops parsing after CONNECT 200', () => {
    const tls = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
    const r = runHttp([
      { dir: 'c2s', data: 'CONNECT mcp.example.com:443 HTTP/1.1\r\nHost: mcp.example.com:443\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 200 Connection Established\r\n\r\n' },
      { dir: 'c2s', data: tls },
      { dir: 's2c', data: tls },
    ]);
    expect(r.messages.map((m) => m.kind)).toEqual(['http.request', 'http.response']);
    expect(resps(r.messages)[0]!.request?.host).toBe('mcp.example.com:443');
    expect(r.anomalies.total).toBe(0);
    expect(r.statuses.every((s) => s === 'ok')).toBe(true);
  });

  it('stops parsing after an h2c upgrade', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n' },
      { dir: 's2c', data: 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00' },
      { dir: 'c2s', data: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
    ]);
    expect(r.messages.map((m) => m.kind)).toEqual(['http.request', 'http.response']);
    expect(r.anomalies.total).toBe(0);
  });
});

describe('gaps', () => {
  it('accounts for a gap inside a Content-Length body and goes on', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123' },
      { dir: 'c2s', data: 'ghijklmnopqrst', gap: 2 },
      { dir: 'c2s', data: 'GET /next HTTP/1.1\r\n\r\n' },
    ]);
    const [a, b] = reqs(r.messages);
    expect(a!.bodyLength).toBe(20);
    expect(a!.bodyTruncated).toBe(true);
    expect(dec(a!.body)).toBe('0123');
    expect(b!.target).toBe('/next');
    expect(counts(r)).toEqual({ 'http.body_gap': 1 });
  });

  it('resyncs at the next request line after a gap in the headers', () => {
    const r = runHttp([
      { dir: 'c2s', data: 'GET /a HTTP/1.1\r\nHost: ' },
      { dir: 'c2s', data: 'xample\r\nAccept: */*\r\n\r\nGET /b HTTP/1.1\r\n\r\n', gap: 3 },
    ]);
    expect(reqs(r.messages).map((q) => q.target)).toEqual(['/b']);
  });

  it('gives up on a direction when no start line follows a gap', () => {
    const r = runHttp(
      [
        { dir: 'c2s', data: 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n' },
        { dir: 'c2s', data: 'x'.repeat(500), gap: 10 },
        { dir: 'c2s', data: 'GET /late HTTP/1.1\r\n\r\n' },
      ],
      undefined,
      { httpResyncMaxBytes: 100 },
    );
    expect(counts(r)['http.gap_unrecoverable']).toBe(1);
    expect(r.statuses.at(-1)).toBe('error');
    expect(reqs(r.messages).map((q) => q.target)).toEqual(['/a']);
  });

  it('drops the event cut by a gap in an event stream and keeps the next ones', () => {
    const r = runHttp([
      { dir: 's2c', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: first\n\ndata: sec' },
      { dir: 's2c', data: 'ond\n\ndata: third\n\n', gap: 5 },
    ]);
    expect(events(r.messages).map((e) => e.data)).toEqual(['first', 'third']);
  });
});

describe('anomaly catalogue', () => {
  it('names every anomaly the tests above produce', () => {
    for (const name of ['http.bad_request_line', 'http.body_gap', 'ws.bad_frame', 'sse.event_too_large']) {
      expect(HTTP_ANOMALIES).toHaveProperty([name]);
    }
  });
});
