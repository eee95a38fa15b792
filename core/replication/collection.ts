/**
 * `ReplicatedMap`: a keyed store kept equal across a cluster. Local `set`/`delete` are
 * broadcast (OpenSIPS modules call `bin_init` + `send_all` by hand for this); packets from
 * peers are applied through an optional conflict hook; a starting node asks a donor for every
 * entry and a donor answers with one sync chunk per entry; versions outside the declared
 * accept range are dropped, counted and logged once; an optional sharing tag per entry says
 * which node owns it; entries may expire after a TTL (each node expires its own copy, so
 * expiry costs no packet). The raw BIN API stays available for anything else.
 */
import type { BinPacket } from "../bin/packet.ts";
import { createVersionGuard, type VersionGuard } from "../bin/version-guard.ts";
import type { TsipsLogger } from "../log.ts";
import type { Replication } from "./declare.ts";
import { SYNC_PACKET_TYPE, type ClusterBinding, type ClusterLinkEvent } from "./link.ts";

/** Where the collection keeps its entries: a Map, or anything with the same five methods. */
export interface KeyedStore<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): unknown;
  delete(key: string): boolean;
  readonly size: number;
  [Symbol.iterator](): Iterator<[string, V]>;
}

export interface ReplicationCounters {
  replSent(): void;
  replReceived(n?: number): void;
  replDropped(): void;
  expired?(n?: number): void;
}

/** What a peer sent that clashes with what we hold; return the value to keep, or undefined to keep ours. */
export interface ConflictCtx<V> {
  key: string;
  local: V;
  incoming: V;
  srcNodeId: number;
  /** "packet" for a live update, "sync" for a sync chunk. */
  via: "packet" | "sync";
}

export interface ReplicatedMapOptions<V> {
  store?: KeyedStore<V>;
  /** Seconds an entry lives after this node set or received it (0 = forever). */
  ttlSeconds?: number;
  /**
   * Called when a peer's set hits a key we already hold with another value. Default: the
   * peer wins (last writer). Returning undefined keeps ours and counts a drop.
   */
  onConflict?(c: ConflictCtx<V>): V | undefined;
  /** Filters what peers send (packets and sync chunks): false ignores the entry (e.g. already expired). */
  accept?(key: string, value: V): boolean;
  /** Called after a peer's change is applied (set: value, delete: undefined). */
  onRemoteChange?(key: string, value: V | undefined, srcNodeId: number): void;
  /** The sharing tag that owns an entry (OpenSIPS `shtag`): `owns(key)` is true where it is active. */
  shtag?(key: string, value: V): string | undefined;
}

export class ReplicatedMap<V> implements Iterable<[string, V]> {
  readonly map: KeyedStore<V>;
  /** Entries received through syncs since start. */
  syncedKeys = 0;
  syncsDone = 0;
  private readonly guard: VersionGuard;
  private readonly expiry = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly repl: Replication<V>,
    readonly cluster: ClusterBinding | undefined,
    protected readonly log: TsipsLogger,
    private readonly counters: ReplicationCounters,
    private readonly opts: ReplicatedMapOptions<V> = {},
  ) {
    this.map = opts.store ?? new Map<string, V>();
    this.guard = createVersionGuard(log, { inc: () => counters.replDropped() });
  }

  get size(): number {
    return this.map.size;
  }

  [Symbol.iterator](): Iterator<[string, V]> {
    return this.map[Symbol.iterator]();
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Registers the capability with the clusterer and, with `startupSync`, asks a donor for every entry. */
  start(startupSync: boolean): void {
    const ttl = this.opts.ttlSeconds ?? 0;
    if (ttl > 0) this.sweepTimer = setInterval(() => this.sweep(), Math.min(1000, ttl * 1000)).unref();
    const cl = this.cluster;
    if (!cl) return;
    cl.api.registerCapability({
      capability: this.repl.capability, clusterId: cl.clusterId, startupSync, syncCond: "any",
      onPacket: (pkt, type, src) => this.onPacket(pkt, type, src),
      onEvent: (ev) => this.onEvent(ev),
      digestKeys: () => this.digestKeys(),
    });
    if (startupSync) cl.api.requestSync(this.repl.capability, cl.clusterId);
  }

  /** Key and value of every entry, so two nodes holding the same data give the same digest. */
  private *digestKeys(): Iterable<string> {
    for (const [k, v] of this.map) yield `${k}\u0000${typeof v === "string" ? v : JSON.stringify(v)}`;
  }

  /** Stops the TTL sweep (call from the module's destroy). */
  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Sets an entry here and, with `replicate`, on every node of the cluster. */
  set(key: string, value: V, replicate = true): void {
    this.store(key, value);
    if (replicate && this.cluster) {
      this.cluster.api.sendAll(this.repl.set.encode(this.repl.toRecord(key, value)), this.cluster.clusterId);
      this.counters.replSent();
    }
  }

  /** Deletes an entry here and, with `replicate`, everywhere. False when the key was not here. */
  delete(key: string, replicate = true): boolean {
    const had = this.map.delete(key);
    this.expiry.delete(key);
    if (had && replicate && this.cluster) {
      this.cluster.api.sendAll(this.repl.delete.encode({ [this.repl.key.name]: key }), this.cluster.clusterId);
      this.counters.replSent();
    }
    return had;
  }

  /** The entry's sharing tag is active on this node (true when no tag applies or not clustered). */
  owns(key: string): boolean {
    const v = this.map.get(key);
    return this.ownsTag(v === undefined ? undefined : this.opts.shtag?.(key, v));
  }

  /** The sharing tag is active on this node (true for no tag, or when not clustered). */
  ownsTag(tag: string | undefined): boolean {
    if (tag === undefined || tag === "" || !this.cluster) return true;
    return this.cluster.api.shtagGet(tag, this.cluster.clusterId) === "active";
  }

  /** Seconds left before the entry expires, or undefined when it never does. */
  ttlLeft(key: string, now = Date.now()): number | undefined {
    const at = this.expiry.get(key);
    return at === undefined ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
  }

  /** Removes expired entries (called every second while a TTL is set). */
  sweep(now = Date.now()): number {
    let n = 0;
    // Every entry gets the same TTL and a refresh moves it to the end, so the map is in expiry order.
    for (const [key, at] of this.expiry) {
      if (at > now) break;
      this.expiry.delete(key);
      this.map.delete(key);
      n++;
    }
    if (n > 0) this.counters.expired?.(n);
    return n;
  }

  private store(key: string, value: V): void {
    this.map.set(key, value);
    const ttl = this.opts.ttlSeconds ?? 0;
    if (ttl > 0) {
      this.expiry.delete(key);
      this.expiry.set(key, Date.now() + ttl * 1000);
    }
  }

  /** Applies a peer's value through the conflict hook. False when the hook kept ours. */
  private applyRemote(key: string, incoming: V, src: number, via: "packet" | "sync"): boolean | "ignored" {
    if (this.opts.accept && !this.opts.accept(key, incoming)) return "ignored";
    const local = this.map.get(key);
    let value = incoming;
    if (local !== undefined && this.opts.onConflict && local !== incoming) {
      const kept = this.opts.onConflict({ key, local, incoming, srcNodeId: src, via });
      if (kept === undefined) return false;
      value = kept;
    }
    this.store(key, value);
    this.opts.onRemoteChange?.(key, value, src);
    return true;
  }

  private onPacket(pkt: BinPacket, type: number, src: number): void {
    if (type === SYNC_PACKET_TYPE) return this.onSyncPacket(pkt, src);
    const msg = type === this.repl.set.type ? this.repl.set : type === this.repl.delete.type ? this.repl.delete : undefined;
    if (!msg) {
      this.counters.replDropped();
      this.log.warn({ src, type }, `${this.repl.capability}: unknown packet type ${type} dropped`);
      return;
    }
    if (!this.guard.check(pkt, msg)) return;
    try {
      const [key, value] = this.repl.fromRecord(msg.decode(pkt) as Record<string, unknown>);
      if (msg === this.repl.delete) {
        this.map.delete(key);
        this.expiry.delete(key);
        this.opts.onRemoteChange?.(key, undefined, src);
      } else {
        const r = this.applyRemote(key, value, src, "packet");
        if (r === "ignored") return;
        if (!r) {
          this.counters.replDropped();
          return;
        }
      }
      this.counters.replReceived();
    } catch (err) {
      this.counters.replDropped();
      this.log.warn({ err, src }, `malformed ${this.repl.capability} packet dropped`);
    }
  }

  private onSyncPacket(pkt: BinPacket, src: number): void {
    const api = this.cluster!.api;
    if (!this.guard.check(pkt, this.repl.sync)) return;
    let n = 0;
    try {
      while (api.syncChunkIter(pkt)) {
        const [key, value] = this.repl.fromRecord(this.repl.sync.popFields(pkt, pkt.version) as Record<string, unknown>);
        if (this.applyRemote(key, value, src, "sync") === true) n++;
      }
    } catch (err) {
      this.counters.replDropped();
      this.log.warn({ err, src }, `malformed ${this.repl.capability} sync packet: the rest of it dropped`);
    }
    this.syncedKeys += n;
    this.counters.replReceived(n);
  }

  private onEvent(ev: ClusterLinkEvent): void {
    const cl = this.cluster!;
    if (ev.kind === "sync-request") {
      for (const [key, value] of this.map) {
        const pkt = cl.api.syncChunkStart(this.repl.capability, cl.clusterId, ev.nodeId, this.repl.version);
        this.repl.sync.pushFields(pkt, this.repl.toRecord(key, value));
      }
      this.log.info({ node: ev.nodeId, keys: this.map.size }, `${this.repl.capability}: sent ${this.map.size} entries to node ${ev.nodeId}`);
    } else if (ev.kind === "sync-done") {
      this.syncsDone++;
      this.log.notice({ node: ev.nodeId, keys: this.map.size, chunks: ev.chunks },
        `${this.repl.capability}: synced from node ${ev.nodeId}, ${this.map.size} entries`);
    }
  }
}
