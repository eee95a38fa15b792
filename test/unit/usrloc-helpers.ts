/**
 * Test helpers for usrloc: an in-memory "clusterer" that implements ClustererApi and connects
 * several in-process nodes through real BIN bytes (trailer appended on send, popped on
 * receive; SYNC packets built and iterated like the clusterer's), plus host builders.
 */
import { BinPacket } from "../../core/bin/packet.ts";
import { defineModule, int } from "../../core/index.ts";
import { createTestHost, type TestHost } from "../../core/testing/index.ts";
import type {
  CapabilityRegistration, ClusterSendResult, ClustererApi, ClusterNodeInfo, ShtagState, SyncStatus,
} from "../../modules/clusterer/api.ts";
import usrloc from "../../modules/usrloc/index.ts";
import type { UsrlocService } from "../../modules/usrloc/service.ts";
import { noGenericMessages } from "../helpers/no-generic-messages.ts";

export const SYNC_MARKER = 101010101;

/** A packet as it went out: the wire bytes with the clusterer trailer. */
export interface SentPacket {
  from: number;
  to: number;
  bytes: Buffer;
}

/** Connects FakeClusterer instances; delivery is synchronous unless `hold` is set. */
export class FakeBus {
  readonly nodes = new Map<number, FakeClusterer>();
  readonly sent: SentPacket[] = [];
  /** When true, packets are queued until `flush()`. */
  hold = false;
  private queue: SentPacket[] = [];

  transmit(p: SentPacket): void {
    this.sent.push(p);
    if (this.hold) this.queue.push(p);
    else this.nodes.get(p.to)?.receive(p.bytes, p.from);
  }

  flush(): void {
    const q = this.queue;
    this.queue = [];
    for (const p of q) this.nodes.get(p.to)?.receive(p.bytes, p.from);
  }

  /** Sent packets of one capability, optionally only module types. */
  sentOf(capability: string): SentPacket[] {
    return this.sent.filter((p) => BinPacket.parse(p.bytes).capability === capability);
  }
}

interface SyncBuild {
  dst: number;
  cap: string;
  packets: BinPacket[];
  lastLenAt: number;
  chunks: number;
}

export class FakeClusterer implements ClustererApi {
  readonly caps = new Map<string, CapabilityRegistration & { synced: boolean }>();
  /** Nodes this node can currently reach (default: every node on the bus). */
  down = new Set<number>();
  private building: SyncBuild | null = null;
  private readonly iterNext = new WeakMap<BinPacket, number>();
  syncRequests = 0;

  constructor(
    readonly bus: FakeBus,
    readonly id: number,
    readonly clusterId = 1,
  ) {
    bus.nodes.set(id, this);
  }

  myNodeId(): number {
    return this.id;
  }

  registerCapability(reg: CapabilityRegistration): void {
    this.caps.set(reg.capability, { ...reg, synced: !reg.startupSync });
  }

  private peers(): number[] {
    return [...this.bus.nodes.keys()].filter((n) => n !== this.id && !this.down.has(n)).sort((a, b) => a - b);
  }

  /** The wire bytes of `pkt` with the trailer (cluster, this node, dst). */
  withTrailer(pkt: BinPacket, dst: number): Buffer {
    const b = pkt.bytes();
    const out = Buffer.alloc(b.length + 12);
    b.copy(out, 0);
    out.writeInt32LE(this.clusterId, b.length);
    out.writeInt32LE(this.id, b.length + 4);
    out.writeInt32LE(dst, b.length + 8);
    out.writeUInt32LE(out.length, 4);
    return out;
  }

  sendTo(packet: BinPacket, _clusterId: number, nodeId: number): ClusterSendResult {
    if (this.down.has(nodeId) || !this.bus.nodes.has(nodeId)) return -1;
    this.bus.transmit({ from: this.id, to: nodeId, bytes: this.withTrailer(packet, nodeId) });
    return 0;
  }

  sendAll(packet: BinPacket, _clusterId: number): ClusterSendResult {
    const peers = this.peers();
    if (peers.length === 0) return this.bus.nodes.size > 1 ? -1 : 0;
    for (const n of peers) this.bus.transmit({ from: this.id, to: n, bytes: this.withTrailer(packet, n) });
    return 0;
  }

  sendAllHavingCapability(packet: BinPacket, clusterId: number): ClusterSendResult {
    return this.sendAll(packet, clusterId);
  }

  /** A packet arrives (wire bytes with trailer). */
  receive(bytes: Buffer, from: number): void {
    const p = BinPacket.parse(Buffer.from(bytes));
    p.popBackInt();
    p.popBackInt();
    p.popBackInt();
    if (p.capability === "clusterer-extra" && p.type === 11) {
      const cap = p.popStr();
      const dv = p.popInt();
      const reg = this.caps.get(cap);
      if (!reg) return;
      p.version = dv;
      reg.onPacket(p, 101, from);
      return;
    }
    const reg = this.caps.get(p.capability);
    if (!reg) return;
    p.srcId = from;
    reg.onPacket(p, p.type, from);
  }

  requestSync(capability: string, _clusterId: number): 0 | 1 | -1 {
    this.syncRequests++;
    const reg = this.caps.get(capability);
    if (!reg) return -1;
    const donor = this.peers().map((n) => this.bus.nodes.get(n)!).find((n) => n.caps.get(capability)?.synced);
    if (!donor) {
      // Nobody to sync from: like a seed's fallback, the capability becomes synced with no data.
      reg.synced = true;
      return 0;
    }
    reg.synced = false;
    const packets = donor.serveSync(capability, this.id);
    for (const pkt of packets) this.bus.transmit({ from: donor.id, to: this.id, bytes: donor.withTrailer(pkt, this.id) });
    reg.synced = true;
    reg.onEvent?.({ kind: "sync-done", nodeId: donor.id, chunks: 0 });
    return 0;
  }

  /** Donor side: runs the capability's sync-request event and returns the SYNC packets. */
  serveSync(capability: string, dst: number): BinPacket[] {
    const reg = this.caps.get(capability)!;
    this.building = { dst, cap: capability, packets: [], lastLenAt: -1, chunks: 0 };
    try {
      reg.onEvent?.({ kind: "sync-request", nodeId: dst });
      const b = this.building;
      const last = b.packets[b.packets.length - 1];
      if (last && b.lastLenAt >= 0) last.setIntAt(b.lastLenAt, last.length - b.lastLenAt - 8);
      return b.packets;
    } finally {
      this.building = null;
    }
  }

  syncChunkStart(capability: string, _clusterId: number, nodeId: number, dataVersion: number): BinPacket {
    const b = this.building;
    if (!b || b.dst !== nodeId || b.cap !== capability) throw new Error("syncChunkStart outside the sync-request event");
    let pkt = b.packets[b.packets.length - 1];
    if (pkt && b.lastLenAt >= 0) pkt.setIntAt(b.lastLenAt, pkt.length - b.lastLenAt - 8);
    if (!pkt || pkt.length > 32768) {
      pkt = BinPacket.init("clusterer-extra", 11, 3, 40000);
      pkt.pushStr(capability);
      pkt.pushInt(dataVersion);
      b.packets.push(pkt);
    }
    b.lastLenAt = pkt.length;
    pkt.pushInt(0);
    pkt.pushInt(SYNC_MARKER);
    b.chunks++;
    return pkt;
  }

  syncChunkIter(packet: BinPacket): boolean {
    const next = this.iterNext.get(packet);
    if (next !== undefined) packet.position = Math.min(next, packet.length);
    if (packet.remaining() < 8) return false;
    const len = packet.popInt();
    const marker = packet.popInt();
    if (marker !== SYNC_MARKER || len < 0 || len > packet.remaining()) return false;
    this.iterNext.set(packet, packet.position + len);
    return true;
  }

  syncStatus(capability: string): SyncStatus | undefined {
    const r = this.caps.get(capability);
    return r ? { capability, state: r.synced ? "synced" : "not synced", chunksReceived: 0 } : undefined;
  }

  getNodes(): ClusterNodeInfo[] {
    return this.peers().map((n) => ({ nodeId: n, url: `bin:127.0.0.1:${5600 + n}`, sipAddr: "", description: "", linkState: "Up", reachable: true, nextHop: n }));
  }

  nodesWithCapability(_clusterId: number, capability: string): number[] {
    return this.peers().filter((n) => this.bus.nodes.get(n)!.caps.has(capability));
  }

  getMyIndex(_clusterId: number, capability: string): { index: number; count: number } {
    const ids = this.nodesWithCapability(1, capability);
    return { index: ids.filter((n) => n < this.id).length, count: ids.length + 1 };
  }

  shtagGet(): ShtagState {
    return "backup";
  }
  shtagActivate(): void {}
  shtagGetAllActive(): string[] {
    return [];
  }
  shtagOnChange(): () => void {
    return () => {};
  }

  // Generic messages are not part of these tests: a fake clusterer cannot send them.
  readonly sendReq = noGenericMessages.sendReq;
  readonly sendRpl = noGenericMessages.sendRpl;
  readonly broadcastReq = noGenericMessages.broadcastReq;
}

/** A module named "clusterer" whose API is a FakeClusterer on `bus`. */
export function fakeClustererModule(bus: FakeBus) {
  return defineModule({
    name: "clusterer",
    version: "test",
    params: { my_node_id: int({ default: 1, min: 1, doc: "node id" }) },
    init(ctx): FakeClusterer {
      return new FakeClusterer(bus, ctx.params.my_node_id);
    },
  });
}

export interface UlNode {
  host: TestHost;
  ul: UsrlocService;
  cl: FakeClusterer;
  mi(cmd: string, params?: Record<string, string | number>): Promise<unknown>;
  stop(): Promise<void>;
}

/** One in-process node: fake clusterer + usrloc (full-sharing-cluster by default). */
export async function ulNode(bus: FakeBus, nodeId: number, params: Record<string, string | number | string[]> = {},
  sockets: string[] = ["udp:127.0.0.1:5061 tag sipnet"]): Promise<UlNode> {
  const host = await createTestHost({
    modules: [
      { def: fakeClustererModule(bus), params: { my_node_id: nodeId } },
      { def: usrloc, params: { working_mode_preset: "full-sharing-cluster", location_cluster: 1, ...params } },
    ],
    sockets,
  });
  const ul = host.api<UsrlocService>("usrloc");
  const cl = host.api<FakeClusterer>("clusterer");
  return {
    host, ul, cl,
    mi: (cmd, p) => host.mi.run(cmd, p ?? {}),
    stop: () => host.stop(),
  };
}

/** Hex vector → bytes. */
export function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.trim(), "hex");
}
