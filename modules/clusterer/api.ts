/**
 * The clusterer's API for other modules (OpenSIPS `modules/clusterer/api.h`, the binds
 * struct `load_clusterer`). Consumers declare `need<ClustererApi>("clusterer")` and get
 * it as `ctx.deps.clusterer`; they `import type` from this file only.
 */
import type { BinPacket } from "tsips";

/** Send outcome (`clusterer_send_ret`): 0 SUCCESS, 1 CURR_DISABLED, -1 DEST_DOWN, -2 SEND_ERR. */
export type ClusterSendResult = 0 | 1 | -1 | -2;
export const CLUSTERER_SEND_SUCCESS = 0;
export const CLUSTERER_CURR_DISABLED = 1;
export const CLUSTERER_DEST_DOWN = -1;
export const CLUSTERER_SEND_ERR = -2;

/** Node match for sync donors / send_all_having (`cl_node_match_op`). */
export type NodeMatchOp = "any" | "all" | "eq_sip_addr" | "neq_sip_addr";

/** Events a capability's event callback gets (`clusterer_event`). */
export type ClusterEvent =
  | { kind: "node-up"; nodeId: number } // CLUSTER_NODE_UP (0)
  | { kind: "node-down"; nodeId: number } // CLUSTER_NODE_DOWN (1)
  | { kind: "sync-request"; nodeId: number } // SYNC_REQ_RCV (2): fill chunks with syncChunkStart now
  /**
   * SYNC_DONE (3): the whole sync arrived. `merge` (tsips): a heal sync after a partition —
   * the data was merged into what this node holds and the donor never saw this node's own
   * writes of the partition, so nothing may be purged for being absent from it.
   */
  | { kind: "sync-done"; nodeId: number; chunks: number; merge?: boolean };

/** Packet type the capability's packet callback sees for sync data (CLUSTERER_SYNC → 101). */
export const SYNC_PACKET_TYPE = 101;

export interface CapabilityRegistration {
  /** Capability name, e.g. `usrloc-contact-repl`. */
  capability: string;
  clusterId: number;
  /**
   * Regular packets (type = wire type, `packet.srcId` = sender node id, trailer already
   * popped), sync packets (type 101; loop with `syncChunkIter`), and after a sync the
   * packets buffered meanwhile.
   */
  onPacket(packet: BinPacket, type: number, srcNodeId: number): void;
  /** May return a promise: the sync reply (SYNC_END) waits for it after a `sync-request`. */
  onEvent?(ev: ClusterEvent): void | Promise<void>;
  /**
   * The capability needs a sync at startup: it starts "not synced" (OpenSIPS `startup_sync`).
   * As in OpenSIPS, the module still asks for it with `requestSync` (usually at the end of init).
   */
  startupSync?: boolean;
  /** Which nodes may donate (default any). */
  syncCond?: NodeMatchOp;
  /**
   * tsips: one string per record this capability holds (a key that identifies the record on
   * every node, e.g. AoR + contact URI). MI `clusterer_cap_digest` shows their count and an
   * order-independent hash, so two nodes can be checked to hold the same data.
   */
  digestKeys?(): Iterable<string>;
}

export interface ClusterNodeInfo {
  nodeId: number;
  /** BIN URL host:port. */
  url: string;
  sipAddr: string;
  description: string;
  /** Link state as `clusterer_list` prints it (Up, Down, Probe…). */
  linkState: string;
  /** Reachable directly or through a next hop. */
  reachable: boolean;
  nextHop: number;
}

/** Sync progress of a local capability (MI and logs). */
export interface SyncStatus {
  capability: string;
  state: "synced" | "not synced" | "sync pending" | "sync in progress";
  donor?: number;
  chunksReceived: number;
  chunksExpected?: number;
  startedAt?: number;
  finishedAt?: number;
  /** tsips: the sync in progress is a heal (merge) sync: keep every record it brings. */
  merge?: boolean;
}

export type ShtagState = "active" | "backup";

export interface ClustererApi {
  /** This node's id (`my_node_id`). */
  myNodeId(): number;
  /** Registers a capability and its BIN callback (`register_capability`). */
  registerCapability(reg: CapabilityRegistration): void;
  /** Appends the trailer (cluster, self, node) and sends to one node (`send_to`). */
  sendTo(packet: BinPacket, clusterId: number, nodeId: number): ClusterSendResult;
  /** Sends to every enabled node of the cluster (`send_all`). */
  sendAll(packet: BinPacket, clusterId: number): ClusterSendResult;
  /** Sends to every node whose capability `capability` is known (tsips extension of `send_all_having`). */
  sendAllHavingCapability(packet: BinPacket, clusterId: number, capability: string): ClusterSendResult;
  /** Asks the best donor for a full sync (`request_sync`): 0 requested/queued, 1 already in progress, -1 error. */
  requestSync(capability: string, clusterId: number): 0 | 1 | -1;
  /**
   * Inside the `sync-request` event only: starts the next chunk of the reply to `nodeId` and
   * returns the packet to push that chunk's fields into (`sync_chunk_start`).
   */
  syncChunkStart(capability: string, clusterId: number, nodeId: number, dataVersion: number): BinPacket;
  /** Inside onPacket for type 101: true while a chunk remains, front pointer at its data (`sync_chunk_iter`). */
  syncChunkIter(packet: BinPacket): boolean;
  /** Sync status of a local capability. */
  syncStatus(capability: string, clusterId: number): SyncStatus | undefined;
  /** Reachable nodes of a cluster (`get_nodes`). */
  getNodes(clusterId: number): ClusterNodeInfo[];
  /** Node ids that currently have `capability` in state OK. */
  nodesWithCapability(clusterId: number, capability: string): number[];
  /** `get_my_index`: rank of this node among the reachable nodes having the capability OK. */
  getMyIndex(clusterId: number, capability: string): { index: number; count: number };
  /** `shtag_get`: the tag's state, creating it as backup if unknown. */
  shtagGet(tag: string, clusterId: number): ShtagState;
  /** `shtag_activate`: make the tag active here and announce it. */
  shtagActivate(tag: string, clusterId: number, reason?: string): void;
  /** Names of the tags active on this node (`shtag_get_all_active`); clusterId -1 = every cluster. */
  shtagGetAllActive(clusterId: number): string[];
  /**
   * `shtag_register_callback`: called on every state change of `tag` (or of every tag when
   * `tag` is undefined). Returns an undo function.
   */
  shtagOnChange(tag: string | undefined, clusterId: number, cb: (tag: string, state: ShtagState, clusterId: number) => void): () => void;
  /**
   * `cluster_send_req`: a request-like GENERIC_MSG to one node. The tag is generated
   * (`<cluster>-<node>-<24 chars>`) unless given; the peer raises E_CLUSTERER_REQ_RECEIVED.
   */
  sendReq(clusterId: number, nodeId: number, message: string, tag?: string): { rc: ClusterSendResult; tag: string };
  /** `cluster_send_rpl`: a reply-like GENERIC_MSG with the request's tag; the peer raises E_CLUSTERER_RPL_RECEIVED. */
  sendRpl(clusterId: number, nodeId: number, message: string, tag: string): ClusterSendResult;
  /** `cluster_broadcast_req`: a request-like GENERIC_MSG to every node; `includeSelf` also raises the event here, without a packet. */
  broadcastReq(clusterId: number, message: string, opts?: { tag?: string; includeSelf?: boolean }): { rc: ClusterSendResult; tag: string };
}
