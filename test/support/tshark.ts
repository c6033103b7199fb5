// tshark as an independent decoder: the same fields our pipeline extracts, for cross-checking.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { manifestEntryFor } from './manifest.js';

const run = promisify(execFile);

/** Per-kind lists, each sorted (multisets: duplicates kept). */
export interface TsharkFields {
  /** `METHOD target` per HTTP request. */
  httpRequests: string[];
  /** Host header values, as sent (with :port when the client sent it). */
  hosts: string[];
  responseCodes: number[];
  /** Question names of DNS queries. */
  dnsQueries: string[];
  /** Question names of DNS responses. */
  dnsResponses: string[];
  /** server_name of every ClientHello that has one. */
  snis: string[];
}

export interface TsharkOptions {
  /** Ports to decode as HTTP; default: the manifest's httpPorts for this file. */
  httpPorts?: number[];
  /**
   * tshark's http.desegment_body. Default false: a response is reported at its headers, so SSE streams that
   * end without their last chunk still count. True is needed where a body segment is retransmitted and
   * reordered (tshark then loses HTTP message sync without body reassembly).
   */
  desegmentBody?: boolean;
}

let available: boolean | undefined;
export function tsharkAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync('tshark', ['--version'], { stdio: 'ignore' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

const FIELDS = [
  'frame.number',
  'http.request.method',
  'http.request.uri',
  'http.host',
  'http.response.code',
  'dns.qry.name',
  'dns.flags.response',
  'tls.handshake.extensions_server_name',
] as const;
// Several HTTP messages can end in one frame; tshark joins their values with this (not in any of our values).
const AGG = '\u0001';

export async function tsharkFields(file: string, options: TsharkOptions = {}): Promise<TsharkFields> {
  const ports = options.httpPorts ?? manifestEntryFor(file)?.httpPorts ?? [];
  const args = [
    '-r', file, '-n',
    '-o', 'tcp.desegment_tcp_streams:TRUE',
    '-o', 'tcp.reassemble_out_of_order:TRUE',
    '-o', `http.desegment_body:${options.desegmentBody ? 'TRUE' : 'FALSE'}`,
    ...ports.flatMap((p) => ['-d', `tcp.port==${p},http`]),
    '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', `aggregator=${AGG}`,
    ...FIELDS.flatMap((f) => ['-e', f]),
  ];
  const { stdout } = await run('tshark', args, { maxBuffer: 64 << 20 });
  const out: TsharkFields = { httpRequests: [], hosts: [], responseCodes: [], dnsQueries: [], dnsResponses: [], snis: [] };
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [, methods, uris, hosts, codes, qnames, responseFlags, snis] = line.split('\t').map((v) => (v ? v.split(AGG) : []));
    methods!.forEach((m, i) => out.httpRequests.push(`${m} ${uris![i] ?? ''}`));
    out.hosts.push(...hosts!);
    out.responseCodes.push(...codes!.map(Number));
    // one DNS message per frame; its flag decides which list its question names go to
    (responseFlags![0] === '1' || responseFlags![0] === 'True' ? out.dnsResponses : out.dnsQueries).push(...qnames!);
    out.snis.push(...snis!);
  }
  for (const list of Object.values(out) as Array<string[] | number[]>) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return out;
}
