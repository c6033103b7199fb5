// The inventory as the baseline of the "session to a server first seen today" alert (audit/behaviour.ts):
// with --db, a server endpoint is known when the servers table holds it, with the traffic time it was first
// seen. Read-only: mergeFindings() moves first_seen inside the run's own write transaction, so see() has
// nothing to record.
import type Database from 'better-sqlite3';
import type { KnownServers } from '../audit/behaviour.js';
import { findingId } from '../detect/engine.js';

/** `ip:port` or `[v6]:port` (audit/trail.ts hostPort) back into its parts; undefined for anything else. */
export function splitHostPort(server: string): { ip: string; port: number } | undefined {
  const colon = server.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(server.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || colon + 1 === server.length) return undefined;
  let ip = server.slice(0, colon);
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) return undefined;
    ip = ip.slice(1, -1);
  } else if (ip.includes(':')) {
    return undefined; // an unbracketed v6 address is not a key hostPort makes
  }
  return ip ? { ip, port } : undefined;
}

export class StoreKnownServers implements KnownServers {
  // Endpoint findings are keyed by findingId(`ep:ip:port`) (detect/engine.ts): a primary-key lookup,
  // no scan of the servers table per distinct server.
  private readonly byId: Database.Statement;

  constructor(db: Database.Database) {
    this.byId = db.prepare('SELECT first_seen FROM servers WHERE id = ?').pluck();
  }

  firstSeen(server: string): number | undefined {
    const ep = splitHostPort(server);
    if (!ep) return undefined;
    const v = this.byId.get(findingId(`ep:${ep.ip}:${ep.port}`));
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }

  see(_server: string, _ts: number): void {
    // The run's mergeFindings() writes first_seen in the same transaction as everything else.
  }
}
