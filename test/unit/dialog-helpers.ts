/**
 * Test helpers for the dialog module: a fake clock, an in-memory cluster whose ClustererApi
 * joins several dialog engines (packets go through real bytes: encode → BinPacket.parse →
 * trailer → callback), and an engine factory with the module's default params.
 */
import { BinPacket } from "../../core/bin/packet.ts";
import { silentLogger } from "../../core/log.ts";
import { StatsRegistry, moduleStats, type Stat } from "../../core/stats.ts";
import type { SocketDef } from "../../core/cfg/ast.ts";
import type {
  CapabilityRegistration, ClusterEvent, ClusterNodeInfo, ClusterSendResult, ClustererApi, ShtagState, SyncStatus,
} from "../../modules/clusterer/api.ts";
import { DIALOG_STAT_NAMES, DialogEngine, type DialogEngineParams, type DialogStatName } from "../../modules/dialog/engine.ts";
import { dialogParams } from "../../modules/dialog/params.ts";
import { noGenericMessages } from "../helpers/no-generic-messages.ts";

export class FakeClock {
  constructor(public ms = 1_795_363_096_000) {}
  now = (): number => this.ms;
  advance(sec: number): void {
    this.ms += sec * 1000;
  }
}

export function sock(proto: string, host: string, port?: number, tag?: string, as?: { host: string; port?: number }): SocketDef {
  return {
    proto, host, port, ...(tag ? { tag } : {}), ...(as ? { as: { host: as.host, port: as.port } } : {}),
    raw: `${proto}:${host}${port ? `:${port}` : ""}${tag ? ` tag ${tag}` : ""}`,
    loc: { file: "test.cfg", line: 1, col: 1 },
  };
}

/** The module's default params (as the loader would give them), with overrides. */
export function params(over: Partial<DialogEngineParams> = {}): DialogEngineParams {
  const d = Object.fromEntries(Object.entries(dialogParams).map(([k, s]) => [k, s.default])) as unknown as DialogEngineParams;
  return { ...d, ...over };
}

const SYNC_MARKER = 101010101;

interface Sent {
  from: number;
  to: number;
  capability: string;
  type: number;
  bytes: Buffer;
}

/** An in-memory cluster: nodes, which are up, sharing tags, and every packet sent. */
export class FakeCluster {
  readonly nodes = new Map<number, FakeClusterer>();
  readonly down = new Set<number>();
  /** tag → node id where it is active. */
  readonly tags = new Map<string, number>();
  readonly sent: Sent[] = [];
  /** Deliver packets at once (default) or only on flush(). */
  immediate = true;
  private readonly queue: (() => void)[] = [];

  node(id: number): FakeClusterer {
    let n = this.nodes.get(id);
    if (!n) this.nodes.set(id, n = new FakeClusterer(this, id));
    return n;
  }

  enqueue(fn: () => void): void {
    if (this.immediate) fn();
    else this.queue.push(fn);
  }

  flush(): void {
    while (this.queue.length) this.queue.shift()!();
  }

  /** Node `id` dies (no more sends to or from it) or comes back. */
  setDown(id: number, down: boolean): void {
    if (down) this.down.add(id);
    else this.down.delete(id);
    for (const n of this.nodes.values()) {
      if (n.id === id || this.down.has(n.id)) continue;
      for (const r of n.regs.values()) r.onEvent?.({ kind: down ? "node-down" : "node-up", nodeId: id });
    }
  }

  /** Makes `tag` active on node `id` (everyone else backup) and runs the change callbacks. */
  activate(tag: string, id: number): void {
    const old = this.tags.get(tag);
    this.tags.set(tag, id);
    for (const n of this.nodes.values()) {
      const before = old === n.id;
      const after = id === n.id;
      if (before !== after) for (const cb of n.tagCbs) if (cb.tag === undefined || cb.tag === tag) cb.fn(tag, after ? "active" : "backup", 1);
    }
  }

  deliver(from: number, to: number, bytes: Buffer): void {
    const target = this.nodes.get(to);
    if (!target || this.down.has(to) || this.down.has(from)) return;
    const pkt = BinPacket.parse(bytes);
    const reg = target.regs.get(pkt.capability);
    if (!reg) return;
    pkt.popBackInt();
    pkt.popBackInt();
    pkt.popBackInt();
    reg.onPacket(pkt, pkt.type, from);
  }
}

export class FakeClusterer implements ClustererApi {
  readonly regs = new Map<string, CapabilityRegistration>();
  readonly tagCbs: { tag: string | undefined; fn: (tag: string, state: ShtagState, clusterId: number) => void }[] = [];
  syncRequests = 0;
  /** While serving a sync: the packets being built for the requester. */
  private building: { cap: string; dataVersion: number; pkts: BinPacket[]; lenAt: number; chunks: number } | undefined;
  private readonly nextChunk = new WeakMap<BinPacket, number>();

  constructor(readonly cluster: FakeCluster, readonly id: number) {}

  myNodeId(): number {
    return this.id;
  }

  registerCapability(reg: CapabilityRegistration): void {
    this.regs.set(reg.capability, reg);
  }

  private others(): FakeClusterer[] {
    return [...this.cluster.nodes.values()].filter((n) => n.id !== this.id);
  }

  sendTo(packet: BinPacket, clusterId: number, nodeId: number): ClusterSendResult {
    if (this.cluster.down.has(this.id)) return 1;
    if (this.cluster.down.has(nodeId)) return -1;
    const bytes = withTrailer(packet, clusterId, this.id, nodeId);
    this.cluster.sent.push({ from: this.id, to: nodeId, capability: packet.capability, type: packet.type, bytes });
    this.cluster.enqueue(() => this.cluster.deliver(this.id, nodeId, bytes));
    return 0;
  }

  sendAll(packet: BinPacket, clusterId: number): ClusterSendResult {
    if (this.cluster.down.has(this.id)) return 1;
    const others = this.others();
    if (others.length === 0) return 0;
    let ok = 0;
    for (const n of others) if (this.sendTo(packet, clusterId, n.id) === 0) ok++;
    return ok > 0 ? 0 : -1;
  }

  sendAllHavingCapability(packet: BinPacket, clusterId: number, capability: string): ClusterSendResult {
    void capability;
    return this.sendAll(packet, clusterId);
  }

  requestSync(capability: string, clusterId: number): 0 | 1 | -1 {
    this.syncRequests++;
    const donor = this.others().find((n) => !this.cluster.down.has(n.id) && n.regs.has(capability));
    if (!donor) return 0; // queued forever (no seed fallback here)
    this.cluster.enqueue(() => donor.serveSync(capability, clusterId, this));
    return 0;
  }

  /** Donor side: runs the module's sync-request event and ships the chunks to `to`. */
  serveSync(capability: string, clusterId: number, to: FakeClusterer): void {
    const reg = this.regs.get(capability);
    if (!reg || this.cluster.down.has(to.id)) return;
    this.building = { cap: capability, dataVersion: 0, pkts: [], lenAt: -1, chunks: 0 };
    reg.onEvent?.({ kind: "sync-request", nodeId: to.id });
    const b = this.building;
    this.building = undefined;
    this.closeChunk(b);
    for (const p of b.pkts) {
      const bytes = withTrailer(p, clusterId, this.id, to.id);
      this.cluster.sent.push({ from: this.id, to: to.id, capability: "clusterer-extra", type: 11, bytes });
      to.receiveSync(Buffer.from(bytes), this.id); // the receiver rewrites the version in place
    }
    to.regs.get(capability)?.onEvent?.({ kind: "sync-done", nodeId: this.id, chunks: b.chunks });
  }

  private closeChunk(b: { pkts: BinPacket[]; lenAt: number }): void {
    const p = b.pkts[b.pkts.length - 1];
    if (p && b.lenAt >= 0) p.setIntAt(b.lenAt, p.length - (b.lenAt + 8));
  }

  syncChunkStart(capability: string, clusterId: number, nodeId: number, dataVersion: number): BinPacket {
    void clusterId;
    void nodeId;
    const b = this.building;
    if (!b) throw new Error("syncChunkStart outside a sync-request event");
    this.closeChunk(b);
    let p = b.pkts[b.pkts.length - 1];
    if (!p || p.length > 32768) {
      p = BinPacket.init("clusterer-extra", 11, 3).pushStr(capability).pushInt(dataVersion);
      b.pkts.push(p);
    }
    b.lenAt = p.length;
    p.pushInt(0).pushInt(SYNC_MARKER);
    b.chunks++;
    return p;
  }

  /** Requester side: what the clusterer does with a SYNC packet (type 101, version = data_version). */
  receiveSync(bytes: Buffer, from: number): void {
    const pkt = BinPacket.parse(bytes);
    pkt.popBackInt();
    pkt.popBackInt();
    pkt.popBackInt();
    const cap = pkt.popStr();
    const dv = pkt.popInt();
    pkt.version = dv;
    this.nextChunk.set(pkt, pkt.position);
    this.regs.get(cap)?.onPacket(pkt, 101, from);
  }

  syncChunkIter(packet: BinPacket): boolean {
    const at = this.nextChunk.get(packet);
    if (at === undefined || at >= packet.length) return false;
    packet.position = at;
    const len = packet.popInt();
    if (packet.popInt() !== SYNC_MARKER) return false;
    this.nextChunk.set(packet, packet.position + len);
    return true;
  }

  syncStatus(): SyncStatus | undefined {
    return undefined;
  }

  getNodes(): ClusterNodeInfo[] {
    return [];
  }

  nodesWithCapability(): number[] {
    return [];
  }

  getMyIndex(): { index: number; count: number } {
    return { index: 0, count: 1 };
  }

  shtagGet(tag: string): ShtagState {
    return this.cluster.tags.get(tag) === this.id ? "active" : "backup";
  }

  shtagActivate(tag: string): void {
    this.cluster.activate(tag, this.id);
  }

  shtagGetAllActive(): string[] {
    return [...this.cluster.tags].filter(([, n]) => n === this.id).map(([t]) => t);
  }

  shtagOnChange(tag: string | undefined, clusterId: number, cb: (tag: string, state: ShtagState, clusterId: number) => void): () => void {
    void clusterId;
    const e = { tag, fn: cb };
    this.tagCbs.push(e);
    return () => {
      const i = this.tagCbs.indexOf(e);
      if (i >= 0) this.tagCbs.splice(i, 1);
    };
  }

  // Generic messages are not part of these tests: a fake clusterer cannot send them.
  readonly sendReq = noGenericMessages.sendReq;
  readonly sendRpl = noGenericMessages.sendRpl;
  readonly broadcastReq = noGenericMessages.broadcastReq;

  /** Used by tests to fire an event at this node's capability. */
  event(capability: string, ev: ClusterEvent): void {
    this.regs.get(capability)?.onEvent?.(ev);
  }
}

/** A packet's bytes with the clusterer trailer appended (length field updated, as bin_push_int does). */
function withTrailer(pkt: BinPacket, cluster: number, src: number, dst: number): Buffer {
  const b = Buffer.concat([pkt.bytes(), trailer(cluster, src, dst)]);
  b.writeUInt32LE(b.length, 4);
  return b;
}

function trailer(cluster: number, src: number, dst: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeInt32LE(cluster, 0);
  b.writeInt32LE(src, 4);
  b.writeInt32LE(dst, 8);
  return b;
}

export interface TestNode {
  engine: DialogEngine;
  stats: Record<DialogStatName, Stat>;
  clusterer: FakeClusterer | undefined;
}

/** An engine with a fake clock, default params (plus overrides) and a `udp:127.0.0.1:5060 tag sipnet` socket. */
export function makeNode(o: {
  clock: FakeClock;
  cluster?: FakeCluster;
  id?: number;
  params?: Partial<DialogEngineParams>;
  sockets?: SocketDef[];
  start?: boolean;
}): TestNode {
  const reg = new StatsRegistry();
  const ms = moduleStats(reg, "dialog", Object.fromEntries(DIALOG_STAT_NAMES.map((n) => [n, {}])) as Record<DialogStatName, object>);
  const stats = Object.fromEntries(DIALOG_STAT_NAMES.map((n) => [n, ms.get(n)])) as Record<DialogStatName, Stat>;
  const clusterer = o.cluster ? o.cluster.node(o.id ?? 1) : undefined;
  const engine = new DialogEngine({
    params: params(o.params),
    clusterer,
    log: silentLogger(),
    stats,
    sockets: o.sockets ?? [sock("udp", "127.0.0.1", 5060, "sipnet"), sock("bin", "127.0.0.1", 5601)],
    now: o.clock.now,
    timers: false,
  });
  if (o.start ?? true) engine.start();
  return { engine, stats, clusterer };
}

/** Two replicating nodes (ids 1, 2) on one cluster, dialog (and optionally profile) replication in cluster 1. */
export function twoNodes(clock: FakeClock, over: Partial<DialogEngineParams> = {}): { cluster: FakeCluster; n1: TestNode; n2: TestNode } {
  const cluster = new FakeCluster();
  const p = { dialog_replication_cluster: 1, ...over };
  const n1 = makeNode({ clock, cluster, id: 1, params: p });
  const n2 = makeNode({ clock, cluster, id: 2, params: p, sockets: [sock("udp", "127.0.0.1", 5062, "sipnet"), sock("bin", "127.0.0.1", 5602)] });
  return { cluster, n1, n2 };
}
