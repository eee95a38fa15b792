/**
 * Sending (clusterer.md §5.15, §7.5, §8.3, bin-wire.md §7): the trailer, one-hop sends to a
 * neighbour's URL, routed sends with retry through another next hop, and flooding.
 */
import { BinPacket } from "tsips";
import {
  CLUSTERER_DEST_DOWN, CLUSTERER_SEND_ERR, CLUSTERER_SEND_SUCCESS, type ClusterSendResult,
} from "./api.ts";
import type { Engine } from "./engine.ts";
import { LS, type ClusterRec, type NodeRec } from "./state.ts";
import { nextHop } from "./topology.ts";

/** Appends the trailer `cluster_id | src | dst` (`msg_add_trailer`). */
export function appendTrailer(pkt: BinPacket, clusterId: number, src: number, dst: number): void {
  pkt.pushInt(clusterId).pushInt(src).pushInt(dst);
}

/** Reads the trailer of a received packet without consuming it. */
export function peekTrailer(pkt: BinPacket): { clusterId: number; src: number; dst: number } | undefined {
  const b = pkt.bytes();
  const len = b.length;
  if (len < pkt.bodyStart + 12) return undefined;
  return { clusterId: b.readInt32LE(len - 12), src: b.readInt32LE(len - 8), dst: b.readInt32LE(len - 4) };
}

/**
 * Hands bytes to the transport for the node's URL. True when written or queued.
 * Never throws (a too-big packet or a missing transport is a failed send).
 */
export function rawSend(e: Engine, n: NodeRec, bytes: Uint8Array): boolean {
  let st: string;
  try {
    st = e.env.bin.send(bytes, n.url.host, n.url.port, { proto: n.url.proto, nodeId: n.nodeId });
  } catch (err) {
    e.log.error({ err, node: n.nodeId }, `send to node ${n.nodeId} failed`);
    st = "error";
  }
  if (st === "sent" || st === "queued") return true;
  e.stat("send_failures");
  return false;
}

/**
 * One-hop send of a clusterer-internal packet to a neighbour's URL (pings, pongs, updates,
 * floods). A failure sets the link to RESTART_PINGING (with the link-down actions if it
 * was Up), §7.5.
 */
export function sendDirect(e: Engine, c: ClusterRec, n: NodeRec, bytes: Uint8Array): boolean {
  if (rawSend(e, n, bytes)) return true;
  e.sendFailed(c, n);
  return false;
}

/**
 * `msg_send_retry` (§8.3): sends a packet whose trailer is already in place to final
 * destination `dest`, directly when its link is Up, otherwise through the next hop; on a
 * failed send the hop goes to RESTART_PINGING and another path is tried.
 */
export function sendRouted(e: Engine, c: ClusterRec, bytes: Uint8Array, dest: NodeRec): ClusterSendResult {
  // the trailer's last int is the final destination
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.writeInt32LE(dest.nodeId, view.length - 4);
  let failed = false;
  for (let attempts = 0; attempts <= c.nodes.length; attempts++) {
    const hopId = nextHop(c, dest, e.timers.enableRerouting);
    if (hopId <= 0) return failed ? CLUSTERER_SEND_ERR : CLUSTERER_DEST_DOWN;
    const hop = hopId === dest.nodeId ? dest : c.node(hopId);
    if (!hop) return failed ? CLUSTERER_SEND_ERR : CLUSTERER_DEST_DOWN;
    if (rawSend(e, hop, view)) {
      hop.lastSent = e.env.now();
      if (hop !== dest) e.stat("packets_routed");
      return CLUSTERER_SEND_SUCCESS;
    }
    failed = true;
    e.sendFailed(c, hop);
    // a hop that failed is no longer Up; without that the loop could not progress
    if (hop.linkState === LS.UP) return CLUSTERER_SEND_ERR;
  }
  return CLUSTERER_SEND_ERR;
}

/**
 * The flooded copy of a received packet (§5.15 step 3–4): path_len + 1, own id appended,
 * total length + 4; for CAP_UPDATE the `require_reply` int before path_len becomes 0.
 */
export function floodCopy(received: Uint8Array, pathLen: number, selfId: number, isCapUpdate: boolean): Buffer {
  const out = Buffer.allocUnsafe(received.length + 4);
  out.set(received, 0);
  const pathLenAt = received.length - 4 * (pathLen + 1);
  out.writeInt32LE(pathLen + 1, pathLenAt);
  if (isCapUpdate) out.writeInt32LE(0, pathLenAt - 4);
  out.writeInt32LE(selfId, received.length);
  out.writeUInt32LE(received.length + 4, 4);
  return out;
}

/**
 * `flood_message`: forwards a processed update to every current neighbour not on its
 * path. Paths longer than UPDATE_MAX_PATH_LEN are dropped.
 */
export function flood(e: Engine, c: ClusterRec, received: Uint8Array, path: readonly number[], isCapUpdate: boolean): void {
  if (path.length > 25) {
    e.stat("dropped_long_path");
    return;
  }
  const targets = c.self.neighbours.filter((id) => !path.includes(id));
  if (targets.length === 0) return;
  const copy = floodCopy(received, path.length, c.self.nodeId, isCapUpdate);
  for (const id of targets) {
    const n = c.node(id);
    if (n && n.linkState === LS.UP) sendDirect(e, c, n, copy);
  }
}

/** Sends `pkt` (already built) to each target node id with one-hop sends. */
export function sendToNeighbours(e: Engine, c: ClusterRec, pkt: BinPacket, ids: readonly number[]): void {
  const bytes = pkt.bytes();
  for (const id of ids) {
    const n = c.node(id);
    if (n && n.linkState === LS.UP) sendDirect(e, c, n, bytes);
  }
}
