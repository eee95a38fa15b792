/**
 * The replicated key/value map: local changes are broadcast to the cluster, remote ones
 * applied, and a node that starts asks a donor for the whole map (startup sync).
 */
import { createVersionGuard, type BinPacket, type TsipsLogger } from "tsips";
import type { ClusterEvent, ClustererApi } from "../clusterer/api.ts";
import { KV_CAPABILITY, KV_VERSION, KvDelete, KvSet } from "./messages.ts";

/** Sync packet type the clusterer hands to capabilities (CLUSTERER_SYNC → 101). */
const SYNC_PACKET_TYPE = 101;

export interface KvCounters {
  replSent(): void;
  replReceived(n?: number): void;
  replDropped(): void;
}

export class KvStore {
  readonly map = new Map<string, string>();
  /** Keys received through syncs since start. */
  syncedKeys = 0;
  syncsDone = 0;

  /** Drops packets of another version: counted, logged once per version. */
  private readonly versionGuard;

  constructor(
    private readonly cluster: { api: ClustererApi; clusterId: number } | undefined,
    private readonly log: TsipsLogger,
    private readonly counters: KvCounters,
  ) {
    this.versionGuard = createVersionGuard(log, { inc: () => counters.replDropped() });
  }

  /** Registers the capability and asks for the current map (when clustered). */
  start(startupSync: boolean): void {
    const cl = this.cluster;
    if (!cl) return;
    cl.api.registerCapability({
      capability: KV_CAPABILITY,
      clusterId: cl.clusterId,
      startupSync,
      syncCond: "any",
      onPacket: (pkt, type, src) => this.onPacket(pkt, type, src),
      onEvent: (ev) => this.onEvent(ev),
      digestKeys: () => [...this.map].map(([k, v]) => `${k}\u0000${v}`),
    });
    if (startupSync) cl.api.requestSync(KV_CAPABILITY, cl.clusterId);
  }

  set(key: string, value: string, replicate = true): void {
    this.map.set(key, value);
    if (replicate && this.cluster) {
      this.cluster.api.sendAll(KvSet.encode({ key, value }), this.cluster.clusterId);
      this.counters.replSent();
    }
  }

  delete(key: string, replicate = true): boolean {
    const had = this.map.delete(key);
    if (had && replicate && this.cluster) {
      this.cluster.api.sendAll(KvDelete.encode({ key }), this.cluster.clusterId);
      this.counters.replSent();
    }
    return had;
  }

  /** Creates `count` keys `<prefix><i>` locally (benchmarks); not replicated. */
  load(count: number, prefix: string, valueSize: number): number {
    const pad = "v".repeat(Math.max(0, valueSize));
    for (let i = 0; i < count; i++) this.map.set(`${prefix}${i}`, `${pad}${i}`);
    return count;
  }

  private onPacket(pkt: BinPacket, type: number, src: number): void {
    if (type === SYNC_PACKET_TYPE) {
      const api = this.cluster!.api;
      let n = 0;
      while (api.syncChunkIter(pkt)) {
        const v = KvSet.popFields(pkt, pkt.version);
        this.map.set(v.key, v.value);
        n++;
      }
      this.syncedKeys += n;
      this.counters.replReceived(n);
      return;
    }
    if (!this.versionGuard.check(pkt, KvSet)) return;
    try {
      if (type === KvSet.type) {
        const v = KvSet.decode(pkt);
        this.map.set(v.key, v.value);
      } else if (type === KvDelete.type) {
        this.map.delete(KvDelete.decode(pkt).key);
      } else {
        this.counters.replDropped();
        return;
      }
      this.counters.replReceived();
    } catch (err) {
      this.counters.replDropped();
      this.log.warn({ err, src }, "malformed kv_store packet dropped");
    }
  }

  private onEvent(ev: ClusterEvent): void {
    const cl = this.cluster!;
    if (ev.kind === "sync-request") {
      // one chunk per key: the same fields as KV_SET
      for (const [key, value] of this.map) {
        const pkt = cl.api.syncChunkStart(KV_CAPABILITY, cl.clusterId, ev.nodeId, KV_VERSION);
        KvSet.pushFields(pkt, { key, value });
      }
      this.log.info({ node: ev.nodeId, keys: this.map.size }, `kv_store: sent ${this.map.size} keys to node ${ev.nodeId}`);
    } else if (ev.kind === "sync-done") {
      this.syncsDone++;
      this.log.notice({ node: ev.nodeId, keys: this.map.size, chunks: ev.chunks }, `kv_store: synced from node ${ev.nodeId}, ${this.map.size} keys`);
    }
  }
}
