/**
 * Capabilities and data synchronisation (clusterer.md §9): registration, sync requests and
 * donor choice, the donor side (chunk packing with `chunk_len | 101010101 | data`, SYNC_END
 * with the chunk count), the receiver side (chunk iteration, counting against SYNC_END,
 * buffering of regular packets), seed fallback and timeout.
 *
 * tsips additions: progress (packets, chunks, bytes, rate) in logs and MI; "synced" only
 * when every announced chunk arrived; a donor that goes down mid-sync makes the requester
 * ask another donor.
 */
import { BinPacket, TsipsError } from "tsips";
import {
  CLUSTERER_SEND_SUCCESS, SYNC_PACKET_TYPE, type CapabilityRegistration, type ClusterSendResult, type SyncStatus,
} from "./api.ts";
import type { Engine } from "./engine.ts";
import {
  BIN_SYNC_VERSION, CAP_EXTRA, MsgType, SYNC_CHUNK_START_MARKER, SyncEnd, SyncReq, syncHeadFields,
} from "./messages.ts";
import { appendTrailer } from "./send.ts";
import { freshProgress, type ClusterRec, type LocalCap, type NodeRec } from "./state.ts";

/** Donor side of one sync reply (`sync_packet_snd`, `sync_prev_buf_len`, `sync_last_chunk_sz`). */
interface DonorSession {
  c: ClusterRec;
  cap: LocalCap;
  dst: number;
  pkt: BinPacket | undefined;
  /** Packet length right after the current chunk's marker. */
  prevBufLen: number;
  /** Offset of the current chunk's chunk_len placeholder (-1: none in this packet). */
  lastLenAt: number;
  chunks: number;
  packets: number;
  bytes: number;
  startedAt: number;
  sendErrors: number;
}

/** Receiver-side iteration state of one SYNC packet. */
interface IterState {
  next: number;
  count: number;
}

/** Log a progress line every this many SYNC packets. */
const PROGRESS_EVERY_PACKETS = 50;

export class SyncManager {
  private readonly sessions = new Map<string, DonorSession>();
  private readonly iters = new WeakMap<BinPacket, IterState>();
  /**
   * tsips heal sync: when we last served each (capability, node) a sync. After a merge sync
   * brings new data, the nodes served within sync_timeout (except the donor) get our data
   * again, so a change travels on along a line of nodes healing at the same time.
   */
  private readonly served = new Map<string, { c: ClusterRec; cap: LocalCap; node: number; at: number }>();

  constructor(private readonly e: Engine) {}

  // ── registration (§9.1) ──────────────────────────────────────────────

  register(reg: CapabilityRegistration): LocalCap {
    const c = this.e.cluster(reg.clusterId);
    if (!c) {
      throw new TsipsError("TSIPS_ERR_CLUSTER_UNKNOWN", `capability ${reg.capability}: cluster ${reg.clusterId} is not defined (my_node_info)`,
        { module: "clusterer" });
    }
    if (c.localCap(reg.capability)) {
      throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `capability ${reg.capability} registered twice in cluster ${reg.clusterId}`, { module: "clusterer" });
    }
    const startup = reg.startupSync === true;
    const cap: LocalCap = {
      reg, name: reg.capability, syncCond: reg.syncCond ?? "any", ok: !startup, enabled: true,
      syncPending: false, syncStartup: false, syncInProgress: false, syncReqTime: 0, buffered: [], sync: freshProgress(),
      everOk: !startup, mergeSync: false,
    };
    c.caps.unshift(cap);
    this.e.ensureCapCallback(reg.capability);
    this.e.log.info({ cluster: c.clusterId, capability: cap.name }, `capability ${cap.name} registered (${startup ? "not synced" : "synced"})`);
    this.e.env.capStatus?.(cap.name, startup ? -3 : 1);
    // registered after links came up (OpenSIPS registers before any traffic): tell the neighbours
    if (c.self.neighbours.length > 0) this.e.sendSingleCapUpdate(c, cap, cap.ok ? 1 : 0);
    return cap;
  }

  // ── requester side (§9.2) ───────────────────────────────────────────

  /** `cl_request_sync`: 0 requested or queued, 1 already in progress, -1 error. */
  request(c: ClusterRec, name: string): 0 | 1 | -1 {
    const e = this.e;
    const cap = c.localCap(name);
    if (!cap) {
      e.log.error({ cluster: c.clusterId, capability: name }, `sync requested for unknown capability ${name}`);
      return -1;
    }
    if (cap.syncPending) return 0;
    if (cap.syncInProgress) return 1;
    if (!cap.enabled) return 0;
    // tsips: the donor's link failed and is back (a heal): the module's own sync (dialog's
    // node-up auto sync) becomes the heal sync — merged, the capability stays OK — because
    // the donor never saw our writes of the partition, nothing may be purged for being
    // absent from its data
    if (cap.ok && this.e.healer.enabled) {
      const d = this.chooseDonor(c, cap);
      if (d?.healCaps.delete(cap.name)) {
        this.requestMerge(c, cap, d);
        return 0;
      }
    }
    const done = cap.sync.syncsDone;
    cap.sync = freshProgress();
    cap.sync.syncsDone = done;
    cap.sync.requestedAt = e.env.now();
    cap.mergeSync = false;
    if (cap.ok) {
      cap.ok = false;
      e.sendSingleCapUpdate(c, cap, 0);
    }
    const donor = this.chooseDonor(c, cap);
    if (donor && this.sendRequest(c, cap, donor) === CLUSTERER_SEND_SUCCESS) return 0;
    cap.syncPending = true;
    if (!e.running) cap.syncStartup = true;
    if (c.self.seed) cap.syncReqTime = e.env.now();
    e.log.info({ cluster: c.clusterId, capability: name }, `sync of ${name} queued: no donor available yet`);
    e.env.capStatus?.(name, -2, "Sync requested");
    return 0;
  }

  /**
   * tsips heal sync: a plain SYNC_REQ to `donor` while the capability stays OK (nothing is
   * buffered, no "not synced" notice); the data is merged and `sync-done` says `merge`.
   */
  requestMerge(c: ClusterRec, cap: LocalCap, donor: NodeRec): void {
    const done = cap.sync.syncsDone;
    cap.sync = freshProgress();
    cap.sync.syncsDone = done;
    cap.sync.requestedAt = this.e.env.now();
    cap.mergeSync = true;
    this.e.stat("heal_syncs");
    this.e.log.notice({ cluster: c.clusterId, capability: cap.name, donor: donor.nodeId, event: "heal-sync" },
      `link with node ${donor.nodeId} is back: merging its ${cap.name} data`);
    if (this.sendRequest(c, cap, donor) !== CLUSTERER_SEND_SUCCESS) cap.mergeSync = false;
  }

  /** `get_sync_source`: the first reachable node, matching the condition, with the capability OK. */
  chooseDonor(c: ClusterRec, cap: LocalCap): NodeRec | undefined {
    for (const n of c.nodes) {
      if (!this.e.reachable(c, n)) continue;
      if (!this.e.matchNode(c, n, cap.syncCond)) continue;
      if (n.findCap(cap.name)?.ok) return n;
    }
    return undefined;
  }

  private sendRequest(c: ClusterRec, cap: LocalCap, donor: NodeRec): ClusterSendResult {
    const pkt = SyncReq.encode({ capability: cap.name, cluster_id: c.clusterId, src_node_id: this.e.myNodeId, dst_node_id: donor.nodeId });
    const rc = this.e.sendMsg(c, pkt.bytes(), donor.nodeId);
    if (rc === CLUSTERER_SEND_SUCCESS) {
      cap.syncPending = false;
      cap.syncStartup = false;
      cap.sync.donor = donor.nodeId;
      cap.sync.requestedAt ??= this.e.env.now();
      this.e.stat("sync_requests_sent");
      this.e.log.notice({ cluster: c.clusterId, capability: cap.name, donor: donor.nodeId },
        `sync of ${cap.name} requested from node ${donor.nodeId}`);
      this.e.env.capStatus?.(cap.name, -2, `Sync requested from node [${donor.nodeId}]`);
    }
    return rc;
  }

  /** A node advertised `capName` as OK (CAP_UPDATE): serve a pending request (§5.7). */
  capabilityOk(c: ClusterRec, n: NodeRec, capName: string): void {
    const cap = c.localCap(capName);
    if (!cap || !cap.syncPending || !cap.enabled) return;
    if (!this.e.matchNode(c, n, cap.syncCond) || !this.e.reachable(c, n)) return;
    this.sendRequest(c, cap, n);
  }

  onNodeUp(c: ClusterRec, n: NodeRec): void {
    // requests that node made while it was unreachable
    for (const rc of n.caps) {
      if (!rc.syncPending) continue;
      rc.syncPending = false;
      const cap = c.localCap(rc.name);
      if (cap && cap.enabled) this.e.env.defer(() => this.e.batch(() => this.reply(c, cap, n.nodeId)));
    }
    // our pending requests, if that node can donate
    for (const cap of c.caps) {
      if (cap.syncPending && cap.enabled && this.e.matchNode(c, n, cap.syncCond) && n.findCap(cap.name)?.ok) this.sendRequest(c, cap, n);
    }
  }

  /** The donor of a sync in progress (or awaited) went down: ask another donor (tsips). */
  onNodeDown(c: ClusterRec, n: NodeRec): void {
    for (const cap of c.caps) {
      const p = cap.sync;
      if (p.outcome !== undefined || cap.ok) continue;
      const fromIt = p.donor === n.nodeId || (p.source === n.nodeId && cap.syncInProgress);
      if (!fromIt) continue;
      this.e.log.warn({ cluster: c.clusterId, capability: cap.name, donor: n.nodeId, chunks: p.chunks },
        `donor node ${n.nodeId} went down during the sync of ${cap.name} (${p.chunks} chunks received): asking another donor`);
      this.e.stat("sync_retries");
      this.endInProgress(cap);
      p.outcome = "aborted";
      this.request(c, cap.name);
    }
  }

  // ── donor side (§9.3, §9.5) ─────────────────────────────────────────

  /** `handle_sync_request`. */
  onSyncRequest(c: ClusterRec, src: NodeRec, capName: string): void {
    const cap = c.localCap(capName);
    this.e.log.info({ cluster: c.clusterId, capability: capName, node: src.nodeId }, `sync request for ${capName} from node ${src.nodeId}`);
    if (!cap || !cap.enabled) {
      this.e.log.warn({ capability: capName }, `sync request for ${cap ? "disabled" : "unknown"} capability ${capName} ignored`);
      return;
    }
    if (this.e.reachable(c, src)) {
      this.e.env.defer(() => this.e.batch(() => this.reply(c, cap, src.nodeId)));
      return;
    }
    const rc = src.findCap(capName);
    if (!rc) {
      this.e.log.error({ capability: capName, node: src.nodeId }, `requesting node ${src.nodeId} does not appear to have ${capName}`);
      return;
    }
    rc.syncPending = true;
  }

  /** `send_sync_repl`: the module fills chunks in its sync-request event, then SYNC_END. */
  reply(c: ClusterRec, cap: LocalCap, dst: number): void {
    const key = `${c.clusterId}\u0000${cap.name}\u0000${dst}`;
    if (this.sessions.has(key)) {
      this.e.log.warn({ capability: cap.name, node: dst }, `sync of ${cap.name} to node ${dst} already being sent`);
      return;
    }
    this.served.set(key, { c, cap, node: dst, at: this.e.env.now() });
    const s: DonorSession = {
      c, cap, dst, pkt: undefined, prevBufLen: 0, lastLenAt: -1, chunks: 0, packets: 0, bytes: 0, startedAt: this.e.env.now(), sendErrors: 0,
    };
    this.sessions.set(key, s);
    const finish = (): void => {
      try {
        this.flushPacket(s);
        const end = SyncEnd.encode({ capability: cap.name, total_chunks: s.chunks, cluster_id: c.clusterId, src_node_id: this.e.myNodeId, dst_node_id: dst });
        const rc = this.e.sendMsg(c, end.bytes(), dst);
        const ms = this.e.env.now() - s.startedAt;
        this.e.stat("syncs_served");
        this.e.log.notice({ cluster: c.clusterId, capability: cap.name, node: dst, chunks: s.chunks, packets: s.packets, bytes: s.bytes, ms: Math.round(ms), rc },
          `sent all sync packets for ${cap.name} to node ${dst}: ${s.chunks} chunks in ${s.packets} packets, ${Math.round(ms)} ms`);
      } finally {
        this.sessions.delete(key);
      }
    };
    const r = this.e.callEvent(cap, { kind: "sync-request", nodeId: dst });
    if (r instanceof Promise) void r.then(() => this.e.batch(finish));
    else finish();
  }

  private flushPacket(s: DonorSession): void {
    const pkt = s.pkt;
    if (!pkt) return;
    if (s.lastLenAt >= 0) pkt.setIntAt(s.lastLenAt, pkt.length - s.prevBufLen);
    appendTrailer(pkt, s.c.clusterId, this.e.myNodeId, s.dst);
    const rc = this.e.sendMsg(s.c, pkt.bytes(), s.dst);
    s.packets++;
    s.bytes += pkt.length;
    this.e.stat("sync_packets_sent");
    if (rc !== CLUSTERER_SEND_SUCCESS && s.sendErrors++ === 0) {
      this.e.log.error({ capability: s.cap.name, node: s.dst, rc }, `failed to send sync packet for ${s.cap.name} to node ${s.dst}`);
    }
    s.pkt = undefined;
    s.lastLenAt = -1;
  }

  /**
   * `cl_sync_chunk_start`: a chunk goes into the current SYNC packet unless the packet's
   * length plus the previous chunk's size would exceed `sync_packet_size`; then the packet
   * is sent and a new one started (capability, data_version).
   */
  chunkStart(capName: string, clusterId: number, dst: number, dataVersion: number): BinPacket {
    const s = this.sessions.get(`${clusterId}\u0000${capName}\u0000${dst}`);
    if (!s) {
      throw new TsipsError("TSIPS_ERR_MODULE", `syncChunkStart(${capName}, ${clusterId}, ${dst}) outside the sync-request event of that node`,
        { module: "clusterer" });
    }
    let prevChunkSize = 0;
    let newPacket = true;
    if (s.pkt) {
      prevChunkSize = s.pkt.length - s.prevBufLen;
      newPacket = s.pkt.length + prevChunkSize > this.e.timers.syncPacketSize;
    }
    if (newPacket) {
      this.flushPacket(s);
      const pkt = BinPacket.init(CAP_EXTRA, MsgType.SYNC, BIN_SYNC_VERSION, Math.min(65535, this.e.timers.syncPacketSize + 4096));
      syncHeadFields[0].push(pkt, capName);
      syncHeadFields[1].push(pkt, dataVersion);
      s.pkt = pkt;
    } else if (s.lastLenAt >= 0) {
      s.pkt!.setIntAt(s.lastLenAt, prevChunkSize);
    }
    const pkt = s.pkt!;
    s.lastLenAt = pkt.length;
    pkt.pushInt(0);
    pkt.pushInt(SYNC_CHUNK_START_MARKER);
    s.prevBufLen = pkt.length;
    s.chunks++;
    this.e.stat("sync_chunks_sent");
    return pkt;
  }

  // ── receiver side (§9.4) ────────────────────────────────────────────

  /**
   * `cl_sync_chunk_iter`: jump to the next chunk (skipping what the module left unread),
   * pop chunk_len and the marker. False at the end of the data or on a bad marker.
   */
  chunkIter(pkt: BinPacket): boolean {
    let st = this.iters.get(pkt);
    if (!st) {
      st = { next: -1, count: 0 };
      this.iters.set(pkt, st);
    }
    if (st.next >= 0) {
      if (st.next < pkt.bodyStart || st.next >= pkt.length) {
        st.next = -1;
        return false;
      }
      pkt.position = st.next;
    }
    if (pkt.remaining() < 8) return false;
    const len = pkt.popInt();
    const marker = pkt.popInt();
    if (marker !== SYNC_CHUNK_START_MARKER) {
      this.e.log.error({ capability: pkt.capability, marker }, "bad sync chunk start marker");
      return false;
    }
    st.next = pkt.position + len;
    st.count++;
    return true;
  }

  /** Starts a fresh progress record when the previous sync has ended. */
  private progressFor(cap: LocalCap): void {
    if (cap.sync.outcome === undefined) return;
    const { syncsDone, donor } = cap.sync;
    cap.sync = freshProgress();
    cap.sync.syncsDone = syncsDone;
    cap.sync.donor = donor;
  }

  /** SYNC (§9.4): version 3 only; the module iterates the chunks (type 101). */
  onSyncPacket(c: ClusterRec, src: NodeRec, pkt: BinPacket): void {
    const e = this.e;
    if (pkt.version !== BIN_SYNC_VERSION) {
      e.stat("dropped_bad_version");
      e.log.info({ version: pkt.version }, `discarding sync packet version ${pkt.version}, need ${BIN_SYNC_VERSION}`);
      return;
    }
    const capName = pkt.popStr();
    const cap = c.localCap(capName);
    if (!cap || !cap.enabled) {
      e.log.error({ capability: capName }, `capability ${capName} from sync packet not found or disabled`);
      return;
    }
    const dataVersion = pkt.popInt();
    const now = e.env.now();
    this.progressFor(cap);
    const p = cap.sync;
    if (!cap.ok) cap.syncInProgress = true;
    // tsips: sync data we did not ask for while OK (a donor passing on merged data after a
    // heal) only adds: a merge
    else if (!cap.mergeSync && this.e.healer.enabled) cap.mergeSync = true;
    if (p.startedAt === undefined) {
      p.startedAt = now;
      p.source = src.nodeId;
      e.log.notice({ cluster: c.clusterId, capability: capName, node: src.nodeId }, `sync of ${capName} from node ${src.nodeId} started`);
      e.env.capStatus?.(capName, -1, `Sync started from node [${src.nodeId}]`);
    }
    p.lastPacketAt = now;
    p.packets++;
    p.bytes += pkt.lengthField;
    pkt.popBackInt();
    pkt.popBackInt();
    pkt.popBackInt();
    pkt.version = dataVersion;
    pkt.srcId = src.nodeId;
    const st: IterState = { next: -1, count: 0 };
    this.iters.set(pkt, st);
    this.deliver(cap, pkt, SYNC_PACKET_TYPE, src.nodeId);
    p.chunks += st.count;
    e.stat("sync_chunks_received", st.count);
    if (p.packets % PROGRESS_EVERY_PACKETS === 0) {
      const secs = Math.max(now - p.startedAt, 1) / 1000;
      e.log.info({ capability: capName, node: src.nodeId, packets: p.packets, chunks: p.chunks, rate: Math.round(p.chunks / secs) },
        `sync of ${capName}: ${p.chunks} chunks in ${p.packets} packets so far (${Math.round(p.chunks / secs)} chunks/s)`);
    }
    if (p.expected !== undefined && p.chunks >= p.expected) this.finish(c, cap, src.nodeId);
  }

  /** SYNC_END: finish now, or when the running count reaches the total. */
  onSyncEnd(c: ClusterRec, src: NodeRec, pkt: BinPacket): void {
    const e = this.e;
    if (pkt.version !== BIN_SYNC_VERSION) {
      e.stat("dropped_bad_version");
      e.log.info({ version: pkt.version }, `discarding sync end packet version ${pkt.version}, need ${BIN_SYNC_VERSION}`);
      return;
    }
    const v = SyncEnd.popFields(pkt, pkt.version);
    const cap = c.localCap(v.capability);
    if (!cap) {
      e.log.error({ capability: v.capability }, `capability ${v.capability} from sync end packet not found`);
      return;
    }
    this.progressFor(cap);
    cap.sync.expected = v.total_chunks;
    if (cap.sync.chunks >= v.total_chunks) this.finish(c, cap, src.nodeId);
    else {
      e.log.info({ capability: cap.name, chunks: cap.sync.chunks, expected: v.total_chunks },
        `sync end for ${cap.name} from node ${src.nodeId}: waiting for ${v.total_chunks - cap.sync.chunks} more chunks`);
    }
  }

  /** `handle_sync_end`: buffered packets, OK, SYNC_DONE, CAP_UPDATE(1). */
  private finish(c: ClusterRec, cap: LocalCap, src: number): void {
    const e = this.e;
    this.endInProgress(cap);
    cap.ok = true;
    cap.everOk = true;
    cap.syncPending = false;
    cap.syncStartup = false;
    const merge = cap.mergeSync;
    cap.mergeSync = false;
    const p = cap.sync;
    if (merge && p.chunks > 0) this.pushOn(cap, src);
    const now = e.env.now();
    p.finishedAt = now;
    p.outcome = "done";
    p.syncsDone++;
    p.source ??= src;
    const start = p.startedAt ?? p.requestedAt ?? now;
    const ms = now - start;
    e.stat("syncs_done");
    e.log.notice({ cluster: c.clusterId, capability: cap.name, node: src, chunks: p.chunks, packets: p.packets, bytes: p.bytes, ms: Math.round(ms),
      rate: ms > 0 ? Math.round((p.chunks * 1000) / ms) : p.chunks, event: "synced" },
    `sync of ${cap.name} from node ${src} complete: ${p.chunks} chunks in ${p.packets} packets, ${Math.round(ms)} ms`);
    e.env.capStatus?.(cap.name, 1, `Sync completed, received [${p.chunks}] chunks`);
    e.callEvent(cap, merge ? { kind: "sync-done", nodeId: src, chunks: p.chunks, merge } : { kind: "sync-done", nodeId: src, chunks: p.chunks });
    e.sendSingleCapUpdate(c, cap, 1);
  }

  /** After a merge sync with data from `donor`: serve again the nodes we served lately (not the donor). */
  private pushOn(cap: LocalCap, donor: number): void {
    const now = this.e.env.now();
    for (const [key, s] of this.served) {
      if (s.cap !== cap || s.node === donor) continue;
      this.served.delete(key);
      if (now - s.at > this.e.timers.syncTimeout) continue;
      const n = s.c.node(s.node);
      if (!n || !this.e.reachable(s.c, n)) continue;
      this.e.log.notice({ cluster: s.c.clusterId, capability: cap.name, node: s.node, donor, event: "heal-push" },
        `merged new ${cap.name} data from node ${donor}: sending it on to node ${s.node}`);
      this.e.env.defer(() => this.e.batch(() => this.reply(s.c, cap, s.node)));
    }
  }

  /** Delivers the buffered packets in arrival order and stops buffering. */
  private endInProgress(cap: LocalCap): void {
    const buffered = cap.buffered;
    cap.buffered = [];
    cap.syncInProgress = false;
    for (const b of buffered) this.deliver(cap, b.pkt, b.pkt.type, b.srcId);
  }

  /** Calls the capability's packet callback (errors are logged, not thrown). */
  deliver(cap: LocalCap, pkt: BinPacket, type: number, src: number): void {
    try {
      cap.reg.onPacket(pkt, type, src);
    } catch (err) {
      this.e.log.error({ err, capability: cap.name, type }, `packet callback of ${cap.name} threw`);
    }
  }

  /** `sync_check_timer` (every 500 ms): seed fallback and sync timeout. */
  checkTimer(): void {
    const e = this.e;
    const now = e.env.now();
    for (const c of e.clusters.values()) {
      for (const cap of c.caps) {
        // tsips: only the startup sync falls back; a seed asked to sync later with no donor
        // reachable stays "not synced" (it would claim data it does not have)
        if (e.running && c.self.seed && cap.syncPending && !cap.everOk && now - cap.syncReqTime >= e.timers.seedFallbackInterval) {
          cap.syncPending = false;
          cap.syncStartup = false;
          cap.ok = true;
          cap.everOk = true;
          e.log.notice({ cluster: c.clusterId, capability: cap.name }, `no donor for ${cap.name}: seed node considers itself synced`);
          e.stat("seed_fallbacks");
          e.env.capStatus?.(cap.name, 1, "Sync timeout: no donor, seed node considers itself synced");
          e.sendSingleCapUpdate(c, cap, 1);
        }
        if (cap.syncInProgress && now - cap.sync.lastPacketAt >= e.timers.syncTimeout) {
          const p = cap.sync;
          e.log.warn({ cluster: c.clusterId, capability: cap.name, chunks: p.chunks, expected: p.expected },
            `sync of ${cap.name} timed out after ${p.chunks} chunks${p.expected !== undefined ? ` of ${p.expected}` : ""}: not synced`);
          e.stat("sync_timeouts");
          e.env.capStatus?.(cap.name, -3, `Sync timed out, received [${p.chunks}] chunks`);
          this.endInProgress(cap);
          p.outcome = "timeout";
        }
      }
    }
  }

  status(c: ClusterRec, cap: LocalCap): SyncStatus {
    const p = cap.sync;
    const state: SyncStatus["state"] = cap.syncInProgress ? "sync in progress" : cap.ok ? "synced" : cap.syncPending ? "sync pending" : "not synced";
    const out: SyncStatus = { capability: cap.name, state, chunksReceived: p.chunks };
    if (p.source !== undefined || p.donor !== undefined) out.donor = (p.source ?? p.donor)!;
    if (p.expected !== undefined) out.chunksExpected = p.expected;
    if (p.startedAt !== undefined) out.startedAt = p.startedAt;
    if (p.finishedAt !== undefined) out.finishedAt = p.finishedAt;
    if (cap.mergeSync) out.merge = true;
    void c;
    return out;
  }
}
