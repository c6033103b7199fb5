// Opening the inventory store: one SQLite file (WAL, so readers never wait for the importing run),
// a busy timeout so concurrent runs queue instead of failing, and the migrations applied under the write lock.
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LIMITS } from '../config/limits.js';
import { migrate, SCHEMA_VERSION } from './migrations.js';

/** A store that cannot be opened or used (missing with mustExist, corrupt, locked too long): exit 2. */
export class StoreError extends Error {
  override name = 'StoreError';
}

export interface OpenStoreOptions {
  /** Fail when the file does not exist (read commands) instead of creating it. */
  mustExist?: boolean;
  /** Read only (implies mustExist): the file is never written, so no journal-mode change and no migrations; a store
   * of an older schema is an error that says how to upgrade it. SQLite may leave empty -wal/-shm files beside it. */
  readonly?: boolean;
  busyTimeoutMs?: number;
}

export class Store {
  private inTxn = false;

  private constructor(readonly db: Database.Database, readonly path: string) {}

  static open(path: string, options: OpenStoreOptions = {}): Store {
    const abs = resolve(path);
    const readonly = options.readonly === true;
    if ((options.mustExist || readonly) && !existsSync(abs)) throw new StoreError(`no inventory store at ${abs} (run shadowtap import --db ${path} first)`);
    if (!readonly) mkdirSync(dirname(abs), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(abs, { readonly, fileMustExist: readonly, timeout: options.busyTimeoutMs ?? LIMITS.storeBusyTimeoutMs });
    } catch (e) {
      throw new StoreError(`cannot open inventory store ${abs}: ${(e as Error).message}`);
    }
    const store = new Store(db, abs);
    try {
      if (readonly) {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version < SCHEMA_VERSION) {
          throw new Error(`schema version ${version} is older than this shadowtap reads (${SCHEMA_VERSION}); ` +
            `run shadowtap inventory runs --db ${path} once to upgrade it`);
        }
        return store;
      }
      // journal_mode needs a moment alone with the file: retried while a concurrent opener holds it.
      retryBusy(() => db.pragma('journal_mode = WAL'));
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
        store.begin();
        try {
          migrate(db);
          store.commit();
        } catch (e) {
          store.rollback();
          throw e;
        }
      }
    } catch (e) {
      db.close();
      if ((e as Error).name === 'StoreVersionError') throw new StoreError((e as Error).message);
      throw new StoreError(`inventory store ${abs}: ${(e as Error).message}`);
    }
    return store;
  }

  /** The write lock (BEGIN IMMEDIATE): waits up to the busy timeout for another run's transaction. */
  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
    this.inTxn = true;
  }

  commit(): void {
    this.db.exec('COMMIT');
    this.inTxn = false;
  }

  rollback(): void {
    if (this.inTxn && this.db.inTransaction) this.db.exec('ROLLBACK');
    this.inTxn = false;
  }

  /** Bumped by every committed import. */
  generation(): number {
    return (this.db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: number }).value;
  }

  bumpGeneration(): void {
    this.db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'generation'").run();
  }

  close(): void {
    this.rollback();
    this.db.close();
  }
}

function retryBusy<T>(fn: () => T): T {
  const deadline = Date.now() + LIMITS.storeBusyTimeoutMs;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'SQLITE_BUSY' || Date.now() > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
