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
  {
    version: 2,
    title: 'data-loss hits and behaviour alerts per server; captures merged by scan --db',
    sql: `
      -- What started a run: import (logs, cursors) or scan (captures, content hashes).
      ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'import';

      -- Data-loss hits, one row per (server, detector, masked value, JSON path, method). Values are stored
      -- masked only. Counts and times are recomputed from dlp_hit_runs, so merging a run twice adds nothing.
      CREATE TABLE dlp_hits (
        id INTEGER PRIMARY KEY,
        server_id TEXT NOT NULL,         -- servers.id; '' for an endpoint no finding was made for
        server TEXT NOT NULL,            -- endpoint ip:port
        detector TEXT NOT NULL,          -- secret.github_token, pci.card_number, custom.<id>, ...
        category TEXT NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,          -- highest seen
        masked TEXT NOT NULL,
        path TEXT NOT NULL,              -- JSONPath inside the JSON-RPC message
        method TEXT NOT NULL,            -- '' when unknown
        part TEXT NOT NULL,              -- request | response | error | notification
        clients TEXT NOT NULL,           -- JSON array
        example TEXT NOT NULL,           -- file#frame of the first sighting
        count INTEGER NOT NULL,          -- summed over runs
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        runs INTEGER NOT NULL,
        first_run INTEGER NOT NULL REFERENCES runs(id),
        last_run INTEGER NOT NULL REFERENCES runs(id),
        UNIQUE (server_id, server, detector, masked, path, method)
      );
      CREATE TABLE dlp_hit_runs (
        hit_id INTEGER NOT NULL REFERENCES dlp_hits(id),
        run_id INTEGER NOT NULL REFERENCES runs(id),
        count INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        PRIMARY KEY (hit_id, run_id)
      ) WITHOUT ROWID;

      -- Behaviour alerts, one row per (server, client, kind, subject, window); same recompute-from-runs rule.
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        server_id TEXT NOT NULL,         -- servers.id; '' when the alert names no server with a finding
        client TEXT NOT NULL,
        kind TEXT NOT NULL,              -- tool_call_burst | resource_enumeration | large_result | many_servers | new_server
        subject TEXT NOT NULL,           -- tool, resource prefix, ...; '' when none
        window_seconds REAL NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,          -- highest seen
        servers TEXT NOT NULL,           -- JSON array of endpoints involved
        threshold REAL NOT NULL,
        value REAL NOT NULL,             -- peak over runs
        detail TEXT NOT NULL,            -- of the latest run
        example TEXT NOT NULL,           -- file#frame of the first evidence
        count INTEGER NOT NULL,          -- alerts raised, summed over runs
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        runs INTEGER NOT NULL,
        first_run INTEGER NOT NULL REFERENCES runs(id),
        last_run INTEGER NOT NULL REFERENCES runs(id),
        UNIQUE (server_id, client, kind, subject, window_seconds)
      );
      CREATE INDEX alerts_client ON alerts(client);
      CREATE TABLE alert_runs (
        alert_id INTEGER NOT NULL REFERENCES alerts(id),
        run_id INTEGER NOT NULL REFERENCES runs(id),
        count INTEGER NOT NULL,
        value REAL NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        PRIMARY KEY (alert_id, run_id)
      ) WITHOUT ROWID;

      -- Capture files merged by scan --db, by content hash: a capture scanned again adds nothing.
      CREATE TABLE captures (
        hash TEXT PRIMARY KEY,           -- sha256 of the file bytes as stored (a .gz and its plain copy differ)
        size INTEGER NOT NULL,
        path TEXT NOT NULL,              -- where it was first read
        frames INTEGER NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs(id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    title: 'calls per window learned for each client, server and tool (the tool_call_unusual baseline)',
    sql: `
      -- One row per (client, server endpoint, tool, window length): its busy windows, newest last. Replaced whole by
      -- each run that saw the key (audit/behaviour.ts keeps at most LIMITS.auditBaselineWindows of them); the rows
      -- least recently active beyond LIMITS.auditBaselineKeys are dropped.
      CREATE TABLE tool_call_windows (
        id INTEGER PRIMARY KEY,
        client TEXT NOT NULL,
        server TEXT NOT NULL,            -- endpoint ip:port
        tool TEXT NOT NULL,              -- cut to LIMITS.auditBaselineToolChars
        window_seconds REAL NOT NULL,
        windows TEXT NOT NULL,           -- JSON [[window start, calls], ...], oldest first
        last_window REAL NOT NULL,       -- start of the newest window (traffic time)
        last_run INTEGER NOT NULL REFERENCES runs(id),
        UNIQUE (client, server, tool, window_seconds)
      );
      CREATE INDEX tool_call_windows_last ON tool_call_windows(last_window);
    `,
  },
  {
    version: 4,
    title: 'import runs commit per log file: run state, and the findings of a run not merged yet',
    sql: `
      -- running: an import that has committed some files (its row is written with the first one) and not finished;
      -- complete; interrupted: a running import whose process died (or that failed), taken over by run resumed_by.
      ALTER TABLE runs ADD COLUMN state TEXT NOT NULL DEFAULT 'complete';
      ALTER TABLE runs ADD COLUMN commits INTEGER NOT NULL DEFAULT 1;   -- transactions committed: one per log file, one at the end
      ALTER TABLE runs ADD COLUMN resumed_by INTEGER REFERENCES runs(id);

      -- The findings of an import so far (one detector over all its files), committed with each file's cursor.
      -- They are merged into servers/domains/clients when the run completes, or by the run that resumes it.
      CREATE TABLE run_findings (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        id TEXT NOT NULL,                -- finding id
        finding TEXT NOT NULL,           -- JSON (detect/finding.ts Finding)
        PRIMARY KEY (run_id, id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    title: "what a log parser learned about a file, kept with its cursor (the Windows DNS log's date order)",
    sql: `
      ALTER TABLE streams ADD COLUMN parser_memo TEXT;   -- LogLineParser.memo(); NULL when it learned nothing
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
