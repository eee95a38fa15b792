/**
 * One SQLite connection (better-sqlite3, synchronous): OpenSIPS's db_sqlite opens
 * `sqlite:/` + rest of the URL, sets the busy timeout and runs each `exec_pragma`.
 * The file is created when missing; its folder must exist. Integers come back as numbers,
 * or as bigint beyond 2^53 (contact_id, dlg_id).
 */
import Database from "better-sqlite3";
import { sqliteFile, TsipsError, type DbConnection, type DbRow, type DbStatement, type DbValue } from "tsips";

export interface SqliteOptions {
  busyTimeoutMs: number;
  pragmas: readonly string[];
}

type Stmt = Database.Statement<unknown[]>;

function toRow(r: Record<string, unknown>): DbRow {
  for (const k in r) {
    const v = r[k];
    if (typeof v === "bigint" && v >= -9007199254740991n && v <= 9007199254740991n) r[k] = Number(v);
    else if (v instanceof Buffer) r[k] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return r as DbRow;
}

function bind(params: readonly DbValue[] | undefined): unknown[] {
  return params ? (params as unknown[]) : [];
}

export class SqliteConnection implements DbConnection {
  readonly backend = "sqlite";
  private readonly cache = new Map<string, Stmt>();
  private readonly rawCache = new Map<string, Stmt>();
  private constructor(private db: Database.Database | null, readonly file: string) {}

  static open(url: string, opts: SqliteOptions): SqliteConnection {
    let file: string;
    try {
      file = sqliteFile(url);
    } catch (e) {
      throw new TsipsError("TSIPS_ERR_DB_URL", `db_sqlite: ${(e as Error).message}`, { module: "db_sqlite" });
    }
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: opts.busyTimeoutMs });
      for (const p of opts.pragmas) db.exec(`PRAGMA ${p};`);
    } catch (e) {
      throw new TsipsError("TSIPS_ERR_DB_CONNECT", `db_sqlite: cannot open database '${file}': ${(e as Error).message}`,
        { module: "db_sqlite", cause: e });
    }
    return new SqliteConnection(db, file);
  }

  private stmt(sql: string): Stmt {
    let s = this.cache.get(sql);
    if (!s) {
      if (!this.db) throw Object.assign(new Error("database closed"), { code: "SQLITE_CLOSED" });
      s = this.db.prepare(sql);
      if (s.reader) s.safeIntegers(true);
      if (this.cache.size < 512) this.cache.set(sql, s);
    }
    return s;
  }

  /** Synchronous SELECT (the loader reads 100k rows without a promise per row). */
  querySync(sql: string, params?: readonly DbValue[]): DbRow[] {
    const rows = this.stmt(sql).all(...bind(params)) as Record<string, unknown>[];
    for (const r of rows) toRow(r);
    return rows as DbRow[];
  }

  queryArraysSync(sql: string, params?: readonly DbValue[]): DbValue[][] {
    let s = this.rawCache.get(sql);
    if (!s) {
      if (!this.db) throw Object.assign(new Error("database closed"), { code: "SQLITE_CLOSED" });
      s = this.db.prepare(sql).raw(true);
      if (this.rawCache.size < 64) this.rawCache.set(sql, s);
    }
    const rows = s.all(...bind(params)) as unknown[][];
    for (const r of rows) for (let i = 0; i < r.length; i++) if (r[i] instanceof Buffer) r[i] = new Uint8Array(r[i] as Buffer);
    return rows as DbValue[][];
  }

  async queryArrays(sql: string, params?: readonly DbValue[]): Promise<DbValue[][]> {
    return this.queryArraysSync(sql, params);
  }

  runSync(sql: string, params?: readonly DbValue[]): number {
    return this.stmt(sql).run(...bind(params)).changes;
  }

  batchSync(stmts: readonly DbStatement[]): void {
    const db = this.db;
    if (!db) throw Object.assign(new Error("database closed"), { code: "SQLITE_CLOSED" });
    db.exec("BEGIN");
    try {
      for (const s of stmts) this.stmt(s.sql).run(...bind(s.params));
      db.exec("COMMIT");
    } catch (e) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw e;
    }
  }

  async query(sql: string, params?: readonly DbValue[]): Promise<DbRow[]> {
    return this.querySync(sql, params);
  }
  async run(sql: string, params?: readonly DbValue[]): Promise<number> {
    return this.runSync(sql, params);
  }
  async batch(stmts: readonly DbStatement[]): Promise<void> {
    this.batchSync(stmts);
  }
  async exec(script: string): Promise<void> {
    if (!this.db) throw Object.assign(new Error("database closed"), { code: "SQLITE_CLOSED" });
    this.db.exec(script);
  }

  isConnectionError(err: unknown): boolean {
    const code = (err as { code?: unknown })?.code;
    // Busy/locked/IO/full/readonly/closed: the file may come back; a constraint or a bad statement will not.
    return typeof code === "string" && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CLOSED|PROTOCOL|NOTADB|CORRUPT)/.test(code);
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.cache.clear();
    this.rawCache.clear();
    db?.close();
  }
}
