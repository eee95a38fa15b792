/**
 * What a replicated collection needs of the clusterer, as the core sees it. The core names no
 * module, so this is a structural subset of the clusterer's API (`modules/clusterer/api.ts`,
 * OpenSIPS `clusterer_binds`): the object a module gets as `ctx.deps.clusterer` satisfies
 * it, and a type test pins that.
 */
import type { BinPacket } from "../bin/packet.ts";

/** A capability event (`clusterer_event`): node up/down, a sync asked of us, a sync received. */
export interface ClusterLinkEvent {
  kind: "node-up" | "node-down" | "sync-request" | "sync-done";
  nodeId: number;
  chunks?: number;
}

export interface ClusterLinkRegistration {
  capability: string;
  clusterId: number;
  onPacket(packet: BinPacket, type: number, srcNodeId: number): void;
  onEvent?(ev: ClusterLinkEvent): void | Promise<void>;
  startupSync?: boolean;
  syncCond?: "any" | "all" | "eq_sip_addr" | "neq_sip_addr";
  /** One string per record (key and value), for the clusterer's convergence digest (`clusterer_cap_digest`). */
  digestKeys?(): Iterable<string>;
}

/** @opensips clusterer_binds (register_capability, send_all, request_sync, sync_chunk_start/iter, shtag_get) */
export interface ClusterLink {
  registerCapability(reg: ClusterLinkRegistration): void;
  sendAll(packet: BinPacket, clusterId: number): number;
  requestSync(capability: string, clusterId: number): number;
  syncChunkStart(capability: string, clusterId: number, nodeId: number, dataVersion: number): BinPacket;
  syncChunkIter(packet: BinPacket): boolean;
  shtagGet(tag: string, clusterId: number): "active" | "backup";
  shtagOnChange(tag: string | undefined, clusterId: number, cb: (tag: string, state: "active" | "backup", clusterId: number) => void): () => void;
}

/** A collection's place in a cluster: the clusterer's API and the cluster id. */
export interface ClusterBinding {
  api: ClusterLink;
  clusterId: number;
}

/** Packet type the clusterer hands to a capability for sync data (CLUSTERER_SYNC → 101). */
export const SYNC_PACKET_TYPE = 101;
