/** kv_store over in-process clusterers: replication and startup sync of the whole map. */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.ts";
import { KvStore } from "../../modules/kv_store/store.ts";
import { FakeNet, mesh } from "./clusterer-helpers.ts";

const counters = () => ({ sent: 0, received: 0, dropped: 0, replSent() { this.sent++; }, replReceived(n = 1) { this.received += n; }, replDropped() { this.dropped++; } });

describe("kv_store", () => {
  it("replicates sets and deletes, and syncs a restarted node's map from a donor", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { seed: [1] });
    const ka = new KvStore({ api: a!.api, clusterId: 1 }, silentLogger(), counters());
    ka.start(false);
    const kb = new KvStore({ api: b!.api, clusterId: 1 }, silentLogger(), counters());
    kb.start(true);
    net.advance(1000);
    ka.set("alice", "1");
    ka.set("bob", "2");
    ka.delete("bob");
    net.flush();
    expect([...kb.map]).toEqual([["alice", "1"]]);
    ka.load(5000, "k", 8);
    // node 2 restarts with an empty map and syncs
    b!.crash();
    net.flush();
    const net2Node = net.add(2, { myNodeInfo: ["cluster_id=1, url=bin:127.0.0.1:5602"], neighborNodeInfo: ["cluster_id=1, node_id=1, url=bin:127.0.0.1:5601, flags=seed"] });
    const kb2 = new KvStore({ api: net2Node.api, clusterId: 1 }, silentLogger(), counters());
    kb2.start(true);
    net.advance(1000);
    expect(kb2.map.size).toBe(5001);
    expect(kb2.map.get("k4999")).toBe("vvvvvvvv4999");
    expect(kb2.syncsDone).toBe(1);
    expect(net2Node.api.syncStatus("kv-store-repl", 1)).toMatchObject({ state: "synced", chunksReceived: 5001, chunksExpected: 5001 });
  });
});
