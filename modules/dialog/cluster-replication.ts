/**
 * 3.6 dialog replication through the clusterer (`dialog-dlg-repl`, OpenSIPS 3.6.8
 * dlg_replication.c, spec/dialog.md): CREATED/UPDATED/DELETED/CSEQ/VALUE out with `sendAll`,
 * the same packets applied on receipt, and the startup/MI sync as donor and receiver with
 * per-sharing-tag sync status.
 */
import { performance } from "node:perf_hooks";
import { BinPacket as Packet, coreHash, createVersionGuard, type BinPacket, type MessageValues, type VersionGuard } from "tsips";
import type { ClusterEvent, ClustererApi } from "../clusterer/api.ts";
import { applyReplicatedState, dropPacket, emitReplicatedUpdate, isState, type DialogHost } from "./host.ts";
import {
  DIALOG_MESSAGES_BY_TYPE, DLG_BIN_V4, DLG_REPL_CAP, DLG_SYNC_TYPE, DlgCseq, DlgDeleted, DlgValue, popDlgRecord, REPLICATION_DLG_CREATED, REPLICATION_DLG_CSEQ, REPLICATION_DLG_DELETED,
  REPLICATION_DLG_UPDATED, REPLICATION_DLG_VALUE, type ReplValue,
} from "./messages.ts";
import type { Ownership } from "./ownership.ts";
import { wireOf, type DlgRecord } from "./record.ts";
import {
  DLG_FLAG_CHANGED, DLG_FLAG_FROM_DB, DLG_FLAG_NEW, DLG_FLAG_SYNCED, DLG_STATE_DELETED, Dialog,
  SHTAG_VALUE_NAME, type DialogOrigin,
} from "./store.ts";
import { parseValues, type DlgValue as Val } from "./vals.ts";

export class ClusterReplication {
  private readonly versionGuard: VersionGuard;
  /** Per-tag sync status for this capability (REQUIRED unless listed false; see `defaultRequired`). */
  private readonly tagSyncStatus = new Map<string, boolean>();
  private defaultRequired = true;
  private undoTagCb: (() => void) | undefined;
  /** The sync packet being applied belongs to a heal (merge) sync (tsips clusterer `heal_sync`). */
  private mergingSync = false;

  constructor(
    private readonly host: DialogHost,
    /** Undefined on a node without clusterer: received packets can still be applied (tests, tools). */
    private readonly clusterer: ClustererApi | undefined,
    private readonly ownership: Ownership,
  ) {
    this.versionGuard = createVersionGuard(host.log, host.st.repl_dropped);
  }

  private get cl(): ClustererApi {
    if (!this.clusterer) throw new Error("dialog replication needs the clusterer");
    return this.clusterer;
  }

  private get cluster(): number {
    return this.host.params.dialog_replication_cluster;
  }

  /** Registers the capability and asks for the startup sync (`dlg_init_clustering`). */
  start(): void {
    const cluster = this.cluster;
    this.cl.registerCapability({
      capability: DLG_REPL_CAP, clusterId: cluster, startupSync: true, syncCond: "any",
      onPacket: (pkt, type, src) => this.onDialogPacket(pkt, type, src),
      onEvent: (ev) => this.onClusterEvent(ev),
      // one key per confirmed dialog (what a sync carries: Call-ID, caller tag), for clusterer_cap_digest
      digestKeys: () => [...this.host.table].filter((d) => d.state === 3 || d.state === 4).map((d) => `${d.callid}\u0000${d.callerTag}`),
    });
    this.undoTagCb = this.cl.shtagOnChange(undefined, cluster, (tag, state) => this.host.onTagChange(tag, state === "active"));
    this.host.syncInProgress = true;
    const rc = this.cl.requestSync(DLG_REPL_CAP, cluster);
    if (rc < 0) this.host.log.error("failed to request a dialog sync at startup");
  }

  stop(): void {
    this.undoTagCb?.();
    this.undoTagCb = undefined;
  }

  // ── sending ────────────────────────────────────────────────────────────

  /** A CREATED/UPDATED packet around the dialog's encoded record. */
  private recordPacket(d: Dialog, type: number): BinPacket {
    const w = wireOf(d);
    return Packet.init(DLG_REPL_CAP, type, DLG_BIN_V4, 16 + DLG_REPL_CAP.length + w.length + 12).appendBuffer(w);
  }

  private send(pkt: BinPacket, what: string): boolean {
    const rc = this.cl.sendAll(pkt, this.cluster);
    const log = this.host.log;
    switch (rc) {
      case 0:
        return true;
      case 1:
        log.info(`${what}: current node is disabled`);
        return false;
      case -1:
        log.info(`${what}: all destinations are down`);
        return false;
      default:
        log.error(`${what}: failed to send`);
        return false;
    }
  }

  sendCreated(d: Dialog): void {
    if (d.state < 3 || d.state > 4) return;
    d.replicated = true;
    if (this.send(this.recordPacket(d, REPLICATION_DLG_CREATED), "replicate dialog created")) this.host.st.create_sent.inc();
  }

  sendUpdated(d: Dialog): void {
    if (d.state < 3 || d.state > 4) return;
    // As OpenSIPS: re-storing the tag value in state >= 4 sends a VALUE right before the UPDATED.
    if (d.shtag !== undefined && d.state >= 4) this.sendValue(d, SHTAG_VALUE_NAME, d.shtag);
    if (this.send(this.recordPacket(d, REPLICATION_DLG_UPDATED), "replicate dialog updated")) this.host.st.update_sent.inc();
  }

  sendDeleted(d: Dialog): void {
    const pkt = DlgDeleted.encode({ callid: d.callid, callerTag: d.callerTag, calleeTag: d.calleeTag, hId: d.hId });
    if (this.send(pkt, "replicate dialog deleted")) this.host.st.delete_sent.inc();
  }

  sendCseq(d: Dialog, leg: "caller" | "callee"): void {
    const toCallee = leg === "callee";
    this.send(DlgCseq.encode({
      callid: d.callid, fromTag: toCallee ? d.callerTag : d.calleeTag, toTag: toCallee ? d.calleeTag : d.callerTag,
      hId: d.hId, cseq: toCallee ? d.calleeLastGenCseq : d.callerLastGenCseq,
    }), "replicate dialog cseq");
  }

  sendValue(d: Dialog, name: string, value: Val | undefined): void {
    const v: ReplValue = value === undefined ? { type: 0 } : typeof value === "number" ? { type: 2, value } : { type: 1, value };
    this.send(DlgValue.encode({ callid: d.callid, hId: d.hId, name, value: v }), "replicate dialog value");
  }

  // ── receiving ──────────────────────────────────────────────────────────

  /** The `dialog-dlg-repl` packet callback (`receive_dlg_repl`). */
  onDialogPacket(pkt: BinPacket, type: number, src: number): void {
    const v = pkt.version;
    const { st, log } = this.host;
    try {
      const msg = DIALOG_MESSAGES_BY_TYPE.get(type);
      if (!msg) {
        st.repl_dropped.inc();
        log.warn(`Invalid dialog binary packet command: ${type} (from node: ${src} in cluster: ${this.cluster})`);
        log.error("Failed to process a binary packet!");
        return;
      }
      // Versions 3 and 4 (VALUE: 4 only), as receive_dlg_repl; dropped, counted, logged once per version.
      if (!this.versionGuard.check(pkt, msg)) return;
      let ok = true;
      switch (type) {
        case REPLICATION_DLG_CREATED:
          ok = this.applyCreate(popDlgRecord(pkt), v, "replicated");
          if (ok) st.create_recv.inc();
          break;
        case REPLICATION_DLG_UPDATED:
          ok = this.applyUpdate(popDlgRecord(pkt), v);
          if (ok) st.update_recv.inc();
          break;
        case REPLICATION_DLG_DELETED:
          ok = this.applyDelete(DlgDeleted.decode(pkt), v);
          break;
        case REPLICATION_DLG_CSEQ:
          ok = this.applyCseq(DlgCseq.decode(pkt), v);
          break;
        case REPLICATION_DLG_VALUE:
          ok = this.applyValue(DlgValue.decode(pkt));
          break;
        case DLG_SYNC_TYPE:
          this.applySync(pkt, v, src);
          break;
      }
      if (!ok) dropPacket(this.host, type, src, "handler failed");
    } catch (err) {
      dropPacket(this.host, type, src, err);
    }
  }

  private lookupRec(callid: string, tag1: string, tag2: string, hId: number, version: number): Dialog | undefined {
    const table = this.host.table;
    const hEntry = coreHash(callid, table.size);
    return version >= 4 ? table.get(hEntry, hId) : table.findByTags(hEntry, callid, tag1, tag2);
  }

  /** CREATED / sync chunk (`dlg_replicated_create`). False when the dialog was rejected. */
  private applyCreate(rec: DlgRecord, version: number, origin: "replicated" | "sync"): boolean {
    const existing = this.lookupRec(rec.callid, rec.callerTag, rec.calleeTag, rec.hId, version);
    if (existing) {
      existing.flags &= ~DLG_FLAG_FROM_DB;
      if (origin === "sync" || this.host.syncInProgress) existing.flags |= DLG_FLAG_SYNCED;
      return true;
    }
    return this.build(rec, origin);
  }

  /**
   * Builds a dialog from a stored row (dialog DB load, `db.ts`) as a received CREATED would;
   * undefined when it is rejected (sockets, state) or already known (same Call-ID and h_id).
   */
  restore(rec: DlgRecord): Dialog | undefined {
    const table = this.host.table;
    const hEntry = coreHash(rec.callid, table.size);
    if (table.get(hEntry, rec.hId)) return undefined;
    if (!this.build(rec, "replicated")) return undefined;
    return table.get(hEntry, rec.hId);
  }

  private build(rec: DlgRecord, origin: DialogOrigin): boolean {
    const h = this.host;
    const hEntry = coreHash(rec.callid, h.table.size);
    if (!isState(rec.state)) {
      h.log.error(`replicated dialog ${rec.callid} has an invalid state ${rec.state}`);
      return false;
    }
    h.table.bumpNextId(hEntry, rec.hId);
    const callerSock = h.sockets.resolve(rec.callerSocket);
    if (!callerSock) {
      h.log.error(`Replicated dialog doesn't match caller's listening socket ${rec.callerSocket}`);
      return false;
    }
    const calleeSock = h.sockets.resolve(rec.calleeSocket);
    if (!calleeSock) {
      h.log.error(`Replicated dialog doesn't match callee's listening socket ${rec.calleeSocket}`);
      return false;
    }
    if (rec.state === DLG_STATE_DELETED) return true; // nothing to build
    const vals = rec.vars ? parseValues(rec.vars) : [];
    let shtag: string | undefined;
    for (const [k, v] of vals) if (k === SHTAG_VALUE_NAME && typeof v === "string" && v !== "") shtag = v;
    let flags = (rec.flags | DLG_FLAG_NEW) >>> 0;
    if (origin === "sync") {
      flags |= DLG_FLAG_SYNCED;
      if (!this.mergingSync && !this.tagSyncRequired(shtag)) return true; // dropped: its tag's sync status is "not required"
    } else if (h.syncInProgress) flags |= DLG_FLAG_SYNCED;
    const d = new Dialog({
      hEntry, hId: rec.hId, callid: rec.callid, fromUri: rec.fromUri, toUri: rec.toUri, callerTag: rec.callerTag,
      calleeTag: rec.calleeTag, state: rec.state, startTs: rec.startTs, origin,
    });
    d.callerSock = callerSock;
    d.calleeSock = calleeSock;
    d.callerCseq = "0"; // dlg_update_leg_info forces the caller leg's r_cseq to "0"
    d.callerInviteCseq = rec.callerCseq;
    d.calleeCseq = rec.calleeCseq;
    d.callerRouteSet = rec.callerRouteSet;
    d.calleeRouteSet = rec.calleeRouteSet;
    d.callerContact = rec.callerContact;
    d.calleeContact = rec.calleeContact;
    d.calleeMangledFrom = rec.calleeMangledFrom;
    d.calleeMangledTo = rec.calleeMangledTo;
    d.callerInSdp = rec.callerInSdp;
    d.callerOutSdp = rec.callerOutSdp;
    d.calleeInSdp = rec.calleeInSdp;
    d.calleeOutSdp = rec.calleeOutSdp;
    d.callerAdvContact = rec.callerAdvContact;
    d.calleeAdvContact = rec.calleeAdvContact;
    for (const [k, v] of vals) d.storeValue(k, v);
    d.userFlags = rec.userFlags;
    d.modFlags = rec.modFlags;
    d.flags = flags;
    d.callerLastGenCseq = rec.callerLastGenCseq;
    d.calleeLastGenCseq = rec.calleeLastGenCseq;
    d.onAnswerRoute = rec.onAnswerRoute;
    d.onTimeoutRoute = rec.onTimeoutRoute;
    d.onHangupRoute = rec.onHangupRoute;
    d.shtag = shtag;
    d.replicated = true; // peers know it: a later local change goes out as UPDATED/DELETED
    const now = h.nowSec();
    d.expiresAt = rec.expiresAt > now ? rec.expiresAt : now;
    h.insert(d);
    if (rec.profiles) h.linkWireProfiles(d, rec.profiles, false);
    h.arm(d);
    h.st.processed_dialogs.inc();
    if (h.events.listened("created")) h.events.emit({ kind: "created", dialog: d, origin, newState: d.state });
    return true;
  }

  /** UPDATED (`dlg_replicated_update`). */
  private applyUpdate(rec: DlgRecord, version: number): boolean {
    const h = this.host;
    const d = this.lookupRec(rec.callid, rec.callerTag, rec.calleeTag, rec.hId, version);
    if (!d) return this.build(rec, "replicated");
    if (d.state === DLG_STATE_DELETED) return true;
    const old = applyReplicatedState(h, d, rec.state);
    if (old === false) return false;
    if (old === undefined) return true;
    d.callerCseq = rec.callerCseq;
    d.calleeCseq = rec.calleeCseq;
    d.callerContact = rec.callerContact;
    d.calleeContact = rec.calleeContact;
    d.callerInSdp = rec.callerInSdp;
    d.callerOutSdp = rec.callerOutSdp;
    d.calleeInSdp = rec.calleeInSdp;
    d.calleeOutSdp = rec.calleeOutSdp;
    if (rec.vars) {
      for (const [k, v] of parseValues(rec.vars)) {
        d.storeValue(k, v);
        if (k === SHTAG_VALUE_NAME && typeof v === "string" && v !== "") h.retag(d, v);
      }
    }
    d.userFlags = rec.userFlags;
    d.modFlags = rec.modFlags;
    d.flags = ((rec.flags & ~(DLG_FLAG_NEW | DLG_FLAG_SYNCED)) | (d.flags & (DLG_FLAG_NEW | DLG_FLAG_SYNCED)) | DLG_FLAG_CHANGED) >>> 0;
    const now = h.nowSec();
    const exp = rec.expiresAt > now ? rec.expiresAt : now;
    if (exp !== d.expiresAt) {
      d.expiresAt = exp;
      h.arm(d);
    }
    d.onAnswerRoute = rec.onAnswerRoute;
    d.onTimeoutRoute = rec.onTimeoutRoute;
    d.onHangupRoute = rec.onHangupRoute;
    if (rec.profiles) h.linkWireProfiles(d, rec.profiles, true);
    emitReplicatedUpdate(h, d, old);
    return true;
  }

  /** DELETED (`dlg_replicated_delete`): not found is fine (already gone). */
  private applyDelete(rec: MessageValues<typeof DlgDeleted.fields>, version: number): boolean {
    const h = this.host;
    const d = this.lookupRec(rec.callid, rec.callerTag, rec.calleeTag, rec.hId, version);
    if (!d) {
      h.log.debug(`replicated delete for unknown dialog ${rec.callid}`);
      return true;
    }
    if (!h.terminate(d, "replicated", false)) {
      h.log.error(`duplicate dialog delete request (callid: |${rec.callid}| ftag: |${rec.callerTag}|)`);
      return false;
    }
    h.st.delete_recv.inc();
    return true;
  }

  /** CSEQ: the destination leg is the one whose tag is field 3. */
  private applyCseq(rec: MessageValues<typeof DlgCseq.fields>, version: number): boolean {
    const d = this.lookupRec(rec.callid, rec.fromTag, rec.toTag, rec.hId, version);
    if (!d) {
      this.host.log.debug(`replicated cseq for unknown dialog ${rec.callid}`);
      return false;
    }
    if (d.state === DLG_STATE_DELETED) return true;
    d.wire = undefined;
    if (rec.toTag === d.calleeTag && rec.fromTag === d.callerTag) d.calleeLastGenCseq = rec.cseq;
    else if (rec.toTag === d.callerTag && rec.fromTag === d.calleeTag) d.callerLastGenCseq = rec.cseq;
    else return false;
    this.host.events.emit({ kind: "updated", dialog: d, origin: "replicated" });
    return true;
  }

  /** VALUE (`dlg_replicated_value`); type 0 deletes (the 3.6.8 quirk of storing a typeless value is not copied). */
  private applyValue(rec: MessageValues<typeof DlgValue.fields>): boolean {
    const h = this.host;
    const d = h.table.get(coreHash(rec.callid, h.table.size), rec.hId);
    if (!d) {
      h.log.debug(`replicated value for unknown dialog ${rec.callid}`);
      return false;
    }
    if (d.state === DLG_STATE_DELETED) return true;
    const v = rec.value;
    if (v.type === 0) d.deleteValue(rec.name);
    else d.storeValue(rec.name, v.value);
    if (rec.name === SHTAG_VALUE_NAME) h.retag(d, v.type === 1 && v.value !== "" ? v.value : undefined);
    h.events.emit({ kind: "updated", dialog: d, origin: "replicated" });
    return true;
  }

  /** Type 101: one dialog per chunk; the first failing chunk stops this packet. */
  private applySync(pkt: BinPacket, version: number, src: number): void {
    // a heal (merge) sync brings the other side's calls of a partition: keep them whatever the tag's sync status
    this.mergingSync = this.cl.syncStatus(DLG_REPL_CAP, this.cluster)?.merge === true;
    while (this.cl.syncChunkIter(pkt)) {
      let ok: boolean;
      try {
        ok = this.applyCreate(popDlgRecord(pkt), version, "sync");
      } catch (err) {
        dropPacket(this.host, DLG_SYNC_TYPE, src, err);
        return;
      }
      if (!ok) {
        dropPacket(this.host, DLG_SYNC_TYPE, src, "sync chunk rejected");
        return;
      }
    }
  }

  // ── sync ───────────────────────────────────────────────────────────────

  /** The capability's event callback. */
  onClusterEvent(ev: ClusterEvent): void {
    switch (ev.kind) {
      case "sync-request":
        this.serveSync(ev.nodeId);
        break;
      case "sync-done":
        // a heal (merge) sync: the donor never saw this node's dialogs of the partition
        this.syncDone(ev.merge === true);
        break;
      case "node-up":
        if (this.host.params.cluster_auto_sync && this.syncAllBackup()) {
          this.host.syncInProgress = true;
          this.cl.requestSync(DLG_REPL_CAP, this.cluster);
        }
        break;
      case "node-down":
        break;
    }
  }

  /** Donor side: one chunk per confirmed dialog (states 3 and 4). Returns the chunks written. */
  serveSync(nodeId: number): number {
    const t0 = performance.now();
    let n = 0;
    for (const d of this.host.table) {
      if (d.state !== 3 && d.state !== 4) continue;
      const w = wireOf(d);
      this.cl.syncChunkStart(DLG_REPL_CAP, this.cluster, nodeId, DLG_BIN_V4).appendBuffer(w);
      n++;
    }
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    this.host.log.info({ node: nodeId, dialogs: n, ms }, `${n} dialog(s) written as sync data for node ${nodeId} in ${ms} ms`);
    return n;
  }

  /**
   * SYNC_DONE: drop local dialogs that the sync did not confirm (per-tag sync status), except
   * after a `merge` sync (tsips heal sync), which only adds.
   */
  syncDone(merge = false): number {
    const h = this.host;
    let dropped = 0;
    for (const d of [...h.table]) {
      if (d.state === DLG_STATE_DELETED) continue;
      if (merge) d.flags &= ~DLG_FLAG_SYNCED;
      else if (d.flags & DLG_FLAG_FROM_DB) {
        h.terminate(d, "sync-purge", false, false);
        dropped++;
      } else if (!d.synced && this.tagSyncRequired(d.shtag)) {
        h.log.info(`dialog ${d.callid} not present in sync data, dropping it`);
        h.terminate(d, "sync-purge", false, false);
        dropped++;
      } else d.flags &= ~DLG_FLAG_SYNCED;
    }
    h.syncInProgress = false;
    return dropped;
  }

  /** The per-tag sync status setters leave it alone while the capability's sync is pending or running. */
  private clusterSyncBusy(): boolean {
    const s = this.cl.syncStatus(DLG_REPL_CAP, this.cluster);
    return s?.state === "sync pending" || s?.state === "sync in progress";
  }

  private tagSyncRequired(tag: string | undefined): boolean {
    if (tag === undefined) return true;
    return this.tagSyncStatus.get(tag) ?? this.defaultRequired;
  }

  /** `shtag_sync_all_backup`: REQUIRED for backup tags, NOT_REQUIRED for active ones; true if any is backup. */
  private syncAllBackup(): boolean {
    if (this.clusterSyncBusy()) return false;
    let anyBackup = false;
    for (const t of this.cl.shtagGetAllActive(this.cluster)) this.ownership.know(t);
    this.defaultRequired = true;
    for (const t of this.ownership.knownTags) {
      const active = this.ownership.isTagActive(t);
      this.tagSyncStatus.set(t, !active);
      if (!active) anyBackup = true;
    }
    return anyBackup;
  }

  /**
   * MI `dlg_cluster_sync`: every tag "required" (or only `tag`), then a sync request.
   * Returns the clusterer's answer (0 requested, 1 already in progress, -1 failed).
   */
  requestClusterSync(tag?: string): 0 | 1 | -1 {
    if (!this.clusterSyncBusy()) {
      this.tagSyncStatus.clear();
      if (tag === undefined) this.defaultRequired = true;
      else {
        this.defaultRequired = false;
        this.tagSyncStatus.set(tag, true);
      }
    }
    const rc = this.cl.requestSync(DLG_REPL_CAP, this.cluster);
    if (rc === 0) this.host.syncInProgress = true;
    return rc;
  }
}
