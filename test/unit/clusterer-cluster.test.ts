/**
 * In-process clusters on a fake network: bring-up, line routing, crash detection, discovery,
 * removal, MI commands over the wire.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { LS } from "../../modules/clusterer/state.ts";
import { FakeNet, mesh, myInfo, neigh } from "./clusterer-helpers.ts";

describe("clusterer in-process", () => {
  it("two nodes see each other Up after the first ping/pong exchange", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2]);
    net.advance(1000);
    expect(a!.node(2).linkState).toBe(LS.UP);
    expect(b!.node(1).linkState).toBe(LS.UP);
    expect(a!.api.getNodes(1).map((n) => n.nodeId)).toEqual([2]);
    expect(a!.events).toContainEqual({ name: "E_CLUSTERER_NODE_STATE_CHANGED", params: { cluster_id: 1, node_id: 2, new_state: 1 } });
  });

  it("a 3-node line A-B-C routes A->C through B", () => {
    const net = new FakeNet();
    const a = net.add(1, { myNodeInfo: [myInfo(1)], neighborNodeInfo: [neigh(2)] });
    const b = net.add(2, { myNodeInfo: [myInfo(2)], neighborNodeInfo: [neigh(1), neigh(3)] });
    const c = net.add(3, { myNodeInfo: [myInfo(3)], neighborNodeInfo: [neigh(2)] });
    net.cut.add("1:3"); // A and C cannot talk directly
    net.advance(3000);
    expect(a.engine.cluster(1)!.node(3), "A learned C from B").toBeDefined();
    expect(a.api.getNodes(1).map((n) => [n.nodeId, n.nextHop]).sort()).toEqual([[2, 2], [3, 2]]);
    const got: number[] = [];
    for (const n of [a, b, c]) {
      n.api.registerCapability({ capability: "test-cap", clusterId: 1, onPacket: (p, type, src) => void got.push(n.id * 100 + src * 10 + type) });
    }
    net.flush();
    const pkt = BinPacket.init("test-cap", 7, 1).pushStr("hello");
    expect(a.api.sendTo(pkt, 1, 3)).toBe(0);
    net.flush();
    expect(got).toEqual([317]);
    expect(b.stat("packets_forwarded")).toBe(1);
    // the packet is back to its pre-send state
    expect(pkt.length).toBe(BinPacket.init("test-cap", 7, 1).pushStr("hello").length);
  });

  it("a crashed peer whose connection closes is Down at once: the probe's connect is refused (down_on_refused)", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2]);
    net.advance(2000);
    expect(a!.node(2).linkState).toBe(LS.UP);
    const t0 = net.now;
    b!.crash();
    net.flush();
    expect(a!.events.at(-1)).toEqual({ name: "E_CLUSTERER_NODE_STATE_CHANGED", params: { cluster_id: 1, node_id: 2, new_state: 0 } });
    expect(a!.node(2).linkState).toBe(LS.DOWN);
    expect(net.now - t0).toBeLessThan(1);
    expect(a!.stat("fast_downs")).toBe(1);
  });

  it("with down_on_refused 0 a crashed peer leaves Up at once and is Down after the ping retries", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { extra: () => ({ downOnRefused: false }) });
    net.advance(2000);
    b!.crash();
    net.flush();
    expect(a!.events.at(-1)).toEqual({ name: "E_CLUSTERER_NODE_STATE_CHANGED", params: { cluster_id: 1, node_id: 2, new_state: 0 } });
    expect(a!.node(2).linkState).toBe(LS.RETRY_SEND_FAIL);
    // then the retries run out (3 x ping_timeout) and the link is Down
    net.advance(3500);
    expect(a!.node(2).linkState).toBe(LS.DOWN);
    expect(a!.stat("fast_downs")).toBe(0);
  });

  it("a reset of the connection carrying the probe sets Down (a dying listener accepted it)", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2]);
    net.advance(2000);
    a!.peerEvent({ kind: "down", host: "127.0.0.1", port: 5602, outbound: true, reason: "closed by peer" });
    expect(a!.stat("fast_probes")).toBe(1);
    expect(a!.node(2).linkState).toBe(LS.UP);
    a!.peerEvent({ kind: "down", host: "127.0.0.1", port: 5602, outbound: true, reason: "ECONNRESET: read ECONNRESET", errno: "ECONNRESET" });
    expect(a!.node(2).linkState).toBe(LS.DOWN);
    expect(a!.stat("fast_downs")).toBe(1);
  });

  it("a connection reset alone does not set Down: the reconnect decides", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2]);
    net.advance(2000);
    a!.peerEvent({ kind: "down", host: "127.0.0.1", port: 5602, outbound: true, reason: "ECONNRESET: reset", errno: "ECONNRESET" });
    net.flush();
    expect(a!.node(2).linkState).toBe(LS.UP);
    expect(a!.stat("fast_downs")).toBe(0);
  });

  it("a peer that resets connection after connection gets one fast probe per ping_timeout", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2]);
    net.advance(2000);
    for (let i = 0; i < 50; i++) a!.peerEvent({ kind: "down", host: "127.0.0.1", port: 5602, outbound: true, reason: "ECONNRESET" });
    expect(a!.stat("fast_probes")).toBe(1);
    net.advance(1500);
    a!.peerEvent({ kind: "down", host: "127.0.0.1", port: 5602, outbound: true, reason: "ECONNRESET" });
    expect(a!.stat("fast_probes")).toBe(2);
    expect(a!.node(2).linkState).toBe(LS.UP);
  });

  it("a silent failure is detected by the state machine (missing pongs)", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2]);
    net.advance(2000);
    net.cut.add("1:2");
    let downAt = 0;
    a!.engine.nodeListeners.push((ch) => {
      if (!ch.up) downAt = net.now;
    });
    const cutAt = net.now;
    net.advance(20000);
    // Down, then re-probed every ping_interval (reprobe_down): never Up again
    expect(a!.node(2).linkState).not.toBe(LS.UP);
    expect(a!.node(2).downProbes).toBeGreaterThan(0);
    // periodic ping (≤ ping_interval + 1 tick) + ping_timeout
    expect(downAt - cutAt).toBeLessThanOrEqual(6000);
  });

  it("discovers an unknown node through UNKNOWN_ID / NODE_DESCRIPTION and floods it", () => {
    const net = new FakeNet();
    const a = net.add(1, { myNodeInfo: [myInfo(1)], neighborNodeInfo: [neigh(2)] });
    const b = net.add(2, { myNodeInfo: [myInfo(2)], neighborNodeInfo: [neigh(1)] });
    net.advance(2000);
    const c = net.add(3, { myNodeInfo: [myInfo(3)], neighborNodeInfo: [neigh(2)] });
    net.advance(3000);
    expect(b.stat("unknown_id_sent")).toBeGreaterThan(0);
    expect(b.node(3).linkState).toBe(LS.UP);
    expect(a.engine.cluster(1)!.node(3)).toBeDefined();
    expect(c.api.getNodes(1).map((n) => n.nodeId).sort()).toEqual([1, 2]);
  });

  it("clusterer_remove_node removes the node everywhere and the removed node disables itself", async () => {
    const net = new FakeNet();
    const [a, b, c] = mesh(net, [1, 2, 3]);
    net.advance(2000);
    const { clustererMi, attachEngine } = await import("../../modules/clusterer/mi.ts");
    const { miParams } = await import("../../core/mi/params.ts");
    attachEngine(a!.api, a!.engine);
    expect(clustererMi["clusterer_remove_node"]!.run(miParams(["cluster_id", "node_id"], { cluster_id: 1, node_id: 3 }), a!.api)).toBe("OK");
    net.flush();
    expect(a!.engine.cluster(1)!.node(3)).toBeUndefined();
    expect(b!.engine.cluster(1)!.node(3)).toBeUndefined();
    expect(c!.engine.cluster(1)!.self.enabled).toBe(false);
  });

  it("cluster_send_mi runs the command on the destination", async () => {
    const net = new FakeNet();
    const a = net.add(1, { myNodeInfo: [myInfo(1)], neighborNodeInfo: [neigh(2)] });
    net.add(2, { myNodeInfo: [myInfo(2)], neighborNodeInfo: [neigh(1), neigh(3)] });
    const c = net.add(3, { myNodeInfo: [myInfo(3)], neighborNodeInfo: [neigh(2)] });
    net.cut.add("1:3");
    net.advance(3000);
    const { clustererMi, attachEngine } = await import("../../modules/clusterer/mi.ts");
    const { miParams } = await import("../../core/mi/params.ts");
    attachEngine(a.api, a.engine);
    const r = clustererMi["cluster_send_mi"]!.run(
      miParams(["cluster_id", "destination", "cmd_name", "cmd_params"], { cluster_id: 1, destination: 3, cmd_name: "ul_show_contact", cmd_params: ["location", 7] }), a.api);
    expect(r).toBe("OK");
    net.flush();
    expect(c.mi).toEqual([{ method: "ul_show_contact", params: ["location", "7"] }]);
  });
});
