// Log cursors in the store. A file's content is identified by its first bytes (head hash), not by its
// name or inode, so a renamed (app.log → app.log.1), copied (copytruncate) or gzipped (app.log.2.gz)
// file is recognised as the content already partly imported, and resumed after the bytes read.
// Updates made while a file is read stay in memory until commit(), inside the transaction of that file.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import {
  probeLogFile, sha256Hex, type LogFileCursor, type LogFileProbe, type LogFileStats, type LogResume, type LogResumePoint,
} from '../sources/logs/index.js';

interface StreamRow {
  id: number;
  head_len: number;
  head_hash: string;
  offset: number;
  lines: number;
  tail_len: number;
  tail_hash: string;
  format: string | null;
  parser_memo: string | null;
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtime_ms: number;
  gzip: number;
  complete: number;
}

interface PendingStream {
  /** Stored stream id, or undefined for content first seen in this run. */
  id?: number;
  key: string;
  cursor: LogFileCursor;
  path: string;
  format: string;
}

export interface CursorChange {
  file: string;
  start: number;
  end: number;
  resumed: boolean;
  reset?: string;
  skipped?: boolean;
}

export class StoreCursors implements LogResume {
  private readonly pending = new Map<string, PendingStream>();
  private nextNew = 0;
  readonly changes: CursorChange[] = [];
  private readonly byHead: Database.Statement;
  private readonly headLens: Database.Statement;
  private readonly byId: Database.Statement;
  private readonly pathRow: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.byHead = db.prepare('SELECT * FROM streams WHERE head_len = ? AND head_hash = ?');
    this.headLens = db.prepare('SELECT DISTINCT head_len FROM streams WHERE head_len <= ? AND head_len > 0');
    this.byId = db.prepare('SELECT * FROM streams WHERE id = ?');
    this.pathRow = db.prepare('SELECT stream_id FROM paths WHERE path = ?');
  }

  /** Stored and in-run streams whose head is a prefix of this file's content, best first. */
  candidates(probe: LogFileProbe): LogResumePoint[] {
    const found = new Map<string, { row: StreamRow | undefined; pending?: PendingStream }>();
    for (const { head_len: len } of this.headLens.all(probe.head.length) as Array<{ head_len: number }>) {
      const hash = sha256Hex(probe.head.subarray(0, len));
      for (const row of this.byHead.all(len, hash) as StreamRow[]) found.set(`s:${row.id}`, { row });
    }
    for (const p of this.pending.values()) {
      if (p.cursor.headLen > 0 && p.cursor.headLen <= probe.head.length && sha256Hex(probe.head.subarray(0, p.cursor.headLen)) === p.cursor.headHash) {
        found.set(p.key, { row: found.get(p.key)?.row, pending: p });
      } else if (p.id !== undefined) {
        found.delete(p.key); // updated this run to content this file does not start with
      }
    }
    const points: Array<LogResumePoint & { sameInode: boolean }> = [];
    for (const [key, { row, pending }] of found) {
      if (pending) {
        const c = pending.cursor;
        points.push({
          key, offset: c.end, lines: c.lines, tailHash: c.tailHash, tailLen: c.tailLen, format: pending.format, memo: c.memo,
          done: c.gzip && probe.gzip && c.complete && c.dev === probe.dev && c.ino === probe.ino && c.size === probe.size && c.mtimeMs === probe.mtimeMs,
          sameInode: c.dev === probe.dev && c.ino === probe.ino,
        });
      } else if (row) {
        const same = row.dev === probe.dev && row.ino === probe.ino;
        points.push({
          key, offset: row.offset, lines: row.lines, tailHash: row.tail_hash, tailLen: row.tail_len, format: row.format ?? undefined,
          memo: row.parser_memo ?? undefined,
          done: row.gzip === 1 && probe.gzip && row.complete === 1 && same && row.size === probe.size && row.mtime_ms === probe.mtimeMs,
          sameInode: same,
        });
      }
    }
    points.sort((a, b) => Number(b.sameInode) - Number(a.sameInode) || b.offset - a.offset);
    return points.map(({ sameInode: _s, ...p }) => p);
  }

  /**
   * After a rotation the path holds new content; the content it held last time (renamed to app.log.1,
   * maybe gzipped) may have lines written after our last read. Find it among the path's siblings.
   */
  async predecessors(file: string, probe: LogFileProbe): Promise<string[]> {
    const abs = resolve(file);
    const last = this.pathRow.get(abs) as { stream_id: number } | undefined;
    if (!last) return [];
    const pend = this.pending.get(`s:${last.stream_id}`);
    const row = this.byId.get(last.stream_id) as StreamRow | undefined;
    if (!row) return [];
    const headLen = pend?.cursor.headLen ?? row.head_len;
    const headHash = pend?.cursor.headHash ?? row.head_hash;
    const startsWith = (p: LogFileProbe) => p.head.length >= headLen && sha256Hex(p.head.subarray(0, headLen)) === headHash;
    if (startsWith(probe)) return [];
    const dir = dirname(abs);
    const base = basename(abs);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n !== base && n.startsWith(base) && /^[.\-_]/.test(n.slice(base.length))).sort();
    } catch {
      return [];
    }
    for (const n of names) {
      const p = await probeLogFile(join(dir, n));
      if (p && startsWith(p)) return [join(dir, n)];
    }
    return [];
  }

  fileDone(stats: LogFileStats): void {
    const c = stats.cursor;
    if (!c) return;
    this.changes.push({ file: stats.file, start: c.start, end: c.end, resumed: c.resumed !== undefined, reset: c.reset, skipped: c.skipped });
    if (c.skipped) return;
    const key = c.resumed?.key ?? `n:${this.nextNew++}`;
    const id = key.startsWith('s:') ? Number(key.slice(2)) : undefined;
    this.pending.set(key, { id, key, cursor: c, path: resolve(stats.file), format: stats.format });
  }

  /** Write the cursor advances not written yet; the caller holds the write transaction. */
  commit(runId: number): void {
    const update = this.db.prepare(`UPDATE streams SET head_len = @headLen, head_hash = @headHash, offset = @end, lines = @lines,
      tail_len = @tailLen, tail_hash = @tailHash, format = @format, parser_memo = @memo, path = @path, dev = @dev, ino = @ino, size = @size,
      mtime_ms = @mtimeMs, gzip = @gzip, complete = @complete, last_run = @run WHERE id = @id`);
    const insert = this.db.prepare(`INSERT INTO streams (head_len, head_hash, offset, lines, tail_len, tail_hash, format, parser_memo, path,
      dev, ino, size, mtime_ms, gzip, complete, first_run, last_run) VALUES (@headLen, @headHash, @end, @lines, @tailLen, @tailHash,
      @format, @memo, @path, @dev, @ino, @size, @mtimeMs, @gzip, @complete, @run, @run)`);
    const setPath = this.db.prepare(`INSERT INTO paths (path, stream_id, last_run) VALUES (?, ?, ?)
      ON CONFLICT(path) DO UPDATE SET stream_id = excluded.stream_id, last_run = excluded.last_run`);
    for (const p of this.pending.values()) {
      const c = p.cursor;
      const params = {
        headLen: c.headLen, headHash: c.headHash, end: c.end, lines: c.lines, tailLen: c.tailLen, tailHash: c.tailHash,
        format: p.format, memo: c.memo ?? null, path: p.path, dev: c.dev, ino: c.ino, size: c.size, mtimeMs: c.mtimeMs, gzip: c.gzip ? 1 : 0,
        complete: c.complete ? 1 : 0, run: runId,
      };
      let id = p.id;
      if (id !== undefined && update.run({ ...params, id }).changes === 1) {
        // updated in place
      } else {
        id = Number(insert.run(params).lastInsertRowid);
      }
      setPath.run(p.path, id, runId);
    }
    // Written: later files of the run find these streams in the table (a new stream must not be inserted twice).
    this.pending.clear();
  }
}
