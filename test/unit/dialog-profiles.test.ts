/**
 * Profile counting and `/b` counter replication (spec §8): broadcasts byte-identical to the
 * captured ones, remote counters per node with expiry, the immediate removal packet, packet
 * cutting by `replicate_profiles_buffer`, and the receive rules.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { findVector } from "../../core/bin/vectors.ts";
import { coreHash } from "../../core/hash.ts";
import { DlgProfile, PROF_REPL_CAP } from "../../modules/dialog/messages.ts";
import { FakeClock, FakeCluster, makeNode, twoNodes } from "./dialog-helpers.ts";

const base = { fromUri: "sip:sipp@127.0.0.1:5080", toUri: "sip:bob@127.0.0.1:5061" };
const PROFILES = { profile_replication_cluster: 1, dialog_replication_cluster: 1, profiles_no_value: "calls/b", profiles_with_value: "caller/b" };

function profilePackets(cluster: FakeCluster, from: number): Buffer[] {
  return cluster.sent.filter((s) => s.from === from && s.capability === PROF_REPL_CAP).map((s) => s.bytes);
}

function recordsOf(bytes: Buffer) {
  const p = BinPacket.parse(bytes);
  p.popBackInt(); p.popBackInt(); p.popBackInt();
  return DlgProfile.popFields(p, p.version).records;
}

describe("profile broadcasts match the captured ones", () => {
  it("006 (idle), 038 (one call) and 040 (call ended, node 2 still counting) from node 1", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock, PROFILES);
    n1.engine.broadcastProfiles();
    expect(profilePackets(cluster, 1).at(-1)!.toString("hex")).toBe(findVector("main", "006-dlgprof-dlg-profile-n1-to-n2.hex").bytes.toString("hex"));
    const d = n1.engine.create({ ...base, callid: "1-25469@127.0.0.1", profiles: [{ name: "calls/b" }, { name: "caller/b", value: "sipp" }] });
    n1.engine.broadcastProfiles();
    expect(profilePackets(cluster, 1).at(-1)!.toString("hex")).toBe(findVector("main", "038-dlgprof-dlg-profile-n1-to-n2.hex").bytes.toString("hex"));
    // node 2 counts the replicated dialog as its own (037 carries calls=1, caller/sipp=1)
    n2.engine.broadcastProfiles();
    expect(profilePackets(cluster, 2).at(-1)!.toString("hex")).toBe(findVector("main", "037-dlgprof-dlg-profile-n2-to-n1.hex").bytes.toString("hex"));
    // The call ends on node 1; node 2's counter for caller/sipp is still valid there, so no
    // removal packet goes out and the value is broadcast with counter 0 (040).
    cluster.immediate = false; // node 2 does not see the DELETED yet
    n1.engine.end(d);
    const before = profilePackets(cluster, 1).length;
    n1.engine.broadcastProfiles();
    const after = profilePackets(cluster, 1);
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)!.toString("hex")).toBe(findVector("main", "040-dlgprof-dlg-profile-n1-to-n2.hex").bytes.toString("hex"));
    expect(n1.engine.profileSize("caller/b", "sipp")).toBe(1); // node 2's counter
    cluster.flush();
  });
});

describe("remote counters", () => {
  it("count per node, expire after replicate_profiles_expire, and the cleanup drops empty values", () => {
    const clock = new FakeClock();
    const { cluster, n1, n2 } = twoNodes(clock, { ...PROFILES, replicate_profiles_expire: 10 });
    n2.engine.create({ ...base, callid: "a@h", profiles: [{ name: "caller/b", value: "x" }] });
    // the replicated dialog counts on node 1 too
    expect(n1.engine.profileSize("caller/b", "x")).toBe(1);
    n2.engine.broadcastProfiles();
    expect(n1.engine.profileSize("caller/b", "x")).toBe(2); // own copy + node 2's counter
    expect(n1.engine.profileSize("caller/b")).toBe(2);
    cluster.setDown(2, true); // node 2 goes quiet (its dialog stays on node 1)
    clock.advance(11);
    expect(n1.engine.profileSize("caller/b", "x")).toBe(1); // expired counter reset on read
    n1.engine.end("a@h");
    expect(n1.engine.profileSize("caller/b", "x")).toBe(0);
    expect(n1.engine.profilesTable.search("caller/b")!.byValue.has("x")).toBe(false);
  });

  it("sends the one-record removal packet when a value's total count reaches 0", () => {
    const clock = new FakeClock();
    const cluster = new FakeCluster();
    const n1 = makeNode({ clock, cluster, id: 1, params: PROFILES });
    makeNode({ clock, cluster, id: 2, params: { ...PROFILES, dialog_replication_cluster: 0 } });
    const d = n1.engine.create({ ...base, callid: "r@h", profiles: [{ name: "caller/b", value: "solo" }, { name: "calls/b" }] });
    cluster.sent.length = 0;
    n1.engine.end(d);
    const packets = profilePackets(cluster, 1);
    expect(packets.map(recordsOf)).toEqual([[{ name: "caller", value: "solo", count: 0 }]]); // no-value profiles never do this
  });

  it("applies the receive rules: unknown profile skipped, local profile stops the packet, 0 for an unknown value creates nothing", () => {
    const clock = new FakeClock();
    const { engine, stats } = makeNode({ clock, cluster: new FakeCluster(), params: { ...PROFILES, profiles_no_value: "calls/b;loc" } });
    const pkt = (records: { name: string; value: string | undefined; count: number }[]) => DlgProfile.encode({ records });
    engine.onProfilePacket(pkt([{ name: "nope", value: undefined, count: 5 }, { name: "calls", value: undefined, count: 2 }, { name: "caller", value: "zero", count: 0 }]), 4, 7);
    expect(engine.profileSize("calls/b")).toBe(2);
    expect(engine.profilesTable.search("caller/b")!.byValue.has("zero")).toBe(false);
    engine.onProfilePacket(pkt([{ name: "loc", value: undefined, count: 1 }, { name: "caller", value: "v", count: 3 }]), 4, 7);
    expect(engine.profileSize("caller/b")).toBe(0); // ignored after the local profile
    engine.onProfilePacket(pkt([{ name: "calls", value: "x", count: 1 }, { name: "caller", value: "v", count: 3 }]), 4, 8);
    expect(engine.profileSize("caller/b", "v")).toBe(3);
    expect(engine.profileSize("calls/b")).toBe(2); // the record with a value for a no-value profile was skipped
    engine.onProfilePacket(pkt([]), 5, 7);
    expect(stats.repl_dropped.get()).toBe(1);
    // version not checked (as receive_prof_repl)
    engine.onProfilePacket(DlgProfile.encode({ records: [{ name: "calls", value: undefined, count: 4 }] }, 9), 4, 9);
    expect(engine.profileSize("calls/b")).toBe(6);
  });
});

describe("broadcast packets", () => {
  it("values go out in profile-hash bucket order, byte order inside a bucket; packets are cut after a bucket once over the buffer", () => {
    const clock = new FakeClock();
    const { cluster, n1 } = twoNodes(clock, { ...PROFILES, replicate_profiles_buffer: 200 });
    const values = Array.from({ length: 40 }, (_, i) => `user${i}`);
    for (const v of values) n1.engine.create({ ...base, callid: `${v}@h`, profiles: [{ name: "caller/b", value: v }] });
    cluster.sent.length = 0;
    const n = n1.engine.broadcastProfiles();
    const packets = profilePackets(cluster, 1);
    expect(packets.length).toBe(n);
    expect(n).toBeGreaterThan(2);
    const recs = packets.flatMap(recordsOf);
    expect(recs[0]).toEqual({ name: "calls", value: undefined, count: 0 });
    const sent = recs.slice(1).map((r) => r.value!);
    const expected = [...values].sort((a, b) => coreHash(a, 16) - coreHash(b, 16) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(sent).toEqual(expected);
    // a packet only ends on a bucket boundary, and only once it exceeds the buffer
    for (const b of packets.slice(0, -1)) {
      expect(b.length - 12).toBeGreaterThan(200);
      const last = recordsOf(b).at(-1)!;
      const nextFirst = recordsOf(packets[packets.indexOf(b) + 1]!)[0]!;
      expect(coreHash(last.value ?? "", 16) === coreHash(nextFirst.value!, 16) && last.value !== undefined).toBe(false);
    }
  });

  it("no /b profile, or no profile_replication_cluster: nothing is broadcast", () => {
    const clock = new FakeClock();
    const local = twoNodes(clock, { profiles_no_value: "calls" });
    expect(local.n1.engine.broadcastProfiles()).toBe(0);
    const noCluster = makeNode({ clock, params: { profiles_no_value: "calls/b" } });
    expect(noCluster.engine.profilesTable.defs[0]!.fullName).toBe("calls"); // /b without cluster: local
    expect(noCluster.engine.broadcastProfiles()).toBe(0);
  });
});
