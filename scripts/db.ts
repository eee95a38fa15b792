/**
 * `npm run db -- init <db_url> [table...]`: creates OpenSIPS 3.6.8's tables with the exact
 * DDL of its create scripts (standard first, then usrloc/dialog/clusterer, each with its
 * version row), the way `opensips-cli database create` does. Tables that exist are left alone.
 * `npm run db -- ddl <sqlite|postgres> [table...]` prints the scripts.
 */
import { createScript, CREATE_ORDER, dbUrlScheme, type DbConnection, type DdlBackend, type DdlTable } from "tsips";
import { SqliteConnection } from "../modules/db_sqlite/connection.ts";
import { PostgresConnection } from "../modules/db_postgres/connection.ts";

const USAGE = `usage: npm run db -- init <db_url> [version|location|dialog|clusterer ...]
       npm run db -- ddl <sqlite|postgres> [table ...]
  db_url: sqlite:///abs/path/file.db  or  postgres://user:pass@host[:port]/dbname
`;

const TABLE_NAMES: Record<DdlTable, string> = { version: "version", location: "location", dialog: "dialog", clusterer: "clusterer" };

function pickTables(args: string[]): DdlTable[] {
  if (args.length === 0) return [...CREATE_ORDER];
  for (const a of args) if (!(CREATE_ORDER as readonly string[]).includes(a)) throw new Error(`unknown table "${a}"; known: ${CREATE_ORDER.join(", ")}`);
  const want = new Set(args);
  want.add("version");
  return CREATE_ORDER.filter((t) => want.has(t));
}

async function tableExists(conn: DbConnection, table: string): Promise<boolean> {
  const rows = conn.backend === "sqlite"
    ? await conn.query("SELECT name FROM sqlite_master WHERE type='table' AND name=?", [table])
    : await conn.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename=?", [table]);
  return rows.length > 0;
}

export async function initDb(url: string, tables: readonly DdlTable[], out: (line: string) => void): Promise<void> {
  const scheme = dbUrlScheme(url);
  let conn: DbConnection;
  if (scheme === "sqlite") conn = SqliteConnection.open(url, { busyTimeoutMs: 500, pragmas: [] });
  else if (scheme === "postgres") conn = await PostgresConnection.open(url, { timeoutS: 5 });
  else throw new Error(`db_url scheme "${scheme}" is not supported (use sqlite:// or postgres://)`);
  try {
    for (const t of tables) {
      if (await tableExists(conn, TABLE_NAMES[t])) {
        out(`  ${t}: exists, left alone`);
        continue;
      }
      await conn.exec(createScript(scheme as DdlBackend, t));
      out(`  ${t}: created${t === "version" ? "" : " (version row added)"}`);
    }
  } finally {
    await conn.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, target, ...rest] = argv;
  if (cmd === "ddl" && (target === "sqlite" || target === "postgres")) {
    for (const t of pickTables(rest)) process.stdout.write(createScript(target, t) + "\n");
    return 0;
  }
  if (cmd !== "init" || !target) {
    process.stderr.write(USAGE);
    return 1;
  }
  const tables = pickTables(rest);
  process.stdout.write(`creating OpenSIPS 3.6.8 tables in ${target.replace(/:[^:@/]*@/, ":***@")}\n`);
  await initDb(target, tables, (l) => process.stdout.write(`${l}\n`));
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((c) => process.exit(c), (e: unknown) => {
    process.stderr.write(`ERROR: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
