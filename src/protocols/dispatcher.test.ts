import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import { Anomalies } from '../core/anomalies.js';
import { limits } from '../config/limits.js';
import type { ParserContext } from './context.js';
import type { DnsMessage, JsonRpcMessage, Message, TlsClientHello } from './messages.js';
import type { Dir, FlowRef, StreamChunk } from '../flows/types.js';
import { Dispatcher } from './dispatcher.js';

const enc = new TextEncoder();

function tcpFlow(id: number, serverPort: number): FlowRef {
  return {
    id, proto: 'tcp', client: { ip: '10.0.0.2', port: 40000 + id }, server: { ip: '10.0.0.1', port: serverPort },
    vlan: [], rolesBy: 'handshake', firstFrame: 1, firstTs: 0,
  };
}
/** A flow whose capture began mid-connection: roles guessed, first bytes may be inside a message. */
function midFlow(id: number, serverPort: number): FlowRef {
  return { ...tcpFlow(id, serverPort), rolesBy: 'heuristic' };
}
function udpFlow(id: number, serverPort: number): FlowRef {
  return { ...tcpFlow(id, serverPort), proto: 'udp', rolesBy: 'heuristic' };
}

interface Harness {
  d: Dispatcher;
  msgs: Message[];
  ignored: string[];
  c: ParserContext;
  /** Feed one direction's bytes, cut at the given offsets. Chunk views are wiped after each call. */
  send(flow: FlowRef, dir: Dir, bytes: Uint8Array | string, cuts?: number[]): void;
}

function harness(overrides = {}, strict = true): Harness {
  const msgs: Message[] = [];
  const ignored: string[] = [];
  const c: ParserContext = { anomalies: new Anomalies(), limits: limits(overrides), file: 't.pcap' };
  const d = new Dispatcher((m) => msgs.push(m), c, { ignore: (f, dir) => ignored.push(`${f.id}:${dir}`) }, { strict });
  const offsets = new Map<string, number>();
  let frame = 1;
  const send = (flow: FlowRef, dir: Dir, input: Uint8Array | string, cuts: number[] = []) => {
    const bytes = typeof input === 'string' ? enc.encode(input) : input;
    const key = `${flow.id}:${dir}`;
    const points = [...new Set(cuts.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
    let prev = 0;
    for (const at of [...points, bytes.length]) {
      const base = offsets.get(key) ?? 0;
      const chunk: StreamChunk = { flow, dir, offset: base, data: bytes.slice(prev, at), gapBefore: 0, frame: frame++, ts: 0 };
      // A flow table stops delivering an ignored direction.
      if (!ignored.includes(key)) d.onChunk(chunk);
      chunk.data.fill(0xee);
      offsets.set(key, base + at - prev);
      prev = at;
    }
  };
  return { d, msgs, ignored, c, send };
}

const rpc = (msgs: Message[]) => msgs.filter((m): m is JsonRpcMessage => m.kind === 'jsonrpc');

// --- builders reused from the TLS and DNS tests, kept small here ------------------------------

function clientHello(sni: string, alpn: string[]): Uint8Array {
  const u16 = (n: number) => [n >> 8, n & 0xff];
  const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
  const sniEntry = [0, ...u16(sni.length), ...ascii(sni)];
  const sniExt = [0, 0, ...u16(sniEntry.length + 2), ...u16(sniEntry.length), ...sniEntry];
  const alpnList = alpn.flatMap((p) => [p.length, ...ascii(p)]);
  const alpnExt = [0, 16, ...u16(alpnList.length + 2), ...u16(alpnList.length), ...alpnList];
  const exts = [...sniExt, ...alpnExt];
  const body = [3, 3, ...new Array(32).fill(1), 0, 0, 2, 0x13, 0x01, 1, 0, ...u16(exts.length), ...exts];
  const hs = [1, 0, ...u16(body.length), ...body];
  return new Uint8Array([22, 3, 1, ...u16(hs.length), ...hs]);
}

function dnsTcp(...msgs: Uint8Array[]): Uint8Array {
  return new Uint8Array(msgs.flatMap((m) => [m.length >> 8, m.length & 0xff, ...m]));
}
const query = (name: string, id = 1) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
const answer = (name: string, ip: string, id = 1) =>
  dnsPacket.encode({ type: 'response', id, questions: [{ type: 'A', name }], answers: [{ type: 'A', name, ttl: 30, data: ip }] });

// ------------------------------------------------------------------------------------------------

describe('Dispatcher: NDJSON', () => {
  const c2s = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n';
  const s2c = '{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"s"}}}\n';

  it('finds JSON-RPC lines in both directions on any port', () => {
    const h = harness();
    const f = tcpFlow(1, 7777);
    h.send(f, 'c2s', c2s);
    h.send(f, 's2c', s2c);
    h.d.onFlowEnd(f, 'fin');
    expect(rpc(h.msgs).map((m) => [m.dir, m.type, m.method ?? null, m.carrier])).toEqual([
      ['c2s', 'request', 'initialize', 'ndjson'],
      ['c2s', 'notification', 'notifications/initialized', 'ndjson'],
      ['s2c', 'response', null, 'ndjson'],
    ]);
    expect(h.d.protocolCounts()).toEqual({ 'tcp/ndjson': 1 });
    expect(h.ignored).toEqual([]);
  });

  it('decides after leading whitespace split over chunks, byte by byte', () => {
    const h = harness();
    const f = tcpFlow(2, 7777);
    const text = '  \r\n' + c2s;
    h.send(f, 'c2s', text, Array.from({ length: text.length }, (_, i) => i));
    h.d.onStreamEnd(f, 'c2s', 'fin');
    expect(rpc(h.msgs).map((m) => m.method)).toEqual(['initialize', 'notifications/initialized']);
  });

  it('is chunking invariant through the sniff buffer', () => {
    const text = '\n\n' + c2s;
    const want = (() => {
      const h = harness();
      h.send(tcpFlow(3, 1), 'c2s', text);
      h.d.onFlowEnd(tcpFlow(3, 1), 'eof');
      return rpc(h.msgs).map((m) => [m.type, m.method, m.id]);
    })();
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 10 }), (cuts) => {
      const h = harness();
      h.send(tcpFlow(3, 1), 'c2s', text, cuts);
      h.d.onFlowEnd(tcpFlow(3, 1), 'eof');
      expect(rpc(h.msgs).map((m) => [m.type, m.method, m.id])).toEqual(want);
    }));
  });
});

describe('Dispatcher: TLS', () => {
  it('emits the ClientHello and ignores both directions', () => {
    const h = harness();
    const f = tcpFlow(4, 443);
    const hello = clientHello('mcp.example.com', ['h2']);
    h.send(f, 'c2s', hello, [2, 40]);
    const hellos = h.msgs.filter((m): m is TlsClientHello => m.kind === 'tls.client_hello');
    expect(hellos.map((x) => [x.sni, x.alpn, x.dir])).toEqual([['mcp.example.com', ['h2'], 'c2s']]);
    expect(h.ignored.sort()).toEqual(['4:c2s', '4:s2c']);
    expect(h.d.protocolCounts()).toEqual({ 'tcp/tls': 1 });
  });

  it('the server side is ignored as soon as the client starts TLS, before the hello is complete', () => {
    const h = harness();
    const f = tcpFlow(9, 8443);
    const hello = clientHello('x.example', ['h2']);
    h.send(f, 'c2s', hello.subarray(0, 10));
    expect(h.ignored).toEqual(['9:s2c']);
    expect(h.msgs).toEqual([]);
    h.send(f, 'c2s', hello.subarray(10));
    expect(h.msgs.map((m) => (m as TlsClientHello).sni)).toEqual(['x.example']);
    expect(h.ignored).toEqual(['9:s2c', '9:c2s']);
  });

  it('a server that speaks first with a TLS record is ignored; the client hello is still read', () => {
    const h = harness();
    const f = tcpFlow(5, 8443);
    h.send(f, 's2c', new Uint8Array([22, 3, 3, 0, 4, 2, 0, 0, 0]));
    expect(h.ignored).toEqual(['5:s2c']);
    h.send(f, 'c2s', clientHello('a.example', []));
    expect(h.msgs.map((m) => m.kind)).toEqual(['tls.client_hello']);
    expect(h.ignored).toEqual(['5:s2c', '5:c2s']);
  });
});

describe('Dispatcher: DNS', () => {
  it('DNS over TCP on port 53, messages split across chunks', () => {
    const h = harness();
    const f = tcpFlow(6, 53);
    const q = dnsTcp(query('mcp.Example.com', 7), query('b.example', 8));
    h.send(f, 'c2s', q, [1, 5, 20]);
    h.send(f, 's2c', dnsTcp(answer('mcp.example.com', '192.0.2.1', 7)), [3]);
    h.d.onFlowEnd(f, 'fin');
    const dns = h.msgs.filter((m): m is DnsMessage => m.kind === 'dns');
    expect(dns.map((m) => [m.dir, m.transport, m.id, m.questions[0]!.name, m.answers.map((a) => a.data)])).toEqual([
      ['c2s', 'tcp', 7, 'mcp.example.com', []],
      ['c2s', 'tcp', 8, 'b.example', []],
      ['s2c', 'tcp', 7, 'mcp.example.com', ['192.0.2.1']],
    ]);
    expect(h.d.protocolCounts()).toEqual({ 'tcp/dns': 1 });
  });

  it('a large DNS-over-TCP response whose first segment is tiny', () => {
    const h = harness();
    const f = tcpFlow(8, 53);
    const big = dnsPacket.encode({
      type: 'response', id: 9, questions: [{ type: 'TXT', name: 'big.example' }],
      answers: Array.from({ length: 8 }, (_, i) => ({ type: 'TXT' as const, name: 'big.example', ttl: 1, data: `${i}`.repeat(60) })),
    });
    expect(big.length).toBeGreaterThan(255); // length prefix high byte is not 0
    h.send(f, 's2c', dnsTcp(big), [1, 2, 7]);
    h.d.onFlowEnd(f, 'fin');
    const dns = h.msgs.filter((m): m is DnsMessage => m.kind === 'dns');
    expect(dns.map((m) => [m.id, m.answers.length])).toEqual([[9, 8]]);
  });

  it('binary on a non-DNS TCP port is not taken as DNS', () => {
    const h = harness();
    const f = tcpFlow(7, 4000);
    h.send(f, 'c2s', dnsTcp(query('x.example')));
    expect(h.msgs).toEqual([]);
    expect(h.ignored).toEqual(['7:c2s']);
    expect(h.c.anomalies.count('stream.unknown_protocol')).toBe(1);
  });

  it('UDP: DNS ports always, other ports only when the payload is plausible DNS', () => {
    const h = harness();
    h.d.onDatagram(udpFlow(10, 53), 'c2s', query('a.example'), 1, 0);
    h.d.onDatagram(udpFlow(11, 5353), 's2c', answer('printer.local', '192.0.2.9'), 2, 0);
    h.d.onDatagram(udpFlow(12, 5355), 'c2s', new Uint8Array([1, 2, 3]), 3, 0); // malformed on LLMNR port
    h.d.onDatagram(udpFlow(13, 9999), 'c2s', query('odd-port.example'), 4, 0);
    h.d.onDatagram(udpFlow(14, 443), 'c2s', new Uint8Array([0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0]), 5, 0);
    h.d.onDatagram(udpFlow(14, 443), 'c2s', query('late.example'), 6, 0); // flow already decided: not DNS
    const dns = h.msgs.filter((m): m is DnsMessage => m.kind === 'dns');
    expect(dns.map((m) => [m.flow.id, m.transport, m.questions[0]!.name, m.frame])).toEqual([
      [10, 'udp', 'a.example', 1],
      [11, 'udp', 'printer.local', 2],
      [13, 'udp', 'odd-port.example', 4],
    ]);
    expect(h.c.anomalies.count('dns.malformed')).toBe(1);
    for (const id of [10, 11, 12, 13, 14]) h.d.onFlowEnd(udpFlow(id, 0), 'idle');
    expect(h.d.protocolCounts()).toEqual({ 'udp/dns': 4, 'udp/other': 1 });
  });
});

describe('Dispatcher: LSP and unknown', () => {
  it('Content-Length framed JSON-RPC is LSP: no JsonRpcMessage, direction ignored', () => {
    const h = harness();
    const f = tcpFlow(20, 7777);
    const body = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":1,"rootUri":null}}';
    const framed = `Content-Length: ${body.length}\r\n\r\n${body}`;
    h.send(f, 'c2s', framed, [3, 9]); // "Con" "tent-L" ...: undecided until the token is whole
    h.send(f, 's2c', `content-length: 2\r\n\r\n{}`);
    expect(h.msgs).toEqual([]);
    expect(h.ignored).toEqual(['20:c2s', '20:s2c']);
    expect(h.c.anomalies.count('stream.unknown_protocol')).toBe(0);
    expect(h.d.protocolCounts()).toEqual({ 'tcp/lsp': 1 });
  });

  it('unknown bytes: ignored and counted straight away when nothing can match', () => {
    const h = harness();
    const f = tcpFlow(21, 22);
    h.send(f, 's2c', 'SSH-2.0-OpenSSH_9.6\r\n');
    expect(h.ignored).toEqual(['21:s2c']);
    expect(h.c.anomalies.count('stream.unknown_protocol')).toBe(1);
    h.send(f, 'c2s', new Uint8Array([0, 0, 0, 0x2c, 0x14]));
    expect(h.ignored).toEqual(['21:s2c', '21:c2s']);
    h.d.onFlowEnd(f, 'fin');
    expect(h.d.protocolCounts()).toEqual({ 'tcp/unknown': 1 });
  });

  it('undecided bytes are buffered up to the sniff cap, then unknown', () => {
    const h = harness({ protocolSniffBytes: 64 });
    const f = tcpFlow(22, 1234);
    for (let i = 0; i < 10; i++) h.send(f, 'c2s', '        '); // whitespace only: could still be JSON
    expect(h.ignored).toEqual(['22:c2s']);
    expect(h.c.anomalies.count('stream.unknown_protocol')).toBe(1);
  });

  it('a chunk that crosses the sniff cap is decided on the first bytes, and delivered whole', () => {
    const h = harness({ protocolSniffBytes: 64 });
    const f = tcpFlow(24, 1234);
    for (let i = 0; i < 6; i++) h.send(f, 'c2s', '\r\n        '); // 60 bytes of blank lines
    h.send(f, 'c2s', '{"jsonrpc":"2.0","id":5,"method":"tools/list"}\n{"jsonrpc":"2.0","method":"x"}\n');
    h.d.onFlowEnd(f, 'fin');
    // The first line began with the spaces sent in frame 6.
    expect(rpc(h.msgs).map((m) => [m.method, m.frame])).toEqual([['tools/list', 6], ['x', 7]]);
    expect(h.ignored).toEqual([]);
  });

  it('a direction that ends while undecided is decided on what it had', () => {
    const h = harness();
    const f = tcpFlow(23, 1234);
    h.send(f, 'c2s', '{"jsonrpc":"2.0","method":"ping"}'); // decided at once: NDJSON, flushed at end
    h.send(f, 's2c', 'HTT'); // could still become "HTTP/1.": undecided until the end
    h.d.onFlowEnd(f, 'rst');
    expect(rpc(h.msgs).map((m) => m.method)).toEqual(['ping']);
    expect(h.c.anomalies.count('stream.unknown_protocol')).toBe(1);
  });

  it('flows without payload count as empty; state is dropped at flow end', () => {
    const h = harness();
    h.d.onFlowEnd(tcpFlow(30, 80), 'fin');
    h.send(tcpFlow(31, 80), 'c2s', '{');
    expect(h.d.protocolCounts()).toEqual({ 'tcp/empty': 1, 'tcp/ndjson': 1 });
    h.d.onFlowEnd(tcpFlow(31, 80), 'fin');
    h.d.onFlowEnd(tcpFlow(31, 80), 'fin'); // unknown id now: no state kept, counted as empty
    expect(h.d.protocolCounts()).toEqual({ 'tcp/empty': 2, 'tcp/ndjson': 1 });
  });
});

describe('Dispatcher: captures that begin mid-connection', () => {
  it('NDJSON: starts at the first whole JSON line', () => {
    const h = harness();
    const f = midFlow(70, 7000);
    h.send(f, 'c2s', 'ams":{"name":"x"}}\n{"jsonrpc":"2.0","id":2,"method":"tools/call"}\n{"jsonrpc":"2.0","method":"n"}\n', [5, 30]);
    h.d.onFlowEnd(f, 'eof');
    expect(rpc(h.msgs).map((m) => [m.method, m.id ?? null])).toEqual([['tools/call', 2], ['n', null]]);
    expect(h.c.anomalies.total).toBe(0);
  });

  it('HTTP: starts at the next request line', () => {
    const h = harness();
    const f = midFlow(71, 8080);
    h.send(f, 'c2s', 'ue\r\nAccept: */*\r\n\r\nGET /sse HTTP/1.1\r\nHost: mcp.local\r\n\r\n', [3]);
    h.d.onFlowEnd(f, 'eof');
    expect(h.msgs.map((m) => (m.kind === 'http.request' ? `${m.method} ${m.target}` : m.kind))).toEqual(['GET /sse']);
  });

  it('HTTP: a header line at the capture start is not LSP', () => {
    const h = harness();
    const f = midFlow(74, 8080);
    h.send(f, 'c2s', 'Content-Type: application/json\r\n\r\nPOST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}', [20]);
    h.d.onFlowEnd(f, 'eof');
    expect(h.msgs.map((m) => (m.kind === 'http.request' ? `${m.method} ${m.target}` : m.kind))).toEqual(['POST /mcp']);
    // and real LSP mid-stream is still LSP once nothing else shows up
    const l = harness();
    const g = midFlow(75, 7000);
    l.send(g, 'c2s', 'Content-Length: 2\r\n\r\n{}Content-Length: 2\r\n\r\n{}');
    l.d.onFlowEnd(g, 'eof');
    expect(l.d.protocolCounts()).toEqual({ 'tcp/lsp': 1 });
    expect(l.msgs).toEqual([]);
  });

  it('TLS records after the handshake: ignored, counted as TLS', () => {
    const h = harness();
    const f = midFlow(72, 443);
    h.send(f, 's2c', new Uint8Array([23, 3, 3, 0, 5, 1, 2, 3, 4, 5]));
    expect(h.ignored).toEqual(['72:s2c']);
    expect(h.c.anomalies.total).toBe(0);
    expect(h.d.protocolCounts()).toEqual({ 'tcp/tls': 1 });
  });

  it('with a handshake seen, the first byte must start a message', () => {
    const h = harness();
    const f = tcpFlow(73, 7000);
    h.send(f, 'c2s', 'ams":{}}\n{"jsonrpc":"2.0","id":2,"method":"tools/call"}\n');
    expect(h.msgs).toEqual([]);
    expect(h.ignored).toEqual(['73:c2s']);
  });
});

describe('Dispatcher: robustness', () => {
  it('is chunking invariant across protocols (messages, ignores, anomalies, counts)', () => {
    const flows: Array<[FlowRef, Dir, Uint8Array]> = [
      [tcpFlow(60, 7000), 'c2s', enc.encode('\n{"jsonrpc":"2.0","id":1,"method":"tools/list"}\r\n{"jsonrpc":"2.0","method":"n"}\n')],
      [tcpFlow(60, 7000), 's2c', enc.encode('{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}\n')],
      [tcpFlow(61, 443), 'c2s', clientHello('mcp.example.com', ['h2', 'http/1.1'])],
      [tcpFlow(62, 53), 'c2s', dnsTcp(query('a.example', 1), query('b.example', 2))],
      [tcpFlow(63, 7777), 'c2s', enc.encode('Content-Length: 2\r\n\r\n{}')],
      [tcpFlow(64, 22), 'c2s', enc.encode('SSH-2.0-x\r\n')],
      [tcpFlow(65, 1), 'c2s', enc.encode('                                        ')],
      [midFlow(66, 7000), 'c2s', enc.encode('e":"x"}}\n{"jsonrpc":"2.0","id":3,"method":"tools/call"}\n')],
      [midFlow(67, 443), 's2c', new Uint8Array([23, 3, 3, 0, 5, 1, 2, 3, 4, 5])],
      // no line end within the sniff cap: unknown, whatever the split
      [midFlow(68, 7000), 'c2s', enc.encode(`${'x'.repeat(70)}\n{"jsonrpc":"2.0","method":"m"}\n`)],
    ];
    const view = (cuts: number[]) => {
      const h = harness({ protocolSniffBytes: 64 });
      for (const [f, dir, bytes] of flows) h.send(f, dir, bytes, cuts);
      for (const id of [60, 61, 62, 63, 64, 65, 66, 67, 68]) h.d.onFlowEnd(tcpFlow(id, 0), 'fin');
      return {
        msgs: h.msgs.map((m) => JSON.stringify({ ...m, flow: m.flow.id, frame: undefined })),
        ignored: [...h.ignored].sort(),
        anomalies: h.c.anomalies.summary().map((x) => [x.name, x.count]),
        counts: h.d.protocolCounts(),
      };
    };
    const whole = view([]);
    expect(whole.msgs).toHaveLength(7); // 4 NDJSON, 1 ClientHello, 2 DNS
    expect(whole.counts).toEqual({ 'tcp/dns': 1, 'tcp/lsp': 1, 'tcp/ndjson': 2, 'tcp/tls': 2, 'tcp/unknown': 3 });
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 10 }), (cuts) => {
      expect(view(cuts)).toEqual(whole);
    }), { numRuns: 300 });
  });

  it('never throws on random streams in both directions (strict: parser bugs surface)', () => {
    fc.assert(fc.property(
      fc.constantFrom(53, 80, 443, 3000, 5353),
      fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }),
      fc.boolean(),
      (port, a, b, cuts, tlsPrefix) => {
        const h = harness({ protocolSniffBytes: 128 });
        const f = tcpFlow(40, port);
        h.send(f, 'c2s', tlsPrefix ? new Uint8Array([22, 3, 1, ...a]) : a, cuts);
        h.send(f, 's2c', b, cuts);
        h.d.onDatagram(udpFlow(41, port), 'c2s', a, 1, 0);
        h.d.onFlowEnd(f, 'eof');
      }), { numRuns: 500 });
  });

  it('non-strict: an exception in a parser becomes parser.internal_error and switches that parser off', () => {
    const msgs: Message[] = [];
    const ignored: string[] = [];
    const c: ParserContext = { anomalies: new Anomalies(), limits: limits(), file: 't.pcap' };
    let calls = 0;
    const sink = (m: Message) => {
      msgs.push(m);
      calls++;
      if (m.kind === 'jsonrpc' && m.method === 'boom') throw new Error('sink bug');
    };
    const d = new Dispatcher(sink, c, { ignore: (f, dir) => ignored.push(`${f.id}:${dir}`) });
    const f = tcpFlow(50, 9000);
    const chunk = (text: string, offset: number): StreamChunk =>
      ({ flow: f, dir: 'c2s', offset, data: enc.encode(text), gapBefore: 0, frame: 1, ts: 0 });
    d.onChunk(chunk('{"jsonrpc":"2.0","method":"ok"}\n{"jsonrpc":"2.0","method":"boom"}\n', 0));
    d.onChunk(chunk('{"jsonrpc":"2.0","method":"after"}\n', 64)); // parser is off: dropped
    expect(msgs.map((m) => (m as JsonRpcMessage).method)).toEqual(['ok', 'boom']);
    expect(calls).toBe(2);
    expect(c.anomalies.count('parser.internal_error')).toBe(1);
    expect(c.anomalies.summary().find((s) => s.name === 'parser.internal_error')!.examples[0]!.detail).toMatch(/^ndjson: sink bug/);
    expect(ignored).toEqual(['50:c2s']);
    // strict rethrows
    const strict = new Dispatcher(sink, c, { ignore: () => {} }, { strict: true });
    expect(() => strict.onChunk(chunk('{"jsonrpc":"2.0","method":"boom"}\n', 0))).toThrow('sink bug');
  });
});
