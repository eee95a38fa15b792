/**
 * Receive pipeline checks (clusterer.md §6) and sharing tags (§10): packets from an unknown
 * cluster, an unknown node, a foreign IP or ourselves are dropped and counted; disabled
 * nodes and capabilities ignore traffic; SHTAG_ACTIVE handling and auto takeover.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { CapUpdate, LsUpdate, Ping, ShtagActive } from "../../modules/clusterer/messages.ts";
import { LS } from "../../modules/clusterer/state.ts";
import { FakeNet, mesh, tags } from "./clusterer-helpers.ts";

const from = (host = "127.0.0.1", port = 40009) => ({ proto: "bin" as const, host, port });
const ping = (cluster: number, src: number) => Buffer.from(Ping.encode({ cluster_id: cluster, src_node_id: src, req_node_list: 1 }).bytes());

describe("receive pipeline drops", () => {
  function two() {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2]);
    net.advance(1000);
    return { net, a: a!, b: b! };
  }

  it("unknown cluster, own id, unknown node, foreign IP", () => {
    const { net, a } = two();
    const mark = net.log.length;
    a.deliver(ping(9, 2), from());
    expect(a.stat("dropped_unknown_cluster")).toBe(1);
    a.deliver(ping(1, 1), from());
    expect(a.stat("dropped_self")).toBe(1);
    a.deliver(Buffer.from(LsUpdate.encode({ cluster_id: 1, src_node_id: 7, seq_no: 1, timestamp: 1, neighbour_node_id: 2, new_link_state: 0, path: [7] }).bytes()), from());
    expect(a.stat("dropped_unknown_node")).toBe(1);
    a.deliver(ping(1, 2), from("10.9.9.9"));
    expect(a.stat("dropped_bad_ip")).toBe(1);
    expect(net.log.length, "nothing answered").toBe(mark);
    // an unknown node's PING is answered with UNKNOWN_ID on its own connection (db_mode 0)
    a.deliver(ping(1, 7), from("127.0.0.1", 40123));
    expect(net.log.at(-1)).toMatchObject({ from: 1, host: "127.0.0.1", port: 40123 });
    expect(a.stat("unknown_id_sent")).toBe(1);
  });

  it("module packets: unknown source, disabled capability, trailer for another cluster", () => {
    const { a } = two();
    const got: string[] = [];
    a.api.registerCapability({ capability: "cap-x", clusterId: 1, onPacket: (p) => void got.push(p.popStr()) });
    const pkt = (src: number, cluster = 1) => Buffer.from(BinPacket.init("cap-x", 1, 1).pushStr("v").pushInt(cluster).pushInt(src).pushInt(1).bytes());
    a.deliver(pkt(2), from());
    a.deliver(pkt(5), from());
    a.deliver(pkt(2, 3), from());
    a.deliver(pkt(2), from("192.0.2.1"));
    expect(got).toEqual(["v"]);
    expect([a.stat("dropped_unknown_node"), a.stat("dropped_unknown_cluster"), a.stat("dropped_bad_ip")]).toEqual([1, 1, 1]);
    a.engine.cluster(1)!.localCap("cap-x")!.enabled = false;
    a.deliver(pkt(2), from());
    expect(a.stat("dropped_cap_disabled")).toBe(1);
    expect(got).toEqual(["v"]);
  });

  it("a disabled local node or source node ignores traffic; stale updates are not processed", () => {
    const { a } = two();
    const cap = (seq: number) => Buffer.from(CapUpdate.encode({ cluster_id: 1, src_node_id: 2, seq_no: seq, timestamp: 5, nodes: [{ node_id: 2, caps: [{ name: "c", state: 1 }] }], require_reply: 0, path: [2] }).bytes());
    a.deliver(cap(10), from());
    expect(a.node(2).findCap("c")?.ok).toBe(true);
    a.deliver(cap(9), from());
    expect(a.stat("dropped_stale")).toBe(1);
    a.engine.setNodeStatus(a.engine.cluster(1)!, 2, false);
    expect(a.node(2).linkState).toBe(LS.DOWN);
    a.deliver(ping(1, 2), from());
    expect(a.stat("dropped_node_disabled")).toBe(1);
    a.engine.setNodeStatus(a.engine.cluster(1)!, undefined, false);
    a.deliver(ping(1, 2), from());
    expect(a.stat("dropped_local_disabled")).toBe(1);
  });
});

describe("sharing tags", () => {
  it("modparam active is announced on NODE_UP; the receiver goes backup (last announcer wins)", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { extra: (id) => ({ sharingTags: tags(id === 1 ? "vip/1=active" : "vip/1=backup") }) });
    const changes: string[] = [];
    b!.api.shtagOnChange("vip", 1, (t, s) => void changes.push(`${t}:${s}`));
    net.advance(1000);
    expect(a!.api.shtagGet("vip", 1)).toBe("active");
    expect(b!.api.shtagGet("vip", 1)).toBe("backup");
    // node 2 takes it: node 1 becomes backup, callbacks and event run
    b!.api.shtagActivate("vip", 1, "MI command");
    net.flush();
    expect(a!.api.shtagGet("vip", 1)).toBe("backup");
    expect(changes).toEqual(["vip:active"]);
    expect(a!.events).toContainEqual({ name: "E_CLUSTERER_SHARING_TAG_CHANGED", params: { name: "vip", cluster: 1, state: "backup", reason: "cluster broadcast from 2" } });
    expect(b!.api.shtagGetAllActive(-1)).toEqual(["vip"]);
  });

  it("an unreachable node gets the announcement when it comes up", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2]);
    b!.up = false;
    a!.api.shtagActivate("t", 1);
    net.flush();
    expect(a!.engine.shtags.find("t", 1)!.mustAnnounce).toBe(true);
    b!.up = true;
    net.advance(1000);
    expect(b!.api.shtagGet("t", 1)).toBe("backup");
    expect(b!.engine.shtags.find("t", 1)!.holder).toBe(1);
  });

  it("auto takeover (opt-in): the lowest surviving id activates the tag of a dead holder", () => {
    const net = new FakeNet();
    const nodes = mesh(net, [1, 2, 3], { extra: () => ({ autoTakeover: true }) });
    net.advance(1000);
    nodes[2]!.api.shtagActivate("vip", 1);
    net.flush();
    expect(nodes.map((n) => n.api.shtagGet("vip", 1))).toEqual(["backup", "backup", "active"]);
    nodes[2]!.crash();
    net.flush();
    expect([nodes[0]!.api.shtagGet("vip", 1), nodes[1]!.api.shtagGet("vip", 1)]).toEqual(["active", "backup"]);
    expect(nodes[0]!.stat("shtag_takeovers")).toBe(1);
  });

  it("without auto takeover nothing changes when the holder dies (OpenSIPS behaviour)", () => {
    const net = new FakeNet();
    const nodes = mesh(net, [1, 2]);
    net.advance(1000);
    nodes[1]!.api.shtagActivate("vip", 1);
    net.flush();
    nodes[1]!.crash();
    net.flush();
    expect(nodes[0]!.api.shtagGet("vip", 1)).toBe("backup");
  });

  it("SHTAG_ACTIVE for an unknown tag creates it as backup", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2]);
    net.advance(1000);
    a!.deliver(Buffer.from(ShtagActive.encode({ tag: "new", cluster_id: 1, src_node_id: 2, dst_node_id: 1 }).bytes()), from());
    expect(a!.engine.shtags.find("new", 1)).toMatchObject({ state: "backup", holder: 2 });
  });
});
