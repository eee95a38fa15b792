/**
 * Dialog replication between engines joined by an in-memory clusterer (real bytes on the way),
 * receive semantics of spec §5, captured OpenSIPS packets applied to an engine, and dialog
 * sync as donor and receiver (§7), down to the byte of a captured sync packet.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { findVector } from "../../core/bin/vectors.ts";
import { coreHash } from "../../core/hash.ts";
import type { DialogEngine } from "../../modules/dialog/engine.ts";
import { DlgCreated, DlgCseq, DlgDeleted, DlgUpdated, DlgValue, DLG_REPL_CAP } from "../../modules/dialog/messages.ts";
import type { Dialog } from "../../modules/dialog/store.ts";
import { FakeClock, FakeCluster, makeNode, sock, twoNodes } from "./dialog-helpers.ts";

const base = { fromUri: "sip:alice@example.com", toUri: "sip:bob@example.com" };

/** A captured packet as the module gets it (trailer popped by the clusterer). */
function vectorPacket(set: "main" | "more", file: string): BinPacket {
  const p = BinPacket.parse(findVector(set, file).bytes);
  p.popBackInt();
  p.popBackInt();
  p.popBackInt();
  return p;
}

function deliver(e: DialogEngine, pkt: BinPacket, src = 1): void {
  e.onDialogPacket(BinPacket.parse(Buffer.from(pkt.bytes())), pkt.type, src);
}

const types = (cluster: FakeCluster, from = 1) => cluster.sent.filter((s) => s.from === from && s.capability === DLG_REPL_CAP).map((s) => s.type);

describe("replication between two nodes", () => {
  it("CREATED, UPDATED, DELETED: the dialog appears, changes and vanishes on node 2 with the same identity", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock, { profiles_no_value: "calls", profiles_with_value: "caller" });
    const d = n1.engine.create({ ...base, callid: "call-1@h", timeout: 120, values: { plan: "gold" }, profiles: [{ name: "calls" }, { name: "caller", value: "alice" }] });
    const r = n2.engine.lookup(d.id) as Dialog;
    expect(r).toBeDefined();
    expect(r).toMatchObject({ callid: "call-1@h", hEntry: d.hEntry, hId: d.hId, callerTag: d.callerTag, calleeTag: d.calleeTag, state: 4, origin: "replicated", expiresAt: d.expiresAt });
    expect(r.callerSock?.realName).toBe("udp:127.0.0.1:5062"); // matched by tag "sipnet" to node 2's own socket
    expect([...r.vals!]).toEqual([["plan", "gold"]]);
    expect(n2.engine.profileSize("calls")).toBe(1);
    expect(n2.engine.profileSize("caller", "alice")).toBe(1);
    expect(n2.engine.table.peekNextId(d.hEntry)).toBeGreaterThan(d.hId); // ids never collide later
    expect(n1.stats.create_sent.get()).toBe(1);
    expect(n2.stats.create_recv.get()).toBe(1);

    n1.engine.setTimeout(d, 600);
    n1.engine.setValue(d, "note", "x"); // state 4: VALUE packet
    n1.engine.setLastGenCseq(d, "callee", 7);
    expect(r.expiresAt).toBe(d.expiresAt);
    expect(r.vals!.get("note")).toBe("x");
    expect(r.calleeLastGenCseq).toBe(7);
    expect(n2.stats.update_recv.get()).toBe(1);

    n1.engine.end(d);
    expect(n2.engine.lookup(d.id)).toBeUndefined();
    expect(r.state).toBe(5);
    expect(r.endReason).toBe("replicated");
    expect(n2.engine.counts()).toEqual({ total: 0, early: 0, active: 0 });
    expect(n2.engine.profileSize("caller")).toBe(0);
    expect(types(cluster)).toEqual([1, 2, 5, 4, 3]);
    expect(n1.stats.delete_sent.get()).toBe(1);
    expect(n2.stats.delete_recv.get()).toBe(1);
  });

  it("early dialogs are not replicated; confirming sends CREATED once, then UPDATED", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    const d = n1.engine.create({ ...base, callid: "early@h", state: 1 });
    n1.engine.setState(d, 2);
    expect(n2.engine.lookup(d.id)).toBeUndefined();
    n1.engine.setState(d, 3);
    expect(n2.engine.lookup(d.id)?.state).toBe(3);
    n1.engine.setState(d, 4);
    expect(n2.engine.lookup(d.id)?.state).toBe(4);
    expect(n2.engine.counts().active).toBe(1);
    expect(types(cluster)).toEqual([1, 2]);
    const early = n1.engine.create({ ...base, callid: "early2@h", state: 2 });
    n1.engine.end(early);
    expect(types(cluster)).toEqual([1, 2]); // no DELETED for a dialog that was never confirmed
  });

  it("a tagged dialog: CREATED carries dlgX_shtag; each UPDATED is preceded by a VALUE dlgX_shtag (as vectors/more 071-076)", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock);
    cluster.tags.set("vip", 1);
    const d = n1.engine.create({ ...base, callid: "tagged@h", state: 3, values: { plan: "gold" }, sharingTag: "vip" });
    const created = cluster.sent.find((s) => s.type === 1)!;
    const pc = BinPacket.parse(created.bytes);
    pc.popBackInt(); pc.popBackInt(); pc.popBackInt();
    expect(DlgCreated.decode(pc).vars).toBe("dlgX_shtag#1#vip|plan#1#gold|");
    n1.engine.setState(d, 4);
    expect(types(cluster)).toEqual([1, 5, 2]);
    expect(n2.engine.lookup(d.id)!.shtag).toBe("vip");
  });

  it("CSEQ names the leg by its tag: field 3 is the destination leg", () => {
    const clock = new FakeClock();
    const { n1, n2 } = twoNodes(clock);
    const d = n1.engine.create({ ...base, callid: "cseq@h" });
    n1.engine.setLastGenCseq(d, "caller", 12);
    expect(n2.engine.lookup(d.id)!.callerLastGenCseq).toBe(12);
    expect(n2.engine.lookup(d.id)!.calleeLastGenCseq).toBe(0);
  });
});

describe("receive semantics (§5)", () => {
  const rec = (over: Partial<Parameters<typeof DlgCreated.encode>[0]> = {}) => ({
    callid: "r@h", callerTag: "ft", calleeTag: "tt", fromUri: "sip:a@h", toUri: "sip:b@h", hId: 4242, startTs: 1795363000, state: 4,
    callerSocket: "udp:sipnet", calleeSocket: "udp:127.0.0.1:5060", callerCseq: "5", calleeCseq: "1", callerRouteSet: "", calleeRouteSet: "",
    callerContact: "sip:a@1.2.3.4", calleeContact: "sip:b@5.6.7.8", calleeMangledFrom: "", calleeMangledTo: "", callerInSdp: "", callerOutSdp: "",
    calleeInSdp: "", calleeOutSdp: "", callerAdvContact: "", calleeAdvContact: "", vars: "a#1#1|", profiles: "", userFlags: 0, modFlags: 0,
    flags: 0x10, expiresAt: 1795363096 + 100, callerLastGenCseq: 0, calleeLastGenCseq: 0, onAnswerRoute: "", onTimeoutRoute: "", onHangupRoute: "",
    ...over,
  });

  it("CREATED for an existing (h_entry, h_id) updates nothing", () => {
    const { engine } = makeNode({ clock: new FakeClock() });
    deliver(engine, DlgCreated.encode(rec()));
    deliver(engine, DlgCreated.encode(rec({ state: 3, toUri: "sip:other@h", vars: "a#1#2|" })));
    const d = engine.lookup("r@h") as Dialog;
    expect(d).toMatchObject({ state: 4, toUri: "sip:b@h", callerCseq: "0", callerInviteCseq: "5" }); // caller r_cseq forced to "0"
    expect(d.vals!.get("a")).toBe("1");
    expect(engine.counts().total).toBe(1);
  });

  it("UPDATED for an unknown dialog builds it; UPDATED merges values and skips linked profiles", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock(), params: { profiles_with_value: "caller" } });
    deliver(engine, DlgUpdated.encode(rec({ state: 3, profiles: "caller#1#x|" })));
    expect(engine.lookup("r@h")?.state).toBe(3);
    deliver(engine, DlgUpdated.encode(rec({ state: 4, vars: "b#2#9|", profiles: "caller#1#y|", expiresAt: 1795363096 + 500 })));
    const d = engine.lookup("r@h") as Dialog;
    expect(d.state).toBe(4);
    expect([...d.vals!]).toEqual([["a", "1"], ["b", 9]]); // values absent from the string are not deleted
    expect(d.links!.map((l) => l.value)).toEqual(["x"]); // already linked to "caller": skipped
    expect(d.expiresAt).toBe(1795363096 + 500);
    expect(stats.update_recv.get()).toBe(2);
  });

  it("DELETED for an unknown dialog is ignored; a duplicate delete is an error", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock(), params: { delete_delay: 30 } });
    deliver(engine, DlgDeleted.encode({ callid: "none@h", callerTag: "a", calleeTag: "b", hId: 1 }));
    expect(stats.repl_dropped.get()).toBe(0);
    deliver(engine, DlgCreated.encode(rec()));
    const del = DlgDeleted.encode({ callid: "r@h", callerTag: "ft", calleeTag: "tt", hId: 4242 });
    deliver(engine, del);
    expect(stats.delete_recv.get()).toBe(1);
    deliver(engine, del); // still listed (delete_delay) in state 5
    expect(stats.delete_recv.get()).toBe(1);
    expect(stats.repl_dropped.get()).toBe(1);
  });

  it("rejects a dialog whose sockets are not local (both must match)", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock() });
    deliver(engine, DlgCreated.encode(rec({ callerSocket: "udp:10.9.9.9:5060" })));
    deliver(engine, DlgCreated.encode(rec({ calleeSocket: "udp:other" })));
    deliver(engine, DlgCreated.encode(rec({ calleeSocket: "" })));
    expect(engine.counts().total).toBe(0);
    expect(stats.repl_dropped.get()).toBe(3);
  });

  it("V3: CREATE/DELETE/CSEQ found by callid and tags; V5 and VALUE V3 discarded; unknown type and short packets dropped", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock() });
    deliver(engine, DlgCreated.encode(rec(), 3));
    expect(engine.lookup("r@h")).toBeDefined();
    deliver(engine, DlgCseq.encode({ callid: "r@h", fromTag: "tt", toTag: "ft", hId: 0, cseq: 9 }, 3));
    expect(engine.lookup("r@h")!.callerLastGenCseq).toBe(9);
    deliver(engine, DlgCreated.encode(rec({ callid: "v5@h" }), 5));
    expect(engine.lookup("v5@h")).toBeUndefined();
    deliver(engine, DlgValue.encode({ callid: "r@h", hId: 4242, name: "z", value: { type: 1, value: "1" } }, 3));
    expect(engine.lookup("r@h")!.vals!.has("z")).toBe(false);
    const bogus = BinPacket.init(DLG_REPL_CAP, 9, 4).pushStr("x");
    deliver(engine, bogus);
    const short = BinPacket.init(DLG_REPL_CAP, 1, 4).pushStr("r2@h").pushStr("f");
    deliver(engine, short);
    expect(engine.lookup("r2@h")).toBeUndefined();
    deliver(engine, DlgDeleted.encode({ callid: "r@h", callerTag: "tt", calleeTag: "ft", hId: 0 }, 3));
    expect(engine.lookup("r@h")).toBeUndefined();
    expect(stats.repl_dropped.get()).toBe(4);
  });

  it("VALUE: unknown dialog dropped; type 0 deletes; dlgX_shtag sets the tag", () => {
    const { engine, stats } = makeNode({ clock: new FakeClock(), cluster: new FakeCluster(), params: { dialog_replication_cluster: 1 } });
    deliver(engine, DlgValue.encode({ callid: "nope@h", hId: 1, name: "x", value: { type: 1, value: "y" } }));
    expect(stats.repl_dropped.get()).toBe(1);
    deliver(engine, DlgCreated.encode(rec()));
    deliver(engine, DlgValue.encode({ callid: "r@h", hId: 4242, name: "a", value: { type: 0 } }));
    deliver(engine, DlgValue.encode({ callid: "r@h", hId: 4242, name: "n", value: { type: 2, value: -3 } }));
    deliver(engine, DlgValue.encode({ callid: "r@h", hId: 4242, name: "dlgX_shtag", value: { type: 1, value: "vip" } }));
    const d = engine.lookup("r@h")!;
    expect([...d.vals!]).toEqual([["n", -3], ["dlgX_shtag", "vip"]]);
    expect(d.shtag).toBe("vip");
  });

  it("re-sending a received dialog reverses its value and profile lists (OpenSIPS links at the head); twice gives the original", () => {
    const clock = new FakeClock();
    const mk = (port: number) => makeNode({ clock, params: { profiles_no_value: "calls/b", profiles_with_value: "caller/b", profile_replication_cluster: 1 },
      cluster: new FakeCluster(), sockets: [sock("udp", "127.0.0.1", port, "sipnet")] });
    const a = mk(5061).engine;
    const b = mk(5062).engine;
    const original = DlgCreated.decode(vectorPacket("main", "035-dialog-dlg-created-n1-to-n2.hex"));
    deliver(a, DlgCreated.encode({ ...original, vars: "x#1#1|y#1#2|" }));
    const once = a.record(a.lookup(original.callid) as Dialog);
    expect(once.profiles).toBe("calls/b#1#|caller/b#1#sipp|");
    expect(once.vars).toBe("y#1#2|x#1#1|");
    deliver(b, DlgCreated.encode(once));
    const twice = b.record(b.lookup(original.callid) as Dialog);
    expect(twice.profiles).toBe(original.profiles);
    expect(twice.vars).toBe("x#1#1|y#1#2|");
  });
});

describe("captured OpenSIPS packets applied to an engine", () => {
  it("main 035/036/039: created, confirmed and deleted; profiles linked on receipt; did as in the SIP capture", () => {
    const clock = new FakeClock(1795363098_000);
    const { engine, stats } = makeNode({
      clock, cluster: new FakeCluster(),
      params: { dialog_replication_cluster: 1, profile_replication_cluster: 1, profiles_no_value: "calls/b", profiles_with_value: "caller/b" },
      sockets: [sock("udp", "127.0.0.1", 5062, "sipnet"), sock("bin", "127.0.0.1", 5602)],
    });
    engine.onDialogPacket(vectorPacket("main", "035-dialog-dlg-created-n1-to-n2.hex"), 1, 1);
    const d = engine.lookup("1-25469@127.0.0.1") as Dialog;
    expect(d.id).toBe("3c3.c671a4b6"); // Record-Route did=3c3.c671a4b6 in pcap/sip.pcap
    expect(d).toMatchObject({ state: 3, fromUri: "sip:sipp@127.0.0.1:5080", toUri: "sip:bob@127.0.0.1:5061", expiresAt: 1795406296 });
    expect(engine.profileSize("calls/b")).toBe(1);
    expect(engine.profileSize("caller/b", "sipp")).toBe(1);
    engine.onDialogPacket(vectorPacket("main", "036-dialog-dlg-updated-n1-to-n2.hex"), 2, 1);
    expect(d.state).toBe(4);
    engine.onDialogPacket(vectorPacket("main", "039-dialog-dlg-deleted-n1-to-n2.hex"), 3, 1);
    expect(engine.lookup("1-25469@127.0.0.1")).toBeUndefined();
    expect([stats.create_recv.get(), stats.update_recv.get(), stats.delete_recv.get(), stats.repl_dropped.get()]).toEqual([1, 1, 1, 0]);
  });

  it("more 071..100: the tagged call, its VALUE and CSEQ packets and its deletion by node 2", () => {
    const clock = new FakeClock(1795366290_000);
    const { engine, stats } = makeNode({ clock, cluster: new FakeCluster(), params: { dialog_replication_cluster: 1 },
      sockets: [sock("udp", "127.0.0.3", 5063, "sipnet")] });
    const seq = ["071", "073", "075", "077", "079", "081", "083", "085", "087", "089", "091", "093", "095"];
    for (const n of seq) {
      const v = findVector("more", `${n}-${n === "071" ? "dialog-dlg-created" : ["073", "079", "081", "083", "093", "095"].includes(n) ? "dialog-dlg-value" : ["087", "089"].includes(n) ? "dialog-dlg-cseq" : "dialog-dlg-updated"}-n1-to-n2.hex`);
      const p = BinPacket.parse(v.bytes);
      p.popBackInt(); p.popBackInt(); p.popBackInt();
      engine.onDialogPacket(p, p.type, 1);
    }
    const d = engine.lookup("shtag-call-1@127.0.0.1") as Dialog;
    expect(d.id).toBe("103.fd382fa3"); // did in more/pcap/sip.pcap
    expect(d.shtag).toBe("vip");
    // oldest first: values replaced in place keep their slot; plan removed by 095
    expect([...d.vals!]).toEqual([["dlgX_shtag", "vip"], ["last_info", "1"], ["info_count", 2], ["note", "pushed-by-mi"]]);
    expect(d.calleeLastGenCseq).toBe(4);
    expect(stats.repl_dropped.get()).toBe(0);
    engine.onDialogPacket(vectorPacket("more", "100-dialog-dlg-deleted-n2-to-n1.hex"), 3, 2);
    expect(engine.lookup(d.id)).toBeUndefined();
  });
});

describe("dialog sync (§7)", () => {
  it("a fresh node gets every confirmed dialog from the donor; early ones are not synced", () => {
    const clock = new FakeClock();
    const cluster = new FakeCluster();
    const n1 = makeNode({ clock, cluster, id: 1, params: { dialog_replication_cluster: 1 } });
    const a = n1.engine.create({ ...base, callid: "s1@h", values: { k: "v" } });
    const b = n1.engine.create({ ...base, callid: "s2@h", state: 3 });
    n1.engine.create({ ...base, callid: "s3@h", state: 2 });
    const n3 = makeNode({ clock, cluster, id: 3, params: { dialog_replication_cluster: 1 } });
    expect(n3.engine.lookup(a.id)).toMatchObject({ origin: "sync", state: 4, callid: "s1@h" });
    expect(n3.engine.lookup(b.id)).toMatchObject({ origin: "sync", state: 3 });
    expect(n3.engine.lookup("s3@h")).toBeUndefined();
    expect(n3.engine.counts().total).toBe(2);
    expect(n3.engine.syncInProgress).toBe(false);
    expect((n3.engine.lookup(a.id) as Dialog).synced).toBe(false); // SYNCED cleared at SYNC_DONE
  });

  it("the sync packet tsips builds for a dialog equals OpenSIPS's (main 062), chunk = UPDATED body (054)", () => {
    const clock = new FakeClock(1795363110_000);
    const cluster = new FakeCluster();
    const donor = makeNode({ clock, cluster, id: 1, params: { dialog_replication_cluster: 1, profile_replication_cluster: 1, profiles_no_value: "calls/b", profiles_with_value: "caller/b" },
      sockets: [sock("udp", "127.0.0.1", 5061, "sipnet")] });
    // Hold the dialog as its creator does: feed the profile list reversed (a receiver links at the head).
    const c = DlgCreated.decode(vectorPacket("main", "053-dialog-dlg-created-n1-to-n2.hex"));
    deliver(donor.engine, DlgCreated.encode({ ...c, profiles: "calls/b#1#|caller/b#1#sipp|" }));
    donor.engine.onDialogPacket(vectorPacket("main", "054-dialog-dlg-updated-n1-to-n2.hex"), 2, 2);
    const d = donor.engine.lookup(c.callid) as Dialog;
    expect(DlgUpdated.encode(donor.engine.record(d)).contentStart().toString("hex"))
      .toBe(vectorPacket("main", "054-dialog-dlg-updated-n1-to-n2.hex").contentStart().toString("hex"));
    makeNode({ clock, cluster, id: 2, params: { dialog_replication_cluster: 1 }, sockets: [sock("udp", "127.0.0.1", 5062, "sipnet")] });
    const sync = cluster.sent.find((s) => s.type === 11)!;
    expect(sync.bytes.toString("hex")).toBe(findVector("main", "062-clusterer-extra-sync-dialog-n1-to-n2.hex").bytes.toString("hex"));
  });

  it("SYNC_DONE drops local dialogs the donor does not have; a CREATED received during the sync survives", () => {
    const clock = new FakeClock();
    const cluster = new FakeCluster();
    const n1 = makeNode({ clock, cluster, id: 1, params: { dialog_replication_cluster: 1 } });
    const n2 = makeNode({ clock, cluster, id: 2, params: { dialog_replication_cluster: 1 } });
    const stale = n1.engine.create({ ...base, callid: "stale@h" });
    expect(n2.engine.lookup(stale.id)).toBeDefined();
    cluster.down.add(2); // n2 misses the next packets
    n1.engine.end(stale);
    const fresh = n1.engine.create({ ...base, callid: "fresh@h" });
    cluster.down.delete(2);
    cluster.immediate = false;
    expect(n2.engine.requestClusterSync()).toBe(0);
    expect(n2.engine.syncInProgress).toBe(true);
    // a CREATED from another node arrives while the sync runs: marked SYNCED, so it survives the purge
    const other = makeNode({ clock, sockets: [sock("udp", "127.0.0.1", 5064, "sipnet")] }).engine;
    const mid = other.create({ ...base, callid: "mid@h" }) as Dialog;
    deliver(n2.engine, DlgCreated.encode(other.record(mid)), 4);
    cluster.flush();
    expect(n2.engine.syncInProgress).toBe(false);
    expect(n2.engine.lookup("stale@h")).toBeUndefined();
    expect(n2.engine.lookup("fresh@h")?.id).toBe(fresh.id);
    expect(n2.engine.lookup("mid@h")).toBeDefined();
    expect(stale.state).toBe(5);
  });
});

describe("dialog sync purge and per-tag sync status", () => {
  it("a tag-only dlg_cluster_sync keeps other tags' dialogs and ignores their sync data", () => {
    const clock = new FakeClock();
    const cluster = new FakeCluster();
    cluster.tags.set("a", 1);
    cluster.tags.set("b", 1);
    const n1 = makeNode({ clock, cluster, id: 1, params: { dialog_replication_cluster: 1 } });
    const n2 = makeNode({ clock, cluster, id: 2, params: { dialog_replication_cluster: 1 } });
    const da = n1.engine.create({ ...base, callid: "ta@h", sharingTag: "a" });
    const db = n1.engine.create({ ...base, callid: "tb@h", sharingTag: "b" });
    expect(n2.engine.counts().total).toBe(2);
    // n2 has a dialog of tag b that n1 no longer has, and misses one of tag a
    cluster.down.add(2);
    n1.engine.end(db);
    n1.engine.end(da);
    const da2 = n1.engine.create({ ...base, callid: "ta2@h", sharingTag: "a" });
    cluster.down.delete(2);
    expect(n2.engine.requestClusterSync("a")).toBe(0);
    expect(n2.engine.lookup("ta2@h")?.id).toBe(da2.id); // tag a: synced
    expect(n2.engine.lookup("ta@h")).toBeUndefined(); // tag a, absent from the data: purged
    expect(n2.engine.lookup("tb@h")).toBeDefined(); // tag b not required: kept
  });

  it("node-up with a backup tag and cluster_auto_sync requests a sync; without backup tags it does not", () => {
    const clock = new FakeClock();
    const cluster = new FakeCluster();
    const n1 = makeNode({ clock, cluster, id: 1, params: { dialog_replication_cluster: 1 } });
    const n2 = makeNode({ clock, cluster, id: 2, params: { dialog_replication_cluster: 1 } });
    const before = n2.clusterer!.syncRequests;
    cluster.setDown(1, true);
    cluster.setDown(1, false);
    expect(n2.clusterer!.syncRequests).toBe(before); // no tag known as backup
    cluster.tags.set("vip", 1);
    n1.engine.create({ ...base, callid: "v@h", sharingTag: "vip" });
    cluster.setDown(1, true);
    cluster.setDown(1, false);
    expect(n2.clusterer!.syncRequests).toBe(before + 1);
    expect(n2.engine.lookup("v@h")).toBeDefined();
  });
});

describe("identity across nodes", () => {
  it("uses the callid's core hash for h_entry on both sides", () => {
    const clock = new FakeClock();
    const { n1, n2 } = twoNodes(clock);
    for (let i = 0; i < 50; i++) n1.engine.create({ ...base, callid: `h${i}@x` });
    for (const d of n2.engine.dialogs()) expect(d.hEntry).toBe(coreHash(d.callid, 4096));
    expect(n2.engine.counts().total).toBe(50);
  });
});

describe("encode once per change", () => {
  it("keeps the encoded record until a sent field changes, and it always equals a fresh encoding", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock, { profiles_with_value: "caller", profiles_no_value: "calls" });
    cluster.tags.set("vip", 1);
    const e = n1.engine;
    const d = e.create({ ...base, callid: "w@h", state: 3 }) as Dialog;
    const fresh = () => DlgCreated.encode(e.record(d)).contentStart().toString("hex");
    const w1 = e.wireOf(d);
    expect(e.wireOf(d)).toBe(w1); // reused
    n1.clusterer!.serveSync("dialog-dlg-repl", 1, n2.clusterer!); // a sync to node 2 appends the same bytes
    expect(d.wire).toBe(w1);
    const steps: [string, () => void][] = [
      ["state", () => e.setState(d, 4)],
      ["timeout", () => { clock.advance(1); e.setTimeout(d, 99); }],
      ["value", () => e.setValue(d, "k", 1)],
      ["value removed", () => e.setValue(d, "k", undefined)],
      ["profile", () => e.setProfile(d, "caller", "x")],
      ["profile removed", () => e.unsetProfile(d, "caller")],
      ["cseq", () => e.setLastGenCseq(d, "callee", 5)],
      ["tag", () => e.setSharingTag(d, "vip")],
      ["tag removed", () => e.setSharingTag(d, undefined)],
    ];
    for (const [what, step] of steps) {
      const before = e.wireOf(d);
      step();
      const after = e.wireOf(d);
      expect(after, what).not.toBe(before);
      expect(after.toString("hex"), what).toBe(fresh());
    }
    // a received dialog: updates from the owner invalidate its copy too
    const r = n2.engine.lookup(d.id) as Dialog;
    const rw = n2.engine.wireOf(r);
    e.setValue(d, "z", "1");
    e.setTimeout(d, 50);
    expect(n2.engine.wireOf(r)).not.toBe(rw);
    expect(n2.engine.wireOf(r).toString("hex")).toBe(DlgCreated.encode(n2.engine.record(r)).contentStart().toString("hex"));
  });
});
