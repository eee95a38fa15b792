/**
 * The clusterer engine: clusters and nodes, the heartbeat timer, link transitions and their
 * actions (§7.4), topology updates (§5.3, §5.4, §5.7 builders), node events, and the
 * fast-failure probe. Socket-free: everything outside goes through `ClustererEnv`, so unit
 * tests drive it with a fake clock and a loopback BIN.
 */
import { type BinPacket, type BinReceiveCtx, type BinPeerEvent, type BinSendStatus, type BinSendTarget, type TsipsLogger, type JsonValue, TsipsError } from "tsips";
import {
  CLUSTERER_CURR_DISABLED, CLUSTERER_DEST_DOWN, CLUSTERER_SEND_ERR, CLUSTERER_SEND_SUCCESS,
  type ClusterEvent, type ClusterSendResult, type NodeMatchOp,
} from "./api.ts";
import { pingFailedLate, tickLink, type FsmTimers } from "./link-fsm.ts";
import {
  CapUpdate, FullTopUpdate, LsUpdate, Ping, Pong, type CapBlock, type TopEntry,
} from "./messages.ts";
import { parseMyNodeInfo, parseNeighborNodeInfo, type NodeInfoColumns, type ScriptNode, type ShtagParam } from "./node-info.ts";
import { heartbeatPeriod, type ClustererTimers } from "./params.ts";
import { appendTrailer, rawSend, sendDirect, sendRouted, sendToNeighbours } from "./send.ts";
import { ShtagStore } from "./shtags.ts";
import { LS, LINK_STATE_NAMES, ClusterRec, NodeRec, addHead, removeFrom, type LinkState, type LocalCap } from "./state.ts";
import { SyncManager } from "./sync.ts";
import { nextHop, updateReachability } from "./topology.ts";
import { Receiver } from "./receive.ts";
import { Healer } from "./heal.ts";

/** Everything the engine needs from the outside world. */
export interface ClustererEnv {
  bin: {
    send(packet: BinPacket | Uint8Array, host: string, port: number, to?: BinSendTarget): BinSendStatus;
    registerCb(capability: string, cb: (packet: BinPacket, ctx: BinReceiveCtx) => void): void;
  };
  log: TsipsLogger;
  /** Monotonic clock in ms (fractional). */
  now(): number;
  /** Unix time in seconds (update timestamps). */
  wallSeconds(): number;
  /** Repeating timer; returns a stop function. */
  every(ms: number, fn: () => void): () => void;
  /** Runs fn soon (after the current packet). */
  defer(fn: () => void): void;
  raiseEvent(name: string, params: Record<string, string | number>): void;
  /** Status/report of a capability's sync (sr.ts): status -3..1 and an optional report line. */
  capStatus?(capability: string, status: -3 | -2 | -1 | 1, report?: string): void;
  runMi(method: string, params: JsonValue[]): Promise<JsonValue>;
  /** Increments a tsips counter (no-op for unknown names). */
  stat(name: string, n?: number): void;
}

export interface EngineConfig {
  myNodeId: number;
  myNodeInfo: readonly string[];
  neighborNodeInfo: readonly string[];
  columns?: NodeInfoColumns;
  timers: ClustererTimers;
  sharingTags: readonly ShtagParam[];
  autoTakeover: boolean;
  /**
   * tsips: a PING from a node in RESTART_PINGING or RETRY_SEND_FAIL probes it at once, as
   * §7.4 does for DOWN (faster (re)joins). Default true; false = exactly OpenSIPS.
   */
  eagerProbe?: boolean;
  /**
   * tsips (`down_on_refused`): a connect to a node refused or reset (nothing listens at its
   * URL: its process is gone) sets the link Down at once instead of counting ping retries.
   * Default true; false = the retries run as OpenSIPS's state machine says.
   */
  downOnRefused?: boolean;
  /** tsips (`ping_on_silence`): rows 2 and 5 judge liveness from what is received. Default true. */
  recvLiveness?: boolean;
  /** tsips (`reprobe_down`): a Down node is re-probed every ping_interval, with backoff. Default true. */
  reprobeDown?: boolean;
  /** tsips (`heal_sync`): merge syncs when a link returns to Up after a failure. Default true. */
  healSync?: boolean;
  /** tsips (`cap_announce_interval`, ms): periodic re-announce of local capability states; 0 = off. */
  capAnnounceInterval?: number;
}

/** Socket errors that prove nothing listens at the node's URL any more. */
const GONE_ERRNOS: ReadonlySet<string> = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE"]);

/** Node-state change as the engine reports it (events, logs). */
export interface NodeStateChange {
  clusterId: number;
  nodeId: number;
  up: boolean;
}

export class Engine {
  readonly clusters = new Map<number, ClusterRec>();
  readonly myNodeId: number;
  readonly timers: ClustererTimers;
  readonly fsmTimers: FsmTimers;
  readonly env: ClustererEnv;
  readonly log: TsipsLogger;
  readonly shtags: ShtagStore;
  readonly sync: SyncManager;
  readonly receiver: Receiver;
  readonly healer: Healer;
  private readonly capAnnounceInterval: number;
  readonly autoTakeover: boolean;
  readonly eagerProbe: boolean;
  readonly downOnRefused: boolean;
  /** The core is running (seed fallback only then). */
  running = false;
  private depth = 0;
  private eventsDirty = new Set<ClusterRec>();
  private stops: (() => void)[] = [];
  private registeredCaps = new Set<string>();
  /** Listeners for node state changes (tests, bench, auto-takeover). */
  readonly nodeListeners: ((ch: NodeStateChange) => void)[] = [];

  constructor(cfg: EngineConfig, env: ClustererEnv) {
    this.env = env;
    this.log = env.log;
    this.timers = cfg.timers;
    this.fsmTimers = {
      pingInterval: cfg.timers.pingInterval, pingTimeout: cfg.timers.pingTimeout, nodeTimeout: cfg.timers.nodeTimeout,
      recvLiveness: cfg.recvLiveness ?? true, reprobeDown: cfg.reprobeDown ?? true,
    };
    this.capAnnounceInterval = cfg.capAnnounceInterval ?? 30_000;
    this.autoTakeover = cfg.autoTakeover;
    this.eagerProbe = cfg.eagerProbe ?? true;
    this.downOnRefused = cfg.downOnRefused ?? true;
    let myId: number | undefined = cfg.myNodeId >= 1 ? cfg.myNodeId : undefined;
    const mine: ScriptNode[] = [];
    for (const s of cfg.myNodeInfo) {
      const n = parseMyNodeInfo(s, myId, cfg.columns);
      myId ??= n.nodeId;
      if (this.clusters.has(n.clusterId) || mine.some((m) => m.clusterId === n.clusterId)) {
        throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `my_node_info given twice for cluster ${n.clusterId}`);
      }
      mine.push(n);
    }
    if (myId === undefined || myId < 1) {
      throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", "my_node_id must be set (> 0), or given as node_id in my_node_info");
    }
    this.myNodeId = myId;
    for (const m of mine) {
      this.clusters.set(m.clusterId, new ClusterRec(m.clusterId, {
        nodeId: myId, url: m.url, sipAddr: m.sipAddr, priority: m.priority, noPingRetries: m.noPingRetries, seed: m.seed,
        enabled: true, description: m.description, neighbours: [],
      }));
    }
    for (const s of cfg.neighborNodeInfo) {
      const n = parseNeighborNodeInfo(s, cfg.columns);
      const c = this.clusters.get(n.clusterId);
      if (!c) throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `neighbor_node_info "${s}": cluster ${n.clusterId} has no my_node_info`);
      if (n.nodeId === myId) throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `neighbor_node_info "${s}": node_id ${n.nodeId} is this node`);
      if (c.node(n.nodeId)) throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `neighbor_node_info "${s}": node ${n.nodeId} defined twice`);
      if (c.nodes.length >= 128) throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `cluster ${n.clusterId}: more than 128 nodes`);
      c.addNode(new NodeRec({
        nodeId: n.nodeId, url: n.url, sipAddr: n.sipAddr, priority: n.priority, noPingRetries: n.noPingRetries, seed: n.seed,
        description: n.description,
      }));
    }
    this.shtags = new ShtagStore(this, cfg.sharingTags);
    this.sync = new SyncManager(this);
    this.receiver = new Receiver(this);
    this.healer = new Healer(this, cfg.healSync ?? true);
  }

  // ── lifecycle ────────────────────────────────────────────────────────

  /** Registers the BIN callbacks and starts the timers. */
  start(): void {
    this.env.bin.registerCb("clusterer-internal", (pkt, ctx) => this.batch(() => this.receiver.onInternal(pkt, ctx.source)));
    this.env.bin.registerCb("clusterer-extra", (pkt, ctx) => this.batch(() => this.receiver.onExtra(pkt, ctx.source)));
    const period = heartbeatPeriod(this.timers);
    this.stops.push(this.env.every(period, () => this.batch(() => this.heartbeat())));
    this.stops.push(this.env.every(500, () => this.batch(() => this.sync.checkTimer())));
    if (this.capAnnounceInterval > 0) this.stops.push(this.env.every(this.capAnnounceInterval, () => this.batch(() => this.healer.announceCaps())));
  }

  stop(): void {
    for (const s of this.stops) s();
    this.stops = [];
    this.running = false;
  }

  /**
   * Runs `fn` and then the node events it caused (§6 step 8, `do_actions_node_ev`), once
   * the outermost call returns.
   */
  batch<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      if (this.depth === 0) this.flushEvents();
    }
  }

  stat(name: string, n = 1): void {
    this.env.stat(name, n);
  }

  cluster(id: number): ClusterRec | undefined {
    return this.clusters.get(id);
  }

  // ── heartbeat (§7.2, §7.3) ──────────────────────────────────────────

  heartbeat(): void {
    const now = this.env.now();
    for (const c of this.clusters.values()) {
      if (!c.self.enabled) continue;
      for (const n of [...c.nodes]) {
        if (!n.enabled) continue;
        this.tickNode(c, n, now);
      }
    }
  }

  /** Applies one tick row to one node and the link-down actions when it left Up. */
  tickNode(c: ClusterRec, n: NodeRec, now = this.env.now()): void {
    const out = tickLink(n, now, this.fsmTimers, (node, req) => this.sendPing(c, node, req));
    if (!out) return;
    if (out.from !== out.to) {
      this.log.debug({ cluster: c.clusterId, node: n.nodeId, row: out.row }, `link with node ${n.nodeId}: ${LINK_STATE_NAMES[out.from]} -> ${LINK_STATE_NAMES[out.to]} (row ${out.row})`);
      if (out.from === LS.UP) this.linkLeftUp(c, n, true);
      if (out.to === LS.DOWN) this.linkIsDown(c, n, `no pong after ${n.noPingRetries} retries`);
      this.markDirty(c);
    }
  }

  /** PING to a node's URL; the FSM records the outcome. */
  sendPing(c: ClusterRec, n: NodeRec, req: 0 | 1): boolean {
    this.stat("pings_sent");
    return rawSend(this, n, Ping.encode({ cluster_id: c.clusterId, src_node_id: this.myNodeId, req_node_list: req }).bytes());
  }

  // ── link transitions (§7.4) ─────────────────────────────────────────

  /**
   * Sets a link state from outside the timer. Leaving Up does the link-down actions; with
   * `advertise` the remaining neighbours get LS_UPDATE(DOWN) (`set_link_w_neigh_adv`).
   */
  setLink(c: ClusterRec, n: NodeRec, state: LinkState, advertise = true): void {
    const from = n.linkState;
    if (from === state) return;
    n.linkState = state;
    n.pendingPing = undefined;
    if (from === LS.UP) this.linkLeftUp(c, n, advertise);
    this.markDirty(c);
  }

  /** Send failure to a node (§7.5): RESTART_PINGING, with the link-down actions if it was Up. */
  sendFailed(c: ClusterRec, n: NodeRec): void {
    if (n.linkState === LS.RESTART_PINGING) return;
    this.setLink(c, n, LS.RESTART_PINGING, true);
  }

  /** (Re)start probing a node (`LS_RESTART_PINGING`). */
  restartPinging(c: ClusterRec, n: NodeRec): void {
    this.setLink(c, n, LS.RESTART_PINGING, true);
  }

  /** The link reached DOWN (`clusterer_list` shows "Down"): one log line, `event: "link-down"`. */
  linkIsDown(c: ClusterRec, n: NodeRec, why: string): void {
    this.log.info({ cluster: c.clusterId, node: n.nodeId, event: "link-down", reason: why }, `link with node ${n.nodeId} is Down: ${why}`);
  }

  private linkLeftUp(c: ClusterRec, n: NodeRec, advertise: boolean): void {
    if (removeFrom(c.self.neighbours, n.nodeId)) c.topVersion++;
    this.log.info({ cluster: c.clusterId, node: n.nodeId }, `link with node ${n.nodeId} is no longer Up`);
    if (advertise) this.sendLsUpdate(c, n.nodeId, LS.DOWN);
    this.healer.onLinkLeftUp(c, n);
    this.markDirty(c);
  }

  /**
   * `set_link_w_neigh_up`: the pong brought the link Up. Add the neighbour, then
   * LS_UPDATE(UP) to the other neighbours, FULL_TOP_UPDATE and a full CAP_UPDATE (reply
   * required) to the node.
   */
  linkCameUp(c: ClusterRec, n: NodeRec, pongList: readonly number[]): void {
    if (addHead(c.self.neighbours, n.nodeId)) c.topVersion++;
    this.log.info({ cluster: c.clusterId, node: n.nodeId }, `link with node ${n.nodeId} is Up`);
    this.sendLsUpdate(c, n.nodeId, LS.UP);
    if (n.linkState === LS.UP) this.sendFullTopUpdate(c, n, pongList);
    if (n.linkState === LS.UP) this.sendFullCapUpdate(c, n, 1);
    if (n.linkState === LS.UP) this.healer.onLinkUp(c, n);
    this.markDirty(c);
  }

  // ── updates ──────────────────────────────────────────────────────────

  /** LS_UPDATE about `aboutId` to every Up neighbour except it; nothing (and no seq) if none. */
  sendLsUpdate(c: ClusterRec, aboutId: number, state: 0 | 1): void {
    const targets = c.self.neighbours.filter((id) => id !== aboutId);
    if (targets.length === 0) return;
    const pkt = LsUpdate.encode({
      cluster_id: c.clusterId, src_node_id: this.myNodeId, seq_no: ++c.lsSeq, timestamp: this.env.wallSeconds(),
      neighbour_node_id: aboutId, new_link_state: state, path: [this.myNodeId],
    });
    sendToNeighbours(this, c, pkt, targets);
  }

  /** FULL_TOP_UPDATE to a neighbour whose link just came Up (§5.4). */
  sendFullTopUpdate(c: ClusterRec, dest: NodeRec, pongList: readonly number[]): void {
    const entries: TopEntry[] = [{
      node_id: this.myNodeId, description: null, ls_seq_no: c.lsSeq, ls_timestamp: 0, neighbours: [...c.self.neighbours],
    }];
    for (const n of c.nodes) {
      if (n === dest) continue;
      entries.push({
        node_id: n.nodeId,
        description: pongList.includes(n.nodeId) ? null
          : { url: n.url.text, sip_addr: n.sipAddr, priority: n.priority, no_ping_retries: n.noPingRetries },
        ls_seq_no: n.ls.seq, ls_timestamp: n.ls.ts, neighbours: [...n.adjacency],
      });
    }
    const pkt = FullTopUpdate.encode({
      cluster_id: c.clusterId, src_node_id: this.myNodeId, seq_no: ++c.topSeq, timestamp: this.env.wallSeconds(),
      nodes: entries, path: [this.myNodeId],
    });
    sendDirect(this, c, dest, pkt.bytes());
  }

  /** Full CAP_UPDATE to one neighbour (`send_cap_update`); nothing when there is nothing to report. */
  sendFullCapUpdate(c: ClusterRec, dest: NodeRec, requireReply: 0 | 1): void {
    const blocks: CapBlock[] = [];
    if (c.caps.length > 0) blocks.push({ node_id: this.myNodeId, caps: c.caps.map((cap) => ({ name: cap.name, state: cap.ok ? 1 : 0 })) });
    for (const n of c.nodes) {
      if (n === dest || n.caps.length === 0) continue;
      blocks.push({ node_id: n.nodeId, caps: n.caps.map((cap) => ({ name: cap.name, state: cap.ok ? 1 : 0 })) });
    }
    if (blocks.length === 0) return;
    const pkt = CapUpdate.encode({
      cluster_id: c.clusterId, src_node_id: this.myNodeId, seq_no: ++c.capSeq, timestamp: this.env.wallSeconds(),
      nodes: blocks, require_reply: requireReply, path: [this.myNodeId],
    });
    sendDirect(this, c, dest, pkt.bytes());
  }

  /** Single CAP_UPDATE about one local capability to every Up neighbour (`send_single_cap_update`). */
  sendSingleCapUpdate(c: ClusterRec, cap: LocalCap, state: 0 | 1): void {
    const targets = [...c.self.neighbours];
    if (targets.length === 0) return;
    const pkt = CapUpdate.encode({
      cluster_id: c.clusterId, src_node_id: this.myNodeId, seq_no: ++c.capSeq, timestamp: this.env.wallSeconds(),
      nodes: [{ node_id: this.myNodeId, caps: [{ name: cap.name, state }] }], require_reply: 0, path: [this.myNodeId],
    });
    sendToNeighbours(this, c, pkt, targets);
  }

  // ── routed sends (clusterer-extra and module packets) ───────────────

  /**
   * `clusterer_send_msg` for a packet whose trailer is in place: checks the local node and
   * the destination, then routes (§8.3). A disabled destination counts as success.
   */
  sendMsg(c: ClusterRec, bytes: Uint8Array, destId: number): ClusterSendResult {
    if (!c.self.enabled) return CLUSTERER_CURR_DISABLED;
    const dest = c.node(destId);
    if (!dest) return CLUSTERER_SEND_ERR;
    if (!dest.enabled) return CLUSTERER_SEND_SUCCESS;
    return sendRouted(this, c, bytes, dest);
  }

  /** Builds the trailer on `pkt` (cluster, self, dest), sends, removes it again. */
  sendWithTrailer(c: ClusterRec, pkt: BinPacket, destId: number): ClusterSendResult {
    if (!c.self.enabled) return CLUSTERER_CURR_DISABLED;
    appendTrailer(pkt, c.clusterId, this.myNodeId, destId);
    try {
      return this.sendMsg(c, pkt.bytes(), destId);
    } finally {
      pkt.removeIntBufferEnd(3);
    }
  }

  /**
   * `send_all` / `send_all_having`: one copy per enabled node matching `filter`, the trailer
   * destination patched per node.
   */
  broadcast(c: ClusterRec, pkt: BinPacket, filter: (n: NodeRec) => boolean): ClusterSendResult {
    if (!c.self.enabled) return CLUSTERER_CURR_DISABLED;
    appendTrailer(pkt, c.clusterId, this.myNodeId, -1);
    try {
      let matched = 0;
      let down = 0;
      let sent = 0;
      for (const n of [...c.nodes]) {
        if (!n.enabled || !filter(n)) continue;
        matched++;
        const rc = sendRouted(this, c, pkt.bytes(), n);
        if (rc === CLUSTERER_SEND_SUCCESS) sent++;
        else if (rc === CLUSTERER_DEST_DOWN) down++;
      }
      if (matched === 0 || sent > 0) return CLUSTERER_SEND_SUCCESS;
      if (down === matched) return CLUSTERER_DEST_DOWN;
      return CLUSTERER_SEND_ERR;
    } finally {
      pkt.removeIntBufferEnd(3);
    }
  }

  matchNode(c: ClusterRec, n: NodeRec, op: NodeMatchOp): boolean {
    if (op === "eq_sip_addr") return n.sipAddr === c.self.sipAddr;
    if (op === "neq_sip_addr") return n.sipAddr !== c.self.sipAddr;
    return true;
  }

  reachable(c: ClusterRec, n: NodeRec): boolean {
    return n.enabled && c.self.enabled && nextHop(c, n, this.timers.enableRerouting) > 0;
  }

  // ── node events (§7.4) ──────────────────────────────────────────────

  markDirty(c: ClusterRec): void {
    this.eventsDirty.add(c);
  }

  private flushing = false;

  private flushEvents(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let guard = 0; this.eventsDirty.size > 0 && guard < 64; guard++) {
        const dirty = [...this.eventsDirty];
        this.eventsDirty.clear();
        for (const c of dirty) {
          const { up, down } = updateReachability(c, this.timers.enableRerouting);
          this.depth++;
          try {
            for (const n of up) this.nodeUp(c, n);
            for (const n of down) this.nodeDown(c, n);
          } finally {
            this.depth--;
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private nodeUp(c: ClusterRec, n: NodeRec): void {
    this.log.notice({ cluster: c.clusterId, node: n.nodeId, event: "node-up" }, `node ${n.nodeId} (cluster ${c.clusterId}) is up`);
    this.stat("node_up_events");
    this.sync.onNodeUp(c, n);
    this.capEvents(c, { kind: "node-up", nodeId: n.nodeId });
    this.env.raiseEvent("E_CLUSTERER_NODE_STATE_CHANGED", { cluster_id: c.clusterId, node_id: n.nodeId, new_state: 1 });
    this.shtags.flush(c, n);
    this.shtags.onNodeBack(c, n);
    n.upAt = this.env.now();
    if (n.wasReachable) n.backAt = n.upAt;
    n.wasReachable = true;
    for (const l of this.nodeListeners) l({ clusterId: c.clusterId, nodeId: n.nodeId, up: true });
  }

  private nodeDown(c: ClusterRec, n: NodeRec): void {
    this.log.notice({ cluster: c.clusterId, node: n.nodeId, event: "node-down" }, `node ${n.nodeId} (cluster ${c.clusterId}) is down`);
    this.stat("node_down_events");
    this.capEvents(c, { kind: "node-down", nodeId: n.nodeId });
    this.env.raiseEvent("E_CLUSTERER_NODE_STATE_CHANGED", { cluster_id: c.clusterId, node_id: n.nodeId, new_state: 0 });
    this.sync.onNodeDown(c, n);
    this.shtags.onNodeDown(c, n);
    for (const l of this.nodeListeners) l({ clusterId: c.clusterId, nodeId: n.nodeId, up: false });
  }

  capEvents(c: ClusterRec, ev: ClusterEvent): void {
    for (const cap of [...c.caps]) this.callEvent(cap, ev);
  }

  callEvent(cap: LocalCap, ev: ClusterEvent): void | Promise<void> {
    const cb = cap.reg.onEvent;
    if (!cb) return;
    try {
      const r = cb.call(cap.reg, ev) as unknown;
      if (r instanceof Promise) {
        return r.catch((err: unknown) => this.log.error({ err, capability: cap.name }, `event callback of ${cap.name} failed`));
      }
    } catch (err) {
      this.log.error({ err, capability: cap.name, event: ev.kind }, `event callback of ${cap.name} threw`);
    }
  }

  // ── fast failure detection (tsips) ───────────────────────────────────

  /**
   * A BIN connection to a peer closed or could not be opened. A refused connect fails the
   * ping that opened it (the failure branch of its tick row, §7.3/§7.5). A closed
   * connection of an Up link is probed at once with a PING instead of waiting for the next
   * periodic one; if that ping cannot be delivered, the row-5 failure rule applies.
   */
  onPeerEvent(ev: BinPeerEvent): void {
    if (ev.kind === "up") return;
    const host = normalizeHost(ev.host);
    for (const c of this.clusters.values()) {
      if (!c.self.enabled) continue;
      for (const n of c.nodes) {
        if (!n.enabled) continue;
        const sameHost = normalizeHost(n.url.host) === host;
        const match = ev.outbound ? sameHost && n.url.port === ev.port : false;
        if (!match) continue;
        this.stat("peer_events");
        const gone = this.downOnRefused && ev.errno !== undefined && GONE_ERRNOS.has(ev.errno);
        // A reset of the connection that carries a ping in flight fails that ping: a dying
        // process's listener may still accept the probe's connect, then resets it.
        if (gone && (ev.kind === "connect-failed" || n.pendingPing !== undefined)) {
          this.peerGone(c, n, ev.errno!);
        } else if (ev.kind === "connect-failed") {
          const from = pingFailedLate(n);
          if (from !== undefined) {
            this.log.info({ cluster: c.clusterId, node: n.nodeId, reason: ev.reason }, `ping to node ${n.nodeId} failed: connect refused`);
            if (from === LS.UP) this.linkLeftUp(c, n, true);
            if (n.linkState === LS.DOWN) this.linkIsDown(c, n, `ping failed (${ev.reason ?? "connect failed"})`);
            this.markDirty(c);
          } else if (n.linkState === LS.UP) {
            // something else we sent was lost with the connection
            this.probe(c, n, ev.reason);
          }
        } else if (n.linkState === LS.UP) {
          this.probe(c, n, ev.reason);
        }
      }
    }
  }

  /**
   * A connect to the node was refused or reset, or the connection carrying a ping in flight
   * was reset: nothing listens at its URL, so no ping can
   * be answered — the link goes Down now (with the link-down actions if it was Up) rather
   * than after `no_ping_retries` × `ping_timeout`. A restarted node is found again by its
   * own PING (§7.4) or by the Down re-probe.
   */
  private peerGone(c: ClusterRec, n: NodeRec, errno: string): void {
    const from = n.linkState;
    n.pendingPing = undefined;
    n.lastPingOk = false;
    if (from === LS.DOWN) return;
    n.linkState = LS.DOWN;
    n.retryCounter = 0;
    this.stat("fast_downs");
    if (from === LS.UP) this.linkLeftUp(c, n, true);
    this.linkIsDown(c, n, `connect refused (${errno}): nothing listens at ${n.url.text}`);
    this.markDirty(c);
  }

  /** Immediate probing ping on an Up link (kept Up until the ping is known to have failed). */
  private probe(c: ClusterRec, n: NodeRec, reason: string | undefined): void {
    const now = this.env.now();
    // One probe per ping_timeout: a peer that accepts and resets every connection must not
    // turn each close into another connect (a reconnect storm); the probe in flight decides.
    if (n.pendingPing && now - n.lastFastProbe < this.fsmTimers.pingTimeout) return;
    n.lastFastProbe = now;
    this.log.info({ cluster: c.clusterId, node: n.nodeId, reason }, `connection to node ${n.nodeId} lost, probing it now`);
    this.stat("fast_probes");
    const sent = this.sendPing(c, n, 1);
    n.lastPing = now;
    n.lastPingOk = sent;
    const retries = n.noPingRetries;
    const fail = retries === 0 ? { state: LS.DOWN as LinkState, counter: n.retryCounter } : { state: LS.RETRY_SEND_FAIL as LinkState, counter: retries };
    if (sent) {
      n.pendingPing = { expectState: LS.UP, failState: fail.state, failCounter: fail.counter };
    } else {
      n.linkState = fail.state;
      n.retryCounter = fail.counter;
      this.linkLeftUp(c, n, true);
      if (n.linkState === LS.DOWN) this.linkIsDown(c, n, "probe could not be sent");
    }
  }

  // ── administration (MI, REMOVE_NODE) ────────────────────────────────

  /**
   * `clusterer_set_status`: a remote node disabled goes DOWN (LS_UPDATE if it was Up),
   * enabled restarts probing; the local node disabled drops every link without LS_UPDATE.
   */
  setNodeStatus(c: ClusterRec, nodeId: number | undefined, enabled: boolean): void {
    if (nodeId === undefined || nodeId === this.myNodeId) {
      c.self.enabled = enabled;
      for (const n of c.nodes) this.setLink(c, n, enabled ? LS.RESTART_PINGING : LS.DOWN, false);
      this.log.notice({ cluster: c.clusterId }, `local node ${enabled ? "enabled" : "disabled"} in cluster ${c.clusterId}`);
      this.markDirty(c);
      return;
    }
    const n = c.node(nodeId);
    if (!n) return;
    n.enabled = enabled;
    this.setLink(c, n, enabled ? LS.RESTART_PINGING : LS.DOWN, true);
    this.markDirty(c);
  }

  /** REMOVE_NODE / `clusterer_remove_node`: links dropped without any LS_UPDATE (§5.8). */
  removeNodeLocal(c: ClusterRec, target: number): void {
    if (target === this.myNodeId) {
      this.log.notice({ cluster: c.clusterId }, `this node was removed from cluster ${c.clusterId}: disabling it`);
      this.setNodeStatus(c, undefined, false);
      return;
    }
    const n = c.node(target);
    if (!n) return;
    this.setLink(c, n, LS.DOWN, false);
    c.removeNode(target);
    this.log.notice({ cluster: c.clusterId, node: target }, `node ${target} removed from cluster ${c.clusterId}`);
    if (n.reachable) {
      n.reachable = false;
      this.depth++;
      try {
        this.nodeDown(c, n);
      } finally {
        this.depth--;
      }
    }
    this.markDirty(c);
  }

  // ── PONG (used by receive.ts) ───────────────────────────────────────

  /** PONG to a pinger's URL; the list is every node of ours except the pinger when asked. */
  sendPong(c: ClusterRec, to: NodeRec, withList: boolean): boolean {
    const list = withList ? c.nodes.filter((n) => n !== to).map((n) => n.nodeId) : [];
    return rawSend(this, to, Pong.encode({ cluster_id: c.clusterId, src_node_id: this.myNodeId, node_list: list }).bytes());
  }

  /** Registers the BIN callback of a module capability once per name. */
  ensureCapCallback(name: string): void {
    if (this.registeredCaps.has(name)) return;
    this.registeredCaps.add(name);
    this.env.bin.registerCb(name, (pkt, ctx) => this.batch(() => this.receiver.onModule(pkt, ctx.source)));
  }
}

/** Compares IPv4 addresses written as IPv4-mapped IPv6 too. */
export function normalizeHost(h: string): string {
  const l = h.toLowerCase();
  return l.startsWith("::ffff:") && l.includes(".") ? l.slice(7) : l;
}
