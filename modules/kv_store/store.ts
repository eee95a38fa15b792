/** kv_store's collection: kv-store-repl v1, declared once; every replication path comes from the core helper. */
import { binStr, defineReplication, ReplicatedMap, type ClusterBinding, type ReplicationCounters, type TsipsLogger } from "tsips";

/** KV_SET (type 1): key, value · KV_DELETE (type 2): key · a sync chunk (type 101) carries KV_SET's fields. */
export const kvRepl = defineReplication({ name: "KV", capability: "kv-store-repl", version: 1, key: binStr("key"), value: binStr("value") });

export class KvStore extends ReplicatedMap<string> {
  constructor(cluster: ClusterBinding | undefined, log: TsipsLogger, counters: ReplicationCounters, ttlSeconds = 0) {
    super(kvRepl, cluster, log, counters, { ttlSeconds });
  }

  /** Creates `count` keys `<prefix><i>` locally (benchmarks); not replicated. */
  load(count: number, prefix: string, valueSize: number): number {
    const pad = "v".repeat(Math.max(0, valueSize));
    for (let i = 0; i < count; i++) this.set(`${prefix}${i}`, `${pad}${i}`, false);
    return count;
  }
}
