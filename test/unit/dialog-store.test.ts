/** The dialog table, ids, state machine, lifetimes (fake clock), values and local profiles. */
import { describe, expect, it } from "vitest";
import type { DialogEvent } from "../../modules/dialog/api.ts";
import { coreHash } from "../../core/hash.ts";
import { DialogTable } from "../../modules/dialog/store.ts";
import { FakeClock, FakeCluster, makeNode, sock } from "./dialog-helpers.ts";

const base = { fromUri: "sip:alice@example.com", toUri: "sip:bob@example.com" };

describe("dialog table and ids", () => {
  it("h_entry = core_hash(callid) & (hash_size-1); h_id = the bucket's counter, post-incremented", () => {
    const { engine } = makeNode({ clock: new FakeClock() });
    const h = coreHash("same-bucket@x", 4096);
    const next = engine.table.peekNextId(h);
    expect(next).toBeLessThan(2 ** 31); // rand() start
    const a = engine.create({ ...base, callid: "same-bucket@x" });
    const b = engine.create({ ...base, callid: "same-bucket@x", fromTag: "other" });
    expect([a.hEntry, a.hId, b.hEntry, b.hId]).toEqual([h, next, h, next + 1]);
    expect(a.id).toMatch(/^[0-9a-f]+\.[0-9a-f]+$/);
    expect(engine.lookup(a.id)).toBe(a);
    expect(engine.lookup("same-bucket@x")).toBe(a); // first of the bucket with that callid
    expect(engine.lookup("same-bucket@x", "other")).toBe(b);
  });

  it("follows replicated ids (next_id = h_id + 1 when h_id >= next_id) and never reuses a live id", () => {
    const t = new DialogTable(16, false);
    expect(t.newId(3)).toBe(0);
    t.bumpNextId(3, 100);
    expect(t.peekNextId(3)).toBe(101);
    t.bumpNextId(3, 50); // lower ids do not move it back
    expect(t.peekNextId(3)).toBe(101);
    t.bumpNextId(3, 0xffffffff);
    expect(t.peekNextId(3)).toBe(0); // wraps like an unsigned int
  });

  it("generates missing tags and fills OpenSIPS-like defaults", () => {
    const { engine } = makeNode({ clock: new FakeClock() });
    const d = engine.create({ ...base, callid: "c1" });
    expect(d.callerTag).toMatch(/^[0-9a-f]{10}$/);
    expect(d.calleeTag).toMatch(/^[0-9a-f]{10}$/);
    expect(d.callerTag).not.toBe(d.calleeTag);
    expect(d.state).toBe(4);
    expect(d.expiresAt).toBe(d.startTs + 43200);
    const rec = engine.record(engine.table.get(d.hEntry, d.hId)!);
    expect(rec).toMatchObject({ callerSocket: "udp:sipnet", calleeSocket: "udp:sipnet", callerCseq: "0", calleeCseq: "1", flags: 0 });
  });
});

describe("state machine", () => {
  it("moves forward only, counts early/active, emits events, ends into state 5", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock() });
    const events: string[] = [];
    engine.on(["created", "state", "terminated"], (e: DialogEvent) => events.push(`${e.kind}:${e.oldState ?? ""}>${e.newState ?? ""}`));
    const d = engine.create({ ...base, callid: "sm", state: 1 });
    expect(engine.counts()).toEqual({ total: 1, early: 0, active: 0 });
    engine.setState(d, 2);
    expect(engine.counts()).toMatchObject({ early: 1, active: 0 });
    engine.setState(d, 3);
    expect(engine.counts()).toMatchObject({ early: 0, active: 1 });
    engine.setState(d, 3); // same state: no-op
    expect(() => engine.setState(d, 2)).toThrow(expect.objectContaining({ code: "TSIPS_ERR_DLG_STATE" }));
    engine.setState(d, 4);
    engine.setState(d, 5);
    expect(d.state).toBe(5);
    expect(d.endReason).toBe("api");
    expect(engine.counts()).toEqual({ total: 0, early: 0, active: 0 });
    expect(engine.lookup(d.id)).toBeUndefined();
    expect(events).toEqual(["created:>1", "state:1>2", "state:2>3", "state:3>4", "terminated:4>5"]);
    expect(stats.processed_dialogs.get()).toBe(1);
    expect(stats.failed_dialogs.get()).toBe(0);
    expect(() => engine.setState(d, 4)).toThrow(expect.objectContaining({ code: "TSIPS_ERR_DLG_NOT_FOUND" }));
  });

  it("an early dialog that ends counts as failed", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock() });
    const d = engine.create({ ...base, callid: "early", state: 2 });
    engine.end(d);
    expect(stats.failed_dialogs.get()).toBe(1);
  });

  it("rejects bad input with TSIPS_ERR_DLG_ARG", () => {
    const { engine } = makeNode({ clock: new FakeClock(), params: { profiles_with_value: "caller", profiles_no_value: "calls" } });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as { code: string }).code;
      }
      return "none";
    };
    expect(code(() => engine.create({ ...base, callid: "" }))).toBe("TSIPS_ERR_DLG_ARG");
    expect(code(() => engine.create({ ...base, callid: "x", state: 5 as never }))).toBe("TSIPS_ERR_DLG_ARG");
    expect(code(() => engine.create({ ...base, callid: "x", profiles: [{ name: "nope" }] }))).toBe("TSIPS_ERR_DLG_ARG");
    expect(code(() => engine.create({ ...base, callid: "x", profiles: [{ name: "caller" }] }))).toBe("TSIPS_ERR_DLG_ARG");
    expect(code(() => engine.create({ ...base, callid: "x", callerSocket: "udp:9.9.9.9:5060" }))).toBe("TSIPS_ERR_DLG_ARG");
    expect(engine.counts().total).toBe(0); // nothing half-created
  });

  it("needs a SIP socket only when dialogs are replicated", () => {
    const clock = new FakeClock();
    const alone = makeNode({ clock, sockets: [sock("bin", "127.0.0.1", 5601)] });
    expect(alone.engine.create({ ...base, callid: "nosock" }).state).toBe(4);
    const repl = makeNode({ clock, cluster: new FakeCluster(), params: { dialog_replication_cluster: 1 }, sockets: [sock("bin", "127.0.0.1", 5601)] });
    expect(() => repl.engine.create({ ...base, callid: "nosock" })).toThrow(/socket=udp/);
  });
});

describe("lifetimes (fake clock)", () => {
  it("ends a dialog when its timeout passes; setTimeout re-arms", () => {
    const clock = new FakeClock();
    const { engine, stats } = makeNode({ clock });
    const ended: string[] = [];
    engine.on("terminated", (e) => ended.push(`${e.dialog.callid}:${e.reason}`));
    const a = engine.create({ ...base, callid: "a", timeout: 10 });
    const b = engine.create({ ...base, callid: "b", timeout: 10 });
    clock.advance(9);
    engine.runTimers();
    expect(ended).toEqual([]);
    engine.setTimeout(b, 30);
    expect(b.expiresAt).toBe(clock.ms / 1000 + 30);
    clock.advance(1);
    engine.runTimers();
    expect(ended).toEqual(["a:timeout"]);
    expect(a.state).toBe(5);
    expect(stats.expired_dialogs.get()).toBe(1);
    clock.advance(28); // b was re-armed at t=9 for 30 s: due at t=39
    engine.runTimers();
    expect(ended).toEqual(["a:timeout"]);
    clock.advance(1);
    engine.runTimers();
    expect(ended).toEqual(["a:timeout", "b:timeout"]);
    expect(engine.counts().total).toBe(0);
  });

  it("a large clock jump fires everything due once, in order", () => {
    const clock = new FakeClock();
    const { engine } = makeNode({ clock });
    const order: string[] = [];
    engine.on("expired", (e) => order.push(e.dialog.callid));
    for (const [c, t] of [["late", 86400 * 30], ["soon", 5], ["mid", 3600]] as const) engine.create({ ...base, callid: c, timeout: t });
    clock.advance(86400 * 365);
    engine.runTimers();
    expect(order).toEqual(["soon", "mid", "late"]);
    engine.runTimers();
    expect(order).toHaveLength(3);
  });

  it("delete_delay keeps an ended dialog listed in state 5, then frees it", () => {
    const clock = new FakeClock();
    const { engine } = makeNode({ clock, params: { delete_delay: 5 } });
    const d = engine.create({ ...base, callid: "dd" });
    engine.end(d);
    expect([...engine.dialogs()].map((x) => x.state)).toEqual([5]);
    expect(engine.lookup("dd")).toBeUndefined();
    clock.advance(5);
    engine.runTimers();
    expect(engine.counts().total).toBe(0);
  });
});

describe("values and local profiles", () => {
  it("stores, replaces in place and deletes values; counts profiles; ending unlinks", () => {
    const { engine } = makeNode({ clock: new FakeClock(), params: { profiles_with_value: "caller", profiles_no_value: "calls" } });
    const d = engine.create({ ...base, callid: "v", values: { plan: "gold", n: 1 }, profiles: [{ name: "calls" }, { name: "caller", value: "alice" }] });
    engine.setValue(d, "note", "x");
    engine.setValue(d, "plan", "silver");
    engine.setValue(d, "n", undefined);
    expect([...d.vals!]).toEqual([["plan", "silver"], ["note", "x"]]);
    const e2 = engine.create({ ...base, callid: "v2", profiles: [{ name: "caller", value: "alice" }] });
    expect(engine.profileSize("calls")).toBe(1);
    expect(engine.profileSize("caller")).toBe(2);
    expect(engine.profileSize("caller", "alice")).toBe(2);
    expect(engine.profileSize("caller", "bob")).toBe(0);
    expect(engine.unsetProfile(e2, "caller", "alice")).toBe(true);
    expect(engine.unsetProfile(e2, "caller", "alice")).toBe(false);
    engine.setProfile(e2, "calls");
    expect(engine.profileSize("calls")).toBe(2);
    engine.end(d);
    expect(engine.profileSize("calls")).toBe(1);
    expect(engine.profileSize("caller")).toBe(0);
    expect(engine.profilesTable.search("caller")!.byValue.size).toBe(0);
  });
});
