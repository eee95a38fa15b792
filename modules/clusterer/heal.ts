/**
 * tsips: converging after a partition heals, with OpenSIPS's own messages only.
 *
 * - Heal sync (`heal_sync`): when the link with a node returns to Up after a Probe or Down
 *   period, each local capability that is OK asks that node for a sync with a plain SYNC_REQ,
 *   once the node's own fresh CAP_UPDATE says it has the capability OK (writes lost while
 *   the link was failing, even if other paths carried later ones, come back this way). The data is
 *   merged into what this node holds (the module sees `sync-done` with `merge: true`), so both
 *   sides end with the union. A restarted node advertises its capabilities "not synced" and
 *   syncs itself; it is not asked.
 * - Capability re-announce (`cap_announce_interval`): every interval, this node's own
 *   capability states go to every Up neighbour in one CAP_UPDATE, so a lost notice cannot
 *   leave a peer "sync pending" for good. Only the local block is sent: a relayed view of a
 *   third node could be older than what the receiver knows.
 */
import type { Engine } from "./engine.ts";
import { CapUpdate } from "./messages.ts";
import { sendToNeighbours } from "./send.ts";
import { LS, type ClusterRec, type NodeRec } from "./state.ts";

export class Healer {
  constructor(private readonly e: Engine, readonly enabled: boolean) {}

  /** The link with the node left Up: remember which capabilities to sync from it when it is back. */
  onLinkLeftUp(c: ClusterRec, n: NodeRec): void {
    n.capsStale = true;
    if (!this.enabled) return;
    for (const cap of c.caps) if (cap.enabled) n.healCaps.add(cap.name);
  }

  /** The link is Up again: sync now if the node's capability states are fresh, else on its CAP_UPDATE. */
  onLinkUp(c: ClusterRec, n: NodeRec): void {
    if (n.healCaps.size === 0 || n.capsStale) return;
    this.e.env.defer(() => this.e.batch(() => this.requestFrom(c, n)));
  }

  /**
   * A CAP_UPDATE that `src` sent about itself was applied: its states are fresh. In the first
   * one since the link failed, a capability "not synced" there means the node restarted (or
   * is new): it syncs everything from us, there is nothing to merge back.
   */
  onOwnCapUpdate(c: ClusterRec, src: NodeRec): void {
    if (src.capsStale) {
      for (const name of [...src.healCaps]) if (!src.findCap(name)?.ok) src.healCaps.delete(name);
    }
    src.capsStale = false;
    if (src.healCaps.size === 0 || src.linkState !== LS.UP) return;
    this.e.env.defer(() => this.e.batch(() => this.requestFrom(c, src)));
  }

  private requestFrom(c: ClusterRec, n: NodeRec): void {
    if (n.linkState !== LS.UP || n.capsStale) return;
    for (const name of [...n.healCaps]) {
      const cap = c.localCap(name);
      if (!cap || !cap.enabled || !this.e.matchNode(c, n, cap.syncCond)) {
        n.healCaps.delete(name);
        continue;
      }
      // Not OK there: a sync of its own is running; ask once it says OK (its next
      // CAP_UPDATE). Not OK here: our own sync is running.
      if (!n.findCap(name)?.ok || !cap.ok || cap.syncInProgress || cap.syncPending) continue;
      n.healCaps.delete(name);
      this.e.sync.requestMerge(c, cap, n);
    }
  }

  /** Periodic re-announce of this node's capability states (one CAP_UPDATE per cluster); retries waiting heal syncs. */
  announceCaps(): void {
    for (const c of this.e.clusters.values()) {
      for (const n of c.nodes) if (n.healCaps.size > 0) this.requestFrom(c, n);
      if (!c.self.enabled || c.caps.length === 0) continue;
      const targets = [...c.self.neighbours];
      if (targets.length === 0) continue;
      const pkt = CapUpdate.encode({
        cluster_id: c.clusterId, src_node_id: this.e.myNodeId, seq_no: ++c.capSeq, timestamp: this.e.env.wallSeconds(),
        nodes: [{ node_id: this.e.myNodeId, caps: c.caps.map((cap) => ({ name: cap.name, state: cap.ok ? 1 : 0 })) }],
        require_reply: 0, path: [this.e.myNodeId],
      });
      this.e.stat("cap_announcements");
      sendToNeighbours(this.e, c, pkt, targets);
    }
  }
}
