/**
 * usrloc SQL persistence on a real SQLite file (spec/db.md §3, §6 scenarios 1–7): rows as
 * OpenSIPS writes them, write-through / write-back timing, ul_sync / ul_flush, start-up load
 * of foreign rows with the contact-id check, version checks and a database missing at start.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../core/testing/index.ts";
import { dbDatetime } from "../../core/db/values.ts";
import dbSqlite from "../../modules/db_sqlite/index.ts";
import usrloc from "../../modules/usrloc/index.ts";
import type { UsrlocService } from "../../modules/usrloc/service.ts";
import { packContactId } from "../../modules/usrloc/contact-id.ts";
import { coreHash } from "../../core/hash.ts";
import { tempSqlite, type TempSqlite } from "../helpers/sqlite-db.ts";

let db: TempSqlite;
let url: string;
let dir: string;
const hosts: TestHost[] = [];

beforeEach(async () => {
  db = await tempSqlite("ulsql", ["location"]);
  url = db.url;
  dir = db.dir;
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop().catch(() => undefined);
  db.remove();
});

async function start(params: Record<string, string | number | string[]> = {}) {
  const host = await createTestHost({
    modules: [{ def: dbSqlite }, { def: usrloc, params: { working_mode_preset: "single-instance-sql-write-through", db_url: url, ...params } }],
  });
  hosts.push(host);
  const mi = (c: string, p: Record<string, string | number> = {}) => host.mi.run(c, p);
  return { host, mi, ul: host.api<UsrlocService>("usrloc") };
}

async function stop(h: TestHost) {
  hosts.splice(hosts.indexOf(h), 1);
  await h.stop();
}

/** The table as OpenSIPS's tests read it: quote() and typeof() show NULL vs '' and integer vs text. */
function rows(): Record<string, unknown>[] {
  return db.all(`SELECT CAST(contact_id AS TEXT) AS contact_id, username, quote(domain) AS domain, contact, expires, q, callid, cseq,
      last_modified, flags, quote(cflags) AS cflags, user_agent, quote(socket) AS socket, quote(methods) AS methods,
      quote(received) AS received, quote(path) AS path, quote(sip_instance) AS sip_instance, quote(kv_store) AS kv_store, quote(attr) AS attr
      FROM location ORDER BY contact_id`);
}

const sql = (statement: string, ...params: unknown[]): void => db.run(statement, ...params);

const add = { table_name: "location", aor: "alice", contact: "sip:alice@127.0.0.1:5090", expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 32767 };

describe("usrloc write-through (SQLite)", () => {
  it("ul_add writes the row before the MI reply, as OpenSIPS writes it; ul_rm_contact deletes it", async () => {
    const { mi, ul } = await start();
    const before = Math.floor(Date.now() / 1000);
    expect(await mi("ul_add", add)).toBe("OK");
    const c = ul.lookup("location", "alice")[0]!;
    const r = rows();
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({
      contact_id: (c as unknown as { contactIdText: string }).contactIdText, username: "alice", domain: "NULL", contact: "sip:alice@127.0.0.1:5090",
      q: 0.5, callid: "dfjrewr12386fd6-343@opensips.mi", cseq: 1, flags: 0, cflags: "''", user_agent: "OpenSIPS MI Server",
      socket: "NULL", methods: "32767", received: "NULL", path: "NULL", sip_instance: "NULL", kv_store: "NULL", attr: "NULL",
      last_modified: dbDatetime(0),
    });
    expect(r[0]!.expires).toBeGreaterThanOrEqual(before + 3600);
    expect((await mi("ul_show_contact", { table_name: "location", aor: "alice" }) as { Contacts: { State: string }[] }).Contacts[0]!.State).toBe("CS_SYNC");
    // Update: the same row, new values.
    expect(await mi("ul_add", { ...add, q: "0.125", methods: 4294967295 })).toBe("OK");
    expect(rows()).toMatchObject([{ q: 0.12, methods: "NULL" }]);
    expect(await mi("ul_rm_contact", { table_name: "location", aor: "alice", contact: add.contact })).toBe("OK");
    expect(rows()).toHaveLength(0);
  });

  it("a restart loads every row: same ContactID, CS_SYNC, and the next contact gets clabel+1 of the same record label", async () => {
    const n1 = await start();
    await n1.mi("ul_add", add);
    await n1.mi("ul_add", { ...add, aor: "bob", contact: "sip:bob@10.0.0.2" });
    const show = (await n1.mi("ul_show_contact", { table_name: "location", aor: "alice" })) as { Contacts: Record<string, unknown>[] };
    await stop(n1.host);
    const n2 = await start();
    const again = (await n2.mi("ul_show_contact", { table_name: "location", aor: "alice" })) as { Contacts: Record<string, unknown>[] };
    expect(again.Contacts[0]).toMatchObject({ ContactID: show.Contacts[0]!.ContactID, Q: show.Contacts[0]!.Q, Cseq: 1, State: "CS_SYNC", Methods: 32767 });
    await n2.mi("ul_add", { ...add, contact: "sip:alice@127.0.0.1:5091" });
    const ids = rows().filter((r) => r.username === "alice").map((r) => BigInt(r.contact_id as string));
    expect(ids).toHaveLength(2);
    expect(ids[1]! - ids[0]!).toBe(1n);
  });

  it("loads a row in OpenSIPS's format written by another writer; skips one whose contact_id does not match its AoR", async () => {
    const h = coreHash("carol");
    const good = packContactId(h, 7, 3);
    const bad = packContactId(h ^ 0x55, 7, 4);
    const ins = `INSERT INTO location (contact_id, username, contact, expires, q, callid, cseq, last_modified, flags, cflags, user_agent, socket, methods, kv_store)
      VALUES (?, 'carol', ?, ?, 0.7, 'cid-1', 42, '2026-01-02 03:04:05', 0, '', 'UA/1', NULL, NULL, '{"a":1}')`;
    const exp = Math.floor(Date.now() / 1000) + 600;
    sql(ins, good, "sip:carol@192.0.2.1", exp);
    sql(ins, bad, "sip:carol@192.0.2.2", exp);
    const { ul, mi } = await start();
    expect(ul.sql!.skipped.aorhash).toBe(1);
    const s = (await mi("ul_show_contact", { table_name: "location", aor: "carol" })) as { Contacts: Record<string, unknown>[] };
    expect(s.Contacts).toHaveLength(1);
    expect(s.Contacts[0]).toMatchObject({ ContactID: good.toString(), Q: "0.7", Cseq: 42, Callid: "cid-1", "User-agent": "UA/1", Methods: 4294967295, State: "CS_SYNC" });
    const c = ul.lookup("location", "carol")[0]!;
    expect(c.lastModified).toBe(Math.floor(new Date(2026, 0, 2, 3, 4, 5).getTime() / 1000));
    expect(c.kv).toEqual({ a: 1 });
    // The next contact of carol: record label 7, contact label 4.
    await mi("ul_add", { ...add, aor: "carol", contact: "sip:carol@192.0.2.9" });
    expect(rows().map((r) => r.contact_id)).toContain(packContactId(h, 7, 4).toString());
  });

  it("regen_broken_contactid = 1: a mismatched row gets a new id at the next pass, the old row is deleted", async () => {
    const bad = packContactId(coreHash("dave") ^ 0x1, 3, 1);
    sql(`INSERT INTO location (contact_id, username, contact, expires, q, callid, cseq, flags, user_agent) VALUES (?, 'dave', 'sip:d@h', 0, -1, 'c', 1, 0, '')`, bad);
    const { mi, ul } = await start({ regen_broken_contactid: 1 });
    expect(ul.sql!.skipped.regenerated).toBe(1);
    expect(await mi("ul_flush")).toBe("OK");
    const r = rows();
    expect(r).toHaveLength(1);
    expect(r[0]!.contact_id).not.toBe(bad.toString());
    expect(BigInt(r[0]!.contact_id as string) >> 46n).toBe(BigInt(coreHash("dave") & 0xffff));
    expect(r[0]).toMatchObject({ q: -1, expires: 0 });
  });

  it("an expired row is loaded, then deleted by the first timer pass", async () => {
    const id = packContactId(coreHash("erin"), 1, 1);
    sql(`INSERT INTO location (contact_id, username, contact, expires, q, callid, cseq, flags, user_agent) VALUES (?, 'erin', 'sip:e@h', 1000, 1, 'c', 1, 0, '')`, id);
    const { mi, ul } = await start();
    expect(ul.count()).toEqual({ users: 1, contacts: 1 });
    await mi("ul_flush");
    expect(ul.count()).toEqual({ users: 0, contacts: 0 });
    expect(rows()).toHaveLength(0);
  });

  it("ul_sync empties the table at once; ul_flush writes it again; the AoR form touches only that username", async () => {
    const { mi } = await start();
    await mi("ul_add", add);
    await mi("ul_add", { ...add, aor: "bob", contact: "sip:bob@h" });
    expect(await mi("ul_sync", { table_name: "location" })).toBe("OK");
    expect(rows()).toHaveLength(0);
    await mi("ul_flush");
    expect(rows()).toHaveLength(2);
    expect(await mi("ul_sync", { table_name: "location", aor: "bob" })).toBe("OK");
    expect(rows().map((r) => r.username)).toEqual(["alice"]);
    await expect(mi("ul_sync", { table_name: "location", aor: "nobody" })).rejects.toMatchObject({ code: 404, message: "AOR not found" });
    await mi("ul_flush");
    expect(rows()).toHaveLength(2);
  });

  it("skip_replicated_db_ops: FL_MEM contacts never reach SQL", async () => {
    const { ul } = await start();
    ul.insert("location", "mem", "sip:m@h", { expires: 0, callid: "x", cseq: 1, flags: 1 });
    await ul.settled(null);
    expect(rows()).toHaveLength(0);
  });
});

describe("usrloc write-back (SQLite)", () => {
  it("nothing until ul_flush; updates and deletes wait for the pass; a clean stop writes what is pending", async () => {
    const { mi, host } = await start({ working_mode_preset: "single-instance-sql-write-back" });
    await mi("ul_add", add);
    expect(rows()).toHaveLength(0);
    expect((await mi("ul_show_contact", { table_name: "location", aor: "alice" }) as { Contacts: { State: string }[] }).Contacts[0]!.State).toBe("CS_NEW");
    await mi("ul_flush");
    expect(rows()).toMatchObject([{ q: 0.5 }]);
    await mi("ul_add", { ...add, q: "0.9" });
    expect((await mi("ul_show_contact", { table_name: "location", aor: "alice" }) as { Contacts: { State: string }[] }).Contacts[0]!.State).toBe("CS_DIRTY");
    expect(rows()).toMatchObject([{ q: 0.5 }]);
    await mi("ul_flush");
    expect(rows()).toMatchObject([{ q: 0.9 }]);
    await mi("ul_rm_contact", { table_name: "location", aor: "alice", contact: add.contact });
    await expect(mi("ul_show_contact", { table_name: "location", aor: "alice" })).rejects.toMatchObject({ code: 404 });
    expect(rows()).toHaveLength(1);
    await mi("ul_flush");
    expect(rows()).toHaveLength(0);
    await mi("ul_add", { ...add, aor: "zed" });
    await stop(host);
    expect(rows().map((r) => r.username)).toEqual(["zed"]);
  });
});

describe("usrloc SQL start-up failures", () => {
  const fail = (params: Record<string, string | number>) => start(params).then(() => "started", (e: Error) => `${(e as { code?: string }).code} ${e.message}`);

  it("a table version mismatch names the table, the expected and the found version", async () => {
    sql("UPDATE version SET table_version=1012 WHERE table_name='location'");
    expect(await fail({})).toMatch(/TSIPS_ERR_MOD_INIT .*invalid version 1012 for table location found, expected 1013/);
    sql("DELETE FROM version WHERE table_name='location'");
    expect(await fail({})).toMatch(/'location' record not found in 'version' table, expected ver 1013/);
  });

  it("a database that cannot be opened fails init with TSIPS_ERR_DB_CONNECT; a wrong scheme or no URL is named", async () => {
    const err = await start({ db_url: `sqlite://${dir}/missing/dir/x.db` }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/db_sqlite: cannot open database .*missing\/dir\/x.db/);
    expect(((err as Error).cause as { code: string }).code).toBe("TSIPS_ERR_DB_CONNECT");
    expect(await fail({ db_url: "" })).toMatch(/selected mode requires a db connection -> db_url/);
    expect(await fail({ db_url: "sqlite:/x.db" })).toMatch(/error while parsing database URL/);
  });
});
