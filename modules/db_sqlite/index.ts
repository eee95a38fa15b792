/**
 * db_sqlite: SQLite databases for `db_url = sqlite:///abs/path.db` (spec/db.md §1.2). The
 * embedded default: a file, nothing to install or start. Modules reach it through the core
 * DB API (`bindDb`); each user of the URL opens its own connection, as each OpenSIPS process does.
 */
import { defineModule, int, str, strList, type DbConnection, type DbDriver } from "tsips";
import { SqliteConnection } from "./connection.ts";

const params = {
  busy_timeout: int({ default: 500, min: 0, doc: "ms to wait on a locked database file (sqlite3_busy_timeout)" }),
  exec_pragma: strList({ doc: "PRAGMA run on every connection, e.g. \"journal_mode=wal\" (repeatable); runs after the `wal` defaults" }),
  wal: int({ default: 1, min: 0, max: 1, doc: "tsips: 1 = journal_mode=WAL and synchronous=NORMAL on every connection (a commit survives a killed process; an OS crash may lose the last ones); 0 = SQLite's defaults (an fsync per commit, as OpenSIPS without exec_pragma)" }),
  alloc_limit: int({ default: 10, min: 1, doc: "row-array growth step", ignored: "better-sqlite3 fetches whole results" }),
  load_extension: str({ default: "", doc: "SQLite extension to load", ignored: "extensions are not loaded by tsips" }),
};

export default defineModule<typeof params, {}, never, DbDriver>({
  name: "db_sqlite",
  version: "1.0.0",
  doc: "SQLite driver for the DB API (sqlite:///path/file.db)",
  params,
  init(ctx): DbDriver {
    const defaults = ctx.params.wal ? ["journal_mode=WAL", "synchronous=NORMAL"] : [];
    const opts = { busyTimeoutMs: ctx.params.busy_timeout, pragmas: [...defaults, ...ctx.params.exec_pragma] };
    return {
      scheme: "sqlite",
      async connect(url: string): Promise<DbConnection> {
        const c = SqliteConnection.open(url, opts);
        ctx.log.debug({ file: c.file }, "sqlite connection opened");
        return c;
      },
    };
  },
});
