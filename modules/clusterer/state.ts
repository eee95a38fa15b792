/**
 * The clusterer's data model (OpenSIPS `cluster_info_t`, `node_info_t`, `local_cap`,
 * `remote_cap`): clusters, their other nodes (the local node is a separate record), link
 * state and timestamps, learned adjacency, sequence pairs and capabilities.
 * Plain data; behaviour lives in link-fsm.ts, topology.ts, receive.ts, send.ts, sync.ts.
 */
import type { BinPacket } from "tsips";
import type { CapabilityRegistration, NodeMatchOp } from "./api.ts";
import type { NodeUrl } from "./node-info.ts";

/** `clusterer_link_state` (§7.1), numeric values as OpenSIPS. */
export const LS = {
  UP: 0,
  DOWN: 1,
  RETRY_SEND_FAIL: 2,
  RESTART_PINGING: 3,
  RESTARTED: 4,
  RETRYING: 5,
  TEMP: 6,
} as const;
export type LinkState = (typeof LS)[keyof typeof LS];

export const LINK_STATE_NAMES: Record<LinkState, string> = {
  0: "UP", 1: "DOWN", 2: "RETRY_SEND_FAIL", 3: "RESTART_PINGING", 4: "RESTARTED", 5: "RETRYING", 6: "TEMP",
};

/** How `clusterer_list` shows a link state. */
export function linkStateLabel(s: LinkState): "Up" | "Down" | "Probe" {
  return s === LS.UP ? "Up" : s === LS.DOWN ? "Down" : "Probe";
}

/** Last accepted (seq, timestamp) of one update kind from one originator (§4). */
export interface SeqPair {
  seq: number;
  ts: number;
}

export const freshPair = (): SeqPair => ({ seq: -1, ts: 0 });

/**
 * `validate_update` (§4): reject if (seq 0, stored 0, ts ≤ stored ts) or (seq ≠ 0 and
 * seq ≤ stored seq). Otherwise accept and store.
 */
export function acceptUpdate(stored: SeqPair, seq: number, ts: number): boolean {
  if (seq === 0 && stored.seq === 0 && ts <= stored.ts) return false;
  if (seq !== 0 && seq <= stored.seq) return false;
  stored.seq = seq;
  stored.ts = ts;
  return true;
}

/** A capability another node has (learned through CAP_UPDATE). */
export interface RemoteCap {
  name: string;
  ok: boolean;
  /** That node asked us for a sync while it was unreachable: answer on its NODE_UP. */
  syncPending: boolean;
}

/**
 * What to do if a ping we reported as sent turns out to have failed later (the transport
 * queued it, then the connect was refused): the failure branch of the tick row that sent it.
 */
export interface PendingPing {
  /** State the success branch set; the failure applies only if the link is still in it. */
  expectState: LinkState;
  failState: LinkState;
  failCounter: number;
}

/** Another node of a cluster (`node_info_t`). */
export class NodeRec {
  readonly nodeId: number;
  url: NodeUrl;
  sipAddr: string;
  priority: number;
  noPingRetries: number;
  description: string;
  /** -1: from the script or discovered (no DB). */
  dbId = -1;
  seed: boolean;
  enabled = true;
  linkState: LinkState = LS.RESTART_PINGING;
  /** Timestamps in ms (clock of the engine); 0 = never. */
  lastPing = 0;
  lastPong = 0;
  lastSent = 0;
  lastRecv = 0;
  /** Whether the last ping was handed to the transport without error. */
  lastPingOk = false;
  retryCounter = 0;
  pendingPing: PendingPing | undefined;
  /** When the last fast probe (tsips) was sent; 0 = never. */
  lastFastProbe = 0;
  /** Row-4 re-probes since the link was last Up (tsips `reprobe_down` backoff). */
  downProbes = 0;
  /** Reachable before (a NODE_UP after this is a heal or a restart, not a first contact). */
  wasReachable = false;
  /** When the node last became reachable (NODE_UP), engine clock; 0 = never. */
  upAt = 0;
  /** When it last became reachable again after having been reachable (heal or restart); 0 = never. */
  backAt = 0;
  /**
   * tsips heal sync: local capabilities to sync from this node once it is back and its own
   * fresh CAP_UPDATE says they are OK (filled at its NODE_DOWN).
   */
  healCaps = new Set<string>();
  /** Its capability states are from before its NODE_DOWN (no CAP_UPDATE from it since). */
  capsStale = false;
  /** Learned adjacency (newest first), never contains the local node. */
  adjacency: number[] = [];
  ls: SeqPair = freshPair();
  top: SeqPair = freshPair();
  cap: SeqPair = freshPair();
  /** Learned capabilities, newest first (OpenSIPS inserts at the head). */
  caps: RemoteCap[] = [];
  /** Reachable at the last reachability computation (direct Up link or a route). */
  reachable = false;

  constructor(init: { nodeId: number; url: NodeUrl; sipAddr?: string; priority: number; noPingRetries: number; seed?: boolean; description?: string }) {
    this.nodeId = init.nodeId;
    this.url = init.url;
    this.sipAddr = init.sipAddr ?? "";
    this.priority = init.priority;
    this.noPingRetries = init.noPingRetries;
    this.seed = init.seed ?? false;
    this.description = init.description ?? "";
  }

  findCap(name: string): RemoteCap | undefined {
    for (const c of this.caps) if (c.name === name) return c;
    return undefined;
  }
}

/** Local capability flags (§9.1). */
export interface LocalCap {
  reg: CapabilityRegistration;
  name: string;
  syncCond: NodeMatchOp;
  ok: boolean;
  enabled: boolean;
  syncPending: boolean;
  /** Request queued while the core was still starting (SYNC_STARTUP). */
  syncStartup: boolean;
  syncInProgress: boolean;
  /** When a seed queued its request (ms), for the seed fallback. */
  syncReqTime: number;
  /** Has been OK at some point (tsips: the seed fallback applies only before that). */
  everOk: boolean;
  /** The sync in progress is a heal (merge) sync (tsips `heal_sync`). */
  mergeSync: boolean;
  /** Regular packets buffered while a sync is in progress. */
  buffered: { pkt: BinPacket; srcId: number }[];
  sync: SyncProgress;
}

/** Receiver-side progress of one sync (MI `clusterer_sync_status`, logs). */
export interface SyncProgress {
  /** Node the SYNC_REQ went to. */
  donor: number | undefined;
  /** Node the sync data actually came from. */
  source: number | undefined;
  requestedAt: number | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  lastPacketAt: number;
  packets: number;
  chunks: number;
  bytes: number;
  /** From SYNC_END. */
  expected: number | undefined;
  /** Outcome of the last sync: done, timeout, aborted (donor down) or undefined. */
  outcome: "done" | "timeout" | "aborted" | undefined;
  syncsDone: number;
}

export function freshProgress(): SyncProgress {
  return {
    donor: undefined, source: undefined, requestedAt: undefined, startedAt: undefined, finishedAt: undefined, lastPacketAt: 0,
    packets: 0, chunks: 0, bytes: 0, expected: undefined, outcome: undefined, syncsDone: 0,
  };
}

/** The local node's record in one cluster. */
export interface SelfRec {
  nodeId: number;
  url: NodeUrl;
  sipAddr: string;
  priority: number;
  noPingRetries: number;
  seed: boolean;
  enabled: boolean;
  description: string;
  /** Local direct neighbours: nodes whose link is Up (newest first). */
  neighbours: number[];
}

/** One cluster (`cluster_info_t`). */
export class ClusterRec {
  readonly clusterId: number;
  self: SelfRec;
  /** Other nodes, newest first (reverse provisioning/discovery order, §1). */
  nodes: NodeRec[] = [];
  /** Local capabilities, most recently registered first. */
  caps: LocalCap[] = [];
  lsSeq = -1;
  topSeq = -1;
  capSeq = -1;
  /** Incremented on every topology change (next-hop cache key). */
  topVersion = 0;
  nextHopCache = new Map<number, number>();
  nextHopCacheVersion = -1;

  constructor(clusterId: number, self: SelfRec) {
    this.clusterId = clusterId;
    this.self = self;
  }

  node(id: number): NodeRec | undefined {
    for (const n of this.nodes) if (n.nodeId === id) return n;
    return undefined;
  }

  localCap(name: string): LocalCap | undefined {
    for (const c of this.caps) if (c.name === name) return c;
    return undefined;
  }

  /** Adds a node at the head of the list (as OpenSIPS does). */
  addNode(n: NodeRec): void {
    this.nodes.unshift(n);
    this.topVersion++;
  }

  removeNode(id: number): NodeRec | undefined {
    const i = this.nodes.findIndex((n) => n.nodeId === id);
    if (i < 0) return undefined;
    const [n] = this.nodes.splice(i, 1);
    for (const o of this.nodes) removeFrom(o.adjacency, id);
    removeFrom(this.self.neighbours, id);
    this.topVersion++;
    return n;
  }
}

export function removeFrom(list: number[], id: number): boolean {
  const i = list.indexOf(id);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

/** Adds at the head if absent. */
export function addHead(list: number[], id: number): boolean {
  if (list.includes(id)) return false;
  list.unshift(id);
  return true;
}
