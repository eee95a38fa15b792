/**
 * Status/report (sr_*): the registry (status never 0, bounded history, case-insensitive
 * names), the MI replies and errors of OpenSIPS, E_CORE_SR_STATUS_CHANGED, and the
 * clusterer's group (node_states, sharing_tags, cap:<name> with -3/-2/-1/1).
 */
import { describe, expect, it } from "vitest";
import { defineModule, type SrIdentifier } from "../../core/index.ts";
import { createTestHost } from "../../core/testing/host.ts";
import { ctime } from "../../core/mi/core-commands.ts";
import { StatusReports } from "../../core/status/registry.ts";
import { ClustererReports } from "../../modules/clusterer/sr.ts";

describe("status/report registry", () => {
  it("keeps the last N reports, refuses status 0 and duplicates, reports status changes", () => {
    const changes: unknown[] = [];
    let now = 1_700_000_000_000;
    const sr = new StatusReports((c) => changes.push(c), () => now);
    const g = sr.group("mod");
    const id = g.identifier("db", { status: -1, details: "connecting", maxReports: 3 });
    for (let i = 1; i <= 5; i++) {
      now += 1000;
      id.report(`r${i}`);
    }
    expect(id.history()).toEqual([{ ts: 1_700_000_003, log: "r3" }, { ts: 1_700_000_004, log: "r4" }, { ts: 1_700_000_005, log: "r5" }]);
    id.setStatus(0);
    expect(id.status).toBe(1);
    expect(changes).toEqual([{ group: "mod", identifier: "db", status: 1, old_status: -1 }]);
    id.setStatus(1, "same status: no event");
    expect(changes).toHaveLength(1);
    expect(() => g.identifier("DB")).toThrow(/already exists/); // names compare case-insensitively
    expect(sr.find("MOD")).toBe(g);
    expect(() => sr.group("mod")).toThrow(/already exists/);
  });
});

describe("sr_* MI", () => {
  it("answers with OpenSIPS's shapes and errors, and raises E_CORE_SR_STATUS_CHANGED", async () => {
    let db: SrIdentifier | undefined;
    const mod = defineModule({
      name: "sr_demo", version: "1.0.0",
      init(ctx) {
        db = ctx.sr.group().identifier("db", { status: -2, details: "no connection", maxReports: 200 });
        ctx.sr.group().identifier("cache");
      },
    });
    const seen: unknown[] = [];
    const host = await createTestHost({ modules: [{ def: mod }] });
    host.hooks.events.for("E_CORE_SR_STATUS_CHANGED").tap("test", (ev) => void seen.push(ev.params));
    try {
      expect(await host.mi.run("sr_get_status", ["core"])).toEqual({ Readiness: true, Status: 1, Details: "running" });
      expect(await host.mi.run("sr_get_status", ["sr_demo", "db"])).toEqual({ Readiness: false, Status: -2, Details: "no connection" });
      expect(await host.mi.run("sr_get_status", ["sr_demo", "all"])).toEqual({ Readiness: false, Status: -1, Details: "aggregated" });
      expect(await host.mi.run("sr_list_status", ["sr_demo"])).toEqual([
        { Name: "cache", Readiness: true, Status: 1 },
        { Name: "db", Readiness: false, Status: -2, Details: "no connection" },
      ]);
      expect(await host.mi.run("sr_list_identifiers")).toEqual([
        { Group: "sr_demo", Identifiers: ["cache", "db"] }, { Group: "core", Identifiers: ["main"] },
      ]);
      db!.setStatus(1, "connected");
      db!.report("connected to db");
      expect(seen).toEqual([{ group: "sr_demo", identifier: "db", status: 1, details: "connected", old_status: -2 }]);
      const reports = (await host.mi.run("sr_list_reports", ["sr_demo", "db"])) as { Timestamp: number; Date: string; Log: string }[];
      expect(reports).toEqual([{ Timestamp: expect.any(Number), Date: ctime(reports[0]!.Timestamp * 1000), Log: "connected to db" }]);
      expect(await host.mi.run("sr_list_reports", ["sr_demo"])).toEqual([{ Name: "cache", Reports: [] }, { Name: "db", Reports: reports }]);
      expect(((await host.mi.run("sr_list_reports")) as { Name: string }[]).map((g) => g.Name)).toEqual(["sr_demo", "core"]);
      await expect(host.mi.run("sr_get_status", ["nope"])).rejects.toMatchObject({ code: 404, message: "Group not found" });
      await expect(host.mi.run("sr_get_status", ["sr_demo", "nope"])).rejects.toMatchObject({ code: 404, message: "Identity not found" });
      await expect(host.mi.run("sr_list_reports", ["sr_demo", "nope"])).rejects.toMatchObject({ code: 404, message: "Identifier not found" });
      await expect(host.mi.run("sr_list_status", ["nope"])).rejects.toMatchObject({ code: 404, message: "Group not found" });
    } finally {
      await host.stop();
    }
  });
});

describe("clusterer status/report group", () => {
  it("writes node, tag and capability reports with OpenSIPS's wording and statuses", () => {
    const sr = new StatusReports();
    const g = sr.group("clusterer");
    const r = new ClustererReports(g);
    r.onEvent("E_CLUSTERER_NODE_STATE_CHANGED", { cluster_id: 1, node_id: 2, new_state: 1 });
    r.onEvent("E_CLUSTERER_NODE_STATE_CHANGED", { cluster_id: 1, node_id: 2, new_state: 0 });
    r.onEvent("E_CLUSTERER_SHARING_TAG_CHANGED", { name: "HA", cluster: 1, state: "backup", reason: "cluster broadcast from 2" });
    r.capStatus("dialog-dlg-repl", -3);
    r.capStatus("dialog-dlg-repl", -2, "Sync requested from node [1]");
    r.capStatus("dialog-dlg-repl", -1, "Sync started from node [1]");
    r.capStatus("dialog-dlg-repl", 1, "Sync completed, received [10000] chunks");
    expect(g.find("node_states")!.history().map((x) => x.log)).toEqual(["Node [2], cluster [1] is UP", "Node [2], cluster [1] is DOWN"]);
    expect(g.find("sharing_tags")!.history().map((x) => x.log)).toEqual(["TAG <HA>, cluster 1, became backup due to cluster broadcast from 2"]);
    const cap = g.find("cap:dialog-dlg-repl")!;
    expect([cap.status, cap.details]).toEqual([1, "synced"]);
    expect(cap.history().map((x) => x.log)).toEqual(["Sync requested from node [1]", "Sync started from node [1]", "Sync completed, received [10000] chunks"]);
    for (let i = 0; i < 250; i++) r.onEvent("E_CLUSTERER_NODE_STATE_CHANGED", { cluster_id: 1, node_id: 3, new_state: i % 2 });
    expect(g.find("node_states")!.history()).toHaveLength(200);
  });
});
