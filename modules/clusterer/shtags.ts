/**
 * Sharing tags (clusterer.md §10): active/backup ownership per (name, cluster), SHTAG_ACTIVE
 * announcements (the last announcer wins), announcements retried on NODE_UP, callbacks and
 * E_CLUSTERER_SHARING_TAG_CHANGED.
 *
 * tsips addition (`shtag_auto_takeover`, off by default): when the node that announced a
 * tag active goes down, the lowest-id node among the survivors (reachable nodes plus this
 * one) activates it.
 *
 * tsips addition (always on; wire unchanged): one holder after a heal. When a node that had
 * been reachable comes back, every tag still active here ping_timeout later is announced to it
 * again (a SHTAG_ACTIVE swallowed by a blackhole is never retried otherwise; the wait lets the
 * returning node's own announcement arrive first). A SHTAG_ACTIVE for a tag active here, from
 * a node that came back (it had been reachable before) less than ping_interval + ping_timeout
 * ago, is a split-brain conflict: the spec's "last announcer wins" can leave both nodes backup
 * when the announcements cross, so the lower node id keeps the tag and announces it again, and
 * the higher one steps down (E_CLUSTERER_SHARING_TAG_CHANGED with the reason). A first contact
 * and anything outside that window follow OpenSIPS's rule unchanged (an MI switchover works).
 */
import type { ShtagState } from "./api.ts";
import type { Engine } from "./engine.ts";
import { ShtagActive } from "./messages.ts";
import type { ShtagParam } from "./node-info.ts";
import { CLUSTERER_SEND_SUCCESS } from "./api.ts";
import type { ClusterRec, NodeRec } from "./state.ts";

export interface SharingTag {
  name: string;
  clusterId: number;
  state: ShtagState;
  /** `send_active_msg`: some node still has to hear that we are active. */
  mustAnnounce: boolean;
  /** `active_msgs_sent`: nodes that got our SHTAG_ACTIVE. */
  reached: Set<number>;
  /** Node whose SHTAG_ACTIVE we accepted last (who holds the tag), if any. */
  holder: number | undefined;
}

type TagCb = { tag: string | undefined; clusterId: number; cb: (tag: string, state: ShtagState, clusterId: number) => void };

export class ShtagStore {
  /** Newest first, as OpenSIPS lists them. */
  readonly tags: SharingTag[] = [];
  private readonly callbacks: TagCb[] = [];

  constructor(private readonly e: Engine, initial: readonly ShtagParam[]) {
    for (const p of initial) {
      const t = this.get(p.name, p.clusterId);
      t.state = p.state;
      if (p.state === "active") t.mustAnnounce = true;
    }
  }

  find(name: string, clusterId: number): SharingTag | undefined {
    return this.tags.find((t) => t.clusterId === clusterId && t.name === name);
  }

  /** `shtag_get`: creates the tag as backup if unknown. */
  get(name: string, clusterId: number): SharingTag {
    let t = this.find(name, clusterId);
    if (!t) {
      t = { name, clusterId, state: "backup", mustAnnounce: false, reached: new Set(), holder: undefined };
      this.tags.unshift(t);
    }
    return t;
  }

  /**
   * `shtag_activate`: set active and send SHTAG_ACTIVE to every node of the cluster (routed,
   * whatever the link state); nodes not reached get it on their NODE_UP.
   */
  activate(name: string, clusterId: number, reason: string): SharingTag {
    const t = this.get(name, clusterId);
    const old = t.state;
    t.state = "active";
    t.holder = this.e.myNodeId;
    const c = this.e.cluster(clusterId);
    if (c) {
      for (const n of c.nodes) {
        if (t.mustAnnounce && t.reached.has(n.nodeId)) continue;
        if (this.announce(c, t, n)) t.reached.add(n.nodeId);
        else t.mustAnnounce = true;
      }
    } else this.e.log.error({ tag: name, cluster: clusterId }, `sharing tag ${name}: unknown cluster ${clusterId}`);
    if (old !== "active") this.changed(t, reason);
    return t;
  }

  private announce(c: ClusterRec, t: SharingTag, n: NodeRec): boolean {
    const pkt = ShtagActive.encode({ tag: t.name, cluster_id: c.clusterId, src_node_id: this.e.myNodeId, dst_node_id: n.nodeId });
    const rc = this.e.sendMsg(c, pkt.bytes(), n.nodeId);
    if (rc === CLUSTERER_SEND_SUCCESS) this.e.stat("shtag_announcements");
    return rc === CLUSTERER_SEND_SUCCESS;
  }

  /** `shtag_flush_state` on NODE_UP: announce pending active tags to that node. */
  flush(c: ClusterRec, n: NodeRec): void {
    for (const t of this.tags) {
      if (t.clusterId !== c.clusterId || !t.mustAnnounce || t.reached.has(n.nodeId)) continue;
      if (this.announce(c, t, n)) t.reached.add(n.nodeId);
    }
  }

  /**
   * A node that had been reachable is back (heal or restart): ping_timeout later, announce
   * the tags still active here to it again (its own announcement, if any, is handled first).
   */
  onNodeBack(c: ClusterRec, n: NodeRec): void {
    if (!n.wasReachable) return;
    const stop = this.e.env.every(this.e.timers.pingTimeout, () => {
      stop();
      this.e.batch(() => {
        if (!n.reachable) return;
        for (const t of this.tags) {
          if (t.clusterId !== c.clusterId || t.state !== "active") continue;
          this.e.log.info({ tag: t.name, cluster: c.clusterId, node: n.nodeId }, `sharing tag ${t.name}/${c.clusterId}: node ${n.nodeId} is back, announcing it active again`);
          if (this.announce(c, t, n)) t.reached.add(n.nodeId);
        }
      });
    });
  }

  /** `src` came back (it had been reachable before) within the conflict window, or is coming back. */
  private justBack(src: NodeRec): boolean {
    if (!src.reachable) return src.wasReachable;
    return src.backAt > 0 && this.e.env.now() - src.backAt < this.e.timers.pingInterval + this.e.timers.pingTimeout;
  }

  /** SHTAG_ACTIVE from node S: the tag goes backup here (`handle_shtag_active`). */
  onActiveReceived(c: ClusterRec, src: NodeRec, name: string): void {
    const t = this.get(name, c.clusterId);
    const old = t.state;
    if (old === "active" && this.justBack(src)) {
      if (this.e.myNodeId < src.nodeId) {
        this.e.log.notice({ tag: name, cluster: c.clusterId, node: src.nodeId, event: "shtag-conflict" },
          `sharing tag ${name}/${c.clusterId}: node ${src.nodeId} is also active after a heal; this node keeps it (lower node id)`);
        if (this.announce(c, t, src)) t.reached.add(src.nodeId);
        return;
      }
      this.stepDown(t, src, `split brain after a heal: node ${src.nodeId} keeps it (lower node id)`);
      return;
    }
    this.stepDown(t, src, `cluster broadcast from ${src.nodeId}`);
  }

  private stepDown(t: SharingTag, src: NodeRec, reason: string): void {
    const c = { clusterId: t.clusterId };
    const name = t.name;
    const old = t.state;
    t.state = "backup";
    t.mustAnnounce = false;
    t.reached.clear();
    t.holder = src.nodeId;
    this.e.log.info({ tag: name, cluster: c.clusterId, node: src.nodeId }, `sharing tag ${name}/${c.clusterId} is active on node ${src.nodeId}`);
    if (old !== "backup") this.changed(t, reason);
  }

  /** Auto takeover (tsips, opt-in): the holder of a tag went down. */
  onNodeDown(c: ClusterRec, n: NodeRec): void {
    if (!this.e.autoTakeover) return;
    for (const t of this.tags) {
      if (t.clusterId !== c.clusterId || t.holder !== n.nodeId || t.state !== "backup") continue;
      const survivors = [this.e.myNodeId, ...c.nodes.filter((o) => o !== n && o.reachable).map((o) => o.nodeId)];
      const chosen = Math.min(...survivors);
      this.e.log.notice({ tag: t.name, cluster: c.clusterId, holder: n.nodeId, chosen },
        `sharing tag ${t.name}/${c.clusterId}: holder node ${n.nodeId} is down; node ${chosen} takes over`);
      t.holder = undefined;
      if (chosen === this.e.myNodeId) {
        this.e.stat("shtag_takeovers");
        this.activate(t.name, c.clusterId, `auto takeover from node ${n.nodeId}`);
      }
    }
  }

  /** Runs the callbacks and raises E_CLUSTERER_SHARING_TAG_CHANGED. */
  private changed(t: SharingTag, reason: string): void {
    this.e.log.notice({ tag: t.name, cluster: t.clusterId, state: t.state, reason }, `sharing tag ${t.name}/${t.clusterId} became ${t.state} (${reason})`);
    for (const cb of [...this.callbacks]) {
      if ((cb.clusterId < 0 || cb.clusterId === t.clusterId) && (cb.tag === undefined || cb.tag === t.name)) {
        try {
          cb.cb(t.name, t.state, t.clusterId);
        } catch (err) {
          this.e.log.error({ err, tag: t.name }, "sharing tag callback threw");
        }
      }
    }
    this.e.env.raiseEvent("E_CLUSTERER_SHARING_TAG_CHANGED", { name: t.name, cluster: t.clusterId, state: t.state, reason });
  }

  onChange(tag: string | undefined, clusterId: number, cb: TagCb["cb"]): () => void {
    const rec: TagCb = { tag, clusterId, cb };
    this.callbacks.unshift(rec);
    return () => {
      const i = this.callbacks.indexOf(rec);
      if (i >= 0) this.callbacks.splice(i, 1);
    };
  }

  allActive(clusterId: number): string[] {
    return this.tags.filter((t) => t.state === "active" && (clusterId < 0 || t.clusterId === clusterId)).slice(0, 64).map((t) => t.name);
  }
}
