/**
 * The 14 clusterer wire messages (clusterer.md §2, §5), each declared once. Encode and
 * decode both come from these declarations; the captured OpenSIPS 3.6.8 vectors round-trip
 * through them byte for byte (test/unit/clusterer-golden.test.ts).
 *
 * - `clusterer-internal` (types 0–5, 9): body starts with `cluster_id`, `src_node_id`;
 *   flooded types end with a `path` list (count + node ids).
 * The receiver does not check the version of internal/extra packets except SYNC and
 * SYNC_END (§2), so the receive path pops fields with `popFields` (no version check);
 * `accepts` lists what OpenSIPS sends.
 *
 * - `clusterer-extra` (types 6–8, 10–13): body, then the 3-int trailer
 *   `cluster_id | src_node_id | dst_node_id` (bin-wire.md §7), declared here as the last
 *   three fields so a dump shows it and a decode reads it.
 */
import { BinPacket, TsipsError, binCustom as custom, defineMessage, binInt as int, binIntList as intList, binStr as str, type BinMessage, type FieldDef, type MessageValues } from "tsips";

export const CAP_INTERNAL = "clusterer-internal";
export const CAP_EXTRA = "clusterer-extra";
/** `BIN_VERSION`: clusterer-internal and most clusterer-extra packets. */
export const BIN_VERSION = 1;
/** `BIN_SYNC_VERSION`: SYNC_REQ, SYNC, SYNC_END. */
export const BIN_SYNC_VERSION = 3;
/** `SYNC_CHUNK_START_MARKER` (sync.h): bytes `b5 4a 05 06`. */
export const SYNC_CHUNK_START_MARKER = 101010101;
/** `UPDATE_MAX_PATH_LEN`: a flooded message with a longer path is dropped. */
export const UPDATE_MAX_PATH_LEN = 25;
/** `MAX_NO_NODES`. */
export const MAX_NO_NODES = 128;

/** `clusterer_msg_type` (clusterer.h). */
export const MsgType = {
  PING: 0,
  PONG: 1,
  LS_UPDATE: 2,
  FULL_TOP_UPDATE: 3,
  UNKNOWN_ID: 4,
  NODE_DESCRIPTION: 5,
  REMOVE_NODE: 6,
  GENERIC_MSG: 7,
  MI_CMD: 8,
  CAP_UPDATE: 9,
  SYNC_REQ: 10,
  SYNC: 11,
  SYNC_END: 12,
  SHTAG_ACTIVE: 13,
} as const;

// ── shared field groups ──────────────────────────────────────────────────

const head = [int("cluster_id"), int("src_node_id")] as const;
/** The flood path: `path_len` then the node ids (§5.15). */
const path = intList("path");
/** The clusterer trailer, at the end of every clusterer-extra packet. */
const trailer = [int("cluster_id"), int("src_node_id"), int("dst_node_id")] as const;

function countCheck(p: BinPacket, n: number, what: string): void {
  if (n < 0 || n > MAX_NO_NODES) {
    throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `${p.capability} type ${p.type}: ${what} ${n} outside [0, ${MAX_NO_NODES}]`);
  }
}

// ── clusterer-internal ───────────────────────────────────────────────────

/** §5.1 */
export const Ping = defineMessage({
  name: "PING", capability: CAP_INTERNAL, type: MsgType.PING, version: BIN_VERSION,
  fields: [...head, int("req_node_list")],
});

/** §5.2: `nr_nodes` then the ids (every node of the ponger's list except the pinger). */
export const Pong = defineMessage({
  name: "PONG", capability: CAP_INTERNAL, type: MsgType.PONG, version: BIN_VERSION,
  fields: [...head, intList("node_list")],
});

/** §5.3 */
export const LsUpdate = defineMessage({
  name: "LS_UPDATE", capability: CAP_INTERNAL, type: MsgType.LS_UPDATE, version: BIN_VERSION,
  fields: [...head, int("seq_no"), int("timestamp"), int("neighbour_node_id"), int("new_link_state"), path],
});

/** A node's description inside FULL_TOP_UPDATE (and the body of NODE_DESCRIPTION). */
export interface NodeDescription {
  url: string;
  sip_addr: string;
  priority: number;
  no_ping_retries: number;
}

/** One entry of FULL_TOP_UPDATE (§5.4). */
export interface TopEntry {
  node_id: number;
  /** Present when `has_description` is 1. */
  description: NodeDescription | null;
  ls_seq_no: number;
  ls_timestamp: number;
  neighbours: number[];
}

const topEntries = custom<"nodes", TopEntry[]>("nodes", "top-entry[]", {
  absent: [],
  push(p, entries) {
    p.pushInt(entries.length);
    for (const e of entries) {
      p.pushInt(e.node_id);
      if (e.description) {
        p.pushInt(1);
        p.pushStr(e.description.url);
        p.pushStr(e.description.sip_addr);
        p.pushInt(e.description.priority);
        p.pushInt(e.description.no_ping_retries);
      } else p.pushInt(0);
      p.pushInt(e.ls_seq_no);
      p.pushInt(e.ls_timestamp);
      p.pushInt(e.neighbours.length);
      for (const n of e.neighbours) p.pushInt(n);
    }
  },
  pop(p) {
    const n = p.popInt();
    countCheck(p, n, "no_nodes");
    const out: TopEntry[] = [];
    for (let i = 0; i < n; i++) {
      const node_id = p.popInt();
      const has = p.popInt();
      const description = has === 1
        ? { url: p.popStr(), sip_addr: p.popStr(), priority: p.popInt(), no_ping_retries: p.popInt() }
        : null;
      const ls_seq_no = p.popInt();
      const ls_timestamp = p.popInt();
      const nn = p.popInt();
      countCheck(p, nn, "no_neigh");
      const neighbours: number[] = [];
      for (let j = 0; j < nn; j++) neighbours.push(p.popInt());
      out.push({ node_id, description, ls_seq_no, ls_timestamp, neighbours });
    }
    return out;
  },
});

/** §5.4 */
export const FullTopUpdate = defineMessage({
  name: "FULL_TOP_UPDATE", capability: CAP_INTERNAL, type: MsgType.FULL_TOP_UPDATE, version: BIN_VERSION,
  fields: [...head, int("seq_no"), int("timestamp"), topEntries, path],
});

/** §5.5 */
export const UnknownId = defineMessage({
  name: "UNKNOWN_ID", capability: CAP_INTERNAL, type: MsgType.UNKNOWN_ID, version: BIN_VERSION,
  fields: [...head],
});

/** §5.6 */
export const NodeDescriptionMsg = defineMessage({
  name: "NODE_DESCRIPTION", capability: CAP_INTERNAL, type: MsgType.NODE_DESCRIPTION, version: BIN_VERSION,
  fields: [...head, str("url"), str("sip_addr"), int("priority"), int("no_ping_retries"), path],
});

/** One node block of CAP_UPDATE (§5.7). */
export interface CapBlock {
  node_id: number;
  caps: { name: string; state: number }[];
}

const capBlocks = custom<"nodes", CapBlock[]>("nodes", "cap-block[]", {
  absent: [],
  push(p, blocks) {
    p.pushInt(blocks.length);
    for (const b of blocks) {
      p.pushInt(b.node_id);
      p.pushInt(b.caps.length);
      for (const c of b.caps) {
        p.pushStr(c.name);
        p.pushInt(c.state);
      }
    }
  },
  pop(p) {
    const n = p.popInt();
    countCheck(p, n, "nr_nodes");
    const out: CapBlock[] = [];
    for (let i = 0; i < n; i++) {
      const node_id = p.popInt();
      const nc = p.popInt();
      if (nc < 0 || nc * 6 > p.remaining()) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `CAP_UPDATE: nr_cap ${nc} runs past the packet`);
      const caps: { name: string; state: number }[] = [];
      for (let j = 0; j < nc; j++) caps.push({ name: p.popStr(), state: p.popInt() });
      out.push({ node_id, caps });
    }
    return out;
  },
});

/** §5.7 */
export const CapUpdate = defineMessage({
  name: "CAP_UPDATE", capability: CAP_INTERNAL, type: MsgType.CAP_UPDATE, version: BIN_VERSION,
  fields: [...head, int("seq_no"), int("timestamp"), capBlocks, int("require_reply"), path],
});

// ── clusterer-extra ──────────────────────────────────────────────────────

/** §5.8 */
export const RemoveNode = defineMessage({
  name: "REMOVE_NODE", capability: CAP_EXTRA, type: MsgType.REMOVE_NODE, version: BIN_VERSION,
  fields: [int("target_node_id"), ...trailer],
});

/** §5.9 */
export const GenericMsg = defineMessage({
  name: "GENERIC_MSG", capability: CAP_EXTRA, type: MsgType.GENERIC_MSG, version: BIN_VERSION,
  fields: [int("req_like"), str("exchange_tag"), str("message"), ...trailer],
});

const miParams = custom<"params", string[]>("params", "str[]", {
  absent: [],
  push(p, v) {
    p.pushInt(v.length);
    for (const s of v) p.pushStr(s);
  },
  pop(p) {
    const n = p.popInt();
    if (n < 0 || n * 2 > p.remaining()) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `MI_CMD: no_params ${n} runs past the packet`);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(p.popStr());
    return out;
  },
});

/** §5.10 */
export const MiCmd = defineMessage({
  name: "MI_CMD", capability: CAP_EXTRA, type: MsgType.MI_CMD, version: BIN_VERSION,
  fields: [str("command"), miParams, ...trailer],
});

/** §5.11 (the receiver does not check SYNC_REQ's version). */
export const SyncReq = defineMessage({
  name: "SYNC_REQ", capability: CAP_EXTRA, type: MsgType.SYNC_REQ, version: BIN_SYNC_VERSION,
  fields: [str("capability"), ...trailer],
});

/** One chunk of a SYNC packet: `chunk_len | 101010101 | data` (§5.12). */
export interface SyncChunk {
  data: Uint8Array;
}

/**
 * The chunk area runs up to the 12-byte trailer. A chunk whose marker is wrong, or whose
 * length runs into the trailer, is malformed here (the live receive path does not decode
 * SYNC with this declaration: it hands the packet to the module, which iterates).
 */
const syncChunks = custom<"chunks", SyncChunk[]>("chunks", "sync-chunk[]", {
  absent: [],
  push(p, chunks) {
    for (const c of chunks) {
      p.pushInt(c.data.length);
      p.pushInt(SYNC_CHUNK_START_MARKER);
      p.appendBuffer(c.data);
    }
  },
  pop(p) {
    const out: SyncChunk[] = [];
    const end = p.length - 12;
    while (p.position < end) {
      const len = p.popInt();
      const marker = p.popInt();
      if (marker !== SYNC_CHUNK_START_MARKER) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `SYNC: bad chunk marker ${marker}`);
      if (len < 0 || p.position + len > end) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `SYNC: chunk_len ${len} runs past the data`);
      const start = p.position;
      out.push({ data: Uint8Array.prototype.slice.call(p.contentPos(), 0, len) });
      p.position = start + len;
    }
    return out;
  },
});

/** The fields a SYNC packet starts with (the donor builds SYNC packets chunk by chunk). */
export const syncHeadFields = [str("capability"), int("data_version")] as const;

/** §5.12 */
export const Sync = defineMessage({
  name: "SYNC", capability: CAP_EXTRA, type: MsgType.SYNC, version: BIN_SYNC_VERSION, accepts: [BIN_SYNC_VERSION],
  fields: [...syncHeadFields, syncChunks, ...trailer],
});

/** §5.13 */
export const SyncEnd = defineMessage({
  name: "SYNC_END", capability: CAP_EXTRA, type: MsgType.SYNC_END, version: BIN_SYNC_VERSION, accepts: [BIN_SYNC_VERSION],
  fields: [str("capability"), int("total_chunks"), ...trailer],
});

/** §5.14 */
export const ShtagActive = defineMessage({
  name: "SHTAG_ACTIVE", capability: CAP_EXTRA, type: MsgType.SHTAG_ACTIVE, version: BIN_VERSION,
  fields: [str("tag"), ...trailer],
});

/** Every clusterer declaration, in type order. */
export const clustererMessages = [
  Ping, Pong, LsUpdate, FullTopUpdate, UnknownId, NodeDescriptionMsg, RemoveNode, GenericMsg, MiCmd, CapUpdate,
  SyncReq, Sync, SyncEnd, ShtagActive,
] as const satisfies readonly BinMessage<readonly FieldDef[]>[];

/** Values of a declared message. */
export type ValuesOf<M> = M extends BinMessage<infer F> ? MessageValues<F> : never;

