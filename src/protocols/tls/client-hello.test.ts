import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import net from 'node:net';
import tls from 'node:tls';
import { spawn, spawnSync } from 'node:child_process';
import { Anomalies } from '../../core/anomalies.js';
import { limits } from '../../config/limits.js';
import type { ParserContext } from '../context.js';
import type { Message, TlsClientHello } from '../messages.js';
import type { FlowRef, StreamChunk } from '../../flows/types.js';
import { isTlsStart, parseClientHello, TlsHelloParser, type TlsFeedResult } from './client-hello.js';

function ctx(overrides = {}): ParserContext {
  return { anomalies: new Anomalies(), limits: limits(overrides), file: 't.pcap' };
}
const flow: FlowRef = {
  id: 3, proto: 'tcp', client: { ip: '10.0.0.2', port: 50000 }, server: { ip: '10.0.0.1', port: 443 },
  vlan: [], rolesBy: 'handshake', firstFrame: 1, firstTs: 0,
};

// --- builders ---------------------------------------------------------------------------------

const u16 = (n: number) => [n >> 8, n & 0xff];
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

function ext(type: number, body: number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body];
}
function sniExt(name: string): number[] {
  const entry = [0, ...u16(name.length), ...ascii(name)];
  return ext(0, [...u16(entry.length), ...entry]);
}
function alpnExt(protos: string[]): number[] {
  const list = protos.flatMap((p) => [p.length, ...ascii(p)]);
  return ext(16, [...u16(list.length), ...list]);
}
function versionsExt(vs: number[]): number[] {
  return ext(43, [vs.length * 2, ...vs.flatMap(u16)]);
}

/** A ClientHello handshake body (after the 4-byte header). */
function helloBody(exts: number[][], sessionId = 32): number[] {
  const extBytes = exts.flat();
  return [
    3, 3, ...new Array(32).fill(0x11), // legacy_version, random
    sessionId, ...new Array(sessionId).fill(0x22),
    ...u16(4), 0x13, 0x01, 0xc0, 0x2f, // cipher suites
    1, 0, // compression: null
    ...u16(extBytes.length), ...extBytes,
  ];
}
function handshake(body: number[], type = 1): Uint8Array {
  return new Uint8Array([type, 0, body.length >> 8, body.length & 0xff, ...body]);
}
/** Wrap handshake bytes into TLS records, cutting the handshake at `cuts`. */
function records(hs: Uint8Array, cuts: number[] = []): Uint8Array {
  const out: number[] = [];
  let prev = 0;
  for (const c of [...cuts, hs.length]) {
    const frag = hs.subarray(prev, c);
    out.push(22, 3, 1, ...u16(frag.length), ...frag);
    prev = c;
  }
  return new Uint8Array(out);
}

function feed(bytes: Uint8Array, cuts: number[], c = ctx()): { hellos: TlsClientHello[]; result: TlsFeedResult; c: ParserContext } {
  const hellos: TlsClientHello[] = [];
  const p = new TlsHelloParser(flow, 'c2s', (m: Message) => hellos.push(m as TlsClientHello), c);
  const points = [...new Set(cuts.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
  let prev = 0;
  let result: TlsFeedResult = 'incomplete';
  for (const at of [...points, bytes.length]) {
    const chunk: StreamChunk = { flow, dir: 'c2s', offset: prev, data: bytes.slice(prev, at), gapBefore: 0, frame: 1 + prev, ts: 0 };
    result = p.feed(chunk);
    chunk.data.fill(0xee); // views die with the call
    prev = at;
  }
  p.end();
  return { hellos, result, c };
}

const project = (h: TlsClientHello[]) => h.map((x) => ({ v: x.version, sv: x.supportedVersions, sni: x.sni, alpn: x.alpn }));

const SYNTH = handshake(helloBody([
  versionsExt([0x3a3a, 0x0304, 0x0303]), sniExt('MCP.Example.COM'), alpnExt(['h2', 'http/1.1']), ext(0x0a, [0, 2, 0, 0x1d]),
]));

// --- real ClientHellos ------------------------------------------------------------------------

/** First bytes a TLS client sends to a plain TCP listener on loopback. */
async function captureHello(connect: (port: number) => () => void): Promise<Uint8Array> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      const parts: Buffer[] = [];
      const timer = setTimeout(() => reject(new Error('no hello')), 5000);
      server.on('connection', (sock) => {
        sock.on('data', (d) => {
          parts.push(d);
          const all = Buffer.concat(parts);
          // Complete once the first record (and the hello it announces) is in.
          if (all.length >= 9 && all.length >= 5 + all.readUInt16BE(3)) {
            clearTimeout(timer);
            sock.destroy();
            resolve(new Uint8Array(all));
          }
        });
      });
      const stop = connect(port);
      server.once('close', stop);
    });
  } finally {
    server.close();
  }
}

let nodeHello: Uint8Array;
let opensslHello: Uint8Array | undefined;

beforeAll(async () => {
  nodeHello = await captureHello((port) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'mcp.linear.app', ALPNProtocols: ['h2', 'http/1.1'] });
    s.on('error', () => {});
    return () => s.destroy();
  });
  try {
    opensslHello = await captureHello((port) => {
      const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'api.githubcopilot.com', '-alpn', 'mcp,h2'], { stdio: ['pipe', 'ignore', 'ignore'] });
      p.on('error', () => {});
      return () => p.kill();
    });
  } catch {
    opensslHello = undefined; // openssl missing: the node capture still covers a real stack
  }
}, 20_000);

describe('parseClientHello', () => {
  it('reads SNI (lowercased), ALPN and supported_versions without GREASE', () => {
    const r = parseClientHello(SYNTH.subarray(4));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.hello).toEqual({ version: 0x0303, supportedVersions: [0x0304, 0x0303], sni: 'mcp.example.com', alpn: ['h2', 'http/1.1'] });
  });

  it('accepts a hello without extensions and without SNI', () => {
    const body = helloBody([]).slice(0, -2); // drop the empty extensions length: pre-TLS1.0 style
    const r = parseClientHello(new Uint8Array(body));
    expect(r).toEqual({ ok: true, hello: { version: 0x0303, supportedVersions: [], alpn: [] }, duplicateExtensions: false });
  });

  it('rejects inconsistent lengths with a reason', () => {
    const bad = [...SYNTH.subarray(4)];
    bad[34] = 40; // session id longer than 32
    expect(parseClientHello(new Uint8Array(bad))).toEqual({ ok: false, reason: 'session_id' });
    const cut = SYNTH.subarray(4, SYNTH.length - 3);
    expect(parseClientHello(cut).ok).toBe(false);
    const badSni = handshake(helloBody([ext(0, [0, 9, 0, 0, 3, 0x61])])); // list longer than extension
    expect(parseClientHello(badSni.subarray(4))).toEqual({ ok: false, reason: 'server_name' });
  });

  it('flags duplicate extensions, keeps the first', () => {
    const r = parseClientHello(handshake(helloBody([sniExt('a.example'), sniExt('b.example')])).subarray(4));
    expect(r.ok && r.hello.sni).toBe('a.example');
    expect(r.ok && r.duplicateExtensions).toBe(true);
  });

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => { parseClientHello(b); }), { numRuns: 3000 });
  });
});

describe('TlsHelloParser', () => {
  it('reads a hello in one record', () => {
    const { hellos, result, c } = feed(records(SYNTH), []);
    expect(result).toBe('done');
    expect(project(hellos)).toEqual([{ v: 0x0303, sv: [0x0304, 0x0303], sni: 'mcp.example.com', alpn: ['h2', 'http/1.1'] }]);
    expect(hellos[0]!.frame).toBe(1);
    expect(c.anomalies.total).toBe(0);
  });

  it('reads a hello split across two records and across segments at every offset', () => {
    const want = project(feed(records(SYNTH), []).hellos);
    for (const recCut of [1, 3, 4, 50, SYNTH.length - 1]) {
      const bytes = records(SYNTH, [recCut]);
      expect(project(feed(bytes, []).hellos)).toEqual(want);
      for (let i = 1; i < bytes.length; i++) expect(project(feed(bytes, [i]).hellos), `rec ${recCut} seg ${i}`).toEqual(want);
    }
  });

  it('is chunking invariant (random record and segment splits)', () => {
    const want = project(feed(records(SYNTH), []).hellos);
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: SYNTH.length - 1 }), { maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 12 }),
      (recCuts, segCuts) => {
        const bytes = records(SYNTH, [...new Set(recCuts)].sort((a, b) => a - b));
        const got = feed(bytes, segCuts);
        expect(got.result).toBe('done');
        expect(project(got.hellos)).toEqual(want);
      }));
  });

  it('says not-client-hello for a ServerHello, error for other records', () => {
    expect(feed(records(handshake(helloBody([]), 2)), []).result).toBe('not-client-hello');
    const alert = feed(new Uint8Array([21, 3, 3, 0, 2, 2, 40]), []);
    expect(alert.result).toBe('error');
    expect(alert.c.anomalies.count('tls.unexpected_record')).toBe(1);
  });

  it('caps the hello size', () => {
    const c = ctx({ tlsMaxHelloBytes: 100 });
    const r = feed(records(SYNTH, [50]), [], c);
    expect(r.result).toBe('error');
    expect(c.anomalies.count('tls.hello_too_large')).toBe(1);
  });

  it('counts a hello cut by the end of the stream', () => {
    const r = feed(records(SYNTH).subarray(0, 60), [7]);
    expect(r.hellos).toEqual([]);
    expect(r.c.anomalies.count('tls.hello_incomplete')).toBe(1);
  });

  it('never throws on random streams', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400), { maxLength: 6 }), (b, cuts) => {
      const bytes = b.length > 3 && b[0]! % 2 === 0 ? new Uint8Array([22, 3, 1, ...b]) : b;
      feed(bytes, cuts);
    }), { numRuns: 1000 });
  });
});

describe('real ClientHellos on loopback', () => {
  it('node tls.connect: SNI and ALPN, every segment split', () => {
    expect(isTlsStart(nodeHello)).toBe(true);
    const whole = feed(nodeHello, []);
    expect(whole.result).toBe('done');
    expect(whole.hellos[0]!.sni).toBe('mcp.linear.app');
    expect(whole.hellos[0]!.alpn).toEqual(['h2', 'http/1.1']);
    expect(whole.hellos[0]!.supportedVersions).toContain(0x0304);
    const want = project(whole.hellos);
    for (let i = 1; i < nodeHello.length; i++) expect(project(feed(nodeHello, [i]).hellos)).toEqual(want);
  });

  it('openssl s_client: SNI and ALPN', () => {
    const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
    if (!haveOpenssl) return;
    expect(opensslHello).toBeDefined();
    if (!opensslHello) return;
    const r = feed(opensslHello, [5, 100]);
    expect(r.hellos.map((h) => [h.sni, h.alpn])).toEqual([['api.githubcopilot.com', ['mcp', 'h2']]]);
  });
});
