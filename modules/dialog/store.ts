/**
 * The dialog table (dlg_hash.c/h): dialogs hashed by Call-ID into `hash_size` buckets,
 * identified by (h_entry, h_id), with per-bucket id counters that start at a random value
 * and follow the highest replicated id, exactly as OpenSIPS does, so ids made here never
 * collide with a real peer's. Lifetimes are kept by `timers.ts`.
 */
import { randomFillSync } from "node:crypto";
import type { DlgStateNum } from "./api.ts";
import type { LocalSocket } from "tsips";
import type { DlgValue } from "./vals.ts";
import type { ProfileDef } from "./profiles.ts";
import { formatDid } from "./did.ts";

/** Dialog states (dlg_hash.h); the numbers are the wire `state` and the MI `state`. */
export const DLG_STATE_UNCONFIRMED = 1;
export const DLG_STATE_EARLY = 2;
export const DLG_STATE_CONFIRMED_NA = 3;
export const DLG_STATE_CONFIRMED = 4;
export const DLG_STATE_DELETED = 5;

/** Internal flags (field 29, spec §6.2). */
export const DLG_FLAG_NEW = 0x1;
export const DLG_FLAG_CHANGED = 0x2;
export const DLG_FLAG_HASBYE = 0x4;
export const DLG_FLAG_BYEONTIMEOUT = 0x8;
export const DLG_FLAG_ISINIT = 0x10;
export const DLG_FLAG_FROM_DB = 0x80;
export const DLG_FLAG_VP_CHANGED = 0x100;
export const DLG_FLAG_SYNCED = 0x80000;
/** Bits never sent (NEW, CHANGED, FROM_DB, VP_CHANGED, SYNCED). */
export const DLG_FLAGS_NOT_SENT = DLG_FLAG_NEW | DLG_FLAG_CHANGED | DLG_FLAG_FROM_DB | DLG_FLAG_VP_CHANGED | DLG_FLAG_SYNCED;

/** Value name carrying a dialog's sharing tag on the wire. */
export const SHTAG_VALUE_NAME = "dlgX_shtag";

/** One profile link of a dialog. */
export interface ProfileLink {
  profile: ProfileDef;
  /** "" for profiles without value. */
  value: string;
}

export type DialogOrigin = "local" | "replicated" | "sync";

/**
 * One dialog: the record of spec §3 (caller leg = leg 0, callee = the confirmed callee leg)
 * plus runtime state. Fields are flat to keep 50k+ dialogs cheap.
 */
export class Dialog {
  // identity
  hEntry: number;
  hId: number;
  callid: string;
  fromUri: string;
  toUri: string;
  callerTag: string;
  calleeTag: string;
  state: DlgStateNum;
  startTs: number;
  // legs
  callerSock: LocalSocket | undefined = undefined;
  calleeSock: LocalSocket | undefined = undefined;
  callerCseq = "0";
  calleeCseq = "0";
  /** The caller's INVITE CSeq (a received field 11 is kept here; the leg's r_cseq is forced to "0"). */
  callerInviteCseq = "";
  callerRouteSet = "";
  calleeRouteSet = "";
  callerContact = "";
  calleeContact = "";
  calleeMangledFrom = "";
  calleeMangledTo = "";
  callerInSdp = "";
  callerOutSdp = "";
  calleeInSdp = "";
  calleeOutSdp = "";
  callerAdvContact = "";
  calleeAdvContact = "";
  callerLastGenCseq = 0;
  calleeLastGenCseq = 0;
  // context
  /** Oldest first (a replaced value keeps its place); the wire wants newest first. */
  vals: Map<string, DlgValue> | undefined = undefined;
  /** Newest first. */
  links: ProfileLink[] | undefined = undefined;
  userFlags = 0;
  modFlags = 0;
  flags = 0;
  /** Absolute expiry (UNIX seconds); 0 = not on the timer. */
  expiresAt = 0;
  onAnswerRoute = "";
  onTimeoutRoute = "";
  onHangupRoute = "";
  shtag: string | undefined = undefined;
  // runtime
  /** A CREATED went out for it (OpenSIPS `dlg->replicated`). */
  replicated = false;
  origin: DialogOrigin;
  /** Second slot of the timer wheel it sits in, or -1. */
  timerSlot = -1;
  /** Its lifetime passed while this node was backup for its tag: waits for the owner (or for the tag to move here). */
  overdue = false;
  /** Why it ended (state 5). */
  endReason: string | undefined = undefined;
  /**
   * The encoded 35-field record as last sent (encode once per change): reused by UPDATED
   * and by every sync chunk until the dialog changes. Cleared by any change to a sent field.
   */
  wire: Buffer | undefined = undefined;

  constructor(init: {
    hEntry: number; hId: number; callid: string; fromUri: string; toUri: string; callerTag: string; calleeTag: string;
    state: DlgStateNum; startTs: number; origin: DialogOrigin;
  }) {
    this.hEntry = init.hEntry;
    this.hId = init.hId;
    this.callid = init.callid;
    this.fromUri = init.fromUri;
    this.toUri = init.toUri;
    this.callerTag = init.callerTag;
    this.calleeTag = init.calleeTag;
    this.state = init.state;
    this.startTs = init.startTs;
    this.origin = init.origin;
  }

  /** MI `ID`: reverse-hex `hentry.hid`. */
  get id(): string {
    return formatDid(this.hEntry, this.hId);
  }

  get synced(): boolean {
    return (this.flags & DLG_FLAG_SYNCED) !== 0;
  }

  /** Stores a value; an existing one is replaced in place (dlg_vals.c). Returns true if anything changed. */
  storeValue(name: string, v: DlgValue): boolean {
    if (!this.vals) this.vals = new Map();
    const had = this.vals.has(name);
    const old = this.vals.get(name);
    if (had && old === v) return false;
    this.vals.set(name, v);
    this.wire = undefined;
    return true;
  }

  deleteValue(name: string): boolean {
    const gone = this.vals?.delete(name) ?? false;
    if (gone) this.wire = undefined;
    return gone;
  }
}

/**
 * The hash table of dialogs. @opensips d_table
 * Each bucket is a Map keyed by h_id as an int32 (a small integer for V8, cheaper than a
 * 64-bit composite key) that also keeps insertion order for MI listing.
 */
export class DialogTable {
  readonly size: number;
  private readonly buckets: (Map<number, Dialog> | undefined)[];
  /** Per-bucket next id (dlg_entry.next_id), random start like OpenSIPS's `rand()`. */
  private readonly nextId: Uint32Array;
  private n = 0;

  constructor(size: number, random = true) {
    this.size = size;
    this.buckets = new Array(size);
    this.nextId = new Uint32Array(size);
    if (random) {
      randomFillSync(this.nextId);
      for (let i = 0; i < size; i++) this.nextId[i] = this.nextId[i]! & 0x7fffffff; // rand() is 0..RAND_MAX
    }
  }

  get count(): number {
    return this.n;
  }

  /** The next id of a bucket (post-incremented, skipping an id still in use after a wrap). */
  newId(hEntry: number): number {
    const b = this.buckets[hEntry];
    for (;;) {
      const id = this.nextId[hEntry]!;
      this.nextId[hEntry] = (id + 1) >>> 0;
      if (!b || !b.has(id | 0)) return id;
    }
  }

  /** A replicated id: the bucket counter follows it (`if next_id <= h_id: next_id = h_id + 1`). */
  bumpNextId(hEntry: number, hId: number): void {
    if (this.nextId[hEntry]! <= hId) this.nextId[hEntry] = (hId + 1) >>> 0;
  }

  peekNextId(hEntry: number): number {
    return this.nextId[hEntry]!;
  }

  get(hEntry: number, hId: number): Dialog | undefined {
    return this.buckets[hEntry]?.get(hId | 0);
  }

  insert(d: Dialog): void {
    let b = this.buckets[d.hEntry];
    if (!b) this.buckets[d.hEntry] = b = new Map();
    const k = d.hId | 0;
    if (!b.has(k)) this.n++;
    b.set(k, d);
  }

  remove(d: Dialog): boolean {
    const b = this.buckets[d.hEntry];
    const k = d.hId | 0;
    if (!b || b.get(k) !== d) return false;
    b.delete(k);
    this.n--;
    return true;
  }

  has(d: Dialog): boolean {
    return this.buckets[d.hEntry]?.get(d.hId | 0) === d;
  }

  /** First dialog of the callid's bucket with that callid (and caller tag). */
  findByCallid(hEntry: number, callid: string, callerTag?: string): Dialog | undefined {
    const b = this.buckets[hEntry];
    if (!b) return undefined;
    for (const d of b.values()) if (d.callid === callid && (callerTag === undefined || d.callerTag === callerTag)) return d;
    return undefined;
  }

  /** V3 lookup: callid + caller tag + callee tag (either direction). */
  findByTags(hEntry: number, callid: string, tag1: string, tag2: string): Dialog | undefined {
    const b = this.buckets[hEntry];
    if (!b) return undefined;
    for (const d of b.values()) {
      if (d.callid !== callid) continue;
      if ((d.callerTag === tag1 && d.calleeTag === tag2) || (d.callerTag === tag2 && d.calleeTag === tag1)) return d;
    }
    return undefined;
  }

  /** Every dialog in bucket order, insertion order within a bucket (MI `dlg_list`). */
  *[Symbol.iterator](): IterableIterator<Dialog> {
    for (const b of this.buckets) if (b) yield* b.values();
  }
}
