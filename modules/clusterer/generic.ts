/**
 * Generic messages (GENERIC_MSG, type 7, clusterer-extra; spec §5.9): what OpenSIPS's script
 * functions `cluster_send_req`, `cluster_send_rpl` and `cluster_broadcast_req` send, here as
 * API calls and MI commands. A request gets a tag `<cluster_id>-<node_id>-<24 chars>` unless
 * the caller gives one; the receiver raises E_CLUSTERER_REQ_RECEIVED / _RPL_RECEIVED
 * (receive.ts), which modules tap through `ctx.hooks.events` and operators subscribe to.
 */
import { CLUSTERER_SEND_ERR, type ClusterSendResult } from "./api.ts";
import type { Engine } from "./engine.ts";
import { GenericMsg } from "./messages.ts";

/**
 * `generate_msg_tag`: 24 characters drawn from the 57 codes 'A'..'y', with the 6 codes
 * between 'Z' and 'a' written as '1'..'6'.
 */
export function generateMsgTag(clusterId: number, nodeId: number, random: () => number = Math.random): string {
  let s = "";
  for (let i = 0; i < 24; i++) {
    const code = 65 + Math.floor(random() * 57);
    s += code > 90 && code < 97 ? String(code - 90) : String.fromCharCode(code);
  }
  return `${clusterId}-${nodeId}-${s}`;
}

export interface GenericSend {
  rc: ClusterSendResult;
  tag: string;
}

/** Sends one GENERIC_MSG to `dest`, or to every enabled node when `dest` is -1. */
export function sendGeneric(e: Engine, clusterId: number, dest: number, reqLike: boolean, message: string, tag?: string): GenericSend {
  const c = e.cluster(clusterId);
  const t = tag ?? generateMsgTag(clusterId, e.myNodeId);
  if (!c) return { rc: CLUSTERER_SEND_ERR, tag: t };
  const pkt = GenericMsg.encode({ req_like: reqLike ? 1 : 0, exchange_tag: t, message, cluster_id: clusterId, src_node_id: e.myNodeId, dst_node_id: dest });
  if (dest !== -1) return { rc: e.batch(() => e.sendMsg(c, pkt.bytes(), dest)), tag: t };
  pkt.removeIntBufferEnd(3);
  return { rc: e.batch(() => e.broadcast(c, pkt, () => true)), tag: t };
}
