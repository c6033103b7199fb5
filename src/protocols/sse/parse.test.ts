import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser, type SseFields } from './parse.js';
import { cutsAt, enc, type Splitter, byteByByte, whole } from '../../../test/support/http.js';

function run(input: Uint8Array | string, split: Splitter = whole, max = 1 << 20) {
  const bytes = typeof input === 'string' ? enc(input) : input;
  const events: SseFields[] = [];
  let tooLarge = 0;
  let starts = 0;
  const p = new SseParser(
    (e) => events.push(e),
    max,
    () => tooLarge++,
    () => starts++,
  );
  const cuts = [0, ...split(bytes.length, 0), bytes.length];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const piece = bytes.slice(cuts[k], cuts[k + 1]);
    p.feed(piece);
    piece.fill(0x41); // the parser must have copied what it keeps
  }
  p.end();
  return { events, tooLarge, starts };
}

describe('SseParser', () => {
  it.each([
    ['one data line', 'data: hello\n\n', [{ event: 'message', data: 'hello' }]],
    ['event name', 'event: endpoint\ndata: /messages?sessionId=1\n\n', [{ event: 'endpoint', data: '/messages?sessionId=1' }]],
    ['multi-line data joined with LF', 'data: a\ndata: b\ndata:\n\n', [{ event: 'message', data: 'a\nb\n' }]],
    ['CRLF line ends', 'event: x\r\ndata: y\r\n\r\n', [{ event: 'x', data: 'y' }]],
    ['CR line ends', 'data: 1\rdata: 2\r\r', [{ event: 'message', data: '1\n2' }]],
    ['only one leading space stripped', 'data:  two spaces\ndata:none\n\n', [{ event: 'message', data: ' two spaces\nnone' }]],
    ['comments ignored', ': keepalive\n:ping - 2025\ndata: x\n: mid\n\n', [{ event: 'message', data: 'x' }]],
    ['id and retry', 'id: 42\nretry: 3000\ndata: x\n\n', [{ event: 'message', data: 'x', id: '42', retry: 3000 }]],
    ['bad retry ignored', 'retry: 3s\ndata: x\n\n', [{ event: 'message', data: 'x' }]],
    ['id with NUL ignored', 'id: a\0b\ndata: x\n\n', [{ event: 'message', data: 'x' }]],
    ['field without colon', 'data\ndata\n\n', [{ event: 'message', data: '\n' }]],
    ['unknown fields ignored', 'foo: bar\ndata: x\n\n', [{ event: 'message', data: 'x' }]],
    ['no data, no event', 'event: ping\n\nid: 1\n\n', []],
    ['empty event name is message', 'event:\ndata: x\n\n', [{ event: 'message', data: 'x' }]],
    ['unterminated event dropped at end', 'data: a\n\ndata: b\n', [{ event: 'message', data: 'a' }]],
    ['BOM dropped', '\uFEFFdata: x\n\n', [{ event: 'message', data: 'x' }]],
    ['only the first BOM', '\uFEFF\uFEFFdata: x\n\n', []],
    ['UTF-8 data', 'data: héllo ✓\n\n', [{ event: 'message', data: 'héllo ✓' }]],
  ])('%s', (_name, input, want) => {
    for (const split of [whole, byteByByte]) expect(run(input, split).events).toEqual(want);
  });

  it('treats CR at the end of one feed and LF at the start of the next as one line end', () => {
    const p: SseFields[] = [];
    const parser = new SseParser((e) => p.push(e), 1000, () => {});
    parser.feed(enc('data: a\r'));
    parser.feed(enc('\ndata: b\r'));
    parser.feed(enc('\n\r'));
    parser.feed(enc('\n'));
    // One event with two lines: neither LF started an empty line of its own.
    expect(p).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('emits each event as soon as its blank line arrives', () => {
    const seen: string[] = [];
    const parser = new SseParser((e) => seen.push(e.data), 1000, () => {});
    parser.feed(enc('data: first\n\ndata: sec'));
    expect(seen).toEqual(['first']);
    parser.feed(enc('ond\n\n'));
    expect(seen).toEqual(['first', 'second']);
  });

  it('drops an event over the cap, counts it once, and recovers at the next event', () => {
    const r = run(`data: ${'x'.repeat(40)}\ndata: ${'y'.repeat(40)}\n\ndata: ok\n\n`, byteByByte, 60);
    expect(r.events).toEqual([{ event: 'message', data: 'ok' }]);
    expect(r.tooLarge).toBe(1);
  });

  it('reports the start of each event, not of comments', () => {
    expect(run(': c\n\ndata: a\n\n: c2\nevent: e\ndata: b\n\n').starts).toBe(2);
  });

  it('gives the same events however the bytes are split', () => {
    const line = fc.oneof(
      fc.constantFrom('data: {"jsonrpc":"2.0","id":1}', 'event: message', 'event: endpoint', ': ping', 'id: 9', 'retry: 10', 'data', 'x: y'),
      fc.string({ maxLength: 12 }).map((s) => `data: ${s.replace(/[\r\n]/g, '')}`),
      fc.constant(''),
    );
    const eol = fc.constantFrom('\n', '\r\n', '\r');
    const stream = fc.array(fc.tuple(line, eol), { maxLength: 30 }).map((ls) => ls.map(([l, e]) => l + e).join(''));
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (s, cuts, bom) => {
        const input = (bom ? '\uFEFF' : '') + s;
        const base = run(input);
        expect(run(input, byteByByte)).toEqual(base);
        expect(run(input, cutsAt(cuts))).toEqual(base);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        run(bytes, cutsAt(cuts), 64);
      }),
      { numRuns: 300 },
    );
  });
});
