/**
 * kv_store: a replicated key/value map with TTLs. It tests the clusterer end to end
 * (replication, startup sync, benchmarks) and shows the replication helper: the record is
 * declared in store.ts, and broadcast, apply, sync, version checks, stats and MI come from it.
 */
import { defineModule, int, MiError, replicationMi, startReplication } from "tsips";
import { KvStore, kvRepl } from "./store.ts";

export default defineModule({
  name: "kv_store",
  version: "1.0.0",
  doc: "a replicated key/value map with TTLs (clusterer test and example module)",
  params: {
    ...kvRepl.params,
    ttl: int({ default: 0, min: 0, doc: "seconds a key lives after it was set or received (0 = forever); each node expires its own copy" }),
  },
  deps: kvRepl.deps,
  stats: kvRepl.stats,
  messages: kvRepl.messages,
  init: (ctx) => startReplication(ctx, (cluster, counters) => new KvStore(cluster, ctx.log, counters, ctx.params.ttl)),
  destroy: (_ctx, kv) => kv?.stop(),
  mi: {
    ...replicationMi(kvRepl, "kv"),
    kv_load: {
      help: "create N keys <prefix><i> locally, not replicated (benchmarks)",
      params: [["count"], ["count", "prefix"], ["count", "prefix", "value_size"]],
      run(p, kv) {
        const count = p.int("count");
        if (count < 0 || count > 10_000_000) throw new MiError(400, "Bad value for 'count'");
        return { loaded: kv.load(count, p.optStr("prefix") ?? "key", p.optInt("value_size") ?? 16), count: kv.size };
      },
    },
  },
});
