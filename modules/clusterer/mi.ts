/**
 * MI commands (clusterer.md §12) with OpenSIPS 3.6.8's reply shapes and error texts, plus
 * tsips's `clusterer_sync_status`.
 */
import { MiError, type JsonValue, type MiCommandDecl, type MiParams, type BinPacket } from "tsips";
import { CLUSTERER_CURR_DISABLED, CLUSTERER_DEST_DOWN, CLUSTERER_SEND_SUCCESS, type ClustererApi } from "./api.ts";
import type { Engine } from "./engine.ts";
import { MiCmd, RemoveNode } from "./messages.ts";
import { splitTagRef } from "./node-info.ts";
import { LS, linkStateLabel, type ClusterRec } from "./state.ts";
import { nextHop } from "./topology.ts";
import { digestOf } from "./digest.ts";

const engines = new WeakMap<object, Engine>();

/** Associates the engine with the API object init returns (MI handlers get that object). */
export function attachEngine<T extends object>(api: T, e: Engine): T {
  engines.set(api, e);
  return api;
}

export function engineOf(api: ClustererApi): Engine {
  const e = engines.get(api);
  if (!e) throw new MiError(500, "clusterer not initialised");
  return e;
}

const bad = (what: string): MiError => new MiError(400, `Bad value for '${what}'`);

/** The MI params of a command to run elsewhere, all as strings (numbers as decimal text). */
function cmdParams(p: MiParams): string[] {
  if (!p.has("cmd_params")) return [];
  return p.array("cmd_params").map((v) => {
    if (typeof v === "string") return v;
    if (typeof v === "number") return String(Math.trunc(v));
    throw new MiError(-32602, "Invalid params", "Bad type for array item in parameter 'cmd_params'");
  });
}

function listClusters(e: Engine, row: (c: ClusterRec) => Record<string, JsonValue>): JsonValue {
  return { Clusters: [...e.clusters.values()].map((c) => ({ cluster_id: c.clusterId, ...row(c) })) };
}

type Decl = MiCommandDecl<ClustererApi>;

export const clustererMi: Record<string, Decl> = {
  clusterer_reload: {
    help: "reload the node table (DB mode only)",
    params: [[]],
    run() {
      throw new MiError(400, "Non-DB mode");
    },
  },

  clusterer_set_status: {
    help: "enable (1) or disable (0) a node, or the local node when node_id is omitted",
    params: [["cluster_id", "status"], ["cluster_id", "node_id", "status"]],
    run(p, api) {
      const e = engineOf(api);
      const cid = p.int("cluster_id");
      if (cid < 1) throw bad("cluster_id");
      const nodeId = p.optInt("node_id");
      if (nodeId !== undefined && nodeId < 1) throw bad("node_id");
      const status = p.int("status");
      if (status !== 0 && status !== 1) throw bad("status");
      const c = e.cluster(cid);
      if (!c) throw new MiError(404, "Cluster id not found");
      if (nodeId !== undefined && nodeId !== e.myNodeId && !c.node(nodeId)) throw new MiError(404, "Node id not found");
      e.batch(() => e.setNodeStatus(c, nodeId, status === 1));
      return "OK";
    },
  },

  clusterer_list: {
    help: "list the other nodes of every cluster",
    params: [[]],
    run(_p, api) {
      const e = engineOf(api);
      return listClusters(e, (c) => ({
        Nodes: c.nodes.map((n) => {
          const hop = n.enabled ? nextHop(c, n, e.timers.enableRerouting) : 0;
          return {
            node_id: n.nodeId,
            db_id: n.dbId,
            url: n.url.text,
            link_state: linkStateLabel(n.linkState),
            state: n.enabled ? "enabled" : "disabled",
            next_hop: hop > 0 ? String(hop) : "none",
            description: n.description === "" ? "none" : n.description,
          };
        }),
      }));
    },
  },

  clusterer_list_topology: {
    help: "list the known topology (direct Up neighbours of every node)",
    params: [[]],
    run(_p, api) {
      const e = engineOf(api);
      return listClusters(e, (c) => ({
        Nodes: [
          { node_id: e.myNodeId, Neighbours: [...c.self.neighbours] },
          ...c.nodes.map((n) => ({
            node_id: n.nodeId,
            Neighbours: n.linkState === LS.UP ? [...n.adjacency, e.myNodeId] : [...n.adjacency],
          })),
        ],
      }));
    },
  },

  clusterer_list_cap: {
    help: "list the local capabilities and their sync state",
    params: [[]],
    run(_p, api) {
      const e = engineOf(api);
      return listClusters(e, (c) => ({
        Capabilities: c.caps.map((cap) => ({ name: cap.name, state: cap.ok ? "Ok" : "not synced", enabled: cap.enabled ? "yes" : "no" })),
      }));
    },
  },

  clusterer_cap_digest: {
    help: "tsips: per capability, the number of records and an order-independent hash of their keys (equal on two nodes = same data)",
    params: [[]],
    run(_p, api) {
      const e = engineOf(api);
      return listClusters(e, (c) => ({
        Capabilities: c.caps.map((cap) => {
          const keys = cap.reg.digestKeys?.call(cap.reg);
          const d = keys ? digestOf(keys) : undefined;
          return d
            ? { name: cap.name, state: cap.ok ? "Ok" : "not synced", count: d.count, hash: d.hash }
            : { name: cap.name, state: cap.ok ? "Ok" : "not synced", count: null, hash: null };
        }),
      }));
    },
  },

  clusterer_set_cap_status: {
    help: "enable (1) or disable (0) a local capability",
    params: [["cluster_id", "capability", "status"]],
    run(p, api) {
      const e = engineOf(api);
      const cid = p.int("cluster_id");
      if (cid < 1) throw bad("cluster_id");
      const name = p.str("capability");
      const status = p.int("status");
      if (status !== 0 && status !== 1) throw bad("status");
      const c = e.cluster(cid);
      if (!c) throw new MiError(404, "Cluster id not found");
      const cap = c.localCap(name);
      if (!cap) throw new MiError(404, "Capability not found");
      e.batch(() => {
        if (status === 0) {
          cap.ok = false;
          cap.enabled = false;
          e.sendSingleCapUpdate(c, cap, 0);
        } else {
          // as OpenSIPS: advertises 1 without setting OK until a sync completes
          cap.enabled = true;
          e.sendSingleCapUpdate(c, cap, 1);
        }
      });
      return "OK";
    },
  },

  clusterer_list_shtags: {
    help: "list the sharing tags and their state",
    params: [[]],
    run(_p, api) {
      const e = engineOf(api);
      return e.shtags.tags.map((t) => ({ Tag: t.name, Cluster: t.clusterId, State: t.state }));
    },
  },

  clusterer_shtag_set_active: {
    help: "make a sharing tag active on this node: tag = name/cluster_id",
    params: [["tag"]],
    run(p, api) {
      const e = engineOf(api);
      const ref = splitTagRef(p.str("tag"));
      if (!ref) throw new MiError(400, "Bad tag format <name/cluster_id>");
      if (!/^[0-9]+$/.test(ref.clusterText)) throw new MiError(400, "Bad cluster ID in tag");
      const cid = Number(ref.clusterText);
      if (!e.cluster(cid)) throw new MiError(404, "Cluster ID not found");
      e.batch(() => e.shtags.activate(ref.name, cid, "MI command"));
      return "OK";
    },
  },

  cluster_send_mi: {
    help: "run an MI command on another node (no reply comes back)",
    params: [["cluster_id", "destination", "cmd_name"], ["cluster_id", "destination", "cmd_name", "cmd_params"]],
    run(p, api) {
      const e = engineOf(api);
      const cid = p.int("cluster_id");
      if (cid < 1) throw bad("cluster_id");
      const dest = p.int("destination");
      if (dest < 1) throw bad("destination");
      if (dest === e.myNodeId) throw new MiError(400, "Local node specified as destination");
      const cmd = p.str("cmd_name");
      const params = cmdParams(p);
      const c = e.cluster(cid);
      if (!c) throw new MiError(400, "Send error");
      if (!c.self.enabled) return "Local node disabled";
      if (!c.node(dest)) throw new MiError(400, "Send error");
      const pkt = MiCmd.encode({ command: cmd, params, cluster_id: cid, src_node_id: e.myNodeId, dst_node_id: dest });
      const rc = e.batch(() => e.sendMsg(c, pkt.bytes(), dest));
      if (rc === CLUSTERER_SEND_SUCCESS) return "OK";
      if (rc === CLUSTERER_CURR_DISABLED) return "Local node disabled";
      if (rc === CLUSTERER_DEST_DOWN) throw new MiError(400, "Destination down");
      throw new MiError(400, "Send error");
    },
  },

  cluster_broadcast_mi: {
    help: "run an MI command on every node, then locally; returns the local reply",
    params: [["cluster_id", "cmd_name"], ["cluster_id", "cmd_name", "cmd_params"]],
    async run(p, api) {
      const e = engineOf(api);
      const cid = p.int("cluster_id");
      if (cid < 1) throw bad("cluster_id");
      const cmd = p.str("cmd_name");
      const params = cmdParams(p);
      const c = e.cluster(cid);
      if (c && c.self.enabled) {
        const pkt = MiCmd.encode({ command: cmd, params, cluster_id: cid, src_node_id: e.myNodeId, dst_node_id: -1 });
        pkt.removeIntBufferEnd(3);
        const rc = e.batch(() => e.broadcast(c, pkt, () => true));
        e.log.info({ cluster: cid, command: cmd, rc }, `MI command "${cmd}" broadcast (rc ${rc})`);
      }
      try {
        return await e.env.runMi(cmd, params);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const data = (err as { data?: unknown }).data;
        if (code === -32601) throw new MiError(400, "Command to be run not found");
        if (code === -32602 && data === "Command only supports named parameters") throw new MiError(400, "Commands requiring named params not supported");
        throw err;
      }
    },
  },

  clusterer_remove_node: {
    help: "remove a node from a cluster (every node is told)",
    params: [["cluster_id", "node_id"]],
    run(p, api) {
      const e = engineOf(api);
      const cid = p.int("cluster_id");
      if (cid < 1) throw bad("cluster_id");
      const c = e.cluster(cid);
      if (!c) throw new MiError(400, "Unknown cluster id");
      const nodeId = p.int("node_id");
      if (nodeId < 1) throw bad("node_id");
      if (!c.node(nodeId)) throw new MiError(400, "Unknown node id");
      e.batch(() => {
        const pkt = removeNodeBody(nodeId);
        e.broadcast(c, pkt, () => true);
        e.removeNodeLocal(c, nodeId);
      });
      return "OK";
    },
  },

  clusterer_sync_status: {
    help: "tsips: sync progress of every local capability (state, donor, chunks received/expected, duration, rate)",
    params: [[]],
    run(_p, api) {
      const e = engineOf(api);
      const now = e.env.now();
      return listClusters(e, (c) => ({
        Capabilities: c.caps.map((cap) => {
          const s = e.sync.status(c, cap);
          const p = cap.sync;
          const end = p.finishedAt ?? (cap.syncInProgress ? now : undefined);
          const ms = p.startedAt !== undefined && end !== undefined ? end - p.startedAt : undefined;
          const out: Record<string, JsonValue> = {
            name: cap.name,
            state: s.state,
            donor: s.donor ?? null,
            chunks: p.chunks,
            expected_chunks: p.expected ?? null,
            packets: p.packets,
            bytes: p.bytes,
            duration_ms: ms === undefined ? null : Math.round(ms),
            rate_chunks_per_s: ms !== undefined && ms > 0 ? Math.round((p.chunks * 1000) / ms) : null,
            last_outcome: p.outcome ?? null,
            syncs_done: p.syncsDone,
          };
          return out;
        }),
      }));
    },
  },
};

/** REMOVE_NODE body without the trailer (broadcast appends it per node). */
function removeNodeBody(target: number): BinPacket {
  const pkt = RemoveNode.encode({ target_node_id: target, cluster_id: 0, src_node_id: 0, dst_node_id: 0 });
  pkt.removeIntBufferEnd(3);
  return pkt;
}
