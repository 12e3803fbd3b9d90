/**
 * Notices commits that other processes make to the same SQLite file, so their waiters wake within one
 * check interval instead of at the next poll. `PRAGMA data_version` changes whenever another connection
 * commits; reading it is a look at the WAL index in shared memory (microseconds). The check runs only
 * while something in this process waits on the file.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { WakeupHub } from '../wakeups.js';

/** 20 ms: cross-process wake-ups land ~10 ms after the commit on average, for ~50 cheap reads a second while idle. */
export const changeCheckIntervalMs = 20;

export class SqliteChangeWatcher {
  private timer: NodeJS.Timeout | undefined;
  private database: DatabaseSync | undefined;
  private statement: StatementSync | undefined;
  private lastVersion: unknown;

  constructor(private readonly hub: WakeupHub) {}

  /** Start watching through `database`, unless already watching. */
  ensure(database: DatabaseSync): void {
    if (this.timer) return;
    this.database = database;
    this.statement = database.prepare('PRAGMA data_version');
    this.lastVersion = this.read();
    this.timer = setInterval(() => this.check(), changeCheckIntervalMs);
    this.timer.unref();
  }

  private read(): unknown {
    return (this.statement?.get() as { data_version?: unknown } | undefined)?.data_version;
  }

  private check(): void {
    if (!this.hub.hasSubscribers()) {
      this.stop();
      return;
    }
    let version: unknown;
    try {
      version = this.read();
    } catch {
      // The handle closed under us; the next subscriber starts a new watch.
      this.stop();
      return;
    }
    if (version !== this.lastVersion) {
      this.lastVersion = version;
      this.hub.signalAll();
    }
  }

  /** Stop watching; with `database`, only when that is the handle being read through (it is closing). */
  stop(database?: DatabaseSync): void {
    if (database && database !== this.database) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.database = undefined;
    this.statement = undefined;
  }
}
