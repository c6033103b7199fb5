// The approved registry: MCP servers, domains, IP ranges and portals the organisation allows.
// Findings that match an entry are marked approved; only the rest are Shadow MCP.
import { readFileSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { validateApproved } from '../generated/approved-validator.js';
import type { Finding } from './finding.js';

export interface ApprovedServer {
  ip?: string;
  port?: number;
  host?: string;
  note?: string;
}

export interface ApprovedRange {
  cidr: string;
  list: BlockList;
}

export interface ApprovedRegistry {
  servers: ApprovedServer[];
  /** Lowercase; a domain covers its subdomains. */
  domains: string[];
  ranges: ApprovedRange[];
  /** MCP portal host names (exact). */
  portals: string[];
}

export class ApprovedLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid approved registry:\n${problems.join('\n')}`);
    this.name = 'ApprovedLoadError';
  }
}

function normName(n: string): string {
  const l = n.trim().toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

/** Check and compile a registry already parsed from JSON. `file` names it in errors. */
export function parseApproved(json: unknown, file = '<approved>'): ApprovedRegistry {
  const validate = validateApproved; // signatures/approved.schema.json (src/generated/)
  if (!validate(json)) {
    const lines = new Set(
      (validate.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? ` "${String((e.params as { additionalProperty?: string }).additionalProperty)}"` : '';
        return `${file}: ${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
      }),
    );
    throw new ApprovedLoadError([...lines]);
  }
  const j = json as { servers?: ApprovedServer[]; domains?: string[]; ranges?: string[]; portals?: string[] };
  const problems: string[] = [];
  const ranges: ApprovedRange[] = [];
  (j.ranges ?? []).forEach((cidr, i) => {
    const [addr, bitsText] = cidr.split('/');
    const bits = Number(bitsText);
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
    if (!type || !Number.isInteger(bits) || bits < 0 || bits > (type === 'ipv4' ? 32 : 128)) {
      problems.push(`${file}: /ranges/${i}: not a CIDR range: "${cidr}"`);
      return;
    }
    const list = new BlockList();
    list.addSubnet(addr, bits, type);
    ranges.push({ cidr, list });
  });
  if (problems.length > 0) throw new ApprovedLoadError(problems);
  return {
    servers: (j.servers ?? []).map((s) => ({ ...s, host: s.host !== undefined ? normName(s.host) : undefined })),
    domains: (j.domains ?? []).map(normName),
    ranges,
    portals: (j.portals ?? []).map(normName),
  };
}

/** Read and check an approved-registry JSON file. Throws ApprovedLoadError with "file: /path: problem" lines. */
export function loadApproved(path: string): ApprovedRegistry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ApprovedLoadError([`${path}: /: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ApprovedLoadError([`${path}: /: invalid JSON: ${(e as Error).message}`]);
  }
  return parseApproved(json, path);
}

function underDomain(name: string, domain: string): boolean {
  return name === domain || (name.length > domain.length && name.endsWith(domain) && name[name.length - domain.length - 1] === '.');
}

/** The registry entry that approves this finding (`server 10.0.0.5:8000`, `domain corp.example` ...), if any. */
export function isApproved(finding: Finding, registry: ApprovedRegistry): string | undefined {
  const { ip, port } = finding.subject;
  const names = finding.subject.names.map(normName);
  if (finding.subject.domain) names.push(normName(finding.subject.domain));
  for (const s of registry.servers) {
    if (s.ip !== undefined && ip !== undefined && s.ip.toLowerCase() === ip.toLowerCase() && (s.port === undefined || s.port === port)) {
      return s.port === undefined ? `server ${s.ip}` : `server ${s.ip}:${s.port}`;
    }
    if (s.host !== undefined && names.includes(s.host) && (s.port === undefined || port === undefined || s.port === port)) {
      return s.port === undefined ? `server ${s.host}` : `server ${s.host}:${s.port}`;
    }
  }
  for (const p of registry.portals) if (names.includes(p)) return `portal ${p}`;
  for (const d of registry.domains) if (names.some((n) => underDomain(n, d))) return `domain ${d}`;
  if (ip !== undefined) {
    const type = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
    if (type) for (const r of registry.ranges) if (r.list.check(ip, type)) return `range ${r.cidr}`;
  }
  return undefined;
}
