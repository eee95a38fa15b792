/**
 * Replays: the node 1 -> node 2 packets captured from real OpenSIPS 3.6.8 (main set,
 * sequence.json order, at their capture times) are fed into an in-process tsips node that
 * plays node 2. It ends in the state the real node 2 had, and what it sends back is what the
 * real node 2 sent, byte for byte.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { loadVectorSequence, loadVectorSet } from "../../core/bin/vectors.ts";
import { LS } from "../../modules/clusterer/state.ts";
import { attachEngine, clustererMi } from "../../modules/clusterer/mi.ts";
import { miParams } from "../../core/mi/params.ts";
import { FakeNet } from "./clusterer-helpers.ts";

const seq = loadVectorSequence("main");
const byFile = new Map(loadVectorSet("main").map((v) => [v.file, v]));
const stepTime = (label: string): number => (seq.events as { label: string; t_s: number }[]).find((e) => e.label === label)!.t_s;

/** Node 2 as configured in vectors/cfg/node2.cfg, with the capabilities the real node 2 registered. */
function node2(net: FakeNet) {
  // node 1 answers node 2's pings with the PONG it really sent (vector 008)
  const pong = byFile.get("008-clusterer-internal-pong-n1-to-n2.hex")!.bytes;
  net.responders.set("127.0.0.1:5601", (b) => (b.includes(Buffer.from("clusterer-internal")) && b.readInt32LE(30) === 0 ? Buffer.from(pong) : undefined));
  const n = net.add(2, {
    eagerProbe: false, capAnnounceInterval: 0, recvLiveness: false, reprobeDown: false, healSync: false, downOnRefused: false, // exactly OpenSIPS's timing, so the replies can be compared byte for byte
    myNodeInfo: ["cluster_id=1,url=bin:127.0.0.1:5602,no_ping_retries=3"],
    neighborNodeInfo: ["cluster_id=1,node_id=1,url=bin:127.0.0.1:5601,no_ping_retries=3,flags=seed"],
  });
  const received = new Map<string, number[]>();
  const chunks = new Map<string, number>();
  const reg = (capability: string, startupSync: boolean) => {
    received.set(capability, []);
    n.api.registerCapability({
      capability, clusterId: 1, startupSync,
      onPacket(p: BinPacket, type: number) {
        received.get(capability)!.push(type);
        if (type === 101) while (n.api.syncChunkIter(p)) chunks.set(capability, (chunks.get(capability) ?? 0) + 1);
      },
    });
    if (startupSync) n.api.requestSync(capability, 1);
  };
  reg("dialog-prof-repl", false);
  reg("dialog-dlg-repl", true);
  reg("usrloc-contact-repl", true);
  return { n, received, chunks };
}

/** Feeds every node 1 -> node 2 hop in [from, to) at its capture time; returns node 2's sends. */
function replay(net: FakeNet, n: ReturnType<typeof node2>["n"], from: number, to: number, actions: Record<string, () => void> = {}) {
  const start = net.log.length;
  const pending = new Map(Object.entries(actions).map(([label, fn]) => [stepTime(label), fn]));
  for (const h of seq.packets) {
    for (const [t, fn] of pending) {
      if (t <= h.t_s && t >= from && t < to) {
        net.advance(t * 1000 - net.now);
        fn();
        net.flush();
        pending.delete(t);
      }
    }
    if (h.t_s < from || h.t_s >= to || h.from !== 1 || h.to !== 2) continue;
    net.advance(h.t_s * 1000 - net.now);
    n.deliver(byFile.get(h.file)!.bytes, { proto: "bin", host: "127.0.0.1", port: 45678 });
    net.flush();
  }
  return net.log.slice(start).filter((r) => r.from === 2);
}

describe("replay of the captured node 1 traffic into a tsips node 2", () => {
  it("first start: node 1 Up, capabilities known and synced; replies byte-identical", () => {
    const net = new FakeNet();
    net.now = stepTime("node2_start") * 1000;
    net.epoch = seq.t0_epoch;
    const { n, received } = node2(net);
    attachEngine(n.api, n.engine);
    // the scenario ran `cluster_broadcast_mi 1 ps` on node 2
    const sent = replay(net, n, 0, stepTime("node2_stop"), {
      cluster_broadcast_mi: () => void clustererMi["cluster_broadcast_mi"]!.run(miParams(["cluster_id", "cmd_name"], { cluster_id: 1, cmd_name: "ps" }), n.api),
    });
    const c = n.engine.cluster(1)!;
    const n1 = c.node(1)!;
    expect(n1.linkState).toBe(LS.UP);
    expect(n1.caps.map((x) => [x.name, x.ok]).sort()).toEqual([["dialog-dlg-repl", true], ["dialog-prof-repl", true], ["usrloc-contact-repl", true]]);
    expect(c.caps.map((x) => [x.name, x.ok])).toEqual([["usrloc-contact-repl", true], ["dialog-dlg-repl", true], ["dialog-prof-repl", true]]);
    // module traffic reached the capabilities, the MI command ran
    expect(received.get("usrloc-contact-repl")!.length).toBeGreaterThan(5);
    expect(received.get("dialog-dlg-repl")!.length).toBeGreaterThan(0);
    expect(n.mi.map((m) => m.method)).toContain("uptime");
    // every clusterer packet node 2 sent (pings aside) equals what the real node 2 sent, in order
    const ours = sent.filter((r) => r.bytes.includes(Buffer.from("clusterer-")) && !(r.bytes.readInt32LE(30) === 0 && r.bytes.includes(Buffer.from("internal"))));
    const real = seq.packets.filter((h) => h.from === 2 && h.t_s < stepTime("node2_stop") && h.capability.startsWith("clusterer") && h.type !== 0)
      .map((h) => byFile.get(h.file)!.bytes.toString("hex"));
    expect(ours.map((r) => r.bytes.toString("hex"))).toEqual(real);
  });

  it("restart: node 2 syncs usrloc (5 contacts) and dialog (1 dialog) from node 1, counting chunks against SYNC_END", () => {
    const net = new FakeNet();
    const t0 = stepTime("node2_restart_sync");
    net.now = t0 * 1000;
    net.epoch = seq.t0_epoch;
    const { n, chunks } = node2(net);
    replay(net, n, t0, stepTime("long_call_end"));
    const c = n.engine.cluster(1)!;
    expect(c.node(1)!.linkState).toBe(LS.UP);
    expect(chunks.get("usrloc-contact-repl")).toBeGreaterThan(0);
    expect(chunks.get("dialog-dlg-repl")).toBe(1);
    for (const name of ["usrloc-contact-repl", "dialog-dlg-repl"]) {
      const s = n.api.syncStatus(name, 1)!;
      expect(s.state).toBe("synced");
      expect(s.chunksReceived).toBe(s.chunksExpected);
      expect(s.chunksReceived).toBe(chunks.get(name));
    }
  });
});

describe("replay of the 3-node capture (vectors/more) into a tsips node 3", () => {
  const mseq = loadVectorSequence("more");
  const mfiles = new Map(loadVectorSet("more").map((v) => [v.file, v]));
  const mstep = (label: string): number => (mseq.events as { label: string; t_s: number }[]).find((e) => e.label === label)!.t_s;
  const bytesOf = (prefix: string) => Buffer.from(mfiles.get([...mfiles.keys()].find((f) => f.startsWith(prefix))!)!.bytes);

  it("discovery through UNKNOWN_ID, floods from node 1 via node 2, SYNC_REQ routed to node 1: the same bytes as the real node 3", () => {
    const net = new FakeNet();
    const t0 = mstep("node3_start");
    net.now = t0 * 1000;
    net.epoch = mseq.t0_epoch;
    // node 2 (127.0.0.2:5602) answers our pings as it did: UNKNOWN_ID until it has our description, then PONGs
    let known = false;
    net.responders.set("127.0.0.2:5602", (b) => {
      const p = BinPacket.parse(b);
      if (p.capability === "clusterer-internal" && p.type === 5) known = true;
      if (p.capability !== "clusterer-internal" || p.type !== 0) return undefined;
      if (!known) return bytesOf("002-");
      return b.readInt32LE(42) === 1 ? bytesOf("009-") : bytesOf("029-");
    });
    const n3 = net.add(3, {
      eagerProbe: false, capAnnounceInterval: 0, recvLiveness: false, reprobeDown: false, healSync: false, downOnRefused: false,
      myNodeInfo: ["cluster_id=1,url=bin:127.0.0.3:5603"],
      neighborNodeInfo: ["cluster_id=1,node_id=2,url=bin:127.0.0.2:5602", "cluster_id=1,node_id=1,url=bin:127.0.0.1:5611,flags=seed"],
    });
    for (const cap of ["dialog-dlg-repl", "usrloc-contact-repl"]) {
      n3.api.registerCapability({ capability: cap, clusterId: 1, startupSync: true, onPacket: () => {} });
      n3.api.requestSync(cap, 1);
    }
    const end = mstep("ul_add_carol_on_node3");
    const mark = net.log.length;
    for (const h of mseq.packets) {
      if (h.t_s < t0 || h.t_s >= end || h.from !== 2 || h.to !== 3) continue;
      const v = mfiles.get(h.file)!;
      // replies to the real node 3's pings come from the responder above
      if (v.capability === "clusterer-internal" && (v.packet_type === 1 || v.packet_type === 4)) continue;
      net.advance(h.t_s * 1000 - net.now);
      n3.deliver(v.bytes, { proto: "bin", host: "127.0.0.2", port: 45602 });
      net.flush();
    }
    net.advance(end * 1000 - net.now);
    const c = n3.engine.cluster(1)!;
    expect(c.node(2)!.linkState).toBe(LS.UP);
    expect(c.node(1)!.linkState, "no direct link to node 1").not.toBe(LS.UP);
    expect(n3.api.getNodes(1).map((n) => [n.nodeId, n.nextHop]).sort()).toEqual([[1, 2], [2, 2]]);
    expect(n3.api.shtagGet("vip", 1)).toBe("backup");
    expect(n3.engine.shtags.find("vip", 1)!.holder).toBe(1);
    for (const cap of ["dialog-dlg-repl", "usrloc-contact-repl"]) expect(n3.api.syncStatus(cap, 1)).toMatchObject({ state: "synced", donor: 1 });
    // what reached node 2 (the wire): every non-PING packet equals the real node 3's, in order
    const ours = net.log.slice(mark).filter((r) => r.from === 3 && r.port === 5602)
      .filter((r) => { const p = BinPacket.parse(r.bytes); return !(p.capability === "clusterer-internal" && p.type === 0); })
      .map((r) => r.bytes.toString("hex"));
    const real = mseq.packets.filter((h) => h.from === 3 && h.t_s >= t0 && h.t_s < end && !(h.capability === "clusterer-internal" && h.type === 0))
      .map((h) => mfiles.get(h.file)!.bytes.toString("hex"));
    expect(ours).toEqual(real);
  });
});
