/**
 * db_postgres: PostgreSQL for `db_url = postgres://user:pass@host:port/db` (spec/db.md §1.2),
 * the real server for a database shared by many nodes and with OpenSIPS nodes.
 */
import { defineModule, int, type DbConnection, type DbDriver } from "tsips";
import { PostgresConnection } from "./connection.ts";

const params = {
  timeout: int({ default: 5, min: 1, doc: "connect timeout in seconds (libpq connect_timeout)" }),
  max_db_queries: int({ default: 2, min: 1, doc: "tries per query", ignored: "tsips retries writes in order until they succeed (bounded queue)" }),
  exec_query_threshold: int({ default: 0, min: 0, doc: "slow query warning (us)", ignored: "not measured by tsips" }),
  use_tls: int({ default: 0, min: 0, max: 1, doc: "TLS to the server", ignored: "TLS to PostgreSQL is not supported by tsips yet" }),
};

export default defineModule<typeof params, {}, never, DbDriver>({
  name: "db_postgres",
  version: "1.0.0",
  doc: "PostgreSQL driver for the DB API (postgres://user:pass@host:port/db)",
  params,
  init(ctx): DbDriver {
    const opts = { timeoutS: ctx.params.timeout };
    return {
      scheme: "postgres",
      async connect(url: string): Promise<DbConnection> {
        return PostgresConnection.open(url, opts);
      },
    };
  },
});
