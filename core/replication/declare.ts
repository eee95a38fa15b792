/**
 * `defineReplication`: a declared record (a key field plus one value field or several) turns
 * into the three wire messages a replicated collection needs, and into the data a module
 * spreads into `defineModule` (params, deps, stats, messages, MI). Behaviour lives in
 * `ReplicatedMap` (collection.ts).
 *
 * ```ts
 * export const kvRepl = defineReplication({
 *   name: "KV", capability: "kv-store-repl", version: 1, key: binStr("key"), value: binStr("value"),
 * });
 * // KV_SET (type 1): key, value · KV_DELETE (type 2): key · KV_SYNC (type 101 chunk): key, value
 * ```
 */
import { defineMessage, type BinMessage, type FieldDef, type MessageValues } from "../bin/schema.ts";
import { int, need, type DepSpec, type ParamSpec } from "../module.ts";
import type { StatDecl } from "../stats.ts";
import type { ClusterLink } from "./link.ts";
import { SYNC_PACKET_TYPE } from "./link.ts";

/** One value field (the stored value is that field's type) or several (the stored value is a record). */
export type ValueFields = FieldDef | readonly FieldDef[];
/** The stored value a value declaration describes. */
export type ValueOf<VF extends ValueFields> = VF extends readonly FieldDef[] ? MessageValues<VF> : VF extends FieldDef<string, infer T> ? T : never;

export interface ReplicationDecl<VF extends ValueFields> {
  /** Prefix of the wire names (`KV` → KV_SET, KV_DELETE, KV_SYNC) and of log lines. */
  name: string;
  /** Clusterer capability, e.g. `kv-store-repl`. */
  capability: string;
  /** Version this node sends. */
  version: number;
  /** Versions accepted on receive: a list or an inclusive range (default: only `version`). */
  accepts?: readonly number[] | { min: number; max: number };
  /** The key field (a str). */
  key: FieldDef<string, string>;
  value: VF;
  /** Wire types of the set and delete messages (default 1 and 2). */
  types?: { set: number; delete: number };
}

/** Statistic names every replicated collection keeps. */
export type ReplicationStat = "keys" | "repl_sent" | "repl_received" | "repl_dropped" | "expired";

export interface Replication<V> {
  readonly name: string;
  readonly capability: string;
  readonly version: number;
  readonly accepts: readonly number[];
  readonly key: FieldDef<string, string>;
  /** Value field names in wire order (after the key). */
  readonly valueNames: readonly string[];
  readonly set: BinMessage<readonly FieldDef[]>;
  readonly delete: BinMessage<readonly FieldDef[]>;
  /** The record of one sync chunk (type 101): the set message's fields. */
  readonly sync: BinMessage<readonly FieldDef[]>;
  /** For `defineModule({ messages })`. */
  readonly messages: readonly BinMessage<readonly FieldDef[]>[];
  /** For `defineModule({ params })`: `cluster_id`, `startup_sync`. */
  readonly params: { cluster_id: ParamSpec<number>; startup_sync: ParamSpec<number> };
  /** For `defineModule({ deps })`: the clusterer, needed only when `cluster_id` > 0. */
  readonly deps: { clusterer: DepSpec<ClusterLink, true> };
  /** For `defineModule({ stats })`. */
  readonly stats: Record<ReplicationStat, StatDecl>;
  /** The wire record of one entry. */
  toRecord(key: string, value: V): Record<string, unknown>;
  /** Key and value of a decoded wire record. */
  fromRecord(rec: Record<string, unknown>): [string, V];
}

function acceptList(decl: ReplicationDecl<ValueFields>): number[] {
  const a = decl.accepts;
  if (!a) return [decl.version];
  if (Array.isArray(a)) return [...(a as readonly number[])];
  const { min, max } = a as { min: number; max: number };
  if (!(min <= max)) throw new Error(`${decl.capability}: accepts range ${min}..${max} is empty`);
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

export function defineReplication<const VF extends ValueFields>(decl: ReplicationDecl<VF>): Replication<ValueOf<VF>> {
  const accepts = acceptList(decl);
  const single = !Array.isArray(decl.value);
  const valueFields: readonly FieldDef[] = single ? [decl.value as FieldDef] : (decl.value as readonly FieldDef[]);
  const valueNames = valueFields.map((f) => f.name);
  if (valueNames.includes(decl.key.name)) throw new Error(`${decl.capability}: value field "${decl.key.name}" has the key's name`);
  const { capability, version } = decl;
  const types = decl.types ?? { set: 1, delete: 2 };
  const fields = [decl.key, ...valueFields] as const;
  const set = defineMessage({ name: `${decl.name}_SET`, capability, type: types.set, version, accepts, fields });
  const del = defineMessage({ name: `${decl.name}_DELETE`, capability, type: types.delete, version, accepts, fields: [decl.key] });
  const sync = defineMessage({ name: `${decl.name}_SYNC`, capability, type: SYNC_PACKET_TYPE, version, accepts, fields });
  const keyName = decl.key.name;
  return {
    name: decl.name, capability, version, accepts, key: decl.key, valueNames, set, delete: del, sync,
    messages: [set, del, sync],
    params: {
      cluster_id: int({ default: 0, min: 0, doc: "cluster to replicate in (0 = local only)" }),
      startup_sync: int({ default: 1, min: 0, max: 1, doc: "ask a donor for every entry at startup (1) or start empty and synced (0)" }),
    },
    deps: { clusterer: need<ClusterLink>("clusterer", { when: (p) => (p["cluster_id"] as number) > 0 }) },
    stats: {
      keys: { kind: "gauge", doc: "entries in the collection" },
      repl_sent: { kind: "counter", doc: "replication packets sent" },
      repl_received: { kind: "counter", doc: "replication packets and sync chunks applied" },
      repl_dropped: { kind: "counter", doc: "replication packets dropped (bad version, malformed, refused by the conflict hook)" },
      expired: { kind: "counter", doc: "entries removed because their TTL ran out" },
    },
    toRecord: single
      ? (key, value) => ({ [keyName]: key, [valueNames[0]!]: value })
      : (key, value) => ({ ...(value as Record<string, unknown>), [keyName]: key }),
    fromRecord: single
      ? (rec) => [rec[keyName] as string, rec[valueNames[0]!] as ValueOf<VF>]
      : (rec) => {
        const { [keyName]: key, ...value } = rec;
        return [key as string, value as ValueOf<VF>];
      },
  };
}
