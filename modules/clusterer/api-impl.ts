/**
 * The ClustererApi object over the engine (`load_clusterer`): what the clusterer's init
 * returns and dependents get as `ctx.deps.clusterer`. Kept apart from api.ts so that file
 * stays the type surface other modules `import type` from.
 */
import { CLUSTERER_SEND_ERR, CLUSTERER_SEND_SUCCESS, type ClusterNodeInfo, type ClustererApi } from "./api.ts";
import type { Engine } from "./engine.ts";
import { sendGeneric } from "./generic.ts";
import { linkStateLabel } from "./state.ts";
import { nextHop } from "./topology.ts";

/** The API object the clusterer's init returns (`load_clusterer`). */
export function createClustererApi(e: Engine): ClustererApi {
  const cluster = (id: number) => e.cluster(id);
  const nodeInfo = (clusterId: number, n: NonNullable<ReturnType<Engine["cluster"]>>["nodes"][number]): ClusterNodeInfo => {
    const c = e.cluster(clusterId)!;
    const hop = e.reachable(c, n) ? nextHop(c, n, e.timers.enableRerouting) : 0;
    return {
      nodeId: n.nodeId, url: `${n.url.host}:${n.url.port}`, sipAddr: n.sipAddr, description: n.description,
      linkState: linkStateLabel(n.linkState), reachable: hop > 0, nextHop: hop,
    };
  };
  return {
    myNodeId: () => e.myNodeId,
    registerCapability: (reg) => void e.batch(() => e.sync.register(reg)),
    sendTo(packet, clusterId, nodeId) {
      const c = cluster(clusterId);
      if (!c || !c.node(nodeId)) return CLUSTERER_SEND_ERR;
      const cap = c.localCap(packet.capability);
      if (cap && !cap.enabled) return CLUSTERER_SEND_SUCCESS;
      return e.batch(() => e.sendWithTrailer(c, packet, nodeId));
    },
    sendAll(packet, clusterId) {
      const c = cluster(clusterId);
      if (!c) return CLUSTERER_SEND_ERR;
      const cap = c.localCap(packet.capability);
      if (cap && !cap.enabled) return CLUSTERER_SEND_SUCCESS;
      return e.batch(() => e.broadcast(c, packet, () => true));
    },
    sendAllHavingCapability(packet, clusterId, capability) {
      const c = cluster(clusterId);
      if (!c) return CLUSTERER_SEND_ERR;
      const cap = c.localCap(packet.capability);
      if (cap && !cap.enabled) return CLUSTERER_SEND_SUCCESS;
      return e.batch(() => e.broadcast(c, packet, (n) => n.findCap(capability) !== undefined));
    },
    requestSync(capability, clusterId) {
      const c = cluster(clusterId);
      if (!c) return -1;
      return e.batch(() => e.sync.request(c, capability));
    },
    syncChunkStart: (capability, clusterId, nodeId, dataVersion) => e.sync.chunkStart(capability, clusterId, nodeId, dataVersion),
    syncChunkIter: (packet) => e.sync.chunkIter(packet),
    syncStatus(capability, clusterId) {
      const c = cluster(clusterId);
      const cap = c?.localCap(capability);
      return c && cap ? e.sync.status(c, cap) : undefined;
    },
    getNodes(clusterId) {
      const c = cluster(clusterId);
      if (!c) return [];
      return c.nodes.filter((n) => e.reachable(c, n)).map((n) => nodeInfo(clusterId, n));
    },
    nodesWithCapability(clusterId, capability) {
      const c = cluster(clusterId);
      if (!c) return [];
      return c.nodes.filter((n) => e.reachable(c, n) && n.findCap(capability)?.ok === true).map((n) => n.nodeId);
    },
    getMyIndex(clusterId, capability) {
      const c = cluster(clusterId);
      if (!c) return { index: 0, count: 1 };
      const ids = c.nodes.filter((n) => e.reachable(c, n) && n.findCap(capability)?.ok === true).map((n) => n.nodeId).sort((a, b) => a - b);
      return { index: ids.filter((id) => id < e.myNodeId).length, count: ids.length + 1 };
    },
    shtagGet: (tag, clusterId) => e.shtags.get(tag, clusterId).state,
    shtagActivate: (tag, clusterId, reason = "internal API call") => void e.batch(() => e.shtags.activate(tag, clusterId, reason)),
    shtagGetAllActive: (clusterId) => e.shtags.allActive(clusterId),
    shtagOnChange: (tag, clusterId, cb) => e.shtags.onChange(tag, clusterId, cb),
    sendReq: (clusterId, nodeId, message, tag) => sendGeneric(e, clusterId, nodeId, true, message, tag),
    sendRpl: (clusterId, nodeId, message, tag) => sendGeneric(e, clusterId, nodeId, false, message, tag).rc,
    broadcastReq(clusterId, message, opts = {}) {
      const r = sendGeneric(e, clusterId, -1, true, message, opts.tag);
      if (opts.includeSelf && cluster(clusterId)) {
        e.env.raiseEvent("E_CLUSTERER_REQ_RECEIVED", { cluster_id: clusterId, src_id: e.myNodeId, msg: message, tag: r.tag });
      }
      return r;
    },
  };
}
