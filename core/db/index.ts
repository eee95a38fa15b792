/** The core DB layer (OpenSIPS `db/`): one API, URL rules, DDL, version check, value formats, ordered writes. */
export type { DbConnection, DbDriver, DbRow, DbStatement, DbValue } from "./api.ts";
export { parseDbUrl, dbUrlScheme, hidePassword, sqliteFile, DbUrlError, type DbUrl } from "./url.ts";
export { createScript, CREATE_ORDER, TABLE_VERSIONS, type DdlBackend, type DdlTable } from "./ddl.ts";
export { checkTableVersion } from "./version.ts";
export { dbDatetime, dbParseDatetime, dbDouble2 } from "./values.ts";
export { DbWriter, type DbWriterStats, type DbWriterOptions } from "./writer.ts";
export { dbDeps, bindDb, DB_MODULES } from "./bind.ts";
