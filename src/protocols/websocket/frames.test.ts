import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WsFrameParser } from './frames.js';
import { WsMessageAssembler, type WsProblem } from './messages.js';
import { byteByByte, concatBytes, cutsAt, deflateMessages, enc, type Splitter, whole, wsFrame } from '../../../test/support/http.js';

function run(bytes: Uint8Array, split: Splitter = whole, opts: { deflate?: boolean; max?: number } = {}) {
  const texts: string[] = [];
  const problems: WsProblem[] = [];
  const asm = new WsMessageAssembler(
    { text: (t) => texts.push(t), problem: (p) => problems.push(p) },
    opts.max ?? 1 << 20,
    opts.deflate ?? false,
  );
  const parser = new WsFrameParser(asm);
  const cuts = [0, ...split(bytes.length, 0), bytes.length];
  let ok = true;
  for (let k = 0; k + 1 < cuts.length && ok; k++) {
    const piece = bytes.slice(cuts[k], cuts[k + 1]);
    ok = parser.feed(piece, k, k);
    piece.fill(0);
  }
  return { texts, problems, ok, error: parser.error };
}

const mask: [number, number, number, number] = [1, 2, 3, 4];

describe('WsFrameParser', () => {
  it.each([
    ['7-bit length', wsFrame({ opcode: 1, payload: 'short' }), ['short']],
    ['16-bit length', wsFrame({ opcode: 1, payload: 'm'.repeat(1000) }), ['m'.repeat(1000)]],
    ['64-bit length', wsFrame({ opcode: 1, payload: 'm'.repeat(70000) }), ['m'.repeat(70000)]],
    ['non-minimal length form', wsFrame({ opcode: 1, payload: 'hi', lengthForm: 16 }), ['hi']],
    ['masked', wsFrame({ opcode: 1, payload: 'masked text', mask }), ['masked text']],
    ['empty text', wsFrame({ opcode: 1, payload: '' }), ['']],
    [
      'fragments with a ping between',
      concatBytes(
        wsFrame({ opcode: 1, fin: false, payload: 'ab', mask }),
        wsFrame({ opcode: 9, payload: '', mask }),
        wsFrame({ opcode: 0, fin: false, payload: '', mask }),
        wsFrame({ opcode: 0, payload: 'cd', mask }),
      ),
      ['abcd'],
    ],
    ['close frame then nothing', wsFrame({ opcode: 8, payload: new Uint8Array([3, 232]) }), []],
  ])('%s', (_n, bytes, want) => {
    for (const split of [whole, byteByByte]) {
      const r = run(bytes, split);
      expect(r.ok).toBe(true);
      expect(r.texts).toEqual(want);
    }
  });

  it.each([
    ['reserved opcode', new Uint8Array([0x83, 0x00]), 'reserved_opcode'],
    ['RSV2 set', new Uint8Array([0xa1, 0x00]), 'reserved_bits'],
    ['fragmented ping', new Uint8Array([0x09, 0x00]), 'bad_control_frame'],
    ['ping over 125 bytes', wsFrame({ opcode: 9, payload: 'p'.repeat(126) }), 'bad_control_frame'],
    ['continuation first', wsFrame({ opcode: 0, payload: 'x' }), 'bad_sequence'],
    [
      'new text inside a fragmented message',
      concatBytes(wsFrame({ opcode: 1, fin: false, payload: 'a' }), wsFrame({ opcode: 1, payload: 'b' })),
      'bad_sequence',
    ],
    ['64-bit length with the top bit set', new Uint8Array([0x81, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1]), 'bad_length'],
  ])('rejects %s', (_n, bytes, why) => {
    const r = run(concatBytes(bytes, wsFrame({ opcode: 1, payload: 'after' })));
    expect(r.ok).toBe(false);
    expect(r.error).toBe(why);
    expect(r.texts).not.toContain('after');
  });

  it('counts binary messages and drops messages over the cap', () => {
    const r = run(
      concatBytes(
        wsFrame({ opcode: 2, payload: new Uint8Array(10) }),
        wsFrame({ opcode: 1, fin: false, payload: 'x'.repeat(30) }),
        wsFrame({ opcode: 0, payload: 'x'.repeat(30) }),
        wsFrame({ opcode: 1, payload: 'fits' }),
      ),
      whole,
      { max: 50 },
    );
    expect(r.texts).toEqual(['fits']);
    expect(r.problems).toEqual(['ws.binary_message', 'ws.message_too_large']);
  });

  it('inflates permessage-deflate messages without context takeover and counts corrupt ones', () => {
    const [a, b] = deflateMessages(['{"method":"ping"}', 'second']);
    const bytes = concatBytes(
      wsFrame({ opcode: 1, rsv1: true, payload: a!, mask }),
      wsFrame({ opcode: 1, rsv1: true, payload: new Uint8Array([0xff, 0xff, 0xff]), mask }),
      wsFrame({ opcode: 1, rsv1: true, payload: b!, mask }),
    );
    const r = run(bytes, byteByByte, { deflate: true });
    expect(r.texts).toEqual(['{"method":"ping"}', 'second']);
    expect(r.problems).toEqual(['ws.inflate_error']);
  });

  it('gives the same messages however the bytes are split', () => {
    const frameSpec = fc.record({
      kind: fc.constantFrom('text', 'binary', 'ping', 'fragmented'),
      text: fc.string({ maxLength: 200 }),
      masked: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(frameSpec, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (specs, cuts) => {
        const frames = specs.map((s) => {
          const m = s.masked ? mask : undefined;
          if (s.kind === 'text') return wsFrame({ opcode: 1, payload: s.text, mask: m });
          if (s.kind === 'binary') return wsFrame({ opcode: 2, payload: enc(s.text), mask: m });
          if (s.kind === 'ping') return wsFrame({ opcode: 9, payload: s.text.slice(0, 20), mask: m });
          const half = s.text.length >> 1;
          return concatBytes(
            wsFrame({ opcode: 1, fin: false, payload: s.text.slice(0, half), mask: m }),
            wsFrame({ opcode: 0, payload: s.text.slice(half), mask: m }),
          );
        });
        const bytes = concatBytes(...frames);
        const base = run(bytes);
        expect(base.ok).toBe(true);
        expect(base.texts.length).toBe(specs.filter((s) => s.kind === 'text' || s.kind === 'fragmented').length);
        expect(run(bytes, byteByByte)).toEqual(base);
        expect(run(bytes, cutsAt(cuts))).toEqual(base);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), (bytes, deflate, cuts) => {
        run(bytes, cutsAt(cuts), { deflate, max: 100 });
      }),
      { numRuns: 300 },
    );
  });
});
