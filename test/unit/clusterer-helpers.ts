/**
 * In-process harness for clusterer unit tests: engines on a fake network with a fake clock.
 * Packets are queued and delivered in FIFO order by `flush()`; timers fire from `advance()`.
 * A node marked down refuses connections: sends to it are "queued", then a
 * `connect-failed` peer event reaches the sender (as proto_bin reports it).
 */
import type { BinPacket } from "../../core/bin/packet.ts";
import { BinPacket as Bp } from "../../core/bin/packet.ts";
import type { BinPeerEvent, BinReceiveCtx, BinSource } from "../../core/hooks.ts";
import { silentLogger } from "../../core/log.ts";
import type { JsonValue } from "../../core/mi/types.ts";
import type { ClustererApi } from "../../modules/clusterer/api.ts";
import { createClustererApi } from "../../modules/clusterer/api-impl.ts";
import { Engine, type ClustererEnv, type EngineConfig } from "../../modules/clusterer/engine.ts";
import { effectiveTimers } from "../../modules/clusterer/params.ts";
import { parseSharingTag } from "../../modules/clusterer/node-info.ts";

export interface SentRecord {
  from: number;
  host: string;
  port: number;
  bytes: Buffer;
  t: number;
}

interface Timer {
  period: number;
  next: number;
  fn: () => void;
  alive: boolean;
}

export class FakeNet {
  now = 1000;
  /** Unix seconds at now = 0. */
  epoch = 1_700_000_000;
  get wall(): number {
    return Math.floor(this.epoch + this.now / 1000);
  }
  readonly nodes = new Map<string, FakeNode>();
  readonly queue: { to: string; bytes: Buffer; source: BinSource; from: FakeNode }[] = [];
  readonly log: SentRecord[] = [];
  readonly timers: Timer[] = [];
  readonly deferred: (() => void)[] = [];
  /** Links that silently drop traffic ("a:b" keys, both directions). */
  readonly cut = new Set<string>();
  /** host:port endpoints that accept and swallow packets (a peer played by the test). */
  readonly sinks = new Set<string>();
  /** host:port endpoints that answer some packets (the reply goes back to the sender). */
  readonly responders = new Map<string, (bytes: Buffer) => Buffer | undefined>();

  add(id: number, cfg: Partial<EngineConfig> & { myNodeInfo: readonly string[]; neighborNodeInfo?: readonly string[] }, extra: Partial<Record<string, number>> = {}): FakeNode {
    const n = new FakeNode(this, id, cfg, extra);
    return n;
  }

  register(key: string, n: FakeNode): void {
    this.nodes.set(key, n);
  }

  send(from: FakeNode, bytes: Uint8Array, host: string, port: number): "sent" | "queued" | "error" {
    const key = `${host}:${port}`;
    this.log.push({ from: from.id, host, port, bytes: Buffer.from(bytes), t: this.now });
    if (this.sinks.has(key)) return "sent";
    const responder = this.responders.get(key);
    if (responder) {
      const reply = responder(Buffer.from(bytes));
      if (reply) this.queue.push({ to: from.key, bytes: reply, source: { proto: "bin", host, port: 45000 }, from });
      return "sent";
    }
    const to = this.nodes.get(key) ?? [...this.nodes.values()].find((n) => n.ephemeralKey === key);
    if (!to || !to.up) {
      this.deferred.push(() => from.peerEvent({ kind: "connect-failed", host, port, outbound: true, reason: "ECONNREFUSED: connect refused", errno: "ECONNREFUSED" }));
      return "queued";
    }
    if (this.cut.has(`${from.id}:${to.id}`) || this.cut.has(`${to.id}:${from.id}`)) return "sent";
    this.queue.push({ to: to.key, bytes: Buffer.from(bytes), source: { proto: "bin", host: from.host, port: from.ephemeralPort }, from });
    return "sent";
  }

  /** Delivers queued packets and deferred jobs until nothing is left. */
  flush(limit = 100000): number {
    let k = 0;
    while ((this.queue.length > 0 || this.deferred.length > 0) && k < limit) {
      const d = this.deferred.shift();
      if (d) {
        d();
        k++;
        continue;
      }
      const m = this.queue.shift()!;
      // a little latency per hop (a pong never arrives in the same instant as its ping)
      this.now += 0.05;
      const to = this.nodes.get(m.to);
      if (to && to.up) to.deliver(m.bytes, m.source);
      k++;
    }
    return k;
  }

  every(ms: number, fn: () => void): () => void {
    const t: Timer = { period: ms, next: this.now + ms, fn, alive: true };
    this.timers.push(t);
    return () => void (t.alive = false);
  }

  /** Moves the clock forward, firing timers in time order and flushing after each. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.alive && t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.now = due.next;
      due.next += due.period;
      due.fn();
      this.flush();
    }
    this.now = end;
    this.flush();
  }

  /** Sent packets (decoded header) since index `from`. */
  sentSince(from: number): SentRecord[] {
    return this.log.slice(from);
  }
}

export class FakeNode {
  readonly engine: Engine;
  readonly api: ClustererApi;
  readonly key: string;
  readonly host: string;
  readonly port: number;
  readonly ephemeralPort: number;
  up = true;
  readonly cbs = new Map<string, (p: BinPacket, ctx: BinReceiveCtx) => void>();
  readonly events: { name: string; params: Record<string, string | number> }[] = [];
  readonly mi: { method: string; params: JsonValue[] }[] = [];
  readonly stats = new Map<string, number>();
  private stopped: (() => void)[] = [];

  constructor(readonly net: FakeNet, readonly id: number, cfg: Partial<EngineConfig> & { myNodeInfo: readonly string[]; neighborNodeInfo?: readonly string[] },
    timers: Partial<Record<string, number>>) {
    const m = /url=bin:([^:,]+):(\d+)/.exec(cfg.myNodeInfo[0]!)!;
    this.host = m[1]!;
    this.port = Number(m[2]);
    this.key = `${this.host}:${this.port}`;
    this.ephemeralPort = 40000 + id;
    const env: ClustererEnv = {
      bin: {
        send: (p, host, port) => net.send(this, p instanceof Uint8Array ? p : p.bytes(), host, port),
        registerCb: (cap, cb) => void this.cbs.set(cap, cb),
      },
      log: silentLogger(),
      now: () => net.now,
      wallSeconds: () => net.wall,
      every: (ms, fn) => {
        const stop = net.every(ms, () => {
          if (this.up) fn();
        });
        this.stopped.push(stop);
        return stop;
      },
      defer: (fn) => void net.deferred.push(() => {
        if (this.up) fn();
      }),
      raiseEvent: (name, params) => void this.events.push({ name, params }),
      runMi: async (method, params) => {
        this.mi.push({ method, params });
        return "OK";
      },
      stat: (name, n = 1) => void this.stats.set(name, (this.stats.get(name) ?? 0) + n),
    };
    this.engine = new Engine({
      myNodeId: cfg.myNodeId ?? id,
      myNodeInfo: cfg.myNodeInfo,
      neighborNodeInfo: cfg.neighborNodeInfo ?? [],
      timers: cfg.timers ?? effectiveTimers({
        ping_interval: timers["ping_interval"] ?? 4, ping_timeout: timers["ping_timeout"] ?? 1000, node_timeout: timers["node_timeout"] ?? 60,
        seed_fallback_interval: timers["seed_fallback_interval"] ?? 5, sync_timeout: timers["sync_timeout"] ?? 15,
        sync_packet_size: timers["sync_packet_size"] ?? 32768, enable_rerouting: timers["enable_rerouting"] ?? 1,
      }),
      sharingTags: (cfg.sharingTags ?? []) as EngineConfig["sharingTags"],
      autoTakeover: cfg.autoTakeover ?? false,
      eagerProbe: cfg.eagerProbe ?? true,
      downOnRefused: cfg.downOnRefused ?? true,
      ...(cfg.recvLiveness !== undefined ? { recvLiveness: cfg.recvLiveness } : {}),
      ...(cfg.reprobeDown !== undefined ? { reprobeDown: cfg.reprobeDown } : {}),
      ...(cfg.healSync !== undefined ? { healSync: cfg.healSync } : {}),
      ...(cfg.capAnnounceInterval !== undefined ? { capAnnounceInterval: cfg.capAnnounceInterval } : {}),
    }, env);
    this.api = createClustererApi(this.engine);
    net.register(this.key, this);
    this.engine.start();
    this.engine.running = true;
  }

  get ephemeralKey(): string {
    return `${this.host}:${this.ephemeralPort}`;
  }

  deliver(bytes: Uint8Array, source: BinSource): void {
    const pkt = Bp.parse(bytes);
    const cb = this.cbs.get(pkt.capability);
    if (cb) cb(pkt, { packet: pkt, source });
  }

  peerEvent(ev: BinPeerEvent): void {
    if (this.up) this.engine.batch(() => this.engine.onPeerEvent(ev));
  }

  /** Simulates a crash: stops answering; peers' outbound connections to it close. */
  crash(): void {
    this.up = false;
    for (const other of this.net.nodes.values()) {
      if (other !== this && other.up) {
        other.peerEvent({ kind: "down", host: this.host, port: this.port, outbound: true, reason: "ECONNRESET" });
      }
    }
  }

  stat(name: string): number {
    return this.stats.get(name) ?? 0;
  }

  node(id: number, cluster = 1) {
    return this.engine.cluster(cluster)!.node(id)!;
  }
}

/** Node-info helpers: node N on 127.0.0.N? All on 127.0.0.1 with port 5600+N. */
export const url = (id: number): string => `bin:127.0.0.1:${5600 + id}`;
export const myInfo = (id: number, extra = ""): string => `cluster_id=1, url=${url(id)}${extra}`;
export const neigh = (id: number, extra = ""): string => `cluster_id=1, node_id=${id}, url=${url(id)}${extra}`;
export const tags = (...s: string[]) => s.map(parseSharingTag);

/** A full mesh of `n` nodes (each lists every other). */
export function mesh(net: FakeNet, ids: number[], opts: { seed?: number[]; timers?: Partial<Record<string, number>>; extra?: (id: number) => Partial<EngineConfig> } = {}): FakeNode[] {
  return ids.map((id) => net.add(id, {
    myNodeInfo: [myInfo(id, opts.seed?.includes(id) ? ", flags=seed" : "")],
    neighborNodeInfo: ids.filter((o) => o !== id).map((o) => neigh(o)),
    ...(opts.extra?.(id) ?? {}),
  }, opts.timers ?? {}));
}
