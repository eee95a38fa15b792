/**
 * The receive pipeline (clusterer.md §6) and the handlers of every message type
 * (§5.1–§5.14). Drops are logged at debug level and counted by reason
 * (`clusterer:dropped_*` statistics).
 */
import type { BinPacket, BinSource } from "tsips";
import { normalizeHost, type Engine } from "./engine.ts";
import { onPong } from "./link-fsm.ts";
import {
  CapUpdate, FullTopUpdate, GenericMsg, LsUpdate, MiCmd, MsgType, NodeDescriptionMsg, Ping, Pong, RemoveNode,
  ShtagActive, SyncReq, UnknownId, CAP_INTERNAL,
} from "./messages.ts";
import { parseNodeUrl } from "./node-info.ts";
import { flood, peekTrailer, rawSend, sendRouted } from "./send.ts";
import { LS, NodeRec, acceptUpdate, addHead, removeFrom, type ClusterRec } from "./state.ts";

type Drop =
  | "self" | "unknown_cluster" | "local_disabled" | "unknown_node" | "bad_ip" | "bad_identity" | "node_disabled" | "cap_disabled"
  | "malformed" | "stale" | "no_rerouting" | "bad_version" | "unknown_type";

export class Receiver {
  constructor(private readonly e: Engine) {}

  private drop(reason: Drop, info: Record<string, unknown>): void {
    this.e.stat(`dropped_${reason}`);
    this.e.log.debug({ ...info, reason }, `clusterer packet dropped: ${reason}`);
  }

  /** Source IP check (§6 step 5): the peer IP equals the node's, or any node's of the cluster. */
  private ipOk(c: ClusterRec, n: NodeRec, source: BinSource): boolean {
    const ip = normalizeHost(source.host);
    if (normalizeHost(n.url.host) === ip) return true;
    if (normalizeHost(c.self.url.host) === ip) return true;
    for (const o of c.nodes) if (normalizeHost(o.url.host) === ip) return true;
    return false;
  }

  /** tsips: the transport's certificate check (proto_bins node_identity); true when there is none. */
  private identityOk(source: BinSource, nodeId: number, relayed: boolean): boolean {
    return source.verifyNode === undefined || source.verifyNode(nodeId, relayed);
  }

  // ── clusterer-internal (`bin_rcv_cl_packets`) ───────────────────────

  onInternal(pkt: BinPacket, source: BinSource): void {
    const e = this.e;
    let clusterId: number;
    let srcId: number;
    try {
      clusterId = pkt.popInt();
      srcId = pkt.popInt();
    } catch {
      return this.drop("malformed", { capability: CAP_INTERNAL, type: pkt.type });
    }
    pkt.position = pkt.bodyStart;
    const info = { cluster: clusterId, src: srcId, type: pkt.type };
    if (srcId === e.myNodeId) {
      e.log.error(info, "received a clusterer packet with this node's own id as source");
      return this.drop("self", info);
    }
    const c = e.cluster(clusterId);
    if (!c) return this.drop("unknown_cluster", info);
    if (!c.self.enabled) return this.drop("local_disabled", info);
    const n = c.node(srcId);
    try {
      if (!n) {
        if (pkt.type === MsgType.PING) {
          if (!this.identityOk(source, srcId, false)) return this.drop("bad_identity", info);
          return this.pingFromUnknown(c, srcId, source);
        }
        if (pkt.type === MsgType.NODE_DESCRIPTION) return this.nodeDescription(c, pkt);
        return this.drop("unknown_node", info);
      }
      if (!this.ipOk(c, n, source)) return this.drop("bad_ip", { ...info, ip: source.host });
      // pings, pongs and UNKNOWN_ID come from the sender itself; updates may be flooded copies
      const direct = pkt.type === MsgType.PING || pkt.type === MsgType.PONG || pkt.type === MsgType.UNKNOWN_ID;
      if (!this.identityOk(source, srcId, !direct)) return this.drop("bad_identity", info);
      if (pkt.type !== MsgType.PONG) n.lastRecv = e.env.now();
      if (!n.enabled) return this.drop("node_disabled", info);
      switch (pkt.type) {
        case MsgType.PING: return this.ping(c, n, pkt);
        case MsgType.PONG: return this.pong(c, n, pkt);
        case MsgType.LS_UPDATE: return this.lsUpdate(c, n, pkt);
        case MsgType.FULL_TOP_UPDATE: return this.fullTop(c, n, pkt);
        case MsgType.UNKNOWN_ID: return this.unknownId(c, n);
        case MsgType.NODE_DESCRIPTION: return; // known source: ignored, not flooded
        case MsgType.CAP_UPDATE: return this.capUpdate(c, n, pkt);
        default:
          e.log.warn(info, `unknown clusterer-internal packet type ${pkt.type}`);
          return this.drop("unknown_type", info);
      }
    } catch (err) {
      e.log.warn({ ...info, err }, "malformed clusterer-internal packet dropped");
      return this.drop("malformed", info);
    }
  }

  private pingFromUnknown(c: ClusterRec, srcId: number, source: BinSource): void {
    // db_mode 0: answer on the connection the ping came from (its source address)
    const reply = UnknownId.encode({ cluster_id: c.clusterId, src_node_id: this.e.myNodeId });
    this.e.log.info({ cluster: c.clusterId, node: srcId }, `ping from unknown node ${srcId}: answering UNKNOWN_ID`);
    this.e.stat("unknown_id_sent");
    try {
      this.e.env.bin.send(reply.bytes(), source.host, source.port, { proto: source.proto });
    } catch (err) {
      this.e.log.warn({ err }, "failed to send UNKNOWN_ID");
    }
  }

  private ping(c: ClusterRec, n: NodeRec, pkt: BinPacket): void {
    const v = Ping.popFields(pkt, pkt.version);
    const sent = this.e.sendPong(c, n, v.req_node_list !== 0);
    if (!sent) {
      this.e.stat("send_failures");
      if (n.linkState === LS.UP || n.linkState === LS.DOWN) this.e.restartPinging(c, n);
      return;
    }
    // A ping from a node we are not probing right now: probe it at once (§7.4 does this
    // for DOWN; tsips also for RESTART_PINGING and RETRY_SEND_FAIL, which only waits).
    if (n.linkState === LS.DOWN || (this.e.eagerProbe && (n.linkState === LS.RESTART_PINGING || n.linkState === LS.RETRY_SEND_FAIL))) {
      n.linkState = LS.RESTART_PINGING;
      this.e.tickNode(c, n);
    }
  }

  private pong(c: ClusterRec, n: NodeRec, pkt: BinPacket): void {
    const v = Pong.popFields(pkt, pkt.version);
    if (v.node_list.length > 128) throw new Error(`PONG with ${v.node_list.length} nodes`);
    if (onPong(n, this.e.env.now(), this.e.timers.pingTimeout)) this.e.linkCameUp(c, n, v.node_list);
  }

  private lsUpdate(c: ClusterRec, src: NodeRec, pkt: BinPacket): void {
    const v = LsUpdate.popFields(pkt, pkt.version);
    if (!acceptUpdate(src.ls, v.seq_no, v.timestamp)) return this.drop("stale", { kind: "LS_UPDATE", src: src.nodeId, seq: v.seq_no });
    if (v.neighbour_node_id === this.e.myNodeId) {
      if ((v.new_link_state !== 1 && src.linkState === LS.DOWN) || (v.new_link_state === 1 && src.linkState === LS.UP)) {
        this.e.restartPinging(c, src);
      }
    } else {
      const about = c.node(v.neighbour_node_id);
      if (!about) return this.drop("unknown_node", { kind: "LS_UPDATE", about: v.neighbour_node_id });
      const changed = v.new_link_state === 1 ? removeFrom(src.adjacency, about.nodeId) : addHead(src.adjacency, about.nodeId);
      if (changed) c.topVersion++;
      this.e.markDirty(c);
    }
    flood(this.e, c, pkt.bytes(), v.path, false);
  }

  private fullTop(c: ClusterRec, src: NodeRec, pkt: BinPacket): void {
    const e = this.e;
    const v = FullTopUpdate.popFields(pkt, pkt.version);
    if (!acceptUpdate(src.top, v.seq_no, v.timestamp)) return this.drop("stale", { kind: "FULL_TOP_UPDATE", src: src.nodeId, seq: v.seq_no });
    const byId = new Map(v.nodes.map((en) => [en.node_id, en]));
    const ensure = (id: number): NodeRec | undefined => {
      let n = c.node(id);
      if (n) return n;
      const desc = byId.get(id)?.description;
      if (!desc) return undefined;
      n = this.addDiscovered(c, id, desc.url, desc.sip_addr, desc.priority, desc.no_ping_retries);
      return n;
    };
    v.nodes.forEach((en, i) => {
      if (en.node_id === e.myNodeId) return;
      const x = ensure(en.node_id);
      if (!x) {
        e.log.warn({ cluster: c.clusterId, node: en.node_id }, `FULL_TOP_UPDATE mentions unknown node ${en.node_id} without a description`);
        return;
      }
      if (i > 0) {
        if (!acceptUpdate(x.ls, en.ls_seq_no, en.ls_timestamp)) return;
      } else {
        x.ls.seq = en.ls_seq_no;
        x.ls.ts = en.ls_timestamp;
      }
      const listed = new Set<number>();
      for (const y of en.neighbours) {
        if (y === e.myNodeId) {
          if (x.linkState === LS.DOWN && x.enabled) e.restartPinging(c, x);
          continue;
        }
        const yn = ensure(y);
        if (!yn) continue;
        listed.add(y);
        if (addHead(x.adjacency, y)) c.topVersion++;
      }
      for (const other of c.nodes) {
        if (other === x || other.nodeId === v.src_node_id || listed.has(other.nodeId)) continue;
        if (removeFrom(x.adjacency, other.nodeId)) c.topVersion++;
      }
    });
    e.markDirty(c);
    flood(e, c, pkt.bytes(), v.path, false);
  }

  private unknownId(c: ClusterRec, n: NodeRec): void {
    const self = c.self;
    const pkt = NodeDescriptionMsg.encode({
      cluster_id: c.clusterId, src_node_id: this.e.myNodeId, url: self.url.text, sip_addr: self.sipAddr,
      priority: self.priority, no_ping_retries: self.noPingRetries, path: [this.e.myNodeId],
    });
    this.e.log.info({ cluster: c.clusterId, node: n.nodeId }, `node ${n.nodeId} does not know us: sending our description`);
    rawSend(this.e, n, pkt.bytes());
    this.e.restartPinging(c, n);
  }

  /** NODE_DESCRIPTION from an unknown source (db_mode 0): add the node and flood. */
  private nodeDescription(c: ClusterRec, pkt: BinPacket): void {
    const v = NodeDescriptionMsg.popFields(pkt, pkt.version);
    if (c.node(v.src_node_id)) return;
    if (!this.addDiscovered(c, v.src_node_id, v.url, v.sip_addr, v.priority, v.no_ping_retries)) return;
    this.e.markDirty(c);
    flood(this.e, c, pkt.bytes(), v.path, false);
  }

  /** Adds a node learned from the network: enabled, RESTART_PINGING, no flags (§5.6). */
  addDiscovered(c: ClusterRec, id: number, url: string, sipAddr: string, priority: number, retries: number): NodeRec | undefined {
    if (id < 1 || id === this.e.myNodeId) return undefined;
    if (c.nodes.length >= 128) {
      this.e.log.warn({ cluster: c.clusterId, node: id }, "cannot add node: 128 nodes already");
      return undefined;
    }
    let parsed;
    try {
      parsed = parseNodeUrl(url);
    } catch (err) {
      this.e.log.warn({ cluster: c.clusterId, node: id, url, err }, `bad URL for discovered node ${id}`);
      return undefined;
    }
    const n = new NodeRec({ nodeId: id, url: parsed, sipAddr, priority, noPingRetries: retries });
    c.addNode(n);
    this.e.log.notice({ cluster: c.clusterId, node: id, url }, `discovered node ${id} at ${url}`);
    this.e.stat("nodes_discovered");
    return n;
  }

  private capUpdate(c: ClusterRec, src: NodeRec, pkt: BinPacket): void {
    const e = this.e;
    const v = CapUpdate.popFields(pkt, pkt.version);
    if (!acceptUpdate(src.cap, v.seq_no, v.timestamp)) return this.drop("stale", { kind: "CAP_UPDATE", src: src.nodeId, seq: v.seq_no });
    const nowOk: { node: NodeRec; cap: string }[] = [];
    for (const b of v.nodes) {
      if (b.node_id === e.myNodeId) continue;
      const n = c.node(b.node_id);
      if (!n) {
        e.log.warn({ cluster: c.clusterId, node: b.node_id }, `CAP_UPDATE about unknown node ${b.node_id}: not processed further`);
        return;
      }
      for (const cap of b.caps) {
        let rc = n.findCap(cap.name);
        if (!rc) {
          rc = { name: cap.name, ok: false, syncPending: false };
          n.caps.unshift(rc);
        }
        if (cap.state === 1) {
          rc.ok = true;
          nowOk.push({ node: n, cap: cap.name });
        } else if (cap.state === 0) rc.ok = false;
        else e.log.warn({ node: n.nodeId, capability: cap.name, state: cap.state }, "bad capability state in CAP_UPDATE");
      }
    }
    for (const { node, cap } of nowOk) e.sync.capabilityOk(c, node, cap);
    if (v.nodes.some((b) => b.node_id === src.nodeId)) e.healer.onOwnCapUpdate(c, src);
    if (v.require_reply === 1) e.sendFullCapUpdate(c, src, 0);
    flood(e, c, pkt.bytes(), v.path, true);
  }

  // ── clusterer-extra (`bin_rcv_cl_extra_packets`) ─────────────────────

  /** Common checks of extra and module packets (§6); returns the cluster and source node. */
  private trailerChecks(pkt: BinPacket, source: BinSource, moduleCap: boolean):
    { c: ClusterRec; n: NodeRec; dst: number } | undefined {
    const t = peekTrailer(pkt);
    if (!t) {
      this.drop("malformed", { capability: pkt.capability, type: pkt.type });
      return undefined;
    }
    const info = { capability: pkt.capability, type: pkt.type, cluster: t.clusterId, src: t.src, dst: t.dst };
    if (t.src === this.e.myNodeId) {
      this.drop("self", info);
      return undefined;
    }
    const c = this.e.cluster(t.clusterId);
    if (!c) return void this.drop("unknown_cluster", info);
    if (!c.self.enabled) return void this.drop("local_disabled", info);
    const n = c.node(t.src);
    if (!n) return void this.drop("unknown_node", info);
    if (!this.ipOk(c, n, source)) return void this.drop("bad_ip", { ...info, ip: source.host });
    if (!this.identityOk(source, t.src, true)) return void this.drop("bad_identity", info);
    n.lastRecv = this.e.env.now();
    if (!n.enabled) return void this.drop("node_disabled", info);
    if (moduleCap) {
      const cap = c.localCap(pkt.capability);
      if (!cap || !cap.enabled) return void this.drop("cap_disabled", info);
    }
    if (n.linkState === LS.DOWN) this.e.restartPinging(c, n);
    return { c, n, dst: t.dst };
  }

  /** Forwards a packet for another node, byte for byte (§8.3). */
  private forward(c: ClusterRec, pkt: BinPacket, dst: number): void {
    const d = c.node(dst);
    if (!d) return void this.drop("unknown_node", { forward: true, dst });
    const bytes = Buffer.from(pkt.bytes());
    const rc = sendRouted(this.e, c, bytes, d);
    this.e.stat("packets_forwarded");
    if (rc !== 0) this.e.log.debug({ cluster: c.clusterId, dst, rc }, `could not forward packet to node ${dst}`);
  }

  onExtra(pkt: BinPacket, source: BinSource): void {
    const r = this.trailerChecks(pkt, source, false);
    if (!r) return;
    const { c, n, dst } = r;
    if (dst !== this.e.myNodeId) {
      if (!this.e.timers.enableRerouting) {
        this.e.log.warn({ cluster: c.clusterId, dst }, "clusterer-extra packet for another node dropped: enable_rerouting is 0");
        return this.drop("no_rerouting", { dst });
      }
      return this.forward(c, pkt, dst);
    }
    const info = { cluster: c.clusterId, src: n.nodeId, type: pkt.type };
    try {
      switch (pkt.type) {
        case MsgType.REMOVE_NODE: return this.removeNode(c, pkt);
        case MsgType.GENERIC_MSG: {
          const v = GenericMsg.popFields(pkt, pkt.version);
          this.e.env.raiseEvent(v.req_like !== 0 ? "E_CLUSTERER_REQ_RECEIVED" : "E_CLUSTERER_RPL_RECEIVED",
            { cluster_id: c.clusterId, src_id: n.nodeId, msg: v.message, tag: v.exchange_tag });
          return;
        }
        case MsgType.MI_CMD: return this.miCmd(c, n, pkt);
        case MsgType.SYNC_REQ: {
          const v = SyncReq.popFields(pkt, pkt.version);
          return this.e.sync.onSyncRequest(c, n, v.capability);
        }
        case MsgType.SYNC: return this.e.sync.onSyncPacket(c, n, pkt);
        case MsgType.SYNC_END: return this.e.sync.onSyncEnd(c, n, pkt);
        case MsgType.SHTAG_ACTIVE: {
          const v = ShtagActive.popFields(pkt, pkt.version);
          return this.e.shtags.onActiveReceived(c, n, v.tag);
        }
        default:
          this.e.log.warn(info, `unknown clusterer-extra packet type ${pkt.type}`);
          return this.drop("unknown_type", info);
      }
    } catch (err) {
      this.e.log.warn({ ...info, err }, "malformed clusterer-extra packet dropped");
      return this.drop("malformed", info);
    }
  }

  private removeNode(c: ClusterRec, pkt: BinPacket): void {
    const v = RemoveNode.popFields(pkt, pkt.version);
    this.e.removeNodeLocal(c, v.target_node_id);
  }

  private miCmd(c: ClusterRec, n: NodeRec, pkt: BinPacket): void {
    const v = MiCmd.popFields(pkt, pkt.version);
    if (v.params.length > 10) return this.drop("malformed", { kind: "MI_CMD", params: v.params.length });
    const log = this.e.log;
    log.info({ cluster: c.clusterId, node: n.nodeId, command: v.command }, `running MI command "${v.command}" from node ${n.nodeId}`);
    this.e.stat("mi_commands_run");
    this.e.env.runMi(v.command, v.params).then(
      (res) => log.info({ command: v.command, result: res }, `MI command "${v.command}" from node ${n.nodeId} done`),
      (err: unknown) => log.warn({ command: v.command, err }, `MI command "${v.command}" from node ${n.nodeId} failed`),
    );
  }

  // ── module capabilities (`bin_rcv_mod_packets`) ─────────────────────

  onModule(pkt: BinPacket, source: BinSource): void {
    const r = this.trailerChecks(pkt, source, true);
    if (!r) return;
    const { c, n, dst } = r;
    if (dst !== this.e.myNodeId) return this.forward(c, pkt, dst);
    const cap = c.localCap(pkt.capability)!;
    pkt.popBackInt();
    pkt.popBackInt();
    pkt.popBackInt();
    pkt.srcId = n.nodeId;
    if (cap.syncInProgress) {
      cap.buffered.push({ pkt: pkt.clone(), srcId: n.nodeId });
      this.e.stat("packets_buffered");
      return;
    }
    this.e.sync.deliver(cap, pkt, pkt.type, n.nodeId);
  }
}
