/**
 * One PostgreSQL connection (node-postgres `pg`), opened like OpenSIPS's db_postgres does it
 * (pg_con.c): host/user/password/dbname/port from the URL, `connect_timeout` from the
 * module's `timeout`, the URL's `?k=v&k2=v2` as extra connection settings. `unix(/dir)` as
 * host means the server's unix socket folder. Statements use `?`; they are numbered here.
 */
import pg from "pg";
import { parseDbUrl, TsipsError, type DbConnection, type DbRow, type DbStatement, type DbValue } from "tsips";

export interface PostgresOptions {
  timeoutS: number;
}

// int8 (contact_id, dlg_id): numbers when safe, bigint beyond 2^53.
pg.types.setTypeParser(20, (v: string) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
});
// timestamp without time zone: keep OpenSIPS's text ('YYYY-MM-DD HH:MM:SS').
pg.types.setTypeParser(1114, (v: string) => v);

const numbered = new Map<string, string>();
/** `?` → `$1, $2 ...` outside quoted text. */
export function numberPlaceholders(sql: string): string {
  let out = numbered.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  let q: string | null = null;
  out = "";
  for (const ch of sql) {
    if (q) {
      if (ch === q) q = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      q = ch;
      out += ch;
    } else if (ch === "?") out += `$${++n}`;
    else out += ch;
  }
  if (numbered.size < 1024) numbered.set(sql, out);
  return out;
}

function param(v: DbValue): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function toRow(r: Record<string, unknown>): DbRow {
  for (const k in r) {
    const v = r[k];
    if (v instanceof Buffer) r[k] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return r as DbRow;
}

export class PostgresConnection implements DbConnection {
  readonly backend = "postgres";
  private broken = false;
  private constructor(private readonly client: pg.Client) {
    client.on("error", () => {
      this.broken = true;
    });
  }

  static async open(url: string, opts: PostgresOptions): Promise<PostgresConnection> {
    let u;
    try {
      u = parseDbUrl(url);
    } catch (e) {
      throw new TsipsError("TSIPS_ERR_DB_URL", `db_postgres: ${(e as Error).message}`, { module: "db_postgres" });
    }
    const extra: Record<string, string> = {};
    for (const kv of u.parameters.split("&")) {
      const i = kv.indexOf("=");
      if (i > 0) extra[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    }
    const cfg: pg.ClientConfig = {
      host: u.host || "localhost",
      user: u.user || undefined,
      password: u.password || undefined,
      database: u.database,
      connectionTimeoutMillis: opts.timeoutS * 1000,
      ...(u.port ? { port: u.port } : {}),
      ...(extra["application_name"] ? { application_name: extra["application_name"] } : {}),
    };
    const client = new pg.Client(cfg);
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw new TsipsError("TSIPS_ERR_DB_CONNECT", `db_postgres: cannot connect to '${u.safe}': ${(e as Error).message}`,
        { module: "db_postgres", cause: e });
    }
    return new PostgresConnection(client);
  }

  async query(sql: string, params?: readonly DbValue[]): Promise<DbRow[]> {
    const r = await this.client.query(numberPlaceholders(sql), params ? params.map(param) : []);
    for (const row of r.rows as Record<string, unknown>[]) toRow(row);
    return r.rows as DbRow[];
  }

  async queryArrays(sql: string, params?: readonly DbValue[]): Promise<DbValue[][]> {
    const r = await this.client.query({ text: numberPlaceholders(sql), values: params ? params.map(param) : [], rowMode: "array" });
    const rows = r.rows as unknown[][];
    for (const row of rows) for (let i = 0; i < row.length; i++) if (row[i] instanceof Buffer) row[i] = new Uint8Array(row[i] as Buffer);
    return rows as DbValue[][];
  }

  async run(sql: string, params?: readonly DbValue[]): Promise<number> {
    const r = await this.client.query(numberPlaceholders(sql), params ? params.map(param) : []);
    return r.rowCount ?? 0;
  }

  async batch(stmts: readonly DbStatement[]): Promise<void> {
    await this.client.query("BEGIN");
    try {
      for (const s of stmts) await this.client.query(numberPlaceholders(s.sql), s.params ? s.params.map(param) : []);
      await this.client.query("COMMIT");
    } catch (e) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }

  async exec(script: string): Promise<void> {
    await this.client.query(script);
  }

  isConnectionError(err: unknown): boolean {
    if (this.broken) return true;
    const code = (err as { code?: unknown })?.code;
    if (typeof code !== "string") return true; // socket errors, "Connection terminated", "not queryable"
    if (code.startsWith("E")) return true; // ECONNREFUSED, ECONNRESET, EPIPE ...
    // SQLSTATE classes 08 (connection), 57 (operator intervention: shutdown), 53 (resources).
    return /^(08|57|53)/.test(code);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
