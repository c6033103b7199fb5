// A capture, built byte by byte, whose MCP traffic is certain to be detected but whose names are hostile:
// Host header, User-Agent, clientInfo.name, serverInfo.name, tools/call names, DNS query names and TLS SNI
// carry quotes, backticks, $(id), ${x}, %{x}, semicolons, braces, CR/LF, NUL, ESC, <script>, long labels
// and IDN edge cases. Every value that must never reach a rule carries the marker `zzq`.
import { concat, eth, ipv4, tcp, text, udp, SYN_OPTIONS } from '../support/frames.js';
import { writePcap, type CaptureRecord } from '../support/capture-writer.js';

export const MARKER = 'zzq';
export const CLIENT = '10.66.0.5';
export const SERVER = '10.66.0.10';
export const SERVER_PORT = 3000;
export const TLS_SERVER = '10.66.0.20';
export const RESOLVER = '10.66.0.53';

const SYN = 0x02;
const ACK = 0x10;
const PSH_ACK = 0x18;
const FIN_ACK = 0x11;

/** Hostile values, each carrying the marker, by where they travel. */
export const HOSTILE = {
  // Host header: a hosted MCP name with junk in the leading label (so it still matches by suffix), and
  // one with junk after the name. Header values cannot carry CR/LF; they carry the rest.
  host: `${MARKER}"'\`$(id)\${x}%{x};{a}<script>.mcp.linear.app`,
  // Bytes a header may not hold but a tolerant parser keeps: NUL, tab, ESC (sent on a later request).
  hostControl: `${MARKER}\u0000\t\u001b[31m.mcp.linear.app`,
  userAgent: `mcp-${MARKER}"';$(id)\`id\`\${x}%{x}{}<script>alert(1)</script>`,
  // JSON strings can carry anything: CR/LF, NUL, ESC (terminal control), a bidi override.
  clientName: `${MARKER}-client"'\`$(id)\${x}%{x};{}\r\n*.*\u0000<script>alert(1)</script>\u001b]0;owned\u0007\u202e`,
  serverName: `${MARKER}-server</td><script>alert(2)</script>\n;drop`,
  tools: [
    `${MARKER}_tool";rm -rf /;$(id)\`id\`\${x}%{x}`,
    `${MARKER}_tool2<script>alert(3)</script>\r\nSet-Cookie: x=1\u0000`,
  ],
  // DNS names (latin1 label bytes, decoded as UTF-8 by dns-packet). Each ends in a registry name.
  dns: [
    `${MARKER}";drop$(id).registry.modelcontextprotocol.io`,
    `${MARKER}\n*.*.registry.modelcontextprotocol.io`,
    `${MARKER}\u0000nul\r{}.smithery.ai`,
    `${MARKER}<script>alert(4)<\\script>\`\${x}%{x}.mcp.so`,
    `xn--${MARKER}-!!.smithery.ai`,
    `${MARKER}\u202egnp.smithery.ai`,
    // IDNA edge cases that are not valid host names: trailing hyphen in an A-label, a joiner, a one-dot leader.
    `xn--${MARKER}-.smithery.ai`,
    `${MARKER}\u200d.smithery.ai`,
    `${MARKER}\u2024evil.smithery.ai`,
  ],
  sni: `${MARKER}'$(id)\`;{}.mcp.linear.app`,
  // A request target (no spaces or controls fit in a request line).
  path: `/mcp/${MARKER}";$(id)\`id\`\${x}%{x}<script>`,
  // A label over 63 bytes cannot travel in DNS; SNI carries it.
  longSni: `${MARKER}${'a'.repeat(70)}.mcp.linear.app`,
};

/** Long but valid (two 63-byte labels): must still make a rule, not be refused for its length. */
export const LONG_VALID_NAME = `${'a'.repeat(63)}.${'b'.repeat(63)}.mcp.run`;

/** A real, valid IDN (Cyrillic `мсп`): allowed into rules only in its punycode form. */
export const IDN_NAME = 'мсп.smithery.ai';
/**
 * Unicode names IDNA maps to a different, valid ASCII name (fullwidth letters, a soft hyphen, a combining mark):
 * they may reach a rule, but only as the ASCII form given here, never as the raw text.
 */
export const IDN_MAPPED: ReadonlyArray<[raw: string, ascii: string]> = [
  ['\uff41\uff42\uff43.smithery.ai', 'abc.smithery.ai'],
  ['idn\u00adsoft.smithery.ai', 'idnsoft.smithery.ai'],
  ['a\u0338b.smithery.ai', 'xn--ab-yyb.smithery.ai'],
];

/** DNS answer addresses. */
export const DNS_ANSWER = SERVER;

const MCP_PROTOCOL_VERSION = '2025-06-18';

interface Endpoint {
  ip: string;
  port: number;
}

/** One TCP conversation with correct sequence numbers: handshake, data each way, FIN. */
class TcpConversation {
  private cseq = 1000;
  private sseq = 50000;
  constructor(
    private readonly out: Uint8Array[],
    private readonly c: Endpoint,
    private readonly s: Endpoint,
  ) {
    this.frame(true, SYN, new Uint8Array(0), SYN_OPTIONS, 0);
    this.cseq++;
    this.frame(false, SYN | ACK, new Uint8Array(0), SYN_OPTIONS);
    this.sseq++;
    this.frame(true, ACK, new Uint8Array(0));
  }

  private frame(fromClient: boolean, flags: number, data: Uint8Array, options?: Uint8Array, ack?: number): void {
    const [src, dst] = fromClient ? [this.c, this.s] : [this.s, this.c];
    const seq = fromClient ? this.cseq : this.sseq;
    const ackNo = ack ?? (fromClient ? this.sseq : this.cseq);
    const seg = tcp({ sport: src.port, dport: dst.port, seq, ack: ackNo, flags, options }, data);
    this.out.push(eth({ type: 0x0800 }, ipv4({ src: src.ip, dst: dst.ip, proto: 6 }, seg)));
  }

  send(fromClient: boolean, data: Uint8Array): void {
    this.frame(fromClient, PSH_ACK, data);
    if (fromClient) this.cseq += data.length;
    else this.sseq += data.length;
    this.frame(!fromClient, ACK, new Uint8Array(0));
  }

  close(): void {
    this.frame(true, FIN_ACK, new Uint8Array(0));
    this.cseq++;
    this.frame(false, FIN_ACK, new Uint8Array(0));
    this.sseq++;
    this.frame(true, ACK, new Uint8Array(0));
  }
}

function httpRequest(body: unknown, sessionId?: string, path = '/mcp', host = HOSTILE.host): Uint8Array {
  const json = JSON.stringify(body);
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${host}:${SERVER_PORT}`,
    `User-Agent: ${HOSTILE.userAgent}`,
    'Content-Type: application/json',
    'Accept: application/json, text/event-stream',
    `MCP-Protocol-Version: ${MCP_PROTOCOL_VERSION}`,
    ...(sessionId ? [`Mcp-Session-Id: ${sessionId}`] : []),
    `Content-Length: ${Buffer.byteLength(json)}`,
  ];
  return text(`${head.join('\r\n')}\r\n\r\n${json}`);
}

function httpResponse(body: unknown, sessionId: string): Uint8Array {
  const json = JSON.stringify(body);
  const head = [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    `Mcp-Session-Id: ${sessionId}`,
    `Content-Length: ${Buffer.byteLength(json)}`,
  ];
  return text(`${head.join('\r\n')}\r\n\r\n${json}`);
}

function mcpSession(out: Uint8Array[]): void {
  const conv = new TcpConversation(out, { ip: CLIENT, port: 40001 }, { ip: SERVER, port: SERVER_PORT });
  const sid = 'a1b2c3d4e5f60718';
  conv.send(true, httpRequest({
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: MCP_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: HOSTILE.clientName, version: `1.0;${MARKER}$(id)` } },
  }));
  conv.send(false, httpResponse({
    jsonrpc: '2.0', id: 1,
    result: { protocolVersion: MCP_PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo: { name: HOSTILE.serverName, version: '0.1' } },
  }, sid));
  HOSTILE.tools.forEach((name, i) => {
    const path = i === 0 ? HOSTILE.path : '/mcp';
    const host = i === 1 ? HOSTILE.hostControl : HOSTILE.host;
    conv.send(true, httpRequest({ jsonrpc: '2.0', id: 2 + i, method: 'tools/call', params: { name, arguments: {} } }, sid, path, host));
    conv.send(false, httpResponse({ jsonrpc: '2.0', id: 2 + i, result: { content: [{ type: 'text', text: 'ok' }] } }, sid));
  });
  conv.close();
}

/** DNS name → wire labels, taking every character as one latin1 byte (UTF-8 encoded when above 0xff). */
function dnsName(name: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const label of name.split('.')) {
    const b = Buffer.from(label, 'utf8');
    parts.push(Uint8Array.of(b.length), b);
  }
  parts.push(Uint8Array.of(0));
  return concat(...parts);
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

/** A DNS query (A) or its answer (one A record pointing at `answer`, name by compression pointer). */
function dnsMessage(id: number, name: string, answer?: string): Uint8Array {
  const header = concat(u16(id), u16(answer ? 0x8180 : 0x0100), u16(1), u16(answer ? 1 : 0), u16(0), u16(0));
  const question = concat(dnsName(name), u16(1), u16(1));
  if (!answer) return concat(header, question);
  const rr = concat(u16(0xc00c), u16(1), u16(1), Uint8Array.of(0, 0, 0, 60), u16(4), Uint8Array.from(answer.split('.').map(Number)));
  return concat(header, question, rr);
}

function dnsExchange(out: Uint8Array[], id: number, name: string, answer: string): void {
  const sport = 41000 + id;
  out.push(eth({ type: 0x0800 }, ipv4({ src: CLIENT, dst: RESOLVER, proto: 17 }, udp({ sport, dport: 53 }, dnsMessage(id, name)))));
  out.push(eth({ type: 0x0800 }, ipv4({ src: RESOLVER, dst: CLIENT, proto: 17 }, udp({ sport: 53, dport: sport }, dnsMessage(id, name, answer)))));
}

/** A TLS 1.2-framed ClientHello with one SNI entry holding `name` as raw bytes. */
export function clientHello(name: string): Uint8Array {
  const nameBytes = Buffer.from(name, 'utf8');
  const entry = concat(Uint8Array.of(0), u16(nameBytes.length), nameBytes);
  const sniBody = concat(u16(entry.length), entry);
  const sni = concat(u16(0), u16(sniBody.length), sniBody);
  const alpnList = concat(Uint8Array.of(2), text('h2'), Uint8Array.of(8), text('http/1.1'));
  const alpn = concat(u16(16), u16(alpnList.length + 2), u16(alpnList.length), alpnList);
  const exts = concat(sni, alpn);
  const body = concat(
    Uint8Array.of(3, 3), new Uint8Array(32).fill(0x11),
    Uint8Array.of(32), new Uint8Array(32).fill(0x22),
    u16(4), Uint8Array.of(0x13, 0x01, 0xc0, 0x2f),
    Uint8Array.of(1, 0),
    u16(exts.length), exts,
  );
  const hs = concat(Uint8Array.of(1, 0, body.length >> 8, body.length & 0xff), body);
  return concat(Uint8Array.of(22, 3, 1), u16(hs.length), hs);
}

function tlsSession(out: Uint8Array[], sni: string, port: number): void {
  const conv = new TcpConversation(out, { ip: CLIENT, port }, { ip: TLS_SERVER, port: 443 });
  conv.send(true, clientHello(sni));
  conv.close();
}

/** The whole capture as classic pcap bytes (Ethernet). */
export function hostileCapture(): Uint8Array {
  const frames: Uint8Array[] = [];
  HOSTILE.dns.forEach((name, i) => dnsExchange(frames, i + 1, name, DNS_ANSWER));
  dnsExchange(frames, 99, IDN_NAME, '10.66.0.99');
  dnsExchange(frames, 98, LONG_VALID_NAME, '10.66.0.98');
  IDN_MAPPED.forEach(([raw], i) => dnsExchange(frames, 90 + i, raw, '10.66.0.97'));
  mcpSession(frames);
  tlsSession(frames, HOSTILE.sni, 40443);
  tlsSession(frames, HOSTILE.longSni, 40444);
  const records: CaptureRecord[] = frames.map((data, i) => ({ ts: 1_764_000_000 + i * 0.01, data }));
  return writePcap(records, { linkType: 1 });
}
