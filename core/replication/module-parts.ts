/**
 * The pieces of a replicated module that come from its declaration: starting the collection
 * inside `init` (cluster binding, counters, the `keys` gauge, startup sync) and the MI
 * commands `<prefix>_get/_set/_delete/_dump/_count`.
 */
import { MiError, type JsonValue, type MiCommandDecl, type MiParams } from "../mi/types.ts";
import type { TsipsLogger } from "../log.ts";
import type { ModuleStats } from "../stats.ts";
import type { ReplicatedMap, ReplicationCounters } from "./collection.ts";
import type { Replication, ReplicationStat } from "./declare.ts";
import type { ClusterBinding, ClusterLink } from "./link.ts";

/** What `startReplication` reads from a module's init context. */
export interface ReplicationInitCtx {
  readonly params: { readonly cluster_id: number; readonly startup_sync: number };
  readonly deps: { readonly clusterer?: ClusterLink | undefined };
  readonly stats: ModuleStats<ReplicationStat>;
  readonly log: TsipsLogger;
}

/** The collection's counters, kept in the module's statistics. */
export function replicationCounters(stats: ModuleStats<ReplicationStat>): ReplicationCounters {
  return {
    replSent: () => stats.inc("repl_sent"),
    replReceived: (n = 1) => stats.inc("repl_received", n),
    replDropped: () => stats.inc("repl_dropped"),
    expired: (n = 1) => stats.inc("expired", n),
  };
}

/**
 * Builds the collection with `make` (given the cluster binding — undefined when `cluster_id`
 * is 0 — and the counters), publishes its size as the `keys` gauge and starts it.
 */
export function startReplication<M extends ReplicatedMap<unknown>>(
  ctx: ReplicationInitCtx,
  make: (cluster: ClusterBinding | undefined, counters: ReplicationCounters) => M,
): M {
  const api = ctx.deps.clusterer;
  const cluster = ctx.params.cluster_id > 0 && api ? { api, clusterId: ctx.params.cluster_id } : undefined;
  const coll = make(cluster, replicationCounters(ctx.stats));
  ctx.stats.gauge("keys", () => coll.size);
  coll.start(ctx.params.startup_sync !== 0);
  return coll;
}

function fieldValue(p: MiParams, name: string, kind: string): unknown {
  if (kind === "int") return p.int(name);
  if (kind === "str") return p.str(name);
  throw new MiError(400, `field '${name}' (${kind}) cannot be set over MI`);
}

/** MI commands for a collection: `<prefix>_get key`, `_set key <value fields…>`, `_delete key`, `_dump`, `_count`. */
export function replicationMi<V>(repl: Replication<V>, prefix: string): Record<string, MiCommandDecl<ReplicatedMap<V>>> {
  const keyName = repl.key.name;
  const valueKinds = repl.set.fields.slice(1).map((f) => [f.name, f.kind] as const);
  const entry = (coll: ReplicatedMap<V>, key: string, value: V): Record<string, JsonValue> => {
    const out = repl.toRecord(key, value) as Record<string, JsonValue>;
    const ttl = coll.ttlLeft(key);
    return { ...out, ...(ttl !== undefined ? { ttl } : {}) };
  };
  const notFound = (): MiError => new MiError(404, "Key not found");
  return {
    [`${prefix}_get`]: {
      help: "read an entry",
      params: [[keyName]],
      run(p, coll) {
        const key = p.str(keyName);
        const value = coll.get(key);
        if (value === undefined) throw notFound();
        return entry(coll, key, value);
      },
    },
    [`${prefix}_set`]: {
      help: "set an entry (replicated)",
      params: [[keyName, ...valueKinds.map(([n]) => n)]],
      run(p, coll) {
        const rec: Record<string, unknown> = { [keyName]: p.str(keyName) };
        for (const [n, k] of valueKinds) rec[n] = fieldValue(p, n, k);
        const [key, value] = repl.fromRecord(rec);
        coll.set(key, value);
        return "OK";
      },
    },
    [`${prefix}_delete`]: {
      help: "delete an entry (replicated)",
      params: [[keyName]],
      run(p, coll) {
        if (!coll.delete(p.str(keyName))) throw notFound();
        return "OK";
      },
    },
    [`${prefix}_dump`]: {
      help: "every entry, with its TTL left and whether this node owns it",
      params: [[]],
      run(_p, coll) {
        const out: JsonValue[] = [];
        for (const [key, value] of coll) out.push({ ...entry(coll, key, value), owned: coll.owns(key) ? "yes" : "no" });
        return { Entries: out };
      },
    },
    [`${prefix}_count`]: {
      help: "number of entries, and entries received by syncs",
      params: [[]],
      run(_p, coll) {
        return { count: coll.size, synced_keys: coll.syncedKeys, syncs_done: coll.syncsDone };
      },
    },
  };
}
