// Generate a large synthetic pcap for `npm run bench` (never committed): thousands of interleaved flows of
// MCP Streamable HTTP, legacy HTTP+SSE, plain HTTP downloads, TLS bulk and DNS, as classic pcap on Ethernet.
// Usage: node scripts/bench/generate.mjs OUT.pcap SIZE_MB
import { createWriteStream } from 'node:fs';

const out = process.argv[2];
const targetBytes = Number(process.argv[3] ?? 1024) * 1024 * 1024;
if (!out) {
  console.error('usage: generate.mjs OUT.pcap SIZE_MB');
  process.exit(2);
}

const MSS = 1448;
const CONCURRENT = 256;
let ts = 1_764_000_000; // seconds
let tsUs = 0;

function u16(b, o, v) { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; }
function u32(b, o, v) { b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff; }

function ipv4Checksum(b, o) {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (b[o + i] << 8) | b[o + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** One Ethernet/IPv4/TCP-or-UDP frame. */
function frame(src, dst, sport, dport, proto, seq, ack, flags, payload) {
  const l4 = proto === 6 ? 20 : 8;
  const len = 14 + 20 + l4 + payload.length;
  const b = Buffer.alloc(len);
  b.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2], 0);
  u16(b, 12, 0x0800);
  b[14] = 0x45; u16(b, 16, 20 + l4 + payload.length); u16(b, 18, 0); u16(b, 20, 0x4000); b[22] = 64; b[23] = proto;
  b.set(src, 26); b.set(dst, 30); u16(b, 24, ipv4Checksum(b, 14));
  if (proto === 6) {
    u16(b, 34, sport); u16(b, 36, dport); u32(b, 38, seq); u32(b, 42, ack); b[46] = 0x50; b[47] = flags; u16(b, 48, 65535);
  } else {
    u16(b, 34, sport); u16(b, 36, dport); u16(b, 38, 8 + payload.length);
  }
  b.set(payload, 34 + l4);
  return b;
}

/** A TCP conversation: handshake, then alternating messages split into MSS segments, then FIN. */
function* tcpSession(cli, srv, cport, sport, messages) {
  // Deterministic ISNs (some near 2^32, so sequence wraparound is exercised) keep a smaller file a prefix of a larger one.
  let cseq = (Math.imul(cport, 2654435761) + sport) >>> 0;
  let sseq = (Math.imul(cport ^ 0x5bd1e995, 2246822519) - 4096) >>> 0;
  yield frame(cli, srv, cport, sport, 6, cseq, 0, 0x02, Buffer.alloc(0));
  yield frame(srv, cli, sport, cport, 6, sseq, (cseq + 1) >>> 0, 0x12, Buffer.alloc(0));
  cseq = (cseq + 1) >>> 0; sseq = (sseq + 1) >>> 0;
  yield frame(cli, srv, cport, sport, 6, cseq, sseq, 0x10, Buffer.alloc(0));
  for (const [fromClient, data] of messages) {
    for (let o = 0; o < data.length; o += MSS) {
      const part = data.subarray(o, Math.min(o + MSS, data.length));
      if (fromClient) { yield frame(cli, srv, cport, sport, 6, cseq, sseq, 0x18, part); cseq = (cseq + part.length) >>> 0; }
      else { yield frame(srv, cli, sport, cport, 6, sseq, cseq, 0x18, part); sseq = (sseq + part.length) >>> 0; }
    }
  }
  yield frame(cli, srv, cport, sport, 6, cseq, sseq, 0x11, Buffer.alloc(0));
  yield frame(srv, cli, sport, cport, 6, sseq, (cseq + 1) >>> 0, 0x11, Buffer.alloc(0));
  yield frame(cli, srv, cport, sport, 6, (cseq + 1) >>> 0, (sseq + 1) >>> 0, 0x10, Buffer.alloc(0));
}

const enc = (s) => Buffer.from(s, 'utf8');
const rpc = (o) => JSON.stringify({ jsonrpc: '2.0', ...o });

function httpReq(method, path, host, headers, body = '') {
  const h = [`${method} ${path} HTTP/1.1`, `host: ${host}`, ...headers];
  if (body) h.push(`content-length: ${Buffer.byteLength(body)}`);
  return enc(`${h.join('\r\n')}\r\n\r\n${body}`);
}
function httpRes(status, headers, body = '') {
  return enc(`HTTP/1.1 ${status} OK\r\n${[...headers, `content-length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`);
}

function mcpStreamable(host, i) {
  const accept = 'accept: application/json, text/event-stream';
  const ct = 'content-type: application/json';
  const init = rpc({ id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-client', version: '1.0.0' } } });
  const initRes = `event: message\ndata: ${rpc({ id: 0, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bench-server', version: '1.0.0' } } })}\n\n`;
  const call = rpc({ id: 1, method: 'tools/call', params: { name: 'search', arguments: { q: `query ${i}`, pad: 'x'.repeat(2000) } } });
  const callRes = rpc({ id: 1, result: { content: [{ type: 'text', text: 'r'.repeat(6000) }] } });
  return [
    [true, httpReq('POST', '/mcp', host, [accept, ct], init)],
    [false, enc(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nmcp-session-id: s-${i}\r\ntransfer-encoding: chunked\r\n\r\n${initRes.length.toString(16)}\r\n${initRes}\r\n0\r\n\r\n`)],
    [true, httpReq('POST', '/mcp', host, [accept, ct, `mcp-session-id: s-${i}`, 'mcp-protocol-version: 2025-06-18'], rpc({ method: 'notifications/initialized' }))],
    [false, enc('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n')],
    [true, httpReq('POST', '/mcp', host, [accept, ct, `mcp-session-id: s-${i}`, 'mcp-protocol-version: 2025-06-18'], call)],
    [false, httpRes(200, ['content-type: application/json'], callRes)],
  ];
}

function legacySse(host, i) {
  let events = `event: endpoint\ndata: /messages?sessionId=${i}\n\n`;
  for (let k = 0; k < 20; k++) events += `event: message\ndata: ${rpc({ id: k, result: { tools: [{ name: `t${k}`, description: 'd'.repeat(300) }] } })}\n\n`;
  return [
    [true, httpReq('GET', '/sse', host, ['accept: text/event-stream'])],
    [false, enc(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n${events}`)],
  ];
}

function download(host, size) {
  return [
    [true, httpReq('GET', '/files/blob.bin', host, ['accept: */*'])],
    [false, Buffer.concat([enc(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${size}\r\n\r\n`), Buffer.alloc(size, 0x5a)])],
  ];
}

function clientHello(sni) {
  const name = enc(sni);
  const sniExt = Buffer.alloc(9 + name.length);
  u16(sniExt, 0, 0); u16(sniExt, 2, 5 + name.length); u16(sniExt, 4, 3 + name.length); sniExt[6] = 0; u16(sniExt, 7, name.length); sniExt.set(name, 9);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), Buffer.from([0, 2, 0x13, 0x01]), Buffer.from([1, 0]), Buffer.from([(sniExt.length >> 8) & 0xff, sniExt.length & 0xff]), sniExt]);
  const hs = Buffer.concat([Buffer.from([1, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, (hs.length >> 8) & 0xff, hs.length & 0xff]), hs]);
}

function tlsBulk(sni, size) {
  const rec = (n) => Buffer.concat([Buffer.from([0x17, 3, 3, (n >> 8) & 0xff, n & 0xff]), Buffer.alloc(n, 0xa5)]);
  const parts = [];
  for (let left = size; left > 0; left -= 16384) parts.push(rec(Math.min(16384, left)));
  return [
    [true, clientHello(sni)],
    [false, Buffer.concat([Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0])])],
    [false, Buffer.concat(parts)],
  ];
}

function* dnsExchange(cli, srv, cport, name, id) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), enc(l)]));
  const q = Buffer.concat([...labels, Buffer.from([0, 0, 1, 0, 1])]);
  const hdr = (flags, an) => { const h = Buffer.alloc(12); u16(h, 0, id); u16(h, 2, flags); u16(h, 4, 1); u16(h, 6, an); return h; };
  yield frame(cli, srv, cport, 53, 17, 0, 0, 0, Buffer.concat([hdr(0x0100, 0), q]));
  const ans = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, (id >> 8) & 0xff, id & 0xff]);
  yield frame(srv, cli, 53, cport, 17, 0, 0, 0, Buffer.concat([hdr(0x8180, 1), q, ans]));
}

let sessionNo = 0;
function nextSession() {
  const i = sessionNo++;
  const cli = Buffer.from([10, 0, (i >> 8) & 0xff, i & 0xff]);
  const srv = Buffer.from([10, 1, (i % 200) + 1, ((i >> 3) % 250) + 1]);
  const cport = 20000 + (i % 40000);
  switch (i % 10) {
    case 0: case 1: return tcpSession(cli, srv, cport, 3000 + (i % 3), mcpStreamable(`mcp${i % 50}.internal`, i));
    case 2: return tcpSession(cli, srv, cport, 8000, legacySse('tools.internal', i));
    case 3: return dnsExchange(cli, Buffer.from([10, 0, 0, 53]), cport, `host${i % 997}.example.com`, i & 0xffff);
    case 4: case 5: case 6: return tcpSession(cli, srv, cport, 443, tlsBulk(`cdn${i % 300}.example.net`, 200_000 + (i % 7) * 50_000));
    default: return tcpSession(cli, srv, cport, 80, download('files.internal', 100_000 + (i % 5) * 40_000));
  }
}

const ws = createWriteStream(out, { highWaterMark: 4 << 20 });
const gh = Buffer.alloc(24);
gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6); gh.writeUInt32LE(262144, 16); gh.writeUInt32LE(1, 20);
ws.write(gh);
let written = 24;
let frames = 0;
const active = Array.from({ length: CONCURRENT }, nextSession);
let batch = [];
let batchBytes = 0;

async function flush() {
  const buf = Buffer.concat(batch);
  batch = []; batchBytes = 0;
  if (!ws.write(buf)) await new Promise((r) => ws.once('drain', r));
}

while (written < targetBytes) {
  for (let k = 0; k < active.length && written < targetBytes; k++) {
    let r = active[k].next();
    if (r.done) { active[k] = nextSession(); r = active[k].next(); }
    const f = r.value;
    const rh = Buffer.alloc(16);
    tsUs += 7;
    if (tsUs >= 1_000_000) { ts += 1; tsUs -= 1_000_000; }
    rh.writeUInt32LE(ts, 0); rh.writeUInt32LE(tsUs, 4); rh.writeUInt32LE(f.length, 8); rh.writeUInt32LE(f.length, 12);
    batch.push(rh, f);
    batchBytes += 16 + f.length;
    written += 16 + f.length;
    frames++;
    if (batchBytes > 4 << 20) await flush();
  }
}
await flush();
ws.end();
await new Promise((r) => ws.on('finish', r));
console.error(`wrote ${out}: ${(written / 1e6).toFixed(1)} MB, ${frames} frames, ${sessionNo} sessions`);
