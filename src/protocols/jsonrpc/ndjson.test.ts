import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Anomalies } from '../../core/anomalies.js';
import { limits } from '../../config/limits.js';
import type { ParserContext } from '../context.js';
import type { JsonRpcMessage, Message } from '../messages.js';
import type { FlowRef, StreamChunk } from '../../flows/types.js';
import { NdjsonStream } from './ndjson.js';

function ctx(overrides = {}): ParserContext {
  return { anomalies: new Anomalies(), limits: limits(overrides), file: 't.pcap' };
}
const flow: FlowRef = {
  id: 8, proto: 'tcp', client: { ip: '10.0.0.2', port: 50000 }, server: { ip: '10.0.0.1', port: 9000 },
  vlan: [], rolesBy: 'handshake', firstFrame: 1, firstTs: 0,
};

function run(bytes: Uint8Array, cuts: number[], c = ctx()): { msgs: JsonRpcMessage[]; c: ParserContext; status: string } {
  const msgs: JsonRpcMessage[] = [];
  const s = new NdjsonStream(flow, 'c2s', (m: Message) => msgs.push(m as JsonRpcMessage), c);
  const points = [...new Set(cuts.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
  let prev = 0;
  let status = 'ok';
  for (const at of [...points, bytes.length]) {
    const chunk: StreamChunk = { flow, dir: 'c2s', offset: prev, data: bytes.slice(prev, at), gapBefore: 0, frame: 100 + prev, ts: 0 };
    status = s.feed(chunk);
    if (status === 'error') break; // the dispatcher stops feeding a direction that failed
    chunk.data.fill(0x7b); // views die with the call: stale bytes would show up as garbage
    prev = at;
  }
  s.end();
  return { msgs, c, status };
}

const project = (ms: JsonRpcMessage[]) => ms.map((m) => ({ t: m.type, id: m.id, method: m.method, params: m.params, result: m.result }));

const STREAM = new TextEncoder().encode(
  '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","clientInfo":{"name":"cl\u00e9"}}}\n' +
  '{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n' +
  '\n' +
  '   \r\n' +
  'not json at all\n' +
  '[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo \\"hi\\""}}]\n' +
  '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"\u{1F600}"}]}}',
);

describe('NdjsonStream', () => {
  it('reads one message per line, LF and CRLF, and a last line without LF at end', () => {
    const { msgs, c, status } = run(STREAM, []);
    expect(status).toBe('ok');
    expect(msgs.map((m) => [m.type, m.method ?? null, m.batchIndex ?? null, m.carrier])).toEqual([
      ['request', 'initialize', null, 'ndjson'],
      ['notification', 'notifications/initialized', null, 'ndjson'],
      ['request', 'tools/list', 0, 'ndjson'],
      ['request', 'tools/call', 1, 'ndjson'],
      ['response', null, null, 'ndjson'],
    ]);
    expect((msgs[0]!.params as { clientInfo: { name: string } }).clientInfo.name).toBe('cl\u00e9');
    expect(msgs[0]!.frame).toBe(100);
    expect(c.anomalies.total).toBe(0);
  });

  it('gives the same messages split at every offset and byte by byte', () => {
    const want = project(run(STREAM, []).msgs);
    for (let i = 1; i < STREAM.length; i++) expect(project(run(STREAM, [i]).msgs), `cut ${i}`).toEqual(want);
    expect(project(run(STREAM, Array.from({ length: STREAM.length }, (_, i) => i)).msgs)).toEqual(want);
  });

  it('is chunking invariant (random splits)', () => {
    const want = project(run(STREAM, []).msgs);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 30 }), (cuts) => {
      expect(project(run(STREAM, cuts).msgs)).toEqual(want);
    }));
  });

  it('frame is that of the line\'s first byte', () => {
    const line = '{"jsonrpc":"2.0","id":1,"method":"a"}\n';
    const bytes = new TextEncoder().encode(line + line);
    // Chunks start at 0, line+3 (second line began in the first chunk), line+10.
    expect(run(bytes, [line.length + 3, line.length + 10]).msgs.map((m) => m.frame)).toEqual([100, 100]);
    // Chunks start at 0, line-3 (second line begins inside the second chunk).
    expect(run(bytes, [line.length - 3]).msgs.map((m) => m.frame)).toEqual([100, 100 + line.length - 3]);
    expect(run(bytes, [line.length]).msgs.map((m) => m.frame)).toEqual([100, 100 + line.length]);
  });

  it('skips a line over the cap and carries on, however it is split', () => {
    const big = `{"jsonrpc":"2.0","id":1,"method":"x","params":{"p":"${'a'.repeat(200)}"}}\n`;
    const ok = '{"jsonrpc":"2.0","id":2,"method":"y"}\n';
    const bytes = new TextEncoder().encode(ok + big + ok);
    for (const cuts of [[], [50], [ok.length + 10, ok.length + 100], Array.from({ length: bytes.length }, (_, i) => i)]) {
      const c = ctx({ ndjsonMaxLineBytes: 100 });
      const { msgs } = run(bytes, cuts, c);
      expect(msgs.map((m) => m.id)).toEqual([2, 2]);
      expect(c.anomalies.count('ndjson.line_too_large')).toBe(1);
    }
  });

  it('resynchronises at the next LF after a gap', () => {
    const c = ctx();
    const msgs: JsonRpcMessage[] = [];
    const s = new NdjsonStream(flow, 'c2s', (m) => msgs.push(m as JsonRpcMessage), c);
    const enc = (t: string) => new TextEncoder().encode(t);
    s.feed({ flow, dir: 'c2s', offset: 0, data: enc('{"jsonrpc":"2.0","id":1,"meth'), gapBefore: 0, frame: 1, ts: 0 });
    s.feed({ flow, dir: 'c2s', offset: 40, data: enc('od":"a"}\n{"jsonrpc":"2.0","id":2,"method":"b"}\n'), gapBefore: 10, frame: 2, ts: 0 });
    s.end();
    expect(msgs.map((m) => m.method)).toEqual(['b']);
    expect(c.anomalies.count('ndjson.gap')).toBe(1);
  });

  it('gives up on a stream that only looked like JSON', () => {
    const feedAll = (bytes: Uint8Array) => {
      const c = ctx();
      const msgs: Message[] = [];
      const s = new NdjsonStream(flow, 'c2s', (m) => msgs.push(m), c);
      const status = s.feed({ flow, dir: 'c2s', offset: 0, data: bytes, gapBefore: 0, frame: 1, ts: 0 });
      return { status, msgs, c };
    };
    const binary = feedAll(new Uint8Array([0x7b, 0x01, 0x02, 0x00, 0x41]));
    expect(binary.status).toBe('error');
    expect(binary.c.anomalies.count('ndjson.not_json')).toBe(1);
    const text = feedAll(new TextEncoder().encode('{ not json\n[also not\n{nope\n{"jsonrpc":"2.0","method":"late"}\n'));
    expect(text.status).toBe('error');
    expect(text.msgs).toEqual([]);
    // One stray log line before the JSON is tolerated, and once JSON was seen nothing gives up.
    const log = feedAll(new TextEncoder().encode('{starting}\n{"jsonrpc":"2.0","method":"a"}\nx\ny\nz\n\u0001\n{"jsonrpc":"2.0","method":"b"}\n'));
    expect(log.status).toBe('ok');
    expect(log.msgs.map((m) => (m as JsonRpcMessage).method)).toEqual(['a', 'b']);
    expect(log.c.anomalies.count('ndjson.not_json')).toBe(0);
  });

  it('is chunking invariant on random mixes of lines (messages, status and anomalies)', () => {
    const lineArb = fc.oneof(
      fc.constant('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'),
      fc.constant('[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":"x","result":{}}]'),
      fc.constant('{"jsonrpc":"2.0","id":1'),
      fc.constant('  \r'),
      fc.constant('{"a":1}'),
      fc.constant('plain text'),
      fc.constant('{bin\u0001ary'),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(fc.property(
      fc.array(lineArb, { maxLength: 12 }), fc.boolean(), fc.array(fc.nat(600), { maxLength: 10 }),
      (lines, crlf, cuts) => {
        const bytes = new TextEncoder().encode(lines.join(crlf ? '\r\n' : '\n'));
        const view = (r: ReturnType<typeof run>) => ({ m: project(r.msgs), s: r.status, a: r.c.anomalies.summary().map((x) => [x.name, x.count]) });
        const c = { ndjsonMaxLineBytes: 48 };
        expect(view(run(bytes, cuts, ctx(c)))).toEqual(view(run(bytes, [], ctx(c))));
      }), { numRuns: 500 });
  });

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), fc.array(fc.nat(500), { maxLength: 8 }), (b, cuts) => {
      run(b, cuts, ctx({ ndjsonMaxLineBytes: 64 }));
    }), { numRuns: 500 });
  });
});
