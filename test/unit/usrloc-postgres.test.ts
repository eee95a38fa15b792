/**
 * usrloc on a real PostgreSQL started by the test (initdb in a temp folder, free port):
 * OpenSIPS's PG DDL, rows written through, a restart that loads them, and a server that goes
 * away for a while: writes queue in order, nothing acknowledged is lost, the node reconnects.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../core/testing/index.ts";
import { dbDatetime } from "../../core/db/values.ts";
import dbPostgres from "../../modules/db_postgres/index.ts";
import usrloc from "../../modules/usrloc/index.ts";
import type { UsrlocService } from "../../modules/usrloc/service.ts";
import { initDb } from "../../scripts/db.ts";
import { startPostgres, type PgServer } from "../helpers/postgres.ts";

let server: PgServer;
let n = 0;
const hosts: TestHost[] = [];

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.destroy();
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop().catch(() => undefined);
});

async function freshDb(): Promise<string> {
  const url = await server.url(`ul${++n}`);
  await initDb(url, ["version", "location"], () => undefined);
  return url;
}

async function start(url: string, params: Record<string, string | number> = {}) {
  const host = await createTestHost({
    modules: [{ def: dbPostgres }, { def: usrloc, params: { working_mode_preset: "single-instance-sql-write-through", db_url: url, ...params } }],
  });
  hosts.push(host);
  return { host, mi: (c: string, p: Record<string, string | number> = {}) => host.mi.run(c, p), ul: host.api<UsrlocService>("usrloc") };
}

async function rows(url: string): Promise<Record<string, unknown>[]> {
  const m = /unix\((.*)\):(\d+)\/(\w+)/.exec(url)!;
  const cl = new pg.Client({ host: m[1], port: Number(m[2]), user: "tsips", database: m[3] });
  await cl.connect();
  try {
    const r = await cl.query(`SELECT contact_id::text AS contact_id, username, domain, contact, expires, q, callid, cseq,
      to_char(last_modified, 'YYYY-MM-DD HH24:MI:SS') AS last_modified, flags, cflags, user_agent, socket, methods, kv_store FROM location ORDER BY contact_id`);
    return r.rows as Record<string, unknown>[];
  } finally {
    await cl.end();
  }
}

const add = { table_name: "location", aor: "alice", contact: "sip:alice@127.0.0.1:5090", expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 32767 };

describe("usrloc on PostgreSQL", () => {
  it("write-through rows as OpenSIPS writes them; a restart loads them with the same ids", async () => {
    const url = await freshDb();
    const a = await start(url);
    await a.mi("ul_add", add);
    const r = await rows(url);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({
      username: "alice", domain: null, contact: add.contact, q: 0.5, callid: "dfjrewr12386fd6-343@opensips.mi", cseq: 1,
      last_modified: dbDatetime(0), flags: 0, cflags: "", user_agent: "OpenSIPS MI Server", socket: null, methods: 32767, kv_store: null,
    });
    const id = r[0]!.contact_id;
    hosts.splice(hosts.indexOf(a.host), 1);
    await a.host.stop();
    const b = await start(url);
    const s = (await b.mi("ul_show_contact", { table_name: "location", aor: "alice" })) as { Contacts: Record<string, unknown>[] };
    expect(s.Contacts[0]).toMatchObject({ ContactID: id, State: "CS_SYNC", Methods: 32767 });
    await b.mi("ul_rm", { table_name: "location", aor: "alice" });
    expect(await rows(url)).toHaveLength(0);
  });

  it("the server stops for 5 s: MI still answers, writes queue in order and land after the restart", async () => {
    const url = await freshDb();
    const { ul, mi } = await start(url);
    await mi("ul_add", add);
    await server.stop();
    const exp = Math.floor(Date.now() / 1000) + 3600;
    for (let i = 0; i < 300; i++) ul.insert("location", `u${i}`, `sip:u${i}@10.0.0.1`, { expires: exp, callid: `c${i}`, cseq: 1 });
    // An update and a delete after the insert they follow: order matters.
    const c5 = ul.lookup("location", "u5")[0]!;
    ul.update("location", "u5", c5, { cseq: 9 });
    ul.delete("location", "u7", ul.lookup("location", "u7")[0]!);
    const t0 = Date.now();
    expect(await mi("ul_add", { ...add, aor: "bob" })).toBe("OK");
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await mi("ul_show_contact", { table_name: "location", aor: "bob" })).toMatchObject({ AOR: "bob", Contacts: [{ Contact: add.contact }] });
    expect(ul.sql!.writer.pending).toBeGreaterThan(0);
    // The outage: the server stays down 5 s, MI answering all along.
    const down = Date.now();
    while (Date.now() - down < 5000) {
      expect(await mi("ul_show_contact", { table_name: "location", aor: "u1" })).toMatchObject({ AOR: "u1", Contacts: [{ Contact: "sip:u1@10.0.0.1" }] });
      await new Promise((r) => setTimeout(r, 500));
    }
    await server.start();
    expect(await ul.sql!.writer.idle(20_000)).toBe(true);
    const r = await rows(url);
    expect(r).toHaveLength(1 + 300 - 1 + 1);
    expect(r.find((x) => x.username === "u5")).toMatchObject({ cseq: 9 });
    expect(r.find((x) => x.username === "u7")).toBeUndefined();
    expect(ul.sql!.writer.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(ul.sql!.writer.stats.dropped).toBe(0);
  });

  it("a server that is not there at start fails init with TSIPS_ERR_DB_CONNECT", async () => {
    const err = await start(`postgres://tsips@127.0.0.1:1/none`).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/db_postgres: cannot connect to 'postgres:\/\/tsips@127.0.0.1:1\/none'/);
    expect(((err as Error).cause as { code: string }).code).toBe("TSIPS_ERR_DB_CONNECT");
  });
});
