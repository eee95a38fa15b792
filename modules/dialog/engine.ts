/**
 * The dialog module's logic: the dialog table and its state machine, and the local API
 * (create, state changes, values, profiles, end) — OpenSIPS dlg_hash.c and dlg_handlers.c as
 * spec/dialog.md describes them. The other concerns live beside it, each in its own file:
 * lifetimes (`timers.ts`), ownership by sharing tag (`ownership.ts`), 3.6 replication through
 * the clusterer (`cluster-replication.ts`, `profile-replication.ts`). They change the table
 * only through the `DialogHost` bookkeeping this class implements (`host.ts`).
 *
 * The engine is plain TypeScript with an injectable clock, so unit tests drive timers and
 * two engines can be joined by an in-memory clusterer. `index.ts` wires it into a module.
 */
import { randomFillSync } from "node:crypto";
import { type BinPacket, type BinV110Api, type TsipsLogger, LocalSockets, coreHash, type SocketDef } from "tsips";
import type { ClusterEvent, ClustererApi } from "../clusterer/api.ts";
import type {
  CreateDialogOptions, DialogApi, DialogCounts, DialogEvent, DialogEventKind, DialogInfo, DialogRef, DlgStateNum, ProfileInfo,
} from "./api.ts";
import { ClusterReplication } from "./cluster-replication.ts";
import { parseDid } from "./did.ts";
import { DialogEvents } from "./events.ts";
import {
  DIALOG_STAT_NAMES, NOOP_COUNTER, dlgError, isState, type Counter, type DialogEngineParams, type DialogHost, type DialogStatName,
} from "./host.ts";
import type { ProfileCounterRecord } from "./messages.ts";
import { Ownership } from "./ownership.ts";
import { ProfileReplication } from "./profile-replication.ts";
import { ProfileTable, type ProfileDef } from "./profiles.ts";
import { record, wireOf, type DlgRecord } from "./record.ts";
import { DLG_FLAG_NEW, DLG_FLAG_SYNCED, DLG_STATE_DELETED, Dialog, DialogTable, SHTAG_VALUE_NAME } from "./store.ts";
import { LifetimeTimers } from "./timers.ts";
import { V110Replication, type V110Destination } from "./v110-replication.ts";
import { parseProfiles } from "./vals.ts";

export { DIALOG_STAT_NAMES, type DialogEngineParams, type DialogStatName } from "./host.ts";

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
  /**
   * OpenSIPS 1.10 replication: resolved `replicate_dialogs_to` destinations (sending order)
   * and what sends and receives datagrams (`ctx.bin.v110`, or a test's in-memory wire).
   */
  v110?: { destinations: readonly V110Destination[]; bin?: Pick<BinV110Api, "send" | "registerCb"> | undefined };
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

export class DialogEngine implements DialogApi, DialogHost {
  readonly table: DialogTable;
  readonly profilesTable: ProfileTable;
  readonly sockets: LocalSockets;
  readonly params: DialogEngineParams;
  readonly log: TsipsLogger;
  readonly events: DialogEvents;
  readonly st: Readonly<Record<DialogStatName, Counter>>;
  /** Dialog replication on (cluster set and clusterer there). */
  readonly dlgRepl: boolean;
  /** Profile replication on. */
  readonly profRepl: boolean;
  /** Our "sync in progress" marker (dlg_replication.c). */
  syncInProgress = false;
  private readonly now: () => number;
  private readonly timers: LifetimeTimers;
  private readonly ownership: Ownership;
  /** 3.6 dialog replication (receiving works without a clusterer; sending goes through `repl36`). */
  private readonly clusterRepl: ClusterReplication;
  /** 3.6 profile replication; present whenever a clusterer is (it sends only when its cluster is set). */
  private readonly profileRepl: ProfileReplication | undefined;
  /** The 3.6 dialog replication that local changes go out through (undefined: not configured). */
  private readonly repl36: ClusterReplication | undefined;
  /** OpenSIPS 1.10 replication (sending to `replicate_dialogs_to`, receiving with `accept_replicated_dialogs`). */
  readonly v110: V110Replication;
  /** The 1.10 replication that local changes go out through (undefined: no destination). */
  private readonly repl110: V110Replication | undefined;
  private readonly v110Bin: Pick<BinV110Api, "send" | "registerCb"> | undefined;
  private early = 0;
  private active = 0;
  private started = false;

  constructor(o: DialogEngineOptions) {
    this.params = o.params;
    this.log = o.log;
    this.now = o.now ?? Date.now;
    this.events = new DialogEvents(o.log);
    const cl = o.clusterer;
    this.dlgRepl = o.params.dialog_replication_cluster > 0 && cl !== undefined;
    this.profRepl = o.params.profile_replication_cluster > 0 && cl !== undefined;
    this.table = new DialogTable(o.params.hash_size, o.randomIds ?? true);
    this.ownership = new Ownership(this.dlgRepl ? cl : undefined, o.params.dialog_replication_cluster);
    this.timers = new LifetimeTimers(this.nowSec(), {
      has: (d) => this.table.has(d),
      free: (d) => this.table.remove(d),
      mine: (d) => this.ownership.mine(d),
      expire: (d) => this.expire(d),
      markOverdue: (d) => this.ownership.markOverdue(d),
    });
    this.sockets = new LocalSockets(o.sockets, o.advertisedAddress);
    const st = {} as Record<DialogStatName, Counter>;
    for (const n of DIALOG_STAT_NAMES) st[n] = o.stats?.[n] ?? NOOP_COUNTER;
    this.st = st;
    this.profilesTable = new ProfileTable({
      buckets: 2 ** o.params.log_profile_hash_size,
      binEnabled: this.profRepl,
      cachedbUrl: o.params.cachedb_url,
      expireSec: o.params.replicate_profiles_expire,
      now: this.now,
      isBackupTag: (tag) => this.dlgRepl && !this.ownership.isTagActive(tag),
      warn: (m) => this.log.warn(m),
    });
    // OpenSIPS defines profiles without value first, then those with value.
    this.profilesTable.define(o.params.profiles_no_value, false);
    this.profilesTable.define(o.params.profiles_with_value, true);
    this.clusterRepl = new ClusterReplication(this, cl, this.ownership);
    this.profileRepl = cl ? new ProfileReplication(this, cl) : undefined;
    this.repl36 = this.dlgRepl ? this.clusterRepl : undefined;
    this.v110Bin = o.v110?.bin;
    this.v110 = new V110Replication(this, this.v110Bin, {
      destinations: o.v110?.destinations ?? [], accept: (o.params.accept_replicated_dialogs ?? 0) !== 0,
    });
    this.repl110 = this.v110.sending ? this.v110 : undefined;
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
    if (this.profRepl) this.profileRepl?.start();
    if (this.dlgRepl) this.clusterRepl.start();
    this.v110.start(this.v110Bin);
  }

  private startTimers(): void {
    this.timers.start(() => this.runTimers());
    if (this.profRepl) this.profileRepl?.startTimers();
  }

  stop(): void {
    this.timers.stop();
    this.profileRepl?.stop();
    this.clusterRepl.stop();
  }

  nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  // ── events ─────────────────────────────────────────────────────────────

  on(kinds: DialogEventKind | readonly DialogEventKind[], cb: (ev: DialogEvent) => void): () => void {
    return this.events.on(kinds, cb);
  }

  private emit(ev: DialogEvent): void {
    this.events.emit(ev);
  }

  // ── ownership and timers ───────────────────────────────────────────────

  isOwner(ref: DialogRef): boolean {
    return this.ownership.mine(this.resolve(ref));
  }

  /** A sharing tag changed state (clusterer callback): the new owner takes over overdue timers. */
  onTagChange(tag: string, active: boolean): void {
    let n = 0;
    for (const d of this.ownership.setTagState(tag, active)) {
      if (d.state !== DLG_STATE_DELETED && this.table.has(d) && d.shtag === tag) {
        this.expire(d);
        n++;
      }
    }
    if (n > 0) this.log.info({ tag, dialogs: n }, `sharing tag ${tag} active here: ended ${n} dialog(s) whose lifetime passed while backup`);
  }

  /** Runs every lifetime that is due (called each second; tests call it with a fake clock). */
  runTimers(nowMs = this.now()): number {
    return this.timers.run(Math.floor(nowMs / 1000));
  }

  /** The owner's timeout: end + replicate DELETED (dlg_ontimeout). */
  private expire(d: Dialog): void {
    this.st.expired_dialogs.inc();
    this.emit({ kind: "expired", dialog: d, origin: "local" });
    this.terminate(d, "timeout", true);
  }

  arm(d: Dialog): void {
    this.ownership.clearOverdue(d);
    this.timers.arm(d);
  }

  // ── state bookkeeping ──────────────────────────────────────────────────

  private countIn(state: number, n: number): void {
    if (state === 2) this.early += n;
    else if (state === 3 || state === 4) this.active += n;
  }

  setStateRaw(d: Dialog, s: DlgStateNum): void {
    d.wire = undefined;
    if (this.table.has(d)) {
      this.countIn(d.state, -1);
      this.countIn(s, 1);
    }
    d.state = s;
  }

  insert(d: Dialog): void {
    this.table.insert(d);
    this.countIn(d.state, 1);
    if (d.shtag !== undefined) this.ownership.know(d.shtag);
  }

  private unlinkFromTable(d: Dialog): void {
    if (this.table.remove(d)) this.countIn(d.state, -1);
    this.timers.wheel.remove(d);
    this.ownership.clearOverdue(d);
  }

  counts(): DialogCounts {
    return { total: this.table.count, early: this.early, active: this.active };
  }

  /**
   * Moves a dialog to state 5: profiles unlinked (with removal broadcasts), timer removed,
   * DELETED replicated when asked and the dialog was confirmed, then freed (or kept for
   * `delete_delay` seconds).
   */
  terminate(d: Dialog, reason: string, replicate: boolean, keep = true): boolean {
    const old = d.state;
    if (old === DLG_STATE_DELETED) return false;
    this.setStateRaw(d, DLG_STATE_DELETED);
    d.endReason = reason;
    if (old < 3 && reason !== "replicated" && reason !== "sync-purge") this.st.failed_dialogs.inc();
    this.timers.wheel.remove(d);
    this.ownership.clearOverdue(d);
    this.sendProfileRemovals(this.profilesTable.unlinkAll(d));
    if (replicate && old >= 3) {
      this.repl36?.sendDeleted(d);
      if (d.replicated) this.repl110?.sendDeleted(d);
    }
    this.emit({ kind: "terminated", dialog: d, origin: reason === "replicated" ? "replicated" : reason === "sync-purge" ? "sync" : "local", oldState: old, newState: DLG_STATE_DELETED, reason });
    if (keep && this.params.delete_delay > 0) this.timers.wheel.add(d, this.nowSec() + this.params.delete_delay);
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
    if ((this.dlgRepl || this.repl110) && !callerSock) throw dlgError("TSIPS_ERR_DLG_ARG", "no SIP socket to bind the dialog to: add a socket=udp:IP:PORT line (peers match replicated dialogs by socket)");
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
    if (this.events.listened("created")) this.emit({ kind: "created", dialog: d, origin: "local", newState: state });
    if (state >= 3) {
      this.repl36?.sendCreated(d);
      this.repl110?.sendCreated(d);
    }
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
      if (!d.replicated) {
        this.repl36?.sendCreated(d);
        this.repl110?.sendCreated(d);
      } else {
        this.repl36?.sendUpdated(d);
        this.repl110?.sendUpdated(d);
      }
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
    if (d.replicated && d.state >= 3) this.repl36?.sendCseq(d, leg);
    return d;
  }

  setValue(ref: DialogRef, name: string, value: string | number | undefined): DialogInfo {
    const d = this.live(ref);
    if (!name) throw dlgError("TSIPS_ERR_DLG_ARG", "a value needs a name");
    if (value === undefined) d.deleteValue(name);
    else d.storeValue(name, typeof value === "number" ? Math.trunc(value) | 0 : value);
    if (name === SHTAG_VALUE_NAME) this.retag(d, typeof value === "string" && value !== "" ? value : undefined);
    if (d.replicated && d.state >= 4) this.repl36?.sendValue(d, name, value);
    this.emit({ kind: "updated", dialog: d, origin: "local" });
    return d;
  }

  /**
   * An in-dialog request (re-INVITE, INFO, UPDATE…) was relayed towards `leg` with CSeq
   * `cseq`: the leg's r_cseq is stored and the change replicated (OpenSIPS does this when
   * `loose_route` matches a confirmed dialog; 1.10 sends an UPDATED before relaying).
   */
  setCseq(ref: DialogRef, leg: "caller" | "callee", cseq: string): DialogInfo {
    const d = this.live(ref);
    if (!/^\d+$/.test(cseq)) throw dlgError("TSIPS_ERR_DLG_ARG", `invalid CSeq ${cseq}`);
    d.wire = undefined;
    if (leg === "caller") d.callerCseq = cseq;
    else d.calleeCseq = cseq;
    if (this.events.listened("updated")) this.emit({ kind: "updated", dialog: d, origin: "local" });
    if (d.replicated && (d.state === 3 || d.state === 4)) {
      this.repl36?.sendUpdated(d);
      this.repl110?.sendUpdated(d);
    }
    return d;
  }

  /** MI `dlg_push_var`: stores a string value (VALUE in state >= 4) and replicates an UPDATED. */
  pushValue(ref: DialogRef, name: string, value: string): DialogInfo {
    const d = this.setValue(ref, name, value) as Dialog;
    if (d.replicated && (d.state === 3 || d.state === 4)) this.repl36?.sendUpdated(d);
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
    if (!this.ownership.mine(d)) throw dlgError("TSIPS_ERR_DLG_BACKUP", `node is backup for dialog ${d.id} (sharing tag ${d.shtag})`);
    this.terminate(d, reason, true);
    return d;
  }

  /** A local change of a confirmed dialog: UPDATED (OpenSIPS replicates on $DLG_timeout, profiles, values pushed by MI). */
  private changed(d: Dialog): void {
    if (this.events.listened("updated")) this.emit({ kind: "updated", dialog: d, origin: "local" });
    if (d.replicated && (d.state === 3 || d.state === 4)) this.repl36?.sendUpdated(d);
  }

  retag(d: Dialog, tag: string | undefined): void {
    if (tag === d.shtag) return;
    this.profilesTable.retag(d, d.shtag, tag);
    this.ownership.clearOverdue(d);
    d.shtag = tag;
    if (tag !== undefined) this.ownership.know(tag);
    // Re-check a lifetime that already passed under the old owner.
    if (d.expiresAt > 0 && d.expiresAt <= this.nowSec() && d.state !== DLG_STATE_DELETED) this.timers.wheel.add(d, d.expiresAt);
  }

  linkWireProfiles(d: Dialog, text: string, skipLinked: boolean): void {
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

  private sendProfileRemovals(removals: readonly ProfileCounterRecord[]): void {
    if (removals.length > 0 && this.profRepl) this.profileRepl?.sendRemovals(removals);
  }

  // ── 3.6 replication entry points (the clusterer calls these; tests drive them directly) ──

  /** The 35-field 3.6 record of a dialog (`bin_push_dlg`). */
  /** A dialog from a stored row (dialog DB load, `db.ts`); undefined when rejected or already known. */
  restore(rec: DlgRecord): Dialog | undefined {
    return this.clusterRepl.restore(rec);
  }

  record(d: Dialog): DlgRecord {
    return record(d);
  }

  /** The encoded 3.6 record of a dialog, built once per change (`d.wire`). */
  wireOf(d: Dialog): Buffer {
    return wireOf(d);
  }

  /** The `dialog-dlg-repl` packet callback (`receive_dlg_repl`). */
  onDialogPacket(pkt: BinPacket, type: number, src: number): void {
    this.clusterRepl.onDialogPacket(pkt, type, src);
  }

  /** The capability's event callback. */
  onClusterEvent(ev: ClusterEvent): void {
    this.clusterRepl.onClusterEvent(ev);
  }

  /** Donor side of a sync: one chunk per confirmed dialog. Returns the chunks written. */
  serveSync(nodeId: number): number {
    return this.clusterRepl.serveSync(nodeId);
  }

  /** SYNC_DONE: drops local dialogs that the sync did not confirm. */
  syncDone(): number {
    return this.clusterRepl.syncDone();
  }

  /** MI `dlg_cluster_sync` (0 requested, 1 already in progress, -1 failed). */
  requestClusterSync(tag?: string): 0 | 1 | -1 {
    return this.clusterRepl.requestClusterSync(tag);
  }

  /** The `dialog-prof-repl` packet callback (`receive_prof_repl`). */
  onProfilePacket(pkt: BinPacket, type: number, src: number): void {
    this.profileRepl?.onProfilePacket(pkt, type, src);
  }

  /** One periodic broadcast of the local `/b` counters. Returns the packets sent. */
  broadcastProfiles(): number {
    return this.profRepl && this.profileRepl ? this.profileRepl.broadcastProfiles() : 0;
  }

  /** Runs the `replicate_profiles_check` cleanup now. */
  cleanupProfiles(): number {
    return this.profilesTable.cleanup();
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

  /** Ends up to `count` confirmed dialogs this node owns, in table order (MI `dlg_bench_end`). */
  benchEnd(count: number): number {
    let ended = 0;
    for (const d of [...this.table]) {
      if (ended >= count) break;
      if ((d.state !== 3 && d.state !== 4) || !this.ownership.mine(d)) continue;
      this.terminate(d, "api", true);
      ended++;
    }
    return ended;
  }
  /** Call-ID prefix of `benchCreate` (index.ts sets `bench-<node id>`). */
  benchPrefix = "bench";
}
