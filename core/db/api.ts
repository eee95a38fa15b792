/**
 * The one typed DB API (OpenSIPS's `db_func_t`, db/db.h): what a `db_*` module gives the
 * modules that persist data (usrloc, dialog, clusterer). A `db_*` module's init returns a
 * {@link DbDriver}; the module using SQL picks the driver by the scheme of its `db_url`
 * (`bindDb`) and opens its own {@link DbConnection}.
 *
 * Statements use `?` placeholders on every backend (db_postgres numbers them).
 */

/** A value written to or read from a column. Integers beyond 2^53 come back as bigint. */
export type DbValue = string | number | bigint | null | Uint8Array;
export type DbRow = Record<string, DbValue>;

export interface DbStatement {
  readonly sql: string;
  readonly params?: readonly DbValue[];
}

export interface DbConnection {
  /** "sqlite" or "postgres" (the URL scheme). */
  readonly backend: string;
  /** Runs a SELECT; rows as objects keyed by column name. @opensips db_func_t.query / raw_query */
  query(sql: string, params?: readonly DbValue[]): Promise<DbRow[]>;
  /**
   * Runs a SELECT and returns each row as an array in the column order of the statement: the
   * fast path for loading whole tables. Integers come back as numbers (select a 64-bit id as
   * `id >> 32` and `id & 4294967295` to keep it exact).
   */
  queryArrays(sql: string, params?: readonly DbValue[]): Promise<DbValue[][]>;
  /** Runs one INSERT/UPDATE/DELETE; resolves to the number of rows changed. */
  run(sql: string, params?: readonly DbValue[]): Promise<number>;
  /** Runs several statements in one transaction, in order (all or none). */
  batch(stmts: readonly DbStatement[]): Promise<void>;
  /** Runs a script of `;`-separated statements without parameters (DDL). */
  exec(script: string): Promise<void>;
  /**
   * True when the error means the server or file is unreachable (retry after reconnecting),
   * false when the statement itself was refused (constraint, type): retrying cannot help.
   */
  isConnectionError(err: unknown): boolean;
  close(): Promise<void>;
}

/** What a `db_<scheme>` module's init returns. @opensips db_bind_mod */
export interface DbDriver {
  /** The URL scheme this driver serves ("sqlite", "postgres"). */
  readonly scheme: string;
  /** Opens a connection; throws TSIPS_ERR_DB_CONNECT (with the URL's password hidden). */
  connect(url: string): Promise<DbConnection>;
}
