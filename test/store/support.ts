// Helpers for the store tests: generated Cloudflare Gateway DNS lines (each name a hosted-MCP domain,
// so each is a finding), and a projection of the inventory to compare a split import with a whole one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

/** The CLI run in-process (main), so it needs no build. */
export async function cliInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, color: false };
  const code = await main(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'shadowtap-store-'));
}

/** Lines i in [from, to): client 10.0.0.(i%7+1) asks for svc(i%names).mcp.run at 09:mm. */
export function gatewayLines(from: number, to: number, names = 5, prefix = 'svc'): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const t = new Date(Date.UTC(2026, 10, 20, 9, 0, 0) + i * 1000).toISOString();
    out += `${JSON.stringify({ Datetime: t, SrcIP: `10.0.0.${(i % 7) + 1}`, QueryName: `${prefix}${i % names}.mcp.run`, QueryTypeName: 'A', ResolverDecision: 'allowedOnNoPolicyMatch', ResolvedIPs: [] })}\n`;
  }
  return out;
}

export interface InventoryView {
  servers: Record<string, { hits: number; first: number; last: number; clients: string[]; names: string[] }>;
  domains: Record<string, number>;
  /** Client → the servers it used (its hits count per-run sightings, which depend on the split). */
  clients: Record<string, string[]>;
}

/** What must not depend on how the lines were split into runs. */
export function inventoryView(dbPath: string): InventoryView {
  const db = new Database(dbPath, { readonly: true });
  try {
    const servers: InventoryView['servers'] = {};
    for (const r of db.prepare('SELECT * FROM servers ORDER BY id').all() as Array<Record<string, unknown>>) {
      servers[r.id as string] = {
        hits: r.hits as number, first: r.first_seen as number, last: r.last_seen as number,
        clients: JSON.parse(r.clients as string), names: JSON.parse(r.names as string),
      };
    }
    const domains: Record<string, number> = {};
    for (const r of db.prepare('SELECT name, hits FROM domains').all() as Array<{ name: string; hits: number }>) domains[r.name] = r.hits;
    const clients: Record<string, string[]> = {};
    for (const r of db.prepare('SELECT ip, servers FROM clients').all() as Array<{ ip: string; servers: string }>) clients[r.ip] = JSON.parse(r.servers);
    return { servers, domains, clients };
  } finally {
    db.close();
  }
}

export function runCount(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Total hits over servers: the number that double counting would inflate. */
export function totalHits(v: InventoryView): number {
  return Object.values(v.servers).reduce((t, s) => t + s.hits, 0);
}
