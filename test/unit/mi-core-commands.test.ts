import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { CUSTOM_LEVELS } from "../../core/log.ts";
import { ctime, serverString } from "../../core/mi/core-commands.ts";
import { MiError, type JsonValue } from "../../core/mi/types.ts";
import { createMiTestNode, type MiTestNode } from "../helpers/mi-host.ts";

const CTIME = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] \d\d:\d\d:\d\d \d{4}$/;

async function rpcError(node: MiTestNode, method: string, params?: JsonValue[] | Record<string, JsonValue>): Promise<MiError> {
  try {
    await node.mi.run(method, params);
  } catch (e) {
    if (e instanceof MiError) return e;
    throw e;
  }
  throw new Error(`${method} did not fail`);
}

describe("core MI commands (spec/mi.md §7)", () => {
  let node: MiTestNode;
  beforeEach(() => {
    node = createMiTestNode({ startedAt: Date.now() - 65_000 });
  });

  it("formats ctime like C: day space-padded, no newline", () => {
    expect(ctime(new Date(2025, 0, 5, 7, 8, 9).getTime())).toBe("Sun Jan  5 07:08:09 2025");
    expect(ctime(new Date(2026, 10, 22, 17, 30, 45).getTime())).toBe("Sun Nov 22 17:30:45 2026");
  });

  it("uptime: Now, Up since, Up time in whole seconds", async () => {
    const r = (await node.mi.run("uptime")) as Record<string, string>;
    expect(Object.keys(r)).toEqual(["Now", "Up since", "Up time"]);
    expect(r["Now"]).toMatch(CTIME);
    expect(r["Up since"]).toMatch(CTIME);
    expect(r["Up time"]).toMatch(/^(64|65|66) \[sec\]$/);
  });

  it("uptime counts whole seconds as the difference of the two time_t values", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(new Date(2026, 0, 1, 0, 0, 10, 100));
      const n = createMiTestNode({ startedAt: new Date(2026, 0, 1, 0, 0, 0, 900).getTime() });
      expect(await n.mi.run("uptime")).toEqual({
        Now: "Thu Jan  1 00:00:10 2026", "Up since": "Thu Jan  1 00:00:00 2026", "Up time": "10 [sec]",
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it("version: Server text in OpenSIPS's shape; revision adds unknown/unknown", async () => {
    const server = serverString("0.1.0");
    expect(server).toMatch(/^tsips \(0\.1\.0 \([a-z0-9_]+\/[a-z0-9]+\)\) OpenSIPS 3\.6\.8 compatible$/);
    expect(await node.mi.run("version")).toEqual({ Server: server });
    expect(await node.mi.run("version", { revision: "" })).toEqual({ Server: server, unknown: "unknown" });
    expect(await node.mi.run("version", ["x"])).toEqual({ Server: server, unknown: "unknown" });
  });

  it("which: every command in registration order, or one command's recipes", async () => {
    node.registry.register("dialog", "dlg_list", { params: [[], ["callid"], ["callid", "from_tag"], ["index", "counter"]], run: () => "OK" }, undefined);
    const names = (await node.mi.run("which")) as string[];
    expect(names.slice(0, 5)).toEqual(["uptime", "version", "pwd", "arg", "which"]);
    expect(names).toContain("get_statistics");
    expect(names.at(-1)).toBe("dlg_list");
    expect(await node.mi.run("which", ["dlg_list"])).toEqual([[], ["callid"], ["callid", "from_tag"], ["index", "counter"]]);
    expect(await rpcError(node, "which", { command: "nope" })).toMatchObject({ code: 404, message: "unknown MI command" });
  });

  it("help: usage text, or help and exporting module", async () => {
    node.registry.register("dialog", "dlg_x", { run: () => "OK" }, undefined);
    expect(await node.mi.run("help")).toBe("Usage: help mi_cmd - returns information about 'mi_cmd'");
    const h = (await node.mi.run("help", ["get_statistics"])) as Record<string, string>;
    expect(Object.keys(h)).toEqual(["Help", "Exported by"]);
    expect(h["Exported by"]).toBe("statistics");
    expect(await node.mi.run("help", { mi_cmd: "dlg_x" })).toEqual({ Help: "not available for this command", "Exported by": "dialog" });
    expect((await node.mi.run("help", ["uptime"]) as Record<string, string>)["Exported by"]).toBe("core");
    expect(await rpcError(node, "help", ["nope"])).toMatchObject({ code: 404, message: "unknown MI command" });
  });

  it("ps lists the process; pwd and arg", async () => {
    expect(await node.mi.run("ps")).toEqual({ Processes: [{ ID: 0, PID: process.pid, Type: "attendant" }] });
    expect(await node.mi.run("pwd")).toEqual({ WD: process.cwd() });
    expect(await node.mi.run("arg")).toEqual(process.argv);
  });

  it("log_level: get, set global, set per pid, bad pid", async () => {
    expect(await node.mi.run("log_level")).toEqual({ Processes: [{ PID: process.pid, "Log level": 2, Type: "attendant" }] });
    expect(await node.mi.run("log_level", ["4"])).toEqual({ "New global log level": 4 });
    expect(node.core.logLevel).toBe(4);
    expect(await node.mi.run("log_level", { level: -1, pid: process.pid })).toEqual({ "Log level": -1 });
    expect(node.core.logLevel).toBe(-1);
    expect(await rpcError(node, "log_level", { level: 3, pid: 1 })).toMatchObject({ code: -32602, message: "Invalid params", data: "Bad PID" });
    expect(await rpcError(node, "log_level", ["high"])).toMatchObject({ code: -32602, data: "Bad type for parameter 'level'" });
    expect(node.core.logLevel).toBe(-1);
  });

  it("kill answers OK and then starts the shutdown", async () => {
    expect(await node.mi.run("kill")).toBe("OK");
    expect(node.core.shutdowns).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(node.core.shutdowns).toEqual(["MI command kill"]);
  });

  it("shm_check reports memory in bytes; mem dumps go to the log", async () => {
    const r = (await node.mi.run("shm_check")) as Record<string, number>;
    expect(r["heap_used"]).toBeGreaterThan(0);
    expect(r["rss"]).toBeGreaterThanOrEqual(r["heap_used"]!);
    const lines: string[] = [];
    const log = pino<"notice">({ level: "debug", customLevels: CUSTOM_LEVELS }, { write: (s: string) => void lines.push(s) });
    const n = createMiTestNode({ log });
    expect(await n.mi.run("mem_shm_dump", [4])).toBe("OK");
    expect(await n.mi.run("mem_pkg_dump", [process.pid])).toBe("OK");
    expect(await rpcError(n, "mem_pkg_dump", [1])).toMatchObject({ code: 404, message: "Process not found" });
    const dumps = lines.map((l) => JSON.parse(l) as { level: number; msg: string; memory: Record<string, number> });
    expect(dumps.map((d) => [d.msg, d.level])).toEqual([["shm memory dump", 20], ["pkg memory dump", 35]]);
    expect(dumps[0]!.memory["heap_used"]).toBeGreaterThan(0);
  });
});

describe("statistics commands (spec/mi.md §8)", () => {
  let node: MiTestNode;
  let contacts = 0;
  beforeEach(() => {
    node = createMiTestNode();
    const s = node.stats;
    s.register("core", "rcv_requests").inc(7);
    s.register("core", "fwd_requests").inc(3);
    s.register("usrloc", "location-contacts", { kind: "gauge" }).compute = () => contacts;
    s.register("dialog", "active_dialogs", { kind: "gauge" }).set(2);
    s.register("dialog", "processed_dialogs").inc(9);
    contacts = 5;
  });
  afterEach(() => {
    contacts = 0;
  });

  it("get_statistics all: every group and statistic, group:name keys, in group order", async () => {
    const r = (await node.mi.run("get_statistics", [["all"]])) as Record<string, number>;
    const keys = Object.keys(r).filter((k) => !k.startsWith("shmem:") && !k.startsWith("bin:") && !k.startsWith("evi:"));
    expect(keys).toEqual(["core:rcv_requests", "core:fwd_requests", "usrloc:location-contacts", "dialog:active_dialogs", "dialog:processed_dialogs"]);
    expect(r["core:rcv_requests"]).toBe(7);
    expect(r["usrloc:location-contacts"]).toBe(5);
    expect(r["shmem:used_size"]).toBeGreaterThan(0);
    expect(Object.keys((await node.mi.run("get_statistics", { statistics: ["all"] })) as object)).toEqual(Object.keys(r));
  });

  it("get_statistics group: (case-insensitive) and bare names (case-insensitive); group:name is not resolved", async () => {
    expect(await node.mi.run("get_statistics", [["DIALOG:", "RCV_requests"]]))
      .toEqual({ "dialog:active_dialogs": 2, "dialog:processed_dialogs": 9, "core:rcv_requests": 7 });
    expect(await node.mi.run("get_statistics", [["nope", "location-contacts"]])).toEqual({ "usrloc:location-contacts": 5 });
    expect(await rpcError(node, "get_statistics", [["core:rcv_requests"]])).toMatchObject({ code: 404, message: "Statistics Not Found" });
    expect(await rpcError(node, "get_statistics", [["nope:", "nope"]])).toMatchObject({ code: 404, message: "Statistics Not Found" });
  });

  it("get_statistics wants a non-empty array", async () => {
    expect(await rpcError(node, "get_statistics", ["all"])).toMatchObject({ code: -32602, data: "Bad type for parameter 'statistics'" });
    expect(await rpcError(node, "get_statistics", { statistics: [] })).toMatchObject({ code: -32602, data: "Empty array in parameter 'statistics'" });
    expect(await rpcError(node, "get_statistics")).toMatchObject({ code: -32602, data: "Too few or too many parameters" });
  });

  it("get_statistics asks the host to collect first (stats.collect hook)", async () => {
    node.hooks.stats.collect.tap("t", () => node.stats.find("active_dialogs")!.set(40));
    expect(await node.mi.run("get_statistics", [["active_dialogs"]])).toEqual({ "dialog:active_dialogs": 40 });
    expect(node.core.collected).toEqual([["active_dialogs"]]);
  });

  it("list_statistics: types for all, or group: (group:name keys) and names (bare keys)", async () => {
    const all = (await node.mi.run("list_statistics")) as Record<string, string>;
    expect(all["core:rcv_requests"]).toBe("incremental");
    expect(all["usrloc:location-contacts"]).toBe("non-incremental");
    expect(all["dialog:active_dialogs"]).toBe("non-incremental");
    expect(await node.mi.run("list_statistics", [["core:", "processed_dialogs"]]))
      .toEqual({ "core:rcv_requests": "incremental", "core:fwd_requests": "incremental", processed_dialogs: "incremental" });
    expect(await rpcError(node, "list_statistics", [["all"]])).toMatchObject({ code: 404, message: "Statistics Not Found" });
  });

  it("reset_statistics resets counters by bare name; gauges keep their value", async () => {
    expect(await node.mi.run("reset_statistics", [["rcv_requests", "active_dialogs"]])).toBe("OK");
    expect(node.stats.find("rcv_requests")!.get()).toBe(0);
    expect(node.stats.find("fwd_requests")!.get()).toBe(3);
    expect(node.stats.find("active_dialogs")!.get()).toBe(2);
    expect(await rpcError(node, "reset_statistics", [["core:"]])).toMatchObject({ code: 404, message: "Statistics Not Found" });
  });

  it("reset_all_statistics resets every counter", async () => {
    expect(await node.mi.run("reset_all_statistics")).toBe("OK");
    expect(await node.mi.run("get_statistics", [["core:", "dialog:"]]))
      .toEqual({ "core:rcv_requests": 0, "core:fwd_requests": 0, "dialog:active_dialogs": 2, "dialog:processed_dialogs": 0 });
  });
});
