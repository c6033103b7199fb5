// Typed loader for fixtures/manifest.json: the expected truth for every capture fixture
// (written by fixtures/make/manifest-truth.mjs, checked against tshark by fixtures/make/wire-summary.mjs).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ManifestTransport = 'streamable-http' | 'legacy-sse' | 'websocket' | 'ndjson-tcp' | 'tls' | 'dns-only';

export interface ManifestServer {
  ip: string;
  /** 0 for dns-only: the name was only looked up, no connection was made. */
  port: number;
  transport: ManifestTransport;
  /** dns-only: the name that was looked up (ip is the address it resolved to). */
  name?: string;
}

export interface ManifestEntry {
  /** Path relative to fixtures/, e.g. `pcap/sdk-legacy-sse-nanosec.pcap`. */
  file: string;
  description: string;
  mcp: boolean;
  servers: ManifestServer[];
  clients: string[];
  /** Every JSON-RPC method on the wire in either direction (requests and notifications), sorted. */
  methods: string[];
  /** Names passed to tools/call, sorted. */
  tools: string[];
  /** Registry / hosted MCP names seen in DNS questions, TLS SNI or Host, sorted. */
  names: string[];
  /** TCP ports that carry HTTP/1.x (for tshark `-d tcp.port==N,http`). */
  httpPorts: number[];
  linkType?: string;
  /** Non-MCP parts of a mixed capture (the demo). */
  noise?: { methods?: string[]; names?: string[]; servers?: Array<{ ip: string; port: number }>; clients?: string[] };
}

export interface Manifest {
  description: string;
  fixtures: ManifestEntry[];
}

export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
export const MANIFEST_PATH = join(FIXTURES_DIR, 'manifest.json');

let cached: Manifest | undefined;

export function loadManifest(path: string = MANIFEST_PATH): Manifest {
  if (path === MANIFEST_PATH && cached) return cached;
  const json = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  if (!Array.isArray(json.fixtures)) throw new Error(`${path}: no fixtures array`);
  for (const f of json.fixtures) {
    if (typeof f.file !== 'string' || typeof f.mcp !== 'boolean') throw new Error(`${path}: bad entry ${JSON.stringify(f).slice(0, 80)}`);
  }
  if (path === MANIFEST_PATH) cached = json;
  return json;
}

/** Absolute path of a manifest entry's capture. */
export function fixturePath(entry: Pick<ManifestEntry, 'file'>): string {
  return join(FIXTURES_DIR, entry.file);
}

/** The manifest entry for an absolute or fixtures-relative path, if any. */
export function manifestEntryFor(file: string): ManifestEntry | undefined {
  const abs = resolve(file);
  return loadManifest().fixtures.find((f) => fixturePath(f) === abs || f.file === file);
}
