/**
 * dialog db_mode 1/2/3 on a real SQLite file (spec/db.md §4, §6 scenario 8): the 29 columns
 * after confirmation, the 13-column UPDATE, DELETE at the end, the start-up load keeping h_id,
 * state-5 rows removed, mode 3 (empty while running, full after stop), dlg_restore_db/dlg_db_sync.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../core/testing/index.ts";
import dbSqlite from "../../modules/db_sqlite/index.ts";
import dialog from "../../modules/dialog/index.ts";
import { dialogDbs } from "../../modules/dialog/db.ts";
import type { DialogEngine } from "../../modules/dialog/engine.ts";
import { tempSqlite, type TempSqlite } from "../helpers/sqlite-db.ts";

let sqlite: TempSqlite;
let url: string;
const hosts: TestHost[] = [];

beforeEach(async () => {
  sqlite = await tempSqlite("dlgsql", ["dialog"]);
  url = sqlite.url;
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop().catch(() => undefined);
  sqlite.remove();
});

async function start(params: Record<string, string | number> = {}) {
  const host = await createTestHost({
    modules: [{ def: dbSqlite }, { def: dialog, params: { db_mode: 1, db_url: url, profiles_with_value: "caller", ...params } }],
    sockets: ["udp:127.0.0.1:5060"],
  });
  hosts.push(host);
  const engine = host.api<DialogEngine>("dialog");
  return { host, engine, mi: (c: string, p: Record<string, string | number> = {}) => host.mi.run(c, p), db: dialogDbs.get(engine)! };
}

async function stop(h: TestHost) {
  hosts.splice(hosts.indexOf(h), 1);
  await h.stop();
}

function rows(): Record<string, unknown>[] {
  return sqlite.all(`SELECT CAST(dlg_id AS TEXT) AS dlg_id, callid, from_uri, from_tag, to_uri, to_tag, quote(mangled_from_uri) AS mangled_from_uri,
      caller_cseq, callee_cseq, caller_ping_cseq, callee_ping_cseq, quote(caller_route_set) AS caller_route_set, caller_contact,
      callee_contact, caller_sock, callee_sock, state, start_time, timeout, typeof(vars) AS vars_type, quote(profiles) AS profiles,
      quote(script_flags) AS script_flags, module_flags, flags, quote(rt_on_answer) AS rt_on_answer FROM dialog ORDER BY dlg_id`);
}

const call = { callid: "call-1@test", fromUri: "sip:alice@example.com", toUri: "sip:bob@example.com", fromTag: "ft1", toTag: "tt1",
  callerContact: "sip:alice@10.0.0.1", calleeContact: "sip:bob@10.0.0.2", values: { v: "x" }, profiles: [{ name: "caller", value: "alice" }] };

describe("dialog db_mode 1 (realtime)", () => {
  it("INSERT of the 29 columns on confirmation, UPDATE on ACK, DELETE at the end", async () => {
    const { engine, db } = await start();
    const d = engine.create({ ...call, state: 2, timeout: 120 });
    await db.writer.idle();
    expect(rows()).toHaveLength(0); // early dialogs are never written
    engine.setState(d.id, 3);
    await db.writer.idle();
    const id = ((BigInt(d.hEntry) << 32n) | BigInt(d.hId)).toString();
    expect(rows()).toEqual([{
      dlg_id: id, callid: "call-1@test", from_uri: call.fromUri, from_tag: "ft1", to_uri: call.toUri, to_tag: "tt1", mangled_from_uri: "NULL",
      caller_cseq: "0", callee_cseq: "1", caller_ping_cseq: 0, callee_ping_cseq: 0, caller_route_set: "NULL", caller_contact: call.callerContact,
      callee_contact: call.calleeContact, caller_sock: "udp:127.0.0.1:5060", callee_sock: "udp:127.0.0.1:5060", state: 3,
      start_time: d.startTs, timeout: d.expiresAt, vars_type: "null", profiles: "NULL", script_flags: "NULL", module_flags: 0,
      flags: expect.any(Number), rt_on_answer: "NULL",
    }]);
    expect((rows()[0]!.flags as number) & 0x1).toBe(0);
    engine.setState(d.id, 4);
    await db.writer.idle();
    expect(rows()[0]).toMatchObject({ state: 4 });
    engine.end(d.id);
    await db.writer.idle();
    expect(rows()).toHaveLength(0);
  });

  it("a restart loads the dialog with the same h_id (ID); a state-5 row is deleted at start-up", async () => {
    const a = await start();
    const d = a.engine.create({ ...call, state: 4, timeout: 600 });
    await stop(a.host);
    // Shutdown wrote values and profiles too (on-shutdown UPDATE).
    expect(rows()[0]).toMatchObject({ vars_type: "blob", profiles: "'caller#1#alice|'" });
    sqlite.run(`INSERT INTO dialog (dlg_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq, caller_ping_cseq,
      callee_ping_cseq, caller_sock, callee_sock, state, start_time, timeout) VALUES (?, 'gone', 'a', 'b', 'c', 'd', '1', '1', 0, 0,
      'udp:127.0.0.1:5060', 'udp:127.0.0.1:5060', 5, 1, 1)`, 99n << 32n);
    const b = await start();
    const again = b.engine.lookup("call-1@test")!;
    expect(again).toMatchObject({ id: d.id, hId: d.hId, state: 4, expiresAt: d.expiresAt });
    expect(again.vals?.get("v")).toBe("x");
    expect(b.engine.profileSize("caller", "alice")).toBe(1);
    await b.db.writer.idle();
    expect(rows().map((r) => r.callid)).toEqual(["call-1@test"]);
    // The first runtime UPDATE wipes vars/profiles again (db_flush_vals_profiles = 0), as OpenSIPS does.
    b.engine.setTimeout(d.id, 900);
    b.engine.setState(d.id, 4);
    expect(await b.mi("dlg_db_sync")).toBe("OK");
    expect(await b.mi("dlg_restore_db")).toBe("OK");
    expect(rows()[0]).toMatchObject({ vars_type: "blob", state: 4 });
  });

  it("a dialog table at another version stops start-up naming dialog and 12", async () => {
    sqlite.run("UPDATE version SET table_version=11 WHERE table_name='dialog'");
    await expect(start()).rejects.toThrow(/invalid version 11 for table dialog found, expected 12/);
  });
});

describe("dialog db_mode 2 and 3", () => {
  it("mode 2: nothing until the pass; then INSERT / UPDATE / DELETE", async () => {
    const { engine, db } = await start({ db_mode: 2, db_update_period: 3600 });
    const d = engine.create({ ...call, state: 3 });
    await db.writer.idle();
    expect(rows()).toHaveLength(0);
    expect(db.pass()).toMatchObject({ inserted: 1 });
    await db.writer.idle();
    expect(rows()).toMatchObject([{ state: 3 }]);
    engine.setState(d.id, 4);
    await db.writer.idle();
    expect(rows()).toMatchObject([{ state: 3 }]);
    db.pass();
    await db.writer.idle();
    expect(rows()).toMatchObject([{ state: 4 }]);
    engine.end(d.id);
    db.pass();
    await db.writer.idle();
    expect(rows()).toHaveLength(0);
  });

  it("mode 3: the table is emptied after the load and filled at shutdown", async () => {
    const a = await start({ db_mode: 3 });
    a.engine.create({ ...call, state: 4 });
    a.engine.create({ ...call, callid: "call-2@test", state: 4 });
    await a.db.writer.idle();
    expect(rows()).toHaveLength(0);
    await stop(a.host);
    expect(rows()).toHaveLength(2);
    const b = await start({ db_mode: 3 });
    await b.db.writer.idle();
    expect(b.engine.counts().active).toBe(2);
    expect(rows()).toHaveLength(0);
    await stop(b.host);
    expect(rows()).toHaveLength(2);
  });
});
