/**
 * Ordered, bounded, self-healing SQL writes. A module hands each change to `submit`; the
 * writer runs them one after the other on its connection. When the database is unreachable
 * it keeps them (up to `maxQueue`; beyond that the oldest are dropped and counted), reconnects
 * with a growing delay and replays them in order. A statement the database refuses (a
 * constraint, a type) is logged, counted and skipped: retrying it cannot succeed.
 * Nothing here blocks the caller: replication and MI go on while the database is away.
 */
import type { TsipsLogger } from "../log.ts";
import type { DbConnection, DbStatement } from "./api.ts";

export interface DbWriterStats {
  /** Writes waiting (gauge). */
  queued: number;
  /** Writes dropped because the queue was full. */
  dropped: number;
  /** Statements the database refused. */
  failed: number;
  /** Successful reconnects. */
  reconnects: number;
  /** Statements run. */
  written: number;
}

export interface DbWriterOptions {
  connect(): Promise<DbConnection>;
  log: TsipsLogger;
  maxQueue?: number;
  /** First reconnect delay (ms), doubled up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

type Job = { stmts: readonly DbStatement[]; done?: (ok: boolean) => void };

export class DbWriter {
  readonly stats: DbWriterStats = { queued: 0, dropped: 0, failed: 0, reconnects: 0, written: 0 };
  private queue: Job[] = [];
  private head = 0;
  private draining = false;
  private down = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly maxQueue: number;

  constructor(private conn: DbConnection | null, private readonly opts: DbWriterOptions) {
    this.maxQueue = opts.maxQueue ?? 100_000;
  }

  get connected(): boolean {
    return this.conn !== null && !this.down;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Queues statements to run in one transaction after everything submitted before. */
  submit(stmts: readonly DbStatement[] | DbStatement, done?: (ok: boolean) => void): void {
    if (this.closed) {
      done?.(false);
      return;
    }
    const list = Array.isArray(stmts) ? stmts : [stmts as DbStatement];
    if (list.length === 0) {
      done?.(true);
      return;
    }
    if (this.pending >= this.maxQueue) {
      const old = this.queue[this.head++]!;
      this.stats.dropped += old.stmts.length;
      old.done?.(false);
      if (this.stats.dropped === old.stmts.length || this.stats.dropped % 1000 === 0) {
        this.opts.log.error({ dropped: this.stats.dropped, max: this.maxQueue }, "SQL write queue full: oldest writes dropped");
      }
    }
    this.queue.push(done ? { stmts: list, done } : { stmts: list });
    this.stats.queued = this.pending;
    if (!this.draining && !this.down) void this.drain();
  }

  /** Resolves when every write submitted so far ran (or `timeoutMs` passed; then false). */
  idle(timeoutMs = Infinity): Promise<boolean> {
    if (this.pending === 0 && !this.draining) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w = (): void => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(w);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.idleWaiters = this.idleWaiters.filter((x) => x !== w);
          resolve(false);
        }, timeoutMs);
        timer.unref();
      }
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.head < this.queue.length && !this.down && !this.closed) {
        const job = this.queue[this.head]!;
        const conn = this.conn;
        if (!conn) {
          this.goDown(new Error("not connected"));
          return;
        }
        try {
          if (job.stmts.length === 1) await conn.run(job.stmts[0]!.sql, job.stmts[0]!.params);
          else await conn.batch(job.stmts);
          this.stats.written += job.stmts.length;
          job.done?.(true);
        } catch (err) {
          if (conn.isConnectionError(err)) {
            this.goDown(err);
            return;
          }
          this.stats.failed += job.stmts.length;
          this.opts.log.error({ err, sql: job.stmts[0]!.sql.slice(0, 120) }, "SQL write refused by the database; skipped");
          job.done?.(false);
        }
        this.head++;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.stats.queued = this.pending;
      }
    } finally {
      this.draining = false;
      if (this.pending === 0) {
        const ws = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of ws) w();
      }
    }
  }

  private goDown(err: unknown): void {
    if (!this.down) this.opts.log.error({ err, queued: this.pending }, "database connection lost; writes are queued and retried in order");
    this.down = true;
    this.scheduleReconnect(this.opts.retryMs ?? 250);
  }

  private scheduleReconnect(ms: number): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconnect(ms);
    }, ms);
    this.retryTimer.unref();
  }

  private async reconnect(lastMs: number): Promise<void> {
    if (this.closed) return;
    const old = this.conn;
    this.conn = null;
    if (old) await old.close().catch(() => undefined);
    try {
      this.conn = await this.opts.connect();
    } catch {
      this.scheduleReconnect(Math.min(lastMs * 2, this.opts.maxRetryMs ?? 5000));
      return;
    }
    this.down = false;
    this.stats.reconnects++;
    this.opts.log.warn({ queued: this.pending }, "database connection restored; replaying queued writes");
    if (!this.draining) void this.drain();
  }

  /** Runs a read on the writer's connection, after the queued writes (reads see them). */
  async read<T>(fn: (conn: DbConnection) => Promise<T>): Promise<T> {
    await this.idle();
    if (!this.conn || this.down) throw new Error("database not connected");
    return fn(this.conn);
  }

  /** Waits up to `timeoutMs` for the queue to empty, then closes the connection. */
  async close(timeoutMs = 5000): Promise<void> {
    await this.idle(timeoutMs);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.conn;
    this.conn = null;
    if (c) await c.close().catch(() => undefined);
  }
}
