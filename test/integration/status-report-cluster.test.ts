/**
 * sr_* on real nodes: after a restart, `sr_list_reports clusterer cap:usrloc-contact-repl`
 * shows the sync's request, start and end, and the capability and core statuses read 1.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes } from "../../core/testing/node-process.ts";
import { waitFor } from "../../core/testing/wait.ts";

let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(killAllNodes);

type Report = { Timestamp: number; Date: string; Log: string };

describe("status/report on real nodes", () => {
  it("sr_list_reports clusterer cap:usrloc-contact-repl shows a restart sync's start and end", async () => {
    cluster = await LocalCluster.start({
      size: 2, clusterer: { seed_fallback_interval: 1 },
      extra: `loadmodule "usrloc.so"\nmodparam("usrloc", "working_mode_preset", "full-sharing-cluster")\nmodparam("usrloc", "location_cluster", 1)\n`,
    });
    const c = cluster;
    const capStatus = async (id: number) => c.mi(id, "sr_get_status", ["clusterer", "cap:usrloc-contact-repl"]);
    await waitFor("usrloc synced on both", async () => {
      for (const id of [1, 2]) if (((await capStatus(id)) as { Status: number }).Status !== 1) return false;
      return true;
    }, 15_000);
    await c.mi(1, "ul_bench_load", { count: 300, prefix: "sr", per_aor: 3 });
    await c.kill(2);
    await c.restart(2);
    await waitFor("node 2 synced again", async () => ((await capStatus(2)) as { Status: number }).Status === 1, 15_000);

    const reports = (await c.mi(2, "sr_list_reports", ["clusterer", "cap:usrloc-contact-repl"])) as Report[];
    // The request is queued ("Sync requested") when node 2 asks before its link to node 1 is up.
    // 100 AoR chunks + 300 contact chunks.
    const logs = reports.map((r) => r.Log);
    expect(logs.slice(-3)).toEqual(["Sync requested from node [1]", "Sync started from node [1]", "Sync completed, received [400] chunks"]);
    expect(logs.slice(0, -3).every((l) => l === "Sync requested")).toBe(true);
    for (const r of reports) expect(r.Timestamp).toBeGreaterThan(1_600_000_000);
    expect(await capStatus(2)).toEqual({ Readiness: true, Status: 1, Details: "synced" });
    expect(await c.mi(2, "sr_get_status", ["core"])).toEqual({ Readiness: true, Status: 1, Details: "running" });
    expect(await c.mi(2, "sr_list_identifiers", ["clusterer"])).toEqual({ Group: "clusterer", Identifiers: ["cap:usrloc-contact-repl", "sharing_tags", "node_states"] });
    const nodeStates = (await c.mi(2, "sr_list_reports", ["clusterer", "node_states"])) as Report[];
    expect(nodeStates.map((r) => r.Log)).toContain("Node [1], cluster [1] is UP");
    const onNode1 = (await c.mi(1, "sr_list_reports", ["clusterer", "node_states"])) as Report[];
    expect(onNode1.map((r) => r.Log)).toEqual(["Node [2], cluster [1] is UP", "Node [2], cluster [1] is DOWN", "Node [2], cluster [1] is UP"]);
  });
});
