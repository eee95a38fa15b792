/**
 * A SQLite database in a fresh temp folder with OpenSIPS's tables (`npm run db -- init`), and
 * the small direct accesses tests make to it (as a foreign writer would, or to read rows back).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { DdlTable } from "../../core/db/index.ts";
import { initDb } from "../../scripts/db.ts";

export interface TempSqlite {
  dir: string;
  file: string;
  url: string;
  /** Runs one statement on its own connection (a foreign writer). */
  run(statement: string, ...params: unknown[]): void;
  /** Reads rows on its own read-only connection. */
  all(statement: string, ...params: unknown[]): Record<string, unknown>[];
  remove(): void;
}

export async function tempSqlite(tag: string, tables: readonly DdlTable[]): Promise<TempSqlite> {
  const dir = mkdtempSync(join(tmpdir(), `tsips-${tag}-`));
  const file = join(dir, `${tag}.db`);
  const url = `sqlite://${file}`;
  await initDb(url, ["version", ...tables.filter((t) => t !== "version")], () => undefined);
  const use = <T>(readonly: boolean, fn: (db: Database.Database) => T): T => {
    const db = new Database(file, { readonly });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    dir, file, url,
    run: (statement, ...params) => void use(false, (db) => db.prepare(statement).run(...params)),
    all: (statement, ...params) => use(true, (db) => db.prepare(statement).all(...params) as Record<string, unknown>[]),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
