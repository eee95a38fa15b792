/**
 * The dialog module's logic: the dialog table and its state machine, lifetimes (a per-second
 * timer wheel), ownership by sharing tag, profiles, and replication through the clusterer API
 * (send, receive, sync as donor and receiver) — OpenSIPS dlg_hash.c, dlg_handlers.c,
 * dlg_replication.c and dlg_repl_profile.h as spec/dialog.md describes them.
 *
 * The engine is plain TypeScript with an injectable clock, so unit tests drive timers and
 * two engines can be joined by an in-memory clusterer. `index.ts` wires it into a module.
 */
import { randomFillSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type BinPacket, type MessageValues, type TsipsLogger, BinPacket as Packet, LocalSockets, TsipsError, createVersionGuard, type VersionGuard, type SocketDef } from "tsips";
import type { ClusterEvent, ClustererApi } from "../clusterer/api.ts";
import type {
  CreateDialogOptions, DialogApi, DialogCounts, DialogEvent, DialogEventKind, DialogInfo, DialogRef, DlgStateNum, ProfileInfo,
} from "./api.ts";
import { coreHash } from "tsips";
import { parseDid } from "./did.ts";
import {
  DIALOG_MESSAGES_BY_TYPE, DLG_BIN_V4, DLG_RECORD_FIELDS, DLG_REPL_CAP, DLG_SYNC_TYPE, DlgCseq, DlgDeleted, DlgProfile, DlgSyncChunk,
  DlgValue, popDlgRecord, PROF_REPL_CAP, REPLICATION_DLG_CREATED, REPLICATION_DLG_CSEQ, REPLICATION_DLG_DELETED, REPLICATION_DLG_PROFILE,
  REPLICATION_DLG_UPDATED, REPLICATION_DLG_VALUE, pushProfileRecord, type ProfileCounterRecord, type ReplValue,
} from "./messages.ts";
import { ProfileTable, type ProfileDef } from "./profiles.ts";
import {
  DLG_FLAG_CHANGED, DLG_FLAG_FROM_DB, DLG_FLAG_NEW, DLG_FLAG_SYNCED, DLG_FLAGS_NOT_SENT, DLG_STATE_DELETED, Dialog, DialogTable,
  SHTAG_VALUE_NAME, TimerWheel, type DialogOrigin,
} from "./store.ts";
import { parseProfiles, parseValues, serializeProfiles, serializeValues, type DlgValue as Val } from "./vals.ts";

/** The modparams the engine uses (already validated; `hash_size` already a power of two). */
export interface DialogEngineParams {
  dialog_replication_cluster: number;
  profile_replication_cluster: number;
  replicate_profiles_timer: number;
  replicate_profiles_check: number;
  replicate_profiles_buffer: number;
  replicate_profiles_expire: number;
  cluster_auto_sync: number;
  hash_size: number;
  default_timeout: number;
  log_profile_hash_size: number;
  delete_delay: number;
  profiles_with_value: string;
  profiles_no_value: string;
  cachedb_url: string;
}

export const DIALOG_STAT_NAMES = [
  "active_dialogs", "early_dialogs", "processed_dialogs", "expired_dialogs", "failed_dialogs",
  "create_sent", "update_sent", "delete_sent", "create_recv", "update_recv", "delete_recv", "repl_dropped",
] as const;
export type DialogStatName = (typeof DIALOG_STAT_NAMES)[number];

interface Counter {
  inc(n?: number): void;
}
const NOOP: Counter = { inc() {} };

export interface DialogEngineOptions {
  params: DialogEngineParams;
  clusterer?: ClustererApi | undefined;
  log: TsipsLogger;
  /** Counters by name (the gauges active/early are read from `counts()`); missing ones are not kept. */
  stats?: Partial<Record<DialogStatName, Counter>>;
  sockets: readonly SocketDef[];
  /** Global `advertised_address`. */
  advertisedAddress?: string;
  /** Clock in ms (default Date.now). */
  now?: () => number;
  /** Start the 1 s dialog timer and the profile timers (default true; tests drive `runTimers` instead). */
  timers?: boolean;
  /** Random per-bucket id start (default true, as OpenSIPS). */
  randomIds?: boolean;
}

type DlgRecord = MessageValues<typeof DLG_RECORD_FIELDS>;

const isState = (n: number): n is DlgStateNum => n >= 1 && n <= 5 && Number.isInteger(n);

function dlgError(code: "TSIPS_ERR_DLG_NOT_FOUND" | "TSIPS_ERR_DLG_BACKUP" | "TSIPS_ERR_DLG_STATE" | "TSIPS_ERR_DLG_ARG", msg: string): TsipsError {
  return new TsipsError(code, msg, { module: "dialog" });
}

/** Random bytes for tags, refilled in blocks (a tag per leg per dialog is on the create path). */
const tagPool = Buffer.allocUnsafe(4096);
let tagPos = tagPool.length;
/** A fresh tag: 10 random hex chars. */
function newTag(): string {
  if (tagPos + 5 > tagPool.length) {
    randomFillSync(tagPool);
    tagPos = 0;
  }
  tagPos += 5;
  return tagPool.toString("hex", tagPos - 5, tagPos);
}

export class DialogEngine implements DialogApi {
  readonly table: DialogTable;
  readonly profilesTable: ProfileTable;
  readonly sockets: LocalSockets;
  readonly params: DialogEngineParams;
  private readonly log: TsipsLogger;
  private readonly cl: ClustererApi | undefined;
  /** Dialog replication on (cluster set and clusterer there). */
  readonly dlgRepl: boolean;
  /** Profile replication on. */
  readonly profRepl: boolean;
  private readonly now: () => number;
  private readonly wheel: TimerWheel;
  private readonly st: Record<DialogStatName, Counter>;
  private readonly versionGuard: VersionGuard;
  private early = 0;
  private active = 0;
  /** Tag state cache (clusterer shtagGet), invalidated by the clusterer's change callbacks. */
  private readonly tagActive = new Map<string, boolean>();
  /** Tags this module has seen (on dialogs or in callbacks): what `shtag_sync_all_backup` walks. */
  private readonly knownTags = new Set<string>();
  /** Tagged dialogs whose lifetime passed while this node was backup: tag → dialogs. */
  private readonly overdue = new Map<string, Set<Dialog>>();
  /** Per-tag sync status for this capability (REQUIRED unless listed false; see `defaultRequired`). */
  private readonly tagSyncStatus = new Map<string, boolean>();
  private defaultRequired = true;
  /** Our "sync in progress" marker (dlg_replication.c). */
  syncInProgress = false;
  private readonly listeners = new Map<DialogEventKind, Set<(ev: DialogEvent) => void>>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private undoTagCb: (() => void) | undefined;
  private started = false;

  constructor(o: DialogEngineOptions) {
    this.params = o.params;
    this.log = o.log;
    this.cl = o.clusterer;
    this.now = o.now ?? Date.now;
    this.dlgRepl = o.params.dialog_replication_cluster > 0 && this.cl !== undefined;
    this.profRepl = o.params.profile_replication_cluster > 0 && this.cl !== undefined;
    this.table = new DialogTable(o.params.hash_size, o.randomIds ?? true);
    this.wheel = new TimerWheel(this.nowSec());
    this.sockets = new LocalSockets(o.sockets, o.advertisedAddress);
    const st = {} as Record<DialogStatName, Counter>;
    for (const n of DIALOG_STAT_NAMES) st[n] = o.stats?.[n] ?? NOOP;
    this.st = st;
    this.versionGuard = createVersionGuard(this.log, st.repl_dropped);
    this.profilesTable = new ProfileTable({
      buckets: 2 ** o.params.log_profile_hash_size,
      binEnabled: this.profRepl,
      cachedbUrl: o.params.cachedb_url,
      expireSec: o.params.replicate_profiles_expire,
      now: this.now,
      isBackupTag: (tag) => this.dlgRepl && !this.isTagActive(tag),
      warn: (m) => this.log.warn(m),
    });
    // OpenSIPS defines profiles without value first, then those with value.
    this.profilesTable.define(o.params.profiles_no_value, false);
    this.profilesTable.define(o.params.profiles_with_value, true);
    if (this.dlgRepl && !this.sockets.defaultSip()) {
      this.log.warn("dialog replication is on but no SIP socket is defined (socket=udp:IP:PORT [tag NAME]): "
        + "local dialogs cannot be created, and replicated ones can only match a listener a peer names");
    }
    if (o.timers ?? true) this.startTimers();
  }

  // ── lifecycle ──────────────────────────────────────────────────────────

  /** Registers the capabilities with the clusterer and asks for the startup sync (`dlg_init_clustering`). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const cl = this.cl;
    if (!cl) return;
    if (this.profRepl) {
      cl.registerCapability({
        capability: PROF_REPL_CAP, clusterId: this.params.profile_replication_cluster, startupSync: false, syncCond: "any",
        onPacket: (pkt, type, src) => this.onProfilePacket(pkt, type, src),
      });
    }
    if (this.dlgRepl) {
      const cluster = this.params.dialog_replication_cluster;
      cl.registerCapability({
        capability: DLG_REPL_CAP, clusterId: cluster, startupSync: true, syncCond: "any",
        onPacket: (pkt, type, src) => this.onDialogPacket(pkt, type, src),
        onEvent: (ev) => this.onClusterEvent(ev),
      });
      this.undoTagCb = cl.shtagOnChange(undefined, cluster, (tag, state) => this.onTagChange(tag, state === "active"));
      this.syncInProgress = true;
      const rc = cl.requestSync(DLG_REPL_CAP, cluster);
      if (rc < 0) this.log.error("failed to request a dialog sync at startup");
    }
  }

  private startTimers(): void {
    const t = setInterval(() => this.runTimers(), 1000);
    t.unref();
    this.intervals.push(t);
    if (this.profRepl && this.profilesTable.hasBin) {
      const b = setInterval(() => this.broadcastProfiles(), Math.max(1, this.params.replicate_profiles_timer));
      b.unref();
      const c = setInterval(() => this.profilesTable.cleanup(), Math.max(1, this.params.replicate_profiles_check) * 1000);
      c.unref();
      this.intervals.push(b, c);
    }
  }

  stop(): void {
    for (const t of this.intervals) clearInterval(t);
    this.intervals.length = 0;
    this.undoTagCb?.();
    this.undoTagCb = undefined;
  }

  private nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  // ── events ─────────────────────────────────────────────────────────────

  on(kinds: DialogEventKind | readonly DialogEventKind[], cb: (ev: DialogEvent) => void): () => void {
    const list = typeof kinds === "string" ? [kinds] : kinds;
    for (const k of list) {
      let s = this.listeners.get(k);
      if (!s) this.listeners.set(k, s = new Set());
      s.add(cb);
    }
    return () => {
      for (const k of list) this.listeners.get(k)?.delete(cb);
    };
  }

  /** Cheap check so the hot paths build an event object only when someone listens. */
  private listened(kind: DialogEventKind): boolean {
    const s = this.listeners.get(kind);
    return s !== undefined && s.size > 0;
  }

  private emit(ev: DialogEvent): void {
    const s = this.listeners.get(ev.kind);
    if (!s || s.size === 0) return;
    for (const cb of s) {
      try {
        cb(ev);
      } catch (err) {
        this.log.error({ err, event: ev.kind }, "dialog callback threw");
      }
    }
  }

  // ── ownership ──────────────────────────────────────────────────────────

  private isTagActive(tag: string): boolean {
    let a = this.tagActive.get(tag);
    if (a === undefined) {
      a = this.cl!.shtagGet(tag, this.params.dialog_replication_cluster) === "active";
      this.tagActive.set(tag, a);
      this.knownTags.add(tag);
    }
    return a;
  }

  /** This node runs the dialog's timers and owner-only actions. */
  private mine(d: Dialog): boolean {
    return !this.dlgRepl || d.shtag === undefined || this.isTagActive(d.shtag);
  }

  isOwner(ref: DialogRef): boolean {
    return this.mine(this.resolve(ref));
  }

  /** A sharing tag changed state (clusterer callback): the new owner takes over overdue timers. */
  onTagChange(tag: string, active: boolean): void {
    this.tagActive.set(tag, active);
    this.knownTags.add(tag);
    if (!active) return;
    const waiting = this.overdue.get(tag);
    if (!waiting) return;
    this.overdue.delete(tag);
    let n = 0;
    for (const d of waiting) {
      d.overdue = false;
      if (d.state !== DLG_STATE_DELETED && this.table.has(d) && d.shtag === tag) {
        this.expire(d);
        n++;
      }
    }
    if (n > 0) this.log.info({ tag, dialogs: n }, `sharing tag ${tag} active here: ended ${n} dialog(s) whose lifetime passed while backup`);
  }

  // ── timers ─────────────────────────────────────────────────────────────

  /** Runs every lifetime that is due (called each second; tests call it with a fake clock). */
  runTimers(nowMs = this.now()): number {
    const due = this.wheel.due(Math.floor(nowMs / 1000));
    for (const d of due) {
      if (!this.table.has(d)) continue;
      if (d.state === DLG_STATE_DELETED) {
        this.table.remove(d); // delete_delay elapsed
        continue;
      }
      if (this.mine(d)) this.expire(d);
      else this.markOverdue(d);
    }
    return due.length;
  }

  private markOverdue(d: Dialog): void {
    const tag = d.shtag!;
    let s = this.overdue.get(tag);
    if (!s) this.overdue.set(tag, s = new Set());
    s.add(d);
    d.overdue = true;
  }

  private clearOverdue(d: Dialog): void {
    if (!d.overdue) return;
    d.overdue = false;
    for (const [tag, s] of this.overdue) {
      if (s.delete(d) && s.size === 0) this.overdue.delete(tag);
    }
  }

  /** The owner's timeout: end + replicate DELETED (dlg_ontimeout). */
  private expire(d: Dialog): void {
    this.st.expired_dialogs.inc();
    this.emit({ kind: "expired", dialog: d, origin: "local" });
    this.terminate(d, "timeout", true);
  }

  private arm(d: Dialog): void {
    this.clearOverdue(d);
    if (d.expiresAt > 0) this.wheel.add(d, d.expiresAt);
    else this.wheel.remove(d);
  }

  // ── state bookkeeping ──────────────────────────────────────────────────

  private countIn(state: number, n: number): void {
    if (state === 2) this.early += n;
    else if (state === 3 || state === 4) this.active += n;
  }

  private setStateRaw(d: Dialog, s: DlgStateNum): void {
    d.wire = undefined;
    if (this.table.has(d)) {
      this.countIn(d.state, -1);
      this.countIn(s, 1);
    }
    d.state = s;
  }

  private insert(d: Dialog): void {
    this.table.insert(d);
    this.countIn(d.state, 1);
    if (d.shtag !== undefined) this.knownTags.add(d.shtag);
  }

  private unlinkFromTable(d: Dialog): void {
    if (this.table.remove(d)) this.countIn(d.state, -1);
    this.wheel.remove(d);
    this.clearOverdue(d);
  }

  counts(): DialogCounts {
    return { total: this.table.count, early: this.early, active: this.active };
  }

  /**
   * Moves a dialog to state 5: profiles unlinked (with removal broadcasts), timer removed,
   * DELETED replicated when asked and the dialog was confirmed, then freed (or kept for
   * `delete_delay` seconds).
   */
  private terminate(d: Dialog, reason: string, replicate: boolean, keep = true): boolean {
    const old = d.state;
    if (old === DLG_STATE_DELETED) return false;
    this.setStateRaw(d, DLG_STATE_DELETED);
    d.endReason = reason;
    if (old < 3 && reason !== "replicated" && reason !== "sync-purge") this.st.failed_dialogs.inc();
    this.wheel.remove(d);
    this.clearOverdue(d);
    this.sendProfileRemovals(this.profilesTable.unlinkAll(d));
    if (replicate && old >= 3) this.sendDeleted(d);
    this.emit({ kind: "terminated", dialog: d, origin: reason === "replicated" ? "replicated" : reason === "sync-purge" ? "sync" : "local", oldState: old, newState: DLG_STATE_DELETED, reason });
    if (keep && this.params.delete_delay > 0) this.wheel.add(d, this.nowSec() + this.params.delete_delay);
    else this.unlinkFromTable(d);
    return true;
  }

  // ── lookups ────────────────────────────────────────────────────────────

  /** By `ID` form, else by Call-ID (first in its bucket, optionally with the caller tag); any state. */
  find(ref: string, fromTag?: string): Dialog | undefined {
    const did = fromTag === undefined ? parseDid(ref) : undefined;
    if (did && did.hEntry < this.table.size) {
      const d = this.table.get(did.hEntry, did.hId);
      if (d) return d;
    }
    return this.table.findByCallid(coreHash(ref, this.table.size), ref, fromTag);
  }

  lookup(ref: string, fromTag?: string): DialogInfo | undefined {
    const d = this.find(ref, fromTag);
    return d && d.state !== DLG_STATE_DELETED ? d : undefined;
  }

  private resolve(ref: DialogRef): Dialog {
    if (typeof ref !== "string") {
      const d = ref as Dialog;
      if (d instanceof Dialog && this.table.has(d)) return d;
      const again = this.table.get(ref.hEntry, ref.hId);
      if (again) return again;
      throw dlgError("TSIPS_ERR_DLG_NOT_FOUND", `dialog ${ref.id} not found`);
    }
    const d = this.find(ref);
    if (!d) throw dlgError("TSIPS_ERR_DLG_NOT_FOUND", `dialog ${ref} not found`);
    return d;
  }

  private live(ref: DialogRef): Dialog {
    const d = this.resolve(ref);
    if (d.state === DLG_STATE_DELETED) throw dlgError("TSIPS_ERR_DLG_STATE", `dialog ${d.id} already ended`);
    return d;
  }

  *dialogs(): IterableIterator<DialogInfo> {
    yield* this.table;
  }

  profiles(): readonly ProfileInfo[] {
    return this.profilesTable.defs;
  }

  profileSize(profile: string, value?: string): number {
    const def = this.profilesTable.search(profile);
    if (!def) throw dlgError("TSIPS_ERR_DLG_ARG", `profile ${profile} not found`);
    return this.profilesTable.size(def, def.hasValue ? value : undefined);
  }

  // ── local API ──────────────────────────────────────────────────────────

  create(o: CreateDialogOptions): DialogInfo {
    if (!o.callid || !o.fromUri || !o.toUri) throw dlgError("TSIPS_ERR_DLG_ARG", "a dialog needs callid, from_uri and to_uri");
    const state: number = o.state ?? 4;
    if (!isState(state) || state === DLG_STATE_DELETED) throw dlgError("TSIPS_ERR_DLG_ARG", `invalid initial state ${String(o.state)} (1..4)`);
    const timeout = o.timeout ?? this.params.default_timeout;
    if (!Number.isFinite(timeout) || timeout <= 0) throw dlgError("TSIPS_ERR_DLG_ARG", `invalid timeout ${timeout}`);
    const callerSock = o.callerSocket !== undefined ? this.sockets.resolve(o.callerSocket) : this.sockets.defaultSip();
    const calleeSock = o.calleeSocket !== undefined ? this.sockets.resolve(o.calleeSocket) : callerSock;
    if (o.callerSocket !== undefined && !callerSock) throw dlgError("TSIPS_ERR_DLG_ARG", `caller socket ${o.callerSocket} is not a local socket`);
    if (o.calleeSocket !== undefined && !calleeSock) throw dlgError("TSIPS_ERR_DLG_ARG", `callee socket ${o.calleeSocket} is not a local socket`);
    if (this.dlgRepl && !callerSock) throw dlgError("TSIPS_ERR_DLG_ARG", "no SIP socket to bind the dialog to: add a socket=udp:IP:PORT line (peers match replicated dialogs by socket)");
    // Resolve profiles before touching the table, so a bad one fails cleanly.
    const profs: { def: ProfileDef; value: string }[] = [];
    for (const p of o.profiles ?? []) {
      const def = this.profilesTable.search(p.name);
      if (!def) throw dlgError("TSIPS_ERR_DLG_ARG", `profile ${p.name} is not defined`);
      if (def.hasValue && (p.value === undefined || p.value === "")) throw dlgError("TSIPS_ERR_DLG_ARG", `profile ${p.name} needs a value`);
      profs.push({ def, value: def.hasValue ? p.value! : "" });
    }
    const hEntry = coreHash(o.callid, this.table.size);
    const now = this.nowSec();
    const d = new Dialog({
      hEntry, hId: this.table.newId(hEntry), callid: o.callid, fromUri: o.fromUri, toUri: o.toUri,
      callerTag: o.fromTag || newTag(), calleeTag: o.toTag || newTag(), state, startTs: now, origin: "local",
    });
    d.callerSock = callerSock;
    d.calleeSock = calleeSock;
    d.callerCseq = o.callerCseq ?? "0";
    d.calleeCseq = o.calleeCseq ?? "1";
    d.callerContact = o.callerContact ?? o.fromUri;
    d.calleeContact = o.calleeContact ?? o.toUri;
    d.callerRouteSet = o.callerRouteSet ?? "";
    d.calleeRouteSet = o.calleeRouteSet ?? "";
    d.callerInSdp = o.callerSdp ?? "";
    d.calleeInSdp = o.calleeSdp ?? "";
    d.userFlags = (o.userFlags ?? 0) >>> 0;
    d.flags = ((o.flags ?? 0) | DLG_FLAG_NEW) >>> 0;
    // Our own fresh dialogs survive a sync purge (see README: a tsips choice).
    if (this.syncInProgress) d.flags |= DLG_FLAG_SYNCED;
    d.expiresAt = now + Math.floor(timeout);
    if (o.values) for (const [k, v] of Object.entries(o.values)) d.storeValue(k, v);
    if (o.sharingTag) d.shtag = o.sharingTag;
    this.insert(d);
    for (const p of profs) this.profilesTable.link(d, p.def, p.value);
    this.arm(d);
    this.st.processed_dialogs.inc();
    if (this.listened("created")) this.emit({ kind: "created", dialog: d, origin: "local", newState: state });
    if (state >= 3) this.sendCreated(d);
    return d;
  }

  setState(ref: DialogRef, state: DlgStateNum): DialogInfo {
    const d = this.resolve(ref);
    if (!isState(state)) throw dlgError("TSIPS_ERR_DLG_STATE", `invalid state ${String(state)}`);
    if (state === d.state) return d;
    if (d.state === DLG_STATE_DELETED || state < d.state) {
      throw dlgError("TSIPS_ERR_DLG_STATE", `dialog ${d.id}: state ${d.state} cannot go to ${state}`);
    }
    if (state === DLG_STATE_DELETED) return this.end(d, "api");
    const old = d.state;
    this.setStateRaw(d, state);
    this.emit({ kind: "state", dialog: d, origin: "local", oldState: old, newState: state });
    if (state >= 3) {
      if (!d.replicated) this.sendCreated(d);
      else this.sendUpdated(d);
    }
    return d;
  }

  setTimeout(ref: DialogRef, seconds: number): DialogInfo {
    const d = this.live(ref);
    if (!Number.isFinite(seconds) || seconds < 0) throw dlgError("TSIPS_ERR_DLG_ARG", `invalid timeout ${seconds}`);
    d.expiresAt = this.nowSec() + Math.floor(seconds);
    d.wire = undefined;
    this.arm(d);
    this.changed(d);
    return d;
  }

  setLastGenCseq(ref: DialogRef, leg: "caller" | "callee", cseq: number): DialogInfo {
    const d = this.live(ref);
    d.wire = undefined;
    if (leg === "caller") d.callerLastGenCseq = cseq >>> 0;
    else d.calleeLastGenCseq = cseq >>> 0;
    if (d.replicated && d.state >= 3) this.sendCseq(d, leg);
    return d;
  }

  setValue(ref: DialogRef, name: string, value: string | number | undefined): DialogInfo {
    const d = this.live(ref);
    if (!name) throw dlgError("TSIPS_ERR_DLG_ARG", "a value needs a name");
    if (value === undefined) d.deleteValue(name);
    else d.storeValue(name, typeof value === "number" ? Math.trunc(value) | 0 : value);
    if (name === SHTAG_VALUE_NAME) this.retag(d, typeof value === "string" && value !== "" ? value : undefined);
    if (d.replicated && d.state >= 4) this.sendValue(d, name, value);
    this.emit({ kind: "updated", dialog: d, origin: "local" });
    return d;
  }

  /** MI `dlg_push_var`: stores a string value (VALUE in state >= 4) and replicates an UPDATED. */
  pushValue(ref: DialogRef, name: string, value: string): DialogInfo {
    const d = this.setValue(ref, name, value) as Dialog;
    if (d.replicated && (d.state === 3 || d.state === 4)) this.sendUpdated(d);
    return d;
  }

  setProfile(ref: DialogRef, profile: string, value?: string): DialogInfo {
    const d = this.live(ref);
    const def = this.profilesTable.search(profile);
    if (!def) throw dlgError("TSIPS_ERR_DLG_ARG", `profile ${profile} is not defined`);
    if (def.hasValue && !value) throw dlgError("TSIPS_ERR_DLG_ARG", `profile ${profile} needs a value`);
    if (this.profilesTable.link(d, def, value ?? "")) this.changed(d);
    return d;
  }

  unsetProfile(ref: DialogRef, profile: string, value?: string): boolean {
    const d = this.live(ref);
    const def = this.profilesTable.search(profile);
    if (!def) throw dlgError("TSIPS_ERR_DLG_ARG", `profile ${profile} is not defined`);
    const removals: ProfileCounterRecord[] = [];
    const found = this.profilesTable.unlink(d, def, value, removals);
    this.sendProfileRemovals(removals);
    if (found) this.changed(d);
    return found;
  }

  setSharingTag(ref: DialogRef, tag: string | undefined): DialogInfo {
    const d = this.live(ref);
    const t = tag === "" ? undefined : tag;
    if (t === d.shtag) return d;
    this.retag(d, t);
    if (t === undefined) d.deleteValue(SHTAG_VALUE_NAME);
    this.changed(d);
    return d;
  }

  end(ref: DialogRef, reason = "api"): DialogInfo {
    const d = this.live(ref);
    if (!this.mine(d)) throw dlgError("TSIPS_ERR_DLG_BACKUP", `node is backup for dialog ${d.id} (sharing tag ${d.shtag})`);
    this.terminate(d, reason, true);
    return d;
  }

  /** A local change of a confirmed dialog: UPDATED (OpenSIPS replicates on $DLG_timeout, profiles, values pushed by MI). */
  private changed(d: Dialog): void {
    if (this.listened("updated")) this.emit({ kind: "updated", dialog: d, origin: "local" });
    if (d.replicated && (d.state === 3 || d.state === 4)) this.sendUpdated(d);
  }

  private retag(d: Dialog, tag: string | undefined): void {
    if (tag === d.shtag) return;
    this.profilesTable.retag(d, d.shtag, tag);
    this.clearOverdue(d);
    d.shtag = tag;
    if (tag !== undefined) this.knownTags.add(tag);
    // Re-check a lifetime that already passed under the old owner.
    if (d.expiresAt > 0 && d.expiresAt <= this.nowSec() && d.state !== DLG_STATE_DELETED) this.wheel.add(d, d.expiresAt);
  }

  // ── sending ────────────────────────────────────────────────────────────

  /** The 35-field record (`bin_push_dlg`). A tagged dialog stores its tag as value `dlgX_shtag` first. */
  record(d: Dialog): DlgRecord {
    if (d.shtag !== undefined) d.storeValue(SHTAG_VALUE_NAME, d.shtag);
    const callerSock = d.callerSock?.sockStr ?? "";
    return {
      callid: d.callid, callerTag: d.callerTag, calleeTag: d.calleeTag, fromUri: d.fromUri, toUri: d.toUri,
      hId: d.hId, startTs: d.startTs, state: d.state,
      callerSocket: callerSock, calleeSocket: d.calleeSock?.sockStr ?? callerSock,
      callerCseq: d.callerCseq, calleeCseq: d.calleeCseq, callerRouteSet: d.callerRouteSet, calleeRouteSet: d.calleeRouteSet,
      callerContact: d.callerContact, calleeContact: d.calleeContact, calleeMangledFrom: d.calleeMangledFrom, calleeMangledTo: d.calleeMangledTo,
      callerInSdp: d.callerInSdp, callerOutSdp: d.callerOutSdp, calleeInSdp: d.calleeInSdp, calleeOutSdp: d.calleeOutSdp,
      callerAdvContact: d.callerAdvContact, calleeAdvContact: d.calleeAdvContact,
      vars: serializeValues(d.vals), profiles: serializeProfiles(d.links?.map((l) => ({ name: l.profile.fullName, value: l.value }))),
      userFlags: d.userFlags, modFlags: d.modFlags, flags: (d.flags & ~DLG_FLAGS_NOT_SENT) >>> 0,
      expiresAt: d.expiresAt, callerLastGenCseq: d.callerLastGenCseq, calleeLastGenCseq: d.calleeLastGenCseq,
      onAnswerRoute: d.onAnswerRoute, onTimeoutRoute: d.onTimeoutRoute, onHangupRoute: d.onHangupRoute,
    };
  }

  /** Scratch packet the record is encoded into before it is copied to `d.wire`. */
  private scratch: BinPacket | undefined;

  /** The encoded record of a dialog, built once per change (`d.wire`). */
  wireOf(d: Dialog): Buffer {
    const rec = d.wire === undefined || (d.shtag !== undefined && d.vals?.get(SHTAG_VALUE_NAME) !== d.shtag) ? this.record(d) : undefined;
    if (rec) {
      const p = (this.scratch ??= Packet.init(DLG_REPL_CAP, 0, DLG_BIN_V4, 65535));
      p.resetBackPointer();
      DlgSyncChunk.pushFields(p, rec, DLG_BIN_V4);
      d.wire = Buffer.from(p.contentStart());
    }
    return d.wire!;
  }

  /** A CREATED/UPDATED packet around the dialog's encoded record. */
  private recordPacket(d: Dialog, type: number): BinPacket {
    const w = this.wireOf(d);
    return Packet.init(DLG_REPL_CAP, type, DLG_BIN_V4, 16 + DLG_REPL_CAP.length + w.length + 12).appendBuffer(w);
  }

  private send(pkt: BinPacket, what: string, cluster = this.params.dialog_replication_cluster): boolean {
    const rc = this.cl!.sendAll(pkt, cluster);
    switch (rc) {
      case 0:
        return true;
      case 1:
        this.log.info(`${what}: current node is disabled`);
        return false;
      case -1:
        this.log.info(`${what}: all destinations are down`);
        return false;
      default:
        this.log.error(`${what}: failed to send`);
        return false;
    }
  }

  private sendCreated(d: Dialog): void {
    if (!this.dlgRepl || d.state < 3 || d.state > 4) return;
    d.replicated = true;
    if (this.send(this.recordPacket(d, REPLICATION_DLG_CREATED), "replicate dialog created")) this.st.create_sent.inc();
  }

  private sendUpdated(d: Dialog): void {
    if (!this.dlgRepl || d.state < 3 || d.state > 4) return;
    // As OpenSIPS: re-storing the tag value in state >= 4 sends a VALUE right before the UPDATED.
    if (d.shtag !== undefined && d.state >= 4) this.sendValue(d, SHTAG_VALUE_NAME, d.shtag);
    if (this.send(this.recordPacket(d, REPLICATION_DLG_UPDATED), "replicate dialog updated")) this.st.update_sent.inc();
  }

  private sendDeleted(d: Dialog): void {
    if (!this.dlgRepl) return;
    const pkt = DlgDeleted.encode({ callid: d.callid, callerTag: d.callerTag, calleeTag: d.calleeTag, hId: d.hId });
    if (this.send(pkt, "replicate dialog deleted")) this.st.delete_sent.inc();
  }

  private sendCseq(d: Dialog, leg: "caller" | "callee"): void {
    if (!this.dlgRepl) return;
    const toCallee = leg === "callee";
    this.send(DlgCseq.encode({
      callid: d.callid, fromTag: toCallee ? d.callerTag : d.calleeTag, toTag: toCallee ? d.calleeTag : d.callerTag,
      hId: d.hId, cseq: toCallee ? d.calleeLastGenCseq : d.callerLastGenCseq,
    }), "replicate dialog cseq");
  }

  private sendValue(d: Dialog, name: string, value: Val | undefined): void {
    if (!this.dlgRepl) return;
    const v: ReplValue = value === undefined ? { type: 0 } : typeof value === "number" ? { type: 2, value } : { type: 1, value };
    this.send(DlgValue.encode({ callid: d.callid, hId: d.hId, name, value: v }), "replicate dialog value");
  }

  // ── profiles over BIN ──────────────────────────────────────────────────

  /** One periodic broadcast of the local `/b` counters (`broadcast_profiles`). Returns the packets sent. */
  broadcastProfiles(): number {
    if (!this.profRepl || !this.profilesTable.hasBin) return 0;
    const cluster = this.params.profile_replication_cluster;
    let sent = 0;
    let pkt = Packet.init(PROF_REPL_CAP, REPLICATION_DLG_PROFILE, DLG_BIN_V4);
    let n = 0;
    for (const group of this.profilesTable.broadcastGroups()) {
      for (const r of group) {
        pushProfileRecord(pkt, r);
        n++;
      }
      if (pkt.length > this.params.replicate_profiles_buffer) {
        this.sendProfilePacket(pkt, cluster);
        sent++;
        pkt = Packet.init(PROF_REPL_CAP, REPLICATION_DLG_PROFILE, DLG_BIN_V4);
        n = 0;
      }
    }
    if (n > 0) {
      this.sendProfilePacket(pkt, cluster);
      sent++;
    }
    return sent;
  }

  private sendProfilePacket(pkt: BinPacket, cluster: number): void {
    const rc = this.cl!.sendAll(pkt, cluster);
    if (rc === -1) this.log.debug("profile replication: all destinations down");
    else if (rc === -2) this.log.error("profile replication: failed to send");
  }

  /** Immediate removal packets (`repl_prof_remove`): one record, counter 0. */
  private sendProfileRemovals(removals: ProfileCounterRecord[]): void {
    if (removals.length === 0 || !this.profRepl) return;
    for (const r of removals) this.sendProfilePacket(DlgProfile.encode({ records: [r] }), this.params.profile_replication_cluster);
  }

  /** Runs the `replicate_profiles_check` cleanup now. */
  cleanupProfiles(): number {
    return this.profilesTable.cleanup();
  }

  // ── receiving ──────────────────────────────────────────────────────────

  private drop(type: number, src: number, err: unknown): void {
    this.st.repl_dropped.inc();
    this.log.error({ type, src, err: err instanceof Error ? err.message : err }, "Failed to process a binary packet!");
  }

  /** The `dialog-dlg-repl` packet callback (`receive_dlg_repl`). */
  onDialogPacket(pkt: BinPacket, type: number, src: number): void {
    const v = pkt.version;
    try {
      const msg = DIALOG_MESSAGES_BY_TYPE.get(type);
      if (!msg) {
        this.st.repl_dropped.inc();
        this.log.warn(`Invalid dialog binary packet command: ${type} (from node: ${src} in cluster: ${this.params.dialog_replication_cluster})`);
        this.log.error("Failed to process a binary packet!");
        return;
      }
      // Versions 3 and 4 (VALUE: 4 only), as receive_dlg_repl; dropped, counted, logged once per version.
      if (!this.versionGuard.check(pkt, msg)) return;
      let ok = true;
      switch (type) {
        case REPLICATION_DLG_CREATED:
          ok = this.applyCreate(popDlgRecord(pkt), v, "replicated");
          if (ok) this.st.create_recv.inc();
          break;
        case REPLICATION_DLG_UPDATED:
          ok = this.applyUpdate(popDlgRecord(pkt), v);
          if (ok) this.st.update_recv.inc();
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
      if (!ok) this.drop(type, src, "handler failed");
    } catch (err) {
      this.drop(type, src, err);
    }
  }

  private lookupRec(callid: string, tag1: string, tag2: string, hId: number, version: number): Dialog | undefined {
    const hEntry = coreHash(callid, this.table.size);
    return version >= 4 ? this.table.get(hEntry, hId) : this.table.findByTags(hEntry, callid, tag1, tag2);
  }

  /** CREATED / sync chunk (`dlg_replicated_create`). False when the dialog was rejected. */
  private applyCreate(rec: DlgRecord, version: number, origin: "replicated" | "sync"): boolean {
    const existing = this.lookupRec(rec.callid, rec.callerTag, rec.calleeTag, rec.hId, version);
    if (existing) {
      existing.flags &= ~DLG_FLAG_FROM_DB;
      if (origin === "sync" || this.syncInProgress) existing.flags |= DLG_FLAG_SYNCED;
      return true;
    }
    return this.build(rec, origin);
  }

  private build(rec: DlgRecord, origin: DialogOrigin): boolean {
    const hEntry = coreHash(rec.callid, this.table.size);
    if (!isState(rec.state)) {
      this.log.error(`replicated dialog ${rec.callid} has an invalid state ${rec.state}`);
      return false;
    }
    this.table.bumpNextId(hEntry, rec.hId);
    const callerSock = this.sockets.resolve(rec.callerSocket);
    if (!callerSock) {
      this.log.error(`Replicated dialog doesn't match caller's listening socket ${rec.callerSocket}`);
      return false;
    }
    const calleeSock = this.sockets.resolve(rec.calleeSocket);
    if (!calleeSock) {
      this.log.error(`Replicated dialog doesn't match callee's listening socket ${rec.calleeSocket}`);
      return false;
    }
    if (rec.state === DLG_STATE_DELETED) return true; // nothing to build
    const vals = rec.vars ? parseValues(rec.vars) : [];
    let shtag: string | undefined;
    for (const [k, v] of vals) if (k === SHTAG_VALUE_NAME && typeof v === "string" && v !== "") shtag = v;
    let flags = (rec.flags | DLG_FLAG_NEW) >>> 0;
    if (origin === "sync") {
      flags |= DLG_FLAG_SYNCED;
      if (!this.tagSyncRequired(shtag)) return true; // dropped: its tag's sync status is "not required"
    } else if (this.syncInProgress) flags |= DLG_FLAG_SYNCED;
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
    const now = this.nowSec();
    d.expiresAt = rec.expiresAt > now ? rec.expiresAt : now;
    this.insert(d);
    if (rec.profiles) this.linkReceivedProfiles(d, rec.profiles, false);
    this.arm(d);
    this.st.processed_dialogs.inc();
    if (this.listened("created")) this.emit({ kind: "created", dialog: d, origin, newState: d.state });
    return true;
  }

  private linkReceivedProfiles(d: Dialog, text: string, skipLinked: boolean): void {
    for (const p of parseProfiles(text)) {
      let def = this.profilesTable.search(p.name);
      if (!def) {
        this.log.warn(`profile <${p.name}> does not exist now, creating it`);
        def = this.profilesTable.createOnTheFly(p.name, p.value !== "");
      }
      if (skipLinked && d.links?.some((l) => l.profile === def)) continue;
      this.profilesTable.link(d, def, p.value);
    }
  }

  /** UPDATED (`dlg_replicated_update`). */
  private applyUpdate(rec: DlgRecord, version: number): boolean {
    const d = this.lookupRec(rec.callid, rec.callerTag, rec.calleeTag, rec.hId, version);
    if (!d) return this.build(rec, "replicated");
    if (d.state === DLG_STATE_DELETED) return true;
    if (!isState(rec.state)) return false;
    if (rec.state === DLG_STATE_DELETED) {
      this.terminate(d, "replicated", false);
      return true;
    }
    const old = d.state;
    d.wire = undefined;
    if (rec.state !== old) this.setStateRaw(d, rec.state);
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
        if (k === SHTAG_VALUE_NAME && typeof v === "string" && v !== "") this.retag(d, v);
      }
    }
    d.userFlags = rec.userFlags;
    d.modFlags = rec.modFlags;
    d.flags = ((rec.flags & ~(DLG_FLAG_NEW | DLG_FLAG_SYNCED)) | (d.flags & (DLG_FLAG_NEW | DLG_FLAG_SYNCED)) | DLG_FLAG_CHANGED) >>> 0;
    const now = this.nowSec();
    const exp = rec.expiresAt > now ? rec.expiresAt : now;
    if (exp !== d.expiresAt) {
      d.expiresAt = exp;
      this.arm(d);
    }
    d.onAnswerRoute = rec.onAnswerRoute;
    d.onTimeoutRoute = rec.onTimeoutRoute;
    d.onHangupRoute = rec.onHangupRoute;
    if (rec.profiles) this.linkReceivedProfiles(d, rec.profiles, true);
    if (rec.state !== old) this.emit({ kind: "state", dialog: d, origin: "replicated", oldState: old, newState: rec.state });
    this.emit({ kind: "updated", dialog: d, origin: "replicated" });
    return true;
  }

  /** DELETED (`dlg_replicated_delete`): not found is fine (already gone). */
  private applyDelete(rec: MessageValues<typeof DlgDeleted.fields>, version: number): boolean {
    const d = this.lookupRec(rec.callid, rec.callerTag, rec.calleeTag, rec.hId, version);
    if (!d) {
      this.log.debug(`replicated delete for unknown dialog ${rec.callid}`);
      return true;
    }
    if (!this.terminate(d, "replicated", false)) {
      this.log.error(`duplicate dialog delete request (callid: |${rec.callid}| ftag: |${rec.callerTag}|)`);
      return false;
    }
    this.st.delete_recv.inc();
    return true;
  }

  /** CSEQ: the destination leg is the one whose tag is field 3. */
  private applyCseq(rec: MessageValues<typeof DlgCseq.fields>, version: number): boolean {
    const d = this.lookupRec(rec.callid, rec.fromTag, rec.toTag, rec.hId, version);
    if (!d) {
      this.log.debug(`replicated cseq for unknown dialog ${rec.callid}`);
      return false;
    }
    if (d.state === DLG_STATE_DELETED) return true;
    d.wire = undefined;
    if (rec.toTag === d.calleeTag && rec.fromTag === d.callerTag) d.calleeLastGenCseq = rec.cseq;
    else if (rec.toTag === d.callerTag && rec.fromTag === d.calleeTag) d.callerLastGenCseq = rec.cseq;
    else return false;
    this.emit({ kind: "updated", dialog: d, origin: "replicated" });
    return true;
  }

  /** VALUE (`dlg_replicated_value`); type 0 deletes (the 3.6.8 quirk of storing a typeless value is not copied). */
  private applyValue(rec: MessageValues<typeof DlgValue.fields>): boolean {
    const d = this.table.get(coreHash(rec.callid, this.table.size), rec.hId);
    if (!d) {
      this.log.debug(`replicated value for unknown dialog ${rec.callid}`);
      return false;
    }
    if (d.state === DLG_STATE_DELETED) return true;
    const v = rec.value;
    if (v.type === 0) d.deleteValue(rec.name);
    else d.storeValue(rec.name, v.value);
    if (rec.name === SHTAG_VALUE_NAME) this.retag(d, v.type === 1 && v.value !== "" ? v.value : undefined);
    this.emit({ kind: "updated", dialog: d, origin: "replicated" });
    return true;
  }

  /** Type 101: one dialog per chunk; the first failing chunk stops this packet. */
  private applySync(pkt: BinPacket, version: number, src: number): void {
    const cl = this.cl!;
    while (cl.syncChunkIter(pkt)) {
      let ok: boolean;
      try {
        ok = this.applyCreate(popDlgRecord(pkt), version, "sync");
      } catch (err) {
        this.drop(DLG_SYNC_TYPE, src, err);
        return;
      }
      if (!ok) {
        this.drop(DLG_SYNC_TYPE, src, "sync chunk rejected");
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
        this.syncDone();
        break;
      case "node-up":
        if (this.params.cluster_auto_sync && this.syncAllBackup()) {
          this.syncInProgress = true;
          this.cl!.requestSync(DLG_REPL_CAP, this.params.dialog_replication_cluster);
        }
        break;
      case "node-down":
        break;
    }
  }

  /** Donor side: one chunk per confirmed dialog (states 3 and 4). Returns the chunks written. */
  serveSync(nodeId: number): number {
    const cl = this.cl!;
    const cluster = this.params.dialog_replication_cluster;
    const t0 = performance.now();
    let n = 0;
    for (const d of this.table) {
      if (d.state !== 3 && d.state !== 4) continue;
      const w = this.wireOf(d);
      cl.syncChunkStart(DLG_REPL_CAP, cluster, nodeId, DLG_BIN_V4).appendBuffer(w);
      n++;
    }
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    this.log.info({ node: nodeId, dialogs: n, ms }, `${n} dialog(s) written as sync data for node ${nodeId} in ${ms} ms`);
    return n;
  }

  /** SYNC_DONE: drop local dialogs that the sync did not confirm (per-tag sync status). */
  syncDone(): number {
    let dropped = 0;
    for (const d of [...this.table]) {
      if (d.state === DLG_STATE_DELETED) continue;
      if (d.flags & DLG_FLAG_FROM_DB) {
        this.terminate(d, "sync-purge", false, false);
        dropped++;
      } else if (!d.synced && this.tagSyncRequired(d.shtag)) {
        this.log.info(`dialog ${d.callid} not present in sync data, dropping it`);
        this.terminate(d, "sync-purge", false, false);
        dropped++;
      } else d.flags &= ~DLG_FLAG_SYNCED;
    }
    this.syncInProgress = false;
    return dropped;
  }

  /** The per-tag sync status setters leave it alone while the capability's sync is pending or running. */
  private clusterSyncBusy(): boolean {
    const s = this.cl?.syncStatus(DLG_REPL_CAP, this.params.dialog_replication_cluster);
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
    for (const t of this.cl!.shtagGetAllActive(this.params.dialog_replication_cluster)) this.knownTags.add(t);
    this.defaultRequired = true;
    for (const t of this.knownTags) {
      const active = this.isTagActive(t);
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
    const rc = this.cl!.requestSync(DLG_REPL_CAP, this.params.dialog_replication_cluster);
    if (rc === 0) this.syncInProgress = true;
    return rc;
  }

  // ── profile packets ────────────────────────────────────────────────────

  /** The `dialog-prof-repl` packet callback (`receive_prof_repl`): type 4 only, version not checked. */
  onProfilePacket(pkt: BinPacket, type: number, src: number): void {
    if (type !== REPLICATION_DLG_PROFILE) {
      this.st.repl_dropped.inc();
      this.log.warn(`Invalid dialog profile binary packet command: ${type} (from node: ${src})`);
      return;
    }
    try {
      this.profilesTable.receive(DlgProfile.popFields(pkt, pkt.version).records, src);
    } catch (err) {
      this.drop(type, src, err);
    }
  }

  // ── bulk (benchmarks) ──────────────────────────────────────────────────

  /** Creates `count` confirmed dialogs named `<prefix>-<n>` (MI `dlg_bench_create`). */
  benchCreate(count: number, prefix: string, o: Partial<CreateDialogOptions> = {}): number {
    let made = 0;
    for (let i = 0; i < count; i++) {
      const n = ++this.benchSeq;
      this.create({
        ...o, callid: `${prefix}-${n}@tsips`, fromUri: o.fromUri ?? `sip:caller${n}@tsips.invalid`, toUri: o.toUri ?? `sip:callee${n}@tsips.invalid`,
      });
      made++;
    }
    return made;
  }
  private benchSeq = 0;
  /** Call-ID prefix of `benchCreate` (index.ts sets `bench-<node id>`). */
  benchPrefix = "bench";
}
