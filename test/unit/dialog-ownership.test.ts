/**
 * Ownership by sharing tag: only the node where a dialog's tag is active runs its lifetime
 * (end + replicate DELETED); when the tag moves, the new owner takes the timers over —
 * nothing runs twice, nothing is dropped.
 */
import { describe, expect, it } from "vitest";
import type { DialogEngine } from "../../modules/dialog/engine.ts";
import { FakeClock, twoNodes } from "./dialog-helpers.ts";

const base = { fromUri: "sip:alice@example.com", toUri: "sip:bob@example.com" };

/** Counts per callid of expired / terminated events on each engine. */
function watch(e: DialogEngine) {
  const expired = new Map<string, number>();
  const ended = new Map<string, string>();
  e.on("expired", (ev) => expired.set(ev.dialog.callid, (expired.get(ev.dialog.callid) ?? 0) + 1));
  e.on("terminated", (ev) => ended.set(ev.dialog.callid, ev.reason ?? ""));
  return { expired, ended };
}

describe("ownership by sharing tag", () => {
  it("the active node runs the timers; the backup node waits for its DELETED (either arrival order)", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    cluster.tags.set("vip", 1);
    const w1 = watch(n1.engine);
    const w2 = watch(n2.engine);
    for (let i = 0; i < 10; i++) n1.engine.create({ ...base, callid: `c${i}`, timeout: 5 + i, sharingTag: "vip" });
    expect(n1.engine.isOwner("c0")).toBe(true);
    expect(n2.engine.isOwner("c0")).toBe(false);
    clock.advance(7);
    n2.engine.runTimers(); // backup first: its copies of c0..c2 become overdue, nothing ends
    expect(w2.ended.size).toBe(0);
    n1.engine.runTimers();
    expect([...w1.expired.keys()]).toEqual(["c0", "c1", "c2"]);
    expect([...w2.ended]).toEqual([["c0", "replicated"], ["c1", "replicated"], ["c2", "replicated"]]);
    clock.advance(1);
    n1.engine.runTimers(); // owner first this time
    n2.engine.runTimers();
    expect(w1.expired.get("c3")).toBe(1);
    expect(w2.ended.get("c3")).toBe("replicated");
    expect(w2.expired.size).toBe(0);
    expect(n1.stats.expired_dialogs.get()).toBe(4);
    expect(n2.stats.expired_dialogs.get()).toBe(0);
    expect(() => n2.engine.end("c9")).toThrow(expect.objectContaining({ code: "TSIPS_ERR_DLG_BACKUP" }));
  });

  it("failover: the owner dies, the tag moves; overdue lifetimes fire at takeover, the rest on time, each exactly once", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    cluster.tags.set("vip", 1);
    const w1 = watch(n1.engine);
    const w2 = watch(n2.engine);
    for (let i = 0; i < 10; i++) n1.engine.create({ ...base, callid: `c${i}`, timeout: 5 + i, sharingTag: "vip" });
    clock.advance(6);
    n1.engine.runTimers();
    n2.engine.runTimers();
    expect([...w1.expired.keys()]).toEqual(["c0", "c1"]);
    cluster.setDown(1, true); // node 1 dies: its timers no longer run, nothing reaches node 2
    clock.advance(3); // c2..c4 are due, nobody owns them
    n2.engine.runTimers();
    expect(w2.expired.size).toBe(0);
    expect(n2.engine.counts().active).toBe(8);
    cluster.activate("vip", 2); // takeover (MI clusterer_shtag_set_active or shtag_auto_takeover)
    expect([...w2.expired.keys()]).toEqual(["c2", "c3", "c4"]);
    expect(n2.engine.isOwner("c5")).toBe(true);
    for (let t = 0; t < 10; t++) {
      clock.advance(1);
      n2.engine.runTimers();
    }
    const all = new Map<string, number>();
    for (const w of [w1, w2]) for (const [k, v] of w.expired) all.set(k, (all.get(k) ?? 0) + v);
    expect([...all.keys()].sort()).toEqual(["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]);
    expect([...all.values()].every((v) => v === 1)).toBe(true);
    expect(n2.engine.counts().total).toBe(0);
    expect(n2.stats.expired_dialogs.get()).toBe(8);
    expect(n2.stats.delete_sent.get()).toBe(0); // node 1 is down: "all destinations down", nothing sent
  });

  it("the tag moves while both nodes live: the old owner stops, the new one runs the timers", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    cluster.tags.set("vip", 1);
    const w1 = watch(n1.engine);
    const w2 = watch(n2.engine);
    n1.engine.create({ ...base, callid: "m", timeout: 10, sharingTag: "vip" });
    cluster.activate("vip", 2);
    clock.advance(10);
    n1.engine.runTimers(); // now backup: waits
    expect(w1.expired.size).toBe(0);
    n2.engine.runTimers();
    expect(w2.expired.get("m")).toBe(1);
    expect(w1.ended.get("m")).toBe("replicated");
    cluster.activate("vip", 1); // back to node 1: nothing left to run there
    expect(w1.expired.size).toBe(0);
  });

  it("untagged dialogs are everybody's: each node ends its copy, the first one to fire replicates", () => {
    const clock = new FakeClock();
    const { n1, n2 } = twoNodes(clock);
    const w1 = watch(n1.engine);
    const w2 = watch(n2.engine);
    n1.engine.create({ ...base, callid: "u", timeout: 3 });
    clock.advance(3);
    n2.engine.runTimers();
    n1.engine.runTimers();
    expect(w2.expired.get("u")).toBe(1);
    expect(w1.ended.get("u")).toBe("replicated");
    expect(w1.expired.size).toBe(0);
  });

  it("setSharingTag / a replicated dlgX_shtag change moves ownership of one dialog", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    cluster.tags.set("a", 1);
    cluster.tags.set("b", 2);
    const d = n1.engine.create({ ...base, callid: "t", sharingTag: "a" });
    expect(n2.engine.isOwner(d)).toBe(false);
    n1.engine.setSharingTag(d, "b");
    expect(n1.engine.isOwner(d)).toBe(false);
    expect(n2.engine.isOwner(d.id)).toBe(true);
    expect(n2.engine.lookup(d.id)!.shtag).toBe("b");
  });

  it("backup-tagged dialogs are left out of the /b counters this node broadcasts", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock, { profile_replication_cluster: 1, profiles_no_value: "calls/b" });
    cluster.tags.set("vip", 1);
    n1.engine.create({ ...base, callid: "p1", sharingTag: "vip", profiles: [{ name: "calls/b" }] });
    n1.engine.create({ ...base, callid: "p2", profiles: [{ name: "calls/b" }] });
    const counts = (from: number) => cluster.sent.filter((s) => s.from === from && s.capability === "dialog-prof-repl").map((s) => s.bytes.readInt32LE(s.bytes.length - 16));
    cluster.sent.length = 0;
    n1.engine.broadcastProfiles();
    n2.engine.broadcastProfiles();
    expect(counts(1)).toEqual([2]);
    expect(counts(2)).toEqual([1]); // node 2 holds both dialogs but is backup for vip
    // node 2's view: its own 1 + node 1's 2 (a dialog counted once per node, as in OpenSIPS)
    expect(n2.engine.profileSize("calls/b")).toBe(3);
  });
});
