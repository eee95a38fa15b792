/**
 * Table version check (db/db.c `db_table_version` / `db_check_table_version`; spec/db.md §1.5),
 * with OpenSIPS's messages. A failure stops start-up.
 */
import { TsipsError } from "../errors.ts";
import type { DbConnection } from "./api.ts";

export async function checkTableVersion(conn: DbConnection, module: string, table: string, expected: number,
  versionTable = "version"): Promise<void> {
  const fail = (msg: string): never => {
    throw new TsipsError("TSIPS_ERR_DB_VERSION", msg, { module });
  };
  let rows;
  try {
    rows = await conn.query(`SELECT table_version FROM ${versionTable} WHERE table_name=?`, [table]);
  } catch (err) {
    throw new TsipsError("TSIPS_ERR_DB_VERSION",
      `cannot read the '${versionTable}' table (${(err as Error).message}); create the tables with "npm run db -- init <db_url>"`,
      { module, cause: err });
  }
  if (rows.length === 0) fail(`'${table}' record not found in '${versionTable}' table, expected ver ${expected}`);
  if (rows.length > 1) fail(`invalid number of rows received: ${rows.length} '${table}' records in '${versionTable}' table`);
  const v = rows[0]!["table_version"];
  if (v === null || v === undefined || (typeof v !== "number" && typeof v !== "bigint")) {
    fail(`invalid type (${v === null ? "null" : typeof v}) or nul (${v === null ? 1 : 0}) version columns for ${table}`);
  }
  if (Number(v) !== expected) fail(`invalid version ${Number(v)} for table ${table} found, expected ${expected}`);
}
