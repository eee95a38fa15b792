/**
 * Binding a module to the `db_<scheme>` module its `db_url` names (db/db.c `db_bind_mod`).
 * A module that persists data declares `...dbDeps(when)`: it then needs `db_sqlite` or
 * `db_postgres`, whichever the URL's scheme asks for, initialised first.
 */
import { need, type DepSpec } from "../module.ts";
import { TsipsError } from "../errors.ts";
import type { DbDriver } from "./api.ts";
import { dbUrlScheme, DbUrlError, parseDbUrl } from "./url.ts";

export const DB_MODULES = ["db_sqlite", "db_postgres"] as const;

/**
 * Deps on the DB modules: `db_<scheme>` is needed when `uses(params)` is true and `db_url`
 * has that scheme. A scheme with no tsips module (mysql, text) is reported by `bindDb`.
 */
export function dbDeps(uses: (p: Record<string, unknown>) => boolean, urlParam = "db_url"): {
  db_sqlite: DepSpec<DbDriver, true>;
  db_postgres: DepSpec<DbDriver, true>;
} {
  const scheme = (p: Record<string, unknown>): string => dbUrlScheme(String(p[urlParam] ?? ""));
  return {
    db_sqlite: need<DbDriver>("db_sqlite", { when: (p) => uses(p) && scheme(p) === "sqlite" }),
    db_postgres: need<DbDriver>("db_postgres", { when: (p) => uses(p) && scheme(p) === "postgres" }),
  };
}

/** The driver for `url` among the bound DB modules; throws a TsipsError naming what is wrong. */
export function bindDb(module: string, url: string, drivers: { db_sqlite?: DbDriver | undefined; db_postgres?: DbDriver | undefined }): DbDriver {
  if (!url) {
    throw new TsipsError("TSIPS_ERR_DB_URL", `selected mode requires a db connection -> db_url`, { module });
  }
  try {
    parseDbUrl(url);
  } catch (e) {
    if (e instanceof DbUrlError) throw new TsipsError("TSIPS_ERR_DB_URL", e.message, { module });
    throw e;
  }
  const scheme = dbUrlScheme(url);
  const d = scheme === "sqlite" ? drivers.db_sqlite : scheme === "postgres" ? drivers.db_postgres : undefined;
  if (!d) {
    throw new TsipsError("TSIPS_ERR_DB_URL",
      `db_url scheme "${scheme}" needs module db_${scheme}, which tsips ${DB_MODULES.includes(`db_${scheme}` as never) ? "did not load" : "does not have (use sqlite:// or postgres://)"}`,
      { module });
  }
  return d;
}
