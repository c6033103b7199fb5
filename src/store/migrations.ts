// Schema of the inventory store, versioned in the code. PRAGMA user_version holds the number of
// migrations applied; each runs once, in order, inside the write transaction that opens the store.
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  title: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    title: 'runs, log cursors, inventory of servers, domains and clients',
    sql: `
      -- One row per committed import run.
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        finished_at REAL NOT NULL,
        tool_version TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        inputs TEXT NOT NULL,            -- JSON array of the command-line inputs
        files INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        lines INTEGER NOT NULL,
        observations INTEGER NOT NULL,
        findings INTEGER NOT NULL,
        new_findings INTEGER NOT NULL,
        new_shadow INTEGER NOT NULL,
        attempts INTEGER NOT NULL
      );

      -- One row per log content stream, identified by its first bytes (so it survives renames and gzip).
      CREATE TABLE streams (
        id INTEGER PRIMARY KEY,
        head_len INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        offset INTEGER NOT NULL,         -- content bytes imported (decompressed), at a line boundary
        lines INTEGER NOT NULL,
        tail_len INTEGER NOT NULL,
        tail_hash TEXT NOT NULL,         -- sha256 of content [offset - tail_len, offset)
        format TEXT,
        path TEXT NOT NULL,              -- where it was last read
        dev INTEGER NOT NULL,
        ino INTEGER NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        gzip INTEGER NOT NULL,
        complete INTEGER NOT NULL,       -- a .gz read to its end
        first_run INTEGER NOT NULL REFERENCES runs(id),
        last_run INTEGER NOT NULL REFERENCES runs(id)
      );
      CREATE INDEX streams_head ON streams(head_len, head_hash);
      CREATE INDEX streams_inode ON streams(dev, ino);

      -- The stream each input path held when last read: a path whose content changed was rotated.
      CREATE TABLE paths (
        path TEXT PRIMARY KEY,
        stream_id INTEGER NOT NULL REFERENCES streams(id),
        last_run INTEGER NOT NULL REFERENCES runs(id)
      );

      -- MCP servers: one row per finding id (a stable hash of the subject: ip:port or name).
      CREATE TABLE servers (
        id TEXT PRIMARY KEY,
        ip TEXT,
        port INTEGER,
        names TEXT NOT NULL,             -- JSON array
        domain TEXT,
        transport TEXT NOT NULL,
        server_name TEXT,
        server_version TEXT,
        protocol_version TEXT,
        status TEXT NOT NULL,            -- shadow | approved (as of the last run that saw it)
        approved_by TEXT,
        confidence TEXT NOT NULL,        -- highest seen
        score REAL NOT NULL,
        severity TEXT NOT NULL,
        first_seen REAL NOT NULL,        -- traffic time, epoch seconds
        last_seen REAL NOT NULL,
        hits INTEGER NOT NULL,           -- matched observations, summed over runs
        runs INTEGER NOT NULL,
        first_run INTEGER NOT NULL REFERENCES runs(id),
        last_run INTEGER NOT NULL REFERENCES runs(id),
        clients TEXT NOT NULL,           -- JSON array of client addresses
        methods TEXT NOT NULL,           -- JSON object name -> count
        tools TEXT NOT NULL,
        paths TEXT NOT NULL,
        signatures TEXT NOT NULL,
        sources TEXT NOT NULL            -- JSON array: input kinds and files with evidence
      );
      CREATE INDEX servers_last_seen ON servers(last_seen);

      CREATE TABLE domains (
        name TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        hits INTEGER NOT NULL,
        runs INTEGER NOT NULL,
        first_run INTEGER NOT NULL REFERENCES runs(id),
        last_run INTEGER NOT NULL REFERENCES runs(id),
        servers TEXT NOT NULL,           -- JSON array of server ids
        clients TEXT NOT NULL,
        sources TEXT NOT NULL
      );

      CREATE TABLE clients (
        ip TEXT PRIMARY KEY,
        names TEXT NOT NULL,             -- JSON array: MCP client software names seen
        status TEXT NOT NULL,            -- shadow when it talked to any shadow server
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        hits INTEGER NOT NULL,           -- server findings it appeared in, summed over runs
        runs INTEGER NOT NULL,
        first_run INTEGER NOT NULL REFERENCES runs(id),
        last_run INTEGER NOT NULL REFERENCES runs(id),
        servers TEXT NOT NULL,
        sources TEXT NOT NULL
      );

      -- Which runs saw which entity.
      CREATE TABLE sightings (
        entity TEXT NOT NULL,            -- server | domain | client
        key TEXT NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        hits INTEGER NOT NULL,
        PRIMARY KEY (entity, key, run_id)
      ) WITHOUT ROWID;
      CREATE INDEX sightings_run ON sightings(run_id);

      -- Bumped by every committed import: a run that read cursors before another run committed retries.
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta (key, value) VALUES ('generation', 0);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** A store written by a newer shadowtap (its schema is ahead of this code). */
export class StoreVersionError extends Error {
  override name = 'StoreVersionError';
}

/** Apply the migrations the store lacks; the caller holds the write lock. Returns the versions applied. */
export function migrate(db: Database.Database): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StoreVersionError(`store schema version ${current} is newer than this shadowtap understands (${SCHEMA_VERSION})`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
    applied.push(m.version);
  }
  return applied;
}
