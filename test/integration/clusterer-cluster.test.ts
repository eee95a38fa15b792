/**
 * Multi-node clusters as real child processes on 127.0.0.1 (core/testing harness): link
 * bring-up and MI shapes, fast crash detection, startup sync of kv_store data from a donor,
 * 3-node line routing, sharing tags with automatic takeover, a donor killed mid-sync.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes } from "../../core/testing/node-process.ts";
import { freePort } from "../../core/testing/ports.ts";
import { waitFor } from "../../core/testing/wait.ts";

const kv = (startupSync = 1): string => `loadmodule "kv_store.so"\nmodparam("kv_store", "cluster_id", 1)\nmodparam("kv_store", "startup_sync", ${startupSync})\n`;

let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(killAllNodes);

type Clusters<T> = { Clusters: { cluster_id: number; Nodes?: T[]; Capabilities?: T[] }[] };

describe("clusterer: real nodes", () => {
  it("2 nodes come Up, report OpenSIPS MI shapes, detect a SIGKILL in milliseconds, and resync the restarted node", async () => {
    cluster = await LocalCluster.start({ size: 2, extra: kv(), clusterer: { seed_fallback_interval: 1 } });
    const list = (await cluster.mi(1, "clusterer_list")) as Clusters<Record<string, unknown>>;
    expect(list.Clusters[0]!.Nodes).toEqual([{
      node_id: 2, db_id: -1, url: `bin:127.0.0.1:${cluster.specs[1]!.binPort}`, link_state: "Up", state: "enabled", next_hop: "2", description: "none",
    }]);
    expect(await cluster.mi(1, "clusterer_list_topology")).toEqual({ Clusters: [{ cluster_id: 1, Nodes: [{ node_id: 1, Neighbours: [2] }, { node_id: 2, Neighbours: [1] }] }] });
    await waitFor("kv_store synced on both", async () => {
      for (const id of [1, 2]) {
        const caps = (await cluster!.mi(id, "clusterer_list_cap")) as Clusters<{ name: string; state: string }>;
        if (caps.Clusters[0]!.Capabilities![0]!.state !== "Ok") return false;
      }
      return true;
    }, 10_000);
    expect(await cluster.mi(2, "clusterer_list_cap")).toEqual({ Clusters: [{ cluster_id: 1, Capabilities: [{ name: "kv-store-repl", state: "Ok", enabled: "yes" }] }] });

    // replication, then a data set that only node 1 has
    await cluster.mi(1, "kv_set", ["alice", "1"]);
    await waitFor("alice replicated", async () => ((await cluster!.mi(2, "kv_get", ["alice"])) as { value: string }).value === "1");
    await cluster.mi(1, "kv_load", [20000]);

    // crash: node 1 sees node 2 down within milliseconds (its connection closed)
    const mark = cluster.node(1).mark();
    const killedAt = Date.now();
    await cluster.kill(2);
    const down = await cluster.node(1).waitForLog((l) => l["event"] === "node-down" && l["node"] === 2, 5_000, mark);
    expect((down.time as number) - killedAt).toBeLessThan(1000);

    // restart: node 2 gets the whole map from node 1
    const mark2 = cluster.node(2).logs.length;
    await cluster.restart(2);
    const synced = await cluster.node(2).waitForLog((l) => l["event"] === "synced" && l["capability"] === "kv-store-repl", 10_000, mark2);
    expect(synced["chunks"]).toBe(20001);
    expect(((await cluster.mi(2, "kv_count")) as { count: number }).count).toBe(20001);
    const st = (await cluster.mi(2, "clusterer_sync_status")) as Clusters<Record<string, unknown>>;
    expect(st.Clusters[0]!.Capabilities![0]).toMatchObject({ name: "kv-store-repl", state: "synced", donor: 1, chunks: 20001, expected_chunks: 20001, last_outcome: "done" });
  });

  it("routes through the middle node of a 3-node line", async () => {
    const dead = await freePort();
    cluster = await LocalCluster.start({
      size: 3, extra: kv(0), noWaitUp: true,
      // 1 and 3 know each other at a port where nothing listens: no direct link, as in vectors/more
      neighbors: (id, all) => all.filter((n) => n.id !== id).map((n) => (id !== 2 && n.id !== 2 ? { ...n, binPort: dead } : n)),
    });
    await cluster.waitLink(1, 2, "Up");
    await cluster.waitLink(3, 2, "Up");
    await waitFor("node 1 routes to node 3 via node 2", async () => {
      const l = (await cluster!.mi(1, "clusterer_list")) as Clusters<{ node_id: number; next_hop: string; link_state: string }>;
      const n3 = l.Clusters[0]!.Nodes!.find((n) => n.node_id === 3);
      return n3?.next_hop === "2" && n3.link_state !== "Up";
    }, 15_000);
    await cluster.mi(1, "kv_set", ["via", "node2"]);
    await waitFor("key routed to node 3", async () => {
      try {
        return ((await cluster!.mi(3, "kv_get", ["via"])) as { value: string }).value === "node2";
      } catch {
        return false;
      }
    }, 5_000);
    const topo = (await cluster.mi(2, "clusterer_list_topology")) as Clusters<{ node_id: number; Neighbours: number[] }>;
    expect(topo.Clusters[0]!.Nodes![0]!.Neighbours.sort()).toEqual([1, 3]);
    // an MI command routed 1 -> 2 -> 3
    const mark = cluster.node(3).mark();
    expect(await cluster.mi(1, "cluster_send_mi", { cluster_id: 1, destination: 3, cmd_name: "kv_set", cmd_params: ["mi", "routed"] })).toBe("OK");
    await cluster.node(3).waitForLog((l) => typeof l.msg === "string" && l.msg.includes('MI command "kv_set" from node 1 done'), 5_000, mark);
    expect(((await cluster.mi(3, "kv_get", ["mi"])) as { value: string }).value).toBe("routed");
  });

  it("sharing tags: activation by MI and automatic takeover when the holder dies", async () => {
    cluster = await LocalCluster.start({
      size: 3, clusterer: { shtag_auto_takeover: 1 }, sharingTags: (id) => [id === 1 ? "vip=active" : "vip=backup"],
    });
    const state = async (id: number) => ((await cluster!.mi(id, "clusterer_list_shtags")) as { Tag: string; Cluster: number; State: string }[]).find((t) => t.Tag === "vip")?.State;
    expect(await cluster.mi(1, "clusterer_list_shtags")).toEqual([{ Tag: "vip", Cluster: 1, State: "active" }]);
    expect(await state(2)).toBe("backup");
    // MI activation on node 3: everyone else goes backup
    expect(await cluster.mi(3, "clusterer_shtag_set_active", ["vip/1"])).toBe("OK");
    await waitFor("node 1 backup", async () => (await state(1)) === "backup");
    expect(await state(2)).toBe("backup");
    expect(await state(3)).toBe("active");
    // node 3 dies: node 1 (lowest surviving id) takes over, node 2 stays backup
    await cluster.kill(3);
    await waitFor("node 1 took over", async () => (await state(1)) === "active", 5_000);
    expect(await state(2)).toBe("backup");
    const err = await cluster.mi(1, "clusterer_shtag_set_active", ["vip"]).catch((e: unknown) => e as { code: number; message: string });
    expect(err).toMatchObject({ code: 400 });
    expect((err as unknown as Error).message).toBe("Bad tag format <name/cluster_id> (400)");
  });

  it("a donor killed mid-sync makes the requester finish the sync from another donor", async () => {
    cluster = await LocalCluster.start({ size: 3, extra: kv(), clusterer: { seed_fallback_interval: 1, sync_packet_size: 4096 } });
    await waitFor("all synced", async () => {
      for (const id of [1, 2, 3]) {
        const caps = (await cluster!.mi(id, "clusterer_list_cap")) as Clusters<{ state: string }>;
        if (caps.Clusters[0]!.Capabilities![0]!.state !== "Ok") return false;
      }
      return true;
    }, 10_000);
    for (const id of [1, 2]) await cluster.mi(id, "kv_load", [300_000, "k", 64]);
    await cluster.kill(3);
    const mark = cluster.node(3).logs.length;
    await cluster.restart(3);
    const started = await cluster.node(3).waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("sync of kv-store-repl from node"), 10_000, mark);
    const donor = started["node"] as number;
    await cluster.kill(donor);
    const retry = await cluster.node(3).waitForLog((l) => typeof l.msg === "string" && l.msg.includes("went down during the sync"), 10_000, mark);
    expect(retry["donor"]).toBe(donor);
    const synced = await cluster.node(3).waitForLog((l) => l["event"] === "synced", 20_000, mark);
    expect(synced["node"]).toBe(donor === 1 ? 2 : 1);
    expect(((await cluster.mi(3, "kv_count")) as { count: number }).count).toBe(300_000);
  });
});
