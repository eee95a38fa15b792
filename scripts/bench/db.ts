/**
 * `npm run bench -- db [--json] [--count=N] [--load=N]`
 *
 * usrloc SQL persistence, in-process (db_sqlite / db_postgres + usrloc through the real loader):
 * - `ul_add` throughput per mode and backend: N MI `ul_add` calls one after the other, each
 *   answered after its row is written (write-through) or at once (write-back), then one
 *   `ul_flush`; the instant measured is from the first call to the last row in the table.
 *   Goal: write-through on SQLite ≥ 5,000 contacts/s.
 * - start-up load: a table of 100k contacts (written by tsips in OpenSIPS's format), then a
 *   fresh node's load of it: the SELECT and the rows into memory (goal ≤ 1 s), and the whole
 *   module start (init incl. version check).
 * PostgreSQL runs only where its server binaries are installed (a private server in a temp folder).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createTestHost, type TestHost } from "../../core/testing/host.ts";
import dbSqlite from "../../modules/db_sqlite/index.ts";
import dbPostgres from "../../modules/db_postgres/index.ts";
import usrloc from "../../modules/usrloc/index.ts";
import type { UsrlocService } from "../../modules/usrloc/service.ts";
import { initDb } from "../db.ts";
import { startPostgres, type PgServer } from "../../test/helpers/postgres.ts";
import { silentLogger } from "../../core/log.ts";
import { report } from "./report.ts";

function arg(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

async function node(url: string, preset: string): Promise<{ host: TestHost; ul: UsrlocService }> {
  const def = url.startsWith("sqlite") ? dbSqlite : dbPostgres;
  const host = await createTestHost({
    modules: [{ def }, { def: usrloc, params: { working_mode_preset: preset, db_url: url, timer_interval: 3600, hash_size: 12 } }],
    log: silentLogger(),
  });
  return { host, ul: host.api<UsrlocService>("usrloc") };
}

async function ulAdds(url: string, preset: string, count: number): Promise<number> {
  const { host, ul } = await node(url, preset);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    await host.mi.run("ul_add", { table_name: "location", aor: `u${i}`, contact: `sip:u${i}@10.0.${(i >> 8) & 255}.${i & 255}:5060`, expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 4294967295 });
  }
  await host.mi.run("ul_flush");
  await ul.sql!.writer.idle();
  const ms = performance.now() - t0;
  if (ul.sql!.writer.stats.written < count) throw new Error(`only ${ul.sql!.writer.stats.written} of ${count} rows written`);
  await host.stop();
  return count / (ms / 1000);
}

async function loadTime(url: string, count: number): Promise<{ loadMs: number; initMs: number; cpuMs: number }> {
  const w = await node(url, "single-instance-sql-write-back");
  const exp = Math.floor(Date.now() / 1000) + 3600;
  for (let i = 0; i < count; i++) {
    w.ul.insert("location", `u${i}`, `sip:u${i}@10.0.${(i >> 8) & 255}.${i & 255}:5060`, { expires: exp, callid: `c${i}@bench`, cseq: 1, q: 1000, userAgent: "bench/1" });
  }
  await w.host.mi.run("ul_flush");
  await w.ul.sql!.writer.idle();
  await w.host.stop();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await node(url, "single-instance-sql-write-back");
  const c1 = process.cpuUsage(c0);
  const initMs = performance.now() - t0;
  const n = r.ul.count().contacts;
  if (n !== count) throw new Error(`loaded ${n} of ${count}`);
  const loadMs = r.ul.sql!.lastLoadMs;
  await r.host.stop();
  return { loadMs, initMs, cpuMs: (c1.user + c1.system) / 1000 };
}

export async function run({ json, args }: { json: boolean; args: string[] }): Promise<void> {
  const count = arg(args, "count", 20_000);
  const loadN = arg(args, "load", 100_000);
  const dir = mkdtempSync(join(tmpdir(), "tsips-bench-db-"));
  let pgs: PgServer | undefined;
  try {
    const backends: { name: string; fresh: (tag: string) => Promise<string> }[] = [
      { name: "sqlite", fresh: async (tag) => { const u = `sqlite://${join(dir, `${tag}.db`)}`; await initDb(u, ["version", "location"], () => undefined); return u; } },
    ];
    try {
      pgs = await startPostgres();
      const s = pgs;
      backends.push({ name: "postgres", fresh: async (tag) => { const u = await s.url(tag.replace(/-/g, "_")); await initDb(u, ["version", "location"], () => undefined); return u; } });
    } catch (e) {
      process.stderr.write(`PostgreSQL skipped: ${(e as Error).message}\n`);
    }
    for (const b of backends) {
      for (const [mode, preset] of [["write-through", "single-instance-sql-write-through"], ["write-back", "single-instance-sql-write-back"]] as const) {
        const rate = await ulAdds(await b.fresh(`add-${mode}`), preset, count);
        report(json, { name: `db ${b.name} ${mode} ul_add`, value: Math.round(rate), unit: "contacts/s",
          note: `${count} MI ul_add one after the other, until the last row is in the table${b.name === "sqlite" && mode === "write-through" ? "; goal >= 5,000" : ""}` });
      }
      const { loadMs, initMs, cpuMs } = await loadTime(await b.fresh("load"), loadN);
      report(json, { name: `db ${b.name} load ${loadN / 1000}k contacts`, value: Math.round(loadMs), unit: "ms", note: "SELECT + rows into memory; goal <= 1000" });
      report(json, { name: `db ${b.name} usrloc start with ${loadN / 1000}k`, value: Math.round(initMs), unit: "ms", note: "whole module start: connect, version check, load" });
      report(json, { name: `db ${b.name} usrloc start with ${loadN / 1000}k, CPU`, value: Math.round(cpuMs), unit: "ms", note: "CPU time of this process over the same start (less sensitive to a busy machine)" });
    }
  } finally {
    await pgs?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
