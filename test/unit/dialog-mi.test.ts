/** MI commands of the dialog module: OpenSIPS reply shapes (spec §10) and the tsips extensions. */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { findVector } from "../../core/bin/vectors.ts";
import { bindParams } from "../../core/mi/params.ts";
import { MiError, type JsonValue, type MiResult, type MiStreamedReply } from "../../core/mi/types.ts";
import type { DialogEngine } from "../../modules/dialog/engine.ts";
import { dialogMi, escapeCtxValue, formatDate } from "../../modules/dialog/mi.ts";
import { FakeClock, FakeCluster, makeNode, sock, twoNodes } from "./dialog-helpers.ts";

const base = { fromUri: "sip:alice@example.com", toUri: "sip:bob@example.com" };

async function run(e: DialogEngine, cmd: string, params: Record<string, JsonValue> = {}): Promise<JsonValue> {
  const decl = dialogMi[cmd];
  if (!decl) throw new Error(`no MI command ${cmd}`);
  const bound = bindParams(decl.params ?? [[]], decl.namedOnly ?? false, Object.keys(params).length ? params : undefined);
  const out: MiResult = await decl.run(bound, e);
  if (out && typeof out === "object" && "kind" in out && out.kind === "mi-stream") {
    let text = "";
    for await (const c of (out as MiStreamedReply).chunks) text += c;
    return JSON.parse(text) as JsonValue;
  }
  return out as JsonValue;
}

async function miError(p: Promise<unknown>): Promise<{ code: number; message: string; data?: unknown }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MiError) return { code: e.code, message: e.message, ...(e.data !== undefined ? { data: e.data } : {}) };
    throw e;
  }
  throw new Error("no error");
}

const OPENSIPS_DIALOG_MI = [
  "dlg_list", "dlg_list_ctx", "dlg_end_dlg", "dlg_db_sync", "dlg_restore_db", "dlg_cluster_sync", "profile_get_size",
  "profile_get_values", "profile_list_dlgs", "list_all_profiles", "profile_end_dlgs", "dlg_set_profile", "dlg_unset_profile",
  "dlg_push_var", "dlg_send_sequential",
];

describe("dialog MI", () => {
  it("dlg_list: every dialog, keys in OpenSIPS order, dates in local time", async () => {
    const clock = new FakeClock();
    const { engine } = makeNode({ clock });
    const d = engine.create({ ...base, callid: "l1@h", fromTag: "ft", toTag: "tt", timeout: 60, callerSdp: "v=0\r\n" });
    const res = (await run(engine, "dlg_list")) as { Dialogs: Record<string, JsonValue>[] };
    expect(res.Dialogs).toHaveLength(1);
    const o = res.Dialogs[0]!;
    expect(Object.keys(o)).toEqual(["ID", "db_id", "state", "user_flags", "timestart", "datestart", "timeout", "dateout", "callid", "from_uri",
      "to_uri", "caller_tag", "caller_contact", "callee_cseq", "caller_route_set", "caller_bind_addr", "caller_sdp", "CALLEES"]);
    expect(o).toMatchObject({
      ID: d.id, db_id: String(BigInt(d.hEntry) * 4294967296n + BigInt(d.hId)), state: 4, user_flags: "", timestart: d.startTs,
      datestart: formatDate(d.startTs), timeout: d.startTs + 60, callid: "l1@h", caller_tag: "ft", callee_cseq: "0",
      caller_bind_addr: "udp:127.0.0.1:5060",
      CALLEES: [{ callee_tag: "tt", callee_contact: "sip:bob@example.com", caller_cseq: "1", callee_route_set: "", callee_bind_addr: "udp:127.0.0.1:5060" }],
    });
    expect(o["datestart"]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("dlg_list by callid (+from_tag) and by page; 404 No such dialog", async () => {
    const { engine } = makeNode({ clock: new FakeClock() });
    for (let i = 0; i < 5; i++) engine.create({ ...base, callid: `p${i}@h`, fromTag: `f${i}` });
    expect(((await run(engine, "dlg_list", { callid: "p3@h" })) as { Dialog: { callid: string } }).Dialog.callid).toBe("p3@h");
    expect(((await run(engine, "dlg_list", { callid: "p3@h", from_tag: "f3" })) as { Dialog: { caller_tag: string } }).Dialog.caller_tag).toBe("f3");
    expect(await miError(run(engine, "dlg_list", { callid: "p3@h", from_tag: "zz" }))).toEqual({ code: 404, message: "No such dialog" });
    const page = (await run(engine, "dlg_list", { index: 1, counter: 2 })) as { count: number; Dialogs: unknown[] };
    expect(page.count).toBe(5);
    expect(page.Dialogs).toHaveLength(2);
    expect(() => bindParams(dialogMi["dlg_list"]!.params!, true, ["p3@h"])).toThrow("Invalid params"); // named only
  });

  it("dlg_list streams a big table and still returns the same JSON", async () => {
    const { engine } = makeNode({ clock: new FakeClock() });
    engine.benchCreate(2500, "big");
    const res = (await run(engine, "dlg_list")) as { Dialogs: { callid: string }[] };
    expect(res.Dialogs).toHaveLength(2500);
    expect(new Set(res.Dialogs.map((d) => d.callid)).size).toBe(2500);
  });

  it("dlg_list_ctx: values (newest first, escaped) and profiles", async () => {
    const { engine } = makeNode({ clock: new FakeClock(), params: { profiles_no_value: "calls", profiles_with_value: "caller" } });
    engine.create({ ...base, callid: "ctx@h", values: { a: "x\ty", n: 5, u: "é" }, profiles: [{ name: "calls" }, { name: "caller", value: "al" }] });
    const o = ((await run(engine, "dlg_list_ctx", { callid: "ctx@h" })) as { Dialog: { context: JsonValue } }).Dialog;
    expect(o.context).toEqual({
      values: [{ u: "\\xc3\\xa9" }, { n: 5 }, { a: "x\\ty" }],
      profiles: [{ caller: "al" }, { calls: "" }],
    });
    expect(escapeCtxValue("a\nb\u0001")).toBe("a\\nb\\x01");
  });

  it("dlg_end_dlg by ID or Call-ID; 404; 403 on the backup node", async () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    const a = n1.engine.create({ ...base, callid: "e1@h" });
    n1.engine.create({ ...base, callid: "e2@h" });
    expect(await run(n1.engine, "dlg_end_dlg", { dialog_id: a.id })).toBe("OK");
    expect(await run(n2.engine, "dlg_end_dlg", { dialog_id: "e2@h", extra_hdrs: "X-A: b\r\n" })).toBe("OK");
    expect(n1.engine.counts().total).toBe(0);
    expect(await miError(run(n1.engine, "dlg_end_dlg", { dialog_id: "e1@h" }))).toEqual({ code: 404, message: "Requested Dialog not found" });
    cluster.tags.set("vip", 1);
    const t = n1.engine.create({ ...base, callid: "e3@h", sharingTag: "vip" });
    expect(await miError(run(n2.engine, "dlg_end_dlg", { dialog_id: t.id }))).toEqual({ code: 403, message: "Node is backup for requested dialog" });
  });

  it("profile commands: get_size, get_values, list_dlgs, list_all_profiles, end_dlgs", async () => {
    const clock = new FakeClock();
    const { n1, n2 } = twoNodes(clock, { profile_replication_cluster: 1, profiles_no_value: "calls/b;local", profiles_with_value: "caller/b" });
    n1.engine.create({ ...base, callid: "q1@h", profiles: [{ name: "calls/b" }, { name: "caller/b", value: "al" }, { name: "local" }] });
    n1.engine.create({ ...base, callid: "q2@h", profiles: [{ name: "caller/b", value: "bo" }] });
    n2.engine.broadcastProfiles();
    expect(await run(n1.engine, "profile_get_size", { profile: "calls/b" }))
      .toEqual({ Profile: { name: "calls", value: null, count: 2, shared: "no", replicated: "yes" } });
    expect(await run(n1.engine, "profile_get_size", { profile: "caller/b", value: "al" }))
      .toEqual({ Profile: { name: "caller", value: "al", count: 2, shared: "no", replicated: "yes" } });
    expect(await run(n1.engine, "profile_get_size", { profile: "local" }))
      .toEqual({ Profile: { name: "local", value: null, count: 1, shared: "no", replicated: "no" } });
    expect(await miError(run(n1.engine, "profile_get_size", { profile: "calls" }))).toEqual({ code: 404, message: "Profile not found" });
    const vals = (await run(n1.engine, "profile_get_values", { profile: "caller/b" })) as { value: string; count: number }[];
    expect(vals.sort((a, b) => a.value.localeCompare(b.value))).toEqual([{ value: "al", count: 2 }, { value: "bo", count: 2 }]);
    expect(await run(n1.engine, "profile_get_values", { profile: "local" })).toEqual([{ value: null, count: 1 }]);
    const listed = (await run(n1.engine, "profile_list_dlgs", { profile: "caller/b", value: "bo" })) as { Dialogs: { callid: string }[] };
    expect(listed.Dialogs.map((d) => d.callid)).toEqual(["q2@h"]);
    expect(await run(n1.engine, "list_all_profiles")).toEqual({ Profiles: [
      { name: "calls", "has value": false }, { name: "local", "has value": false }, { name: "caller", "has value": true }] });
    expect(await run(n1.engine, "profile_end_dlgs", { profile: "caller/b" })).toBe("OK");
    expect(n1.engine.counts().total).toBe(0);
    expect(n2.engine.counts().total).toBe(0);
  });

  it("dlg_cluster_sync; dlg_db_sync/dlg_restore_db in no-db mode; the 3.6.8 DID quirk of dlg_set_profile", async () => {
    const { engine } = makeNode({ clock: new FakeClock() });
    expect(await miError(run(engine, "dlg_cluster_sync"))).toEqual({ code: 400, message: "Dialog replication disabled" });
    expect(await miError(run(engine, "dlg_db_sync"))).toEqual({ code: 400, message: "Cannot sync in no-db mode" });
    expect(await miError(run(engine, "dlg_restore_db"))).toEqual({ code: 400, message: "Cannot restore db in no-db mode!" });
    expect(await miError(run(engine, "dlg_set_profile", { dlg_id: "x", profile: "p" }))).toEqual({ code: -32000, message: "Server error", data: "Failed to handle parameter" });
    expect(await miError(run(engine, "dlg_unset_profile", { dlg_id: "x", profile: "p", value: "v" }))).toEqual({ code: -32000, message: "Server error", data: "Failed to handle parameter" });
    const clock = new FakeClock();
    const { n2 } = twoNodes(clock);
    expect(await run(n2.engine, "dlg_cluster_sync")).toBe("OK");
    expect(await run(n2.engine, "dlg_cluster_sync", { sharing_tag: "vip" })).toBe("OK");
  });

  it("dlg_push_var stores a string value on each dialog and replicates it", async () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    const a = n1.engine.create({ ...base, callid: "pv1@h" });
    n1.engine.create({ ...base, callid: "pv2@h" });
    cluster.sent.length = 0;
    expect(await run(n1.engine, "dlg_push_var", { dlg_val_name: "note", dlg_val_value: "hi", DID: [a.id, "pv2@h", "missing@h"] })).toBe("OK");
    expect(n2.engine.lookup("pv1@h")!.vals!.get("note")).toBe("hi");
    expect(n2.engine.lookup("pv2@h")!.vals!.get("note")).toBe("hi");
    expect(cluster.sent.map((s) => s.type)).toEqual([5, 2, 5, 2]); // VALUE then UPDATED, as vectors/more 083-086
  });

  it("tsips extensions do not collide with OpenSIPS commands; dlg_create has 48 recipes (to_tag needs from_tag)", async () => {
    for (const name of ["dlg_create", "dlg_set_state", "dlg_bench_create"]) expect(OPENSIPS_DIALOG_MI).not.toContain(name);
    const decl = dialogMi["dlg_create"]!;
    expect(decl.params).toHaveLength(48);
    expect(() => bindParams(decl.params!, true, { callid: "a", from_uri: "b", to_uri: "c", to_tag: "t" })).toThrow(MiError);
    const { engine } = makeNode({ clock: new FakeClock(), params: { profiles_no_value: "calls", profiles_with_value: "caller" } });
    const r = (await run(engine, "dlg_create", { callid: "mc@h", from_uri: "sip:a@h", to_uri: "sip:b@h", from_tag: "ft", state: 3, timeout: 30,
      sharing_tag: "vip", profiles: "calls;caller=alice" })) as Record<string, JsonValue>;
    expect(r).toMatchObject({ callid: "mc@h", from_tag: "ft", state: 3 });
    expect(r["to_tag"]).toMatch(/^[0-9a-f]{10}$/);
    const d = engine.lookup(r["ID"] as string)!;
    expect(d.shtag).toBe("vip");
    expect(engine.profileSize("caller", "alice")).toBe(1);
    const r2 = (await run(engine, "dlg_create", { callid: "mc2@h", from_uri: "sip:a@h", to_uri: "sip:b@h", profiles: ["calls"] })) as Record<string, JsonValue>;
    expect(engine.lookup(r2["ID"] as string)!.state).toBe(4);
    expect(await miError(run(engine, "dlg_create", { callid: "x@h", from_uri: "sip:a@h", to_uri: "sip:b@h", profiles: "nope" })))
      .toMatchObject({ code: 400 });
    expect(await run(engine, "dlg_set_state", { dialog_id: "mc@h", state: 4 })).toBe("OK");
    expect(await miError(run(engine, "dlg_set_state", { dialog_id: "mc@h", state: 2 }))).toMatchObject({ code: 400 });
    expect(await run(engine, "dlg_set_state", { dialog_id: r["ID"] as string, state: 5 })).toBe("OK");
    expect(engine.lookup("mc@h")).toBeUndefined();
    expect(await miError(run(engine, "dlg_set_state", { dialog_id: "mc@h", state: 5 }))).toEqual({ code: 404, message: "Requested Dialog not found" });
  });

  it("dlg_bench_create makes N confirmed dialogs and reports the rate", async () => {
    const clock = new FakeClock();
    const { n1, n2 } = twoNodes(clock);
    const r = (await run(n1.engine, "dlg_bench_create", { count: 3000, timeout: 100 })) as { created: number; per_second: number };
    expect(r.created).toBe(3000);
    expect(r.per_second).toBeGreaterThan(0);
    expect(n2.engine.counts().active).toBe(3000);
    expect(await miError(run(n1.engine, "dlg_bench_create", { count: 0 }))).toMatchObject({ code: 400 });
  });

  it("a dialog received from OpenSIPS prints its local bind address (real name, not the tag)", async () => {
    const { engine } = makeNode({ clock: new FakeClock(1795363098_000), cluster: new FakeCluster(), params: { dialog_replication_cluster: 1 },
      sockets: [sock("udp", "127.0.0.1", 5062, "sipnet")] });
    const p = BinPacket.parse(findVector("main", "035-dialog-dlg-created-n1-to-n2.hex").bytes);
    p.popBackInt(); p.popBackInt(); p.popBackInt();
    engine.onDialogPacket(p, 1, 1);
    const o = ((await run(engine, "dlg_list", { callid: "1-25469@127.0.0.1" })) as { Dialog: Record<string, JsonValue> }).Dialog;
    expect(o).toMatchObject({ ID: "3c3.c671a4b6", state: 3, caller_bind_addr: "udp:127.0.0.1:5062", callee_cseq: "0", timeout: 1795406296 });
    expect((o["CALLEES"] as Record<string, JsonValue>[])[0]).toMatchObject({ callee_tag: "25269SIPpTag011", caller_cseq: "1", callee_bind_addr: "udp:127.0.0.1:5062" });
    expect(o["caller_sdp"]).toMatch(/^v=0/);
  });
});
