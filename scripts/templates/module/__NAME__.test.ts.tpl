/**
 * Tests of __NAME__: in one process (createTestHost: the real loader lifecycle, no
 * config file), then on two real nodes (LocalCluster: child processes on loopback).
 * Run: __RUN_TESTS__
 */
import { dirname, join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { BinPacket } from "tsips";
import { createTestHost, killAllNodes, LocalCluster, MiCallError, waitFor } from "tsips/testing";
import type { __PASCAL__Api } from "./api.ts";
import mod from "./index.ts";
import { EntrySet, SyncEntry, SYNC_PACKET_TYPE } from "./messages.ts";

afterAll(killAllNodes);

describe("__NAME__ in one process", () => {
  it("sets, gets, lists and deletes through MI and the API", async () => {
    const host = await createTestHost({ modules: [{ def: mod, params: { max_entries: 2 } }] });
    try {
      expect(await host.mi.run("__NAME___set", { key: "a", value: "1" })).toBe("OK");
      expect(await host.mi.run("__NAME___get", { key: "a" })).toEqual({ key: "a", value: "1", sharing_tag: "", expires_in: null });
      const api = host.api<__PASCAL__Api>("__NAME__");
      expect(api.set("b", "2")).toBe(true);
      expect(api.set("c", "3")).toBe("full");
      expect(await host.mi.run("__NAME___list")).toEqual({
        count: 2,
        Entries: [{ key: "a", value: "1", sharing_tag: "", expires_in: null }, { key: "b", value: "2", sharing_tag: "", expires_in: null }],
      });
      expect(await host.mi.run("__NAME___delete", { key: "a" })).toBe("OK");
      await expect(host.mi.run("__NAME___get", { key: "a" })).rejects.toMatchObject({ code: 404, message: "Entry not found" });
      expect(host.stats.find("__NAME__:local_changes")?.get()).toBe(3);
      expect(host.stats.find("__NAME__:keys")?.get()).toBe(1);
    } finally {
      await host.stop();
    }
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("expires an entry after its ttl", async () => {
    const host = await createTestHost({ modules: [{ def: mod }] });
    try {
      expect(await host.mi.run("__NAME___set", { key: "session", value: "x", ttl: 30 })).toBe("OK");
      const fresh = (await host.mi.run("__NAME___get", { key: "session" })) as { expires_in: number };
      expect(fresh.expires_in).toBeGreaterThanOrEqual(29);
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 31_000);
      await expect(host.mi.run("__NAME___get", { key: "session" })).rejects.toMatchObject({ code: 404 });
      expect(await host.mi.run("__NAME___list")).toEqual({ count: 0, Entries: [] });
    } finally {
      await host.stop();
    }
  });

  it("declares its messages once: what is encoded decodes to the same values", () => {
    const entry = { key: "k", value: "v", tag: "vip", expires: 1_900_000_000 };
    const back = EntrySet.decode(BinPacket.parse(EntrySet.encode(entry).bytes()));
    expect(back).toEqual(entry);
    expect(SyncEntry.type).toBe(SYNC_PACKET_TYPE);
  });
});

describe("__NAME__ on two nodes", () => {
  it("replicates changes, honours sharing tags, and syncs a restarted node", async () => {
    // loadmodule by absolute path: "<folder>/__NAME__.so" → "<folder>/__NAME__/index.ts".
    const so = join(dirname(import.meta.dirname), "__NAME__.so");
    const cluster = await LocalCluster.start({
      size: 2,
      // seed_fallback_interval 1: the seed (node 1) declares itself synced after 1 s instead of 5.
      clusterer: { ping_interval: 1, ping_timeout: 200, seed_fallback_interval: 1 },
      sharingTags: (id) => [`owner=${id === 1 ? "active" : "backup"}`],
      extra: `loadmodule "${so}"\nmodparam("__NAME__", "cluster_id", 1)`,
    });
    try {
      const get = async (node: number, key: string): Promise<string | undefined> => {
        try {
          return ((await cluster.mi(node, "__NAME___get", { key })) as { value: string }).value;
        } catch (err) {
          if (err instanceof MiCallError && err.code === 404) return undefined;
          throw err;
        }
      };
      // A change on node 1 shows up on node 2, its ttl too.
      await cluster.mi(1, "__NAME___set", { key: "color", value: "blue", ttl: 600 });
      await waitFor("node 2 to get color", async () => (await get(2, "color")) === "blue", 5_000);
      const onNode2 = (await cluster.mi(2, "__NAME___get", { key: "color" })) as { expires_in: number };
      expect(onNode2.expires_in).toBeGreaterThan(590);

      // An entry owned by tag "owner" can be changed only where the tag is active.
      await cluster.mi(1, "__NAME___set", { key: "lead", value: "node1", sharing_tag: "owner" });
      await waitFor("node 2 to get lead", async () => (await get(2, "lead")) === "node1", 5_000);
      await expect(cluster.mi(2, "__NAME___set", { key: "lead", value: "node2" })).rejects.toMatchObject({ code: 403 });

      // Node 2 restarts empty and gets everything back through a sync from node 1.
      await cluster.kill(2);
      await cluster.mi(1, "__NAME___set", { key: "while-down", value: "yes" });
      await cluster.restart(2);
      await waitFor("node 2 to be synced", async () => (await get(2, "while-down")) === "yes" && (await get(2, "color")) === "blue", 10_000);
      expect(await cluster.mi(2, "__NAME___list")).toMatchObject({ count: 3 });
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});
