/**
 * The core replication helper (defineReplication + ReplicatedMap) and kv_store built on it:
 * the module stays within 60 lines of code, its wire bytes are today's, and every path the
 * helper promises (TTL, conflict hook, version range, sharing-tag ownership, MI) works.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { binInt, binStr, defineReplication, ReplicatedMap, type ClusterLink } from "../../core/index.ts";
import { silentLogger } from "../../core/log.ts";
import { createTestHost } from "../../core/testing/host.ts";
import type { ClustererApi } from "../../modules/clusterer/api.ts";
import kvStore from "../../modules/kv_store/index.ts";
import { KvStore, kvRepl } from "../../modules/kv_store/store.ts";
import { importsOf } from "../helpers/imports.ts";
import { FakeNet, mesh, tags } from "./clusterer-helpers.ts";

const KV_DIR = resolve(import.meta.dirname, "../../modules/kv_store");
const hex = (p: { bytes(): Uint8Array }): string => Buffer.from(p.bytes()).toString("hex");
const counters = () => ({ sent: 0, received: 0, dropped: 0, expiredN: 0,
  replSent() { this.sent++; }, replReceived(n = 1) { this.received += n; }, replDropped() { this.dropped++; }, expired(n = 1) { this.expiredN += n; } });

/** Lines of code: not blank, not a comment line. */
export function linesOfCode(src: string): number {
  let inBlock = false;
  let n = 0;
  for (const raw of src.split("\n")) {
    const l = raw.trim();
    if (inBlock) {
      if (l.includes("*/")) inBlock = false;
      continue;
    }
    if (l === "" || l.startsWith("//")) continue;
    if (l.startsWith("/*")) {
      if (!l.includes("*/")) inBlock = true;
      continue;
    }
    n++;
  }
  return n;
}

describe("kv_store on the replication helper", () => {
  const files = readdirSync(KV_DIR).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

  it("is at most 60 lines of code (every .ts but tests; comments and blank lines aside) and imports only tsips", () => {
    const loc = files.reduce((n, f) => n + linesOfCode(readFileSync(join(KV_DIR, f), "utf8")), 0);
    expect(loc).toBeLessThanOrEqual(60);
    expect(linesOfCode("/** doc\n * more */\nconst a = 1; // x\n\n// only\n/* one */\nb();\n")).toBe(2);
    const specs = files.flatMap((f) => importsOf(readFileSync(join(KV_DIR, f), "utf8")).map((i) => i.spec));
    expect(specs.filter((s) => s !== "tsips" && !s.startsWith("./"))).toEqual([]);
  });

  it("sends today's bytes: KV_SET and KV_DELETE of kv-store-repl v1", () => {
    expect(hex(kvRepl.set.encode({ key: "alice", value: "1" }))).toBe("5034434b2700000001000d006b762d73746f72652d7265706c010000000500616c696365010031");
    expect(hex(kvRepl.delete.encode({ key: "bob" }))).toBe("5034434b2200000001000d006b762d73746f72652d7265706c020000000300626f62");
    expect(kvRepl.messages.map((m) => [m.name, m.type])).toEqual([["KV_SET", 1], ["KV_DELETE", 2], ["KV_SYNC", 101]]);
  });

  it("the clusterer's API is a ClusterLink (the core names no module)", () => {
    expectTypeOf<ClustererApi>().toExtend<ClusterLink>();
  });

  it("expires keys after the TTL on each node, without a packet", () => {
    const c = counters();
    const kv = new KvStore(undefined, silentLogger(), c, 10);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const t0 = Date.now();
      kv.start(false);
      kv.set("a", "1");
      kv.set("b", "2");
      expect(kv.ttlLeft("a", t0)).toBe(10);
      vi.setSystemTime(t0 + 5000);
      expect(kv.sweep()).toBe(0);
      kv.set("a", "again"); // a refresh restarts the TTL and moves the key to the end
      vi.setSystemTime(t0 + 10_001);
      expect(kv.sweep()).toBe(1);
      expect([...kv.map]).toEqual([["a", "again"]]);
      expect(c.expiredN).toBe(1);
      expect(c.sent).toBe(0);
    } finally {
      kv.stop();
      vi.useRealTimers();
    }
  });

  it("MI get/set/delete/dump/count through a module host", async () => {
    const host = await createTestHost({ modules: [{ def: kvStore, params: { ttl: 60 } }] });
    try {
      expect(await host.mi.run("kv_set", ["alice", "1"])).toBe("OK");
      expect(await host.mi.run("kv_get", ["alice"])).toEqual({ key: "alice", value: "1", ttl: 60 });
      expect(await host.mi.run("kv_dump")).toEqual({ Entries: [{ key: "alice", value: "1", ttl: 60, owned: "yes" }] });
      expect(await host.mi.run("kv_count")).toEqual({ count: 1, synced_keys: 0, syncs_done: 0 });
      expect(await host.mi.run("kv_delete", ["alice"])).toBe("OK");
      await expect(host.mi.run("kv_get", ["alice"])).rejects.toMatchObject({ code: 404, message: "Key not found" });
      expect(host.stats.find("kv_store:keys")!.get()).toBe(0);
    } finally {
      await host.stop();
    }
  });
});

describe("ReplicatedMap", () => {
  /** A two-field record, accepting versions 2..3, owned by a sharing tag named in the record. */
  const counterRepl = defineReplication({
    name: "CNT", capability: "cnt-repl", version: 3, accepts: { min: 2, max: 3 },
    key: binStr("name"), value: [binInt("total"), binStr("tag")],
  });

  it("replicates records, resolves conflicts with the hook, syncs, drops versions outside the range", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { seed: [1], extra: () => ({ sharingTags: tags("vip/1=backup") }) });
    const ca = counters();
    const cb = counters();
    const conflicts: string[] = [];
    const ma = new ReplicatedMap(counterRepl, { api: a!.api, clusterId: 1 }, silentLogger(), ca, { shtag: (_k, v) => v.tag || undefined });
    const mb = new ReplicatedMap(counterRepl, { api: b!.api, clusterId: 1 }, silentLogger(), cb, {
      // keep the larger total
      onConflict: (c) => {
        conflicts.push(`${c.key}:${c.local.total}<-${c.incoming.total}`);
        return c.incoming.total > c.local.total ? c.incoming : undefined;
      },
    });
    ma.start(false);
    mb.start(true);
    net.advance(1000);
    ma.set("calls", { total: 5, tag: "vip" });
    net.flush();
    expect(mb.get("calls")).toEqual({ total: 5, tag: "vip" });
    mb.set("calls", { total: 9, tag: "vip" }, false);
    ma.set("calls", { total: 7, tag: "vip" });
    net.flush();
    expect(mb.get("calls")?.total).toBe(9);
    expect(conflicts).toEqual(["calls:9<-7"]);
    expect(cb.dropped).toBe(1);
    // version 1 is outside 2..3: dropped and counted; version 2 applies
    const before = cb.dropped;
    a!.api.sendAll(counterRepl.set.encode({ name: "old", total: 1, tag: "" }, 1), 1);
    a!.api.sendAll(counterRepl.set.encode({ name: "v2", total: 2, tag: "" }, 2), 1);
    net.flush();
    expect(cb.dropped).toBe(before + 1);
    expect(mb.get("old")).toBeUndefined();
    expect(mb.get("v2")).toEqual({ total: 2, tag: "" });
    // ownership follows the sharing tag
    expect(ma.owns("calls")).toBe(false);
    a!.api.shtagActivate("vip", 1);
    expect(ma.owns("calls")).toBe(true);
    // a restarted node gets every entry from a donor
    for (let i = 0; i < 100; i++) ma.set(`k${i}`, { total: i, tag: "" }, false);
    b!.crash();
    net.flush();
    const b2 = net.add(2, { myNodeInfo: ["cluster_id=1, url=bin:127.0.0.1:5602"], neighborNodeInfo: ["cluster_id=1, node_id=1, url=bin:127.0.0.1:5601, flags=seed"] });
    const mb2 = new ReplicatedMap(counterRepl, { api: b2.api, clusterId: 1 }, silentLogger(), counters());
    mb2.start(true);
    net.advance(1000);
    expect(mb2.size).toBe(ma.size);
    expect(mb2.get("k99")).toEqual({ total: 99, tag: "" });
    expect(mb2.syncsDone).toBe(1);
  });

  it("refuses an empty version range and a value field named like the key", () => {
    expect(() => defineReplication({ name: "X", capability: "x", version: 1, accepts: { min: 3, max: 2 }, key: binStr("k"), value: binStr("v") })).toThrow(/empty/);
    expect(() => defineReplication({ name: "X", capability: "x", version: 1, key: binStr("k"), value: binStr("k") })).toThrow(/key's name/);
  });
});
