/**
 * kv_store: a small replicated key/value map. It exists to test the clusterer end to end
 * (replication, startup sync, benchmarks) and as a short example of a module that
 * registers a clusterer capability. See README.md.
 */
import { defineModule, int, MiError, need } from "tsips";
import type { ClustererApi } from "../clusterer/api.ts";
import { kvStoreMessages } from "./messages.ts";
import { KvStore } from "./store.ts";

const kvDeps = {
  clusterer: need<ClustererApi>("clusterer", { when: (p) => (p["cluster_id"] as number) > 0 }),
};

const kvParams = {
  cluster_id: int({ default: 0, min: 0, doc: "cluster to replicate the map in (0 = local only)" }),
  startup_sync: int({ default: 1, min: 0, max: 1, doc: "ask a donor for the whole map at startup (1) or start empty and synced (0)" }),
} as const;

type KvStat = "keys" | "repl_sent" | "repl_received" | "repl_dropped";

export default defineModule({
  name: "kv_store",
  version: "1.0.0",
  doc: "a replicated key/value map (clusterer test and example module)",
  params: kvParams,
  deps: kvDeps,
  messages: kvStoreMessages,
  stats: {
    keys: { kind: "gauge", doc: "keys in the map" },
    repl_sent: { kind: "counter", doc: "replication packets sent" },
    repl_received: { kind: "counter", doc: "replication packets and sync chunks applied" },
    repl_dropped: { kind: "counter", doc: "replication packets dropped" },
  },
  init(ctx) {
    const p = ctx.params;
    const cl = p.cluster_id > 0 && ctx.deps.clusterer ? { api: ctx.deps.clusterer, clusterId: p.cluster_id } : undefined;
    const kv = new KvStore(cl, ctx.log, {
      replSent: () => ctx.stats.inc("repl_sent"),
      replReceived: (n = 1) => ctx.stats.inc("repl_received", n),
      replDropped: () => ctx.stats.inc("repl_dropped"),
    });
    ctx.stats.gauge("keys", () => kv.map.size);
    kv.start(p.startup_sync !== 0);
    return kv;
  },
  mi: {
    kv_set: {
      help: "set a key (replicated)",
      params: [["key", "value"]],
      run(p, kv) {
        kv.set(p.str("key"), p.str("value"));
        return "OK";
      },
    },
    kv_get: {
      help: "read a key",
      params: [["key"]],
      run(p, kv) {
        const key = p.str("key");
        const value = kv.map.get(key);
        if (value === undefined) throw new MiError(404, "Key not found");
        return { key, value };
      },
    },
    kv_delete: {
      help: "delete a key (replicated)",
      params: [["key"]],
      run(p, kv) {
        if (!kv.delete(p.str("key"))) throw new MiError(404, "Key not found");
        return "OK";
      },
    },
    kv_count: {
      help: "number of keys, and keys received by syncs",
      params: [[]],
      run(_p, kv) {
        return { count: kv.map.size, synced_keys: kv.syncedKeys, syncs_done: kv.syncsDone };
      },
    },
    kv_load: {
      help: "create N keys <prefix><i> locally, not replicated (benchmarks)",
      params: [["count"], ["count", "prefix"], ["count", "prefix", "value_size"]],
      run(p, kv) {
        const count = p.int("count");
        if (count < 0 || count > 10_000_000) throw new MiError(400, "Bad value for 'count'");
        const loaded = kv.load(count, p.optStr("prefix") ?? "key", p.optInt("value_size") ?? 16);
        return { loaded, count: kv.map.size };
      },
    },
  },
});
