/**
 * The in-memory location table: domains → hash slots → AoR records → contacts, with the
 * semantics of OpenSIPS 3.6.8 usrloc (udomain.c, urecord.c, ucontact.c; spec/usrloc.md).
 *
 * Memory: a contact is one fixed-shape object of small integers and (mostly interned)
 * strings; the rarely-set fields (path, attr, received, instance, kv store, reg-id) live in
 * an optional side object. Contacts of an AoR form a singly linked list (no arrays), and the
 * 64-bit contact id is two int32 halves, not a BigInt.
 */
import { idDecimal, idFromHalves, nextClabel, packIdHi, packIdLo, CLABEL_MASK } from "./contact-id.ts";
import { coreHash } from "tsips";
import { kvParse, kvSerialize, kvGet, KV_SHTAG_KEY, KV_UREC_KEY, type KvObject, type KvValue } from "./kv.ts";
import { urisMatch, uriParam } from "./uri.ts";
import { CT_MATCH_CONTACT_CALLID, CT_MATCH_CONTACT_ONLY, CT_MATCH_NONE, CT_MATCH_PARAMS, type CtMatch } from "./messages.ts";
import type { BranchFlags } from "./flags.ts";
import type { SocketTable } from "./sockets.ts";
import type { ContactInfo, ChangeOrigin, UlAor, UlChange, UlChangeType, UlContact, ContactMatchResult } from "./api.ts";

/** `expires` value of a forcibly expired (deleted) contact. @opensips UL_EXPIRED_TIME */
export const UL_EXPIRED_TIME = 10;
/** Internal contact flags (`FL_*`, ucontact.h). */
export const FL_MEM = 1;
export const FL_EXTRA_HOP = 2;
export const FL_PN_ON = 4;
/** Methods of a contact that did not say (registrar default: all). */
export const ALL_METHODS = -1;

/** Rarely-set contact fields, allocated only when one of them is set. */
export class ContactExt {
  path = "";
  attr = "";
  received = "";
  instance = "";
  /** Serialized kv store ("" = empty). */
  kv = "";
  regId = 0;
  pingLatency = 0;
}

const NO_KV: Readonly<KvObject> = Object.freeze({});

/** SQL state of a contact (`cstate_t`): not in the table, up to date, outdated; a write queued. */
export const CS_NEW = 0;
export const CS_SYNC = 1;
export const CS_DIRTY = 2;
export const CS_QUEUED = 3;
const CS_NAMES = ["CS_NEW", "CS_SYNC", "CS_DIRTY", "CS_SYNC"] as const;

/** One contact binding. @opensips ucontact_t */
export class Ucontact implements UlContact {
  next: Ucontact | null = null;
  ext: ContactExt | null = null;
  /** CS_NEW / CS_SYNC / CS_DIRTY / CS_QUEUED (memory-only modes never leave CS_NEW). */
  dbState = CS_NEW;
  constructor(
    public uri: string,
    public callid: string,
    public userAgent: string,
    public socket: string,
    public expires: number,
    public q: number,
    public cseq: number,
    public flags: number,
    public cflags: number,
    public methods: number,
    public lastModified: number,
    public idHi: number,
    public idLo: number,
  ) {}

  get contactId(): bigint {
    return idFromHalves(this.idHi, this.idLo);
  }
  get contactIdText(): string {
    return idDecimal(this.idHi, this.idLo);
  }
  get clabel(): number {
    return this.idLo & CLABEL_MASK;
  }
  get path(): string {
    return this.ext?.path ?? "";
  }
  get attr(): string {
    return this.ext?.attr ?? "";
  }
  get received(): string {
    return this.ext?.received ?? "";
  }
  get instance(): string {
    return this.ext?.instance ?? "";
  }
  get regId(): number {
    return this.ext?.regId ?? 0;
  }
  get kvJson(): string {
    return this.ext?.kv ?? "";
  }
  get kv(): Readonly<KvObject> {
    const t = this.ext?.kv;
    return t ? (kvParse(t) ?? NO_KV) : NO_KV;
  }
  get sharingTag(): string {
    const t = this.ext?.kv;
    if (!t) return "";
    const v = kvGet(t, KV_SHTAG_KEY);
    return typeof v === "string" ? v : "";
  }
  get state(): "CS_NEW" | "CS_SYNC" | "CS_DIRTY" {
    return CS_NAMES[this.dbState]!;
  }
  /** Side object, created on first use. */
  x(): ContactExt {
    return (this.ext ??= new ContactExt());
  }
}

/** One AoR. @opensips urecord_t */
export class Urecord implements UlAor {
  contacts: Ucontact | null = null;
  /** Serialized AoR kv store ("" = empty). */
  kvJson = "";
  constructor(
    readonly aor: string,
    readonly aorhash: number,
    public label: number,
    public nextClabel: number,
  ) {}

  get kv(): Readonly<KvObject> {
    return this.kvJson ? (kvParse(this.kvJson) ?? NO_KV) : NO_KV;
  }
  contactList(): Ucontact[] {
    const out: Ucontact[] = [];
    for (let c = this.contacts; c; c = c.next) out.push(c);
    return out;
  }
  get contactCount(): number {
    let n = 0;
    for (let c = this.contacts; c; c = c.next) n++;
    return n;
  }
}

/** A usrloc table ("domain"). @opensips udomain_t */
export class Udomain {
  readonly slots: (Map<string, Urecord> | undefined)[];
  /** Per-slot `next_label`. */
  readonly nextLabel: Uint32Array;
  users = 0;
  contacts = 0;
  expired = 0;
  /** `<table>-expires` statistic, when registered. */
  expiresStat: { inc(n?: number): void } | null = null;
  constructor(
    readonly name: string,
    readonly size: number,
  ) {
    this.slots = new Array<Map<string, Urecord> | undefined>(size).fill(undefined);
    this.nextLabel = new Uint32Array(size);
  }

  slotOf(aorhash: number): number {
    return aorhash & (this.size - 1);
  }

  get(aor: string): Urecord | undefined {
    return this.slots[coreHash(aor) & (this.size - 1)]?.get(aor);
  }

  /** Lookup with the AoR's hash already computed. */
  getH(aor: string, aorhash: number): Urecord | undefined {
    return this.slots[aorhash & (this.size - 1)]?.get(aor);
  }

  /** Records of one slot in OpenSIPS map order (byte order of the AoR). */
  slotRecords(i: number): Urecord[] {
    const m = this.slots[i];
    if (!m || m.size === 0) return [];
    const arr = Array.from(m.values());
    if (arr.length > 1) arr.sort((a, b) => (a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : 0));
    return arr;
  }

  *records(): Generator<Urecord> {
    for (let i = 0; i < this.size; i++) {
      if (this.slots[i]) yield* this.slotRecords(i);
    }
  }
}

/** What a contact insert/update gets (internal form of `ucontact_info_t`). */
export interface Ci {
  /** False: allocate a new id from the AoR's labels (insert) / keep the id (update). */
  hasId: boolean;
  /** Contact id halves (int32) when `hasId`. */
  idHi: number;
  idLo: number;
  callid: string;
  userAgent: string;
  socket: string;
  expires: number;
  q: number;
  cseq: number;
  flags: number;
  cflags: number;
  methods: number;
  lastModified: number;
  /** undefined: keep the current value on update. */
  path: string | undefined;
  attr: string;
  received: string;
  instance: string;
  /** Serialized kv store; "" leaves the store alone on update. */
  kv: string;
  regId: number;
}

export interface StoreConfig {
  hashSlots: number;
  useDomain: boolean;
  descTimeOrder: boolean;
  matchingMode: number;
  cseqDelay: number;
  now(): number;
  rand(): number;
  flags: BranchFlags;
  sockets: SocketTable;
}

/** Outgoing replication, called by the store for local changes only. */
export interface ReplicationSink {
  aorInsert(d: Udomain, r: Urecord): void;
  aorDelete(d: Udomain, r: Urecord): void;
  contactInsert(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): void;
  contactUpdate(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): void;
  contactDelete(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): void;
}

export const NO_MATCH: CtMatch = Object.freeze({ mode: CT_MATCH_NONE, params: [] }) as CtMatch;
export const MATCH_CONTACT_CALLID: CtMatch = Object.freeze({ mode: CT_MATCH_CONTACT_CALLID, params: [] }) as CtMatch;

/** `get_ucontact` outcomes. */
export const GC_FOUND = 0;
export const GC_NOT_FOUND = 1;
export const GC_OLDER = -1;
export const GC_SAME = -2;

type Listener = (ev: UlChange) => void;

/** Sink for `flat()`: keeps the number conversion from being optimized away. */
let flatSink = 0;
/**
 * Flattens a string built by concatenation (a V8 cons-string tree costs several times the
 * flat size): converting it to a number makes V8 flatten it in place, and the GC then drops
 * the tree. Texts given through the API go through this before being stored (decoded texts
 * are flat already).
 */
export function flat(s: string): string {
  if (s.length > 12) flatSink ^= Number(s) | 0;
  return s;
}

const internStrings = new Map<string, string>();
/** Interns short, repeated texts (User-Agent, socket); bounded so unique texts do not pile up. */
export function intern(s: string): string {
  if (s.length === 0 || s.length > 96) return s;
  const have = internStrings.get(s);
  if (have !== undefined) return have;
  if (internStrings.size < 4096) internStrings.set(s, s);
  return s;
}

export class LocationStore {
  readonly domains: Udomain[] = [];
  private readonly byName = new Map<string, Udomain>();
  private listeners: Listener[] = [];
  repl: ReplicationSink | null = null;
  /** Last Call-ID stored, to share one string between consecutive contacts with the same Call-ID. */
  private lastCallid = "";

  constructor(readonly cfg: StoreConfig) {}

  // ── domains ──────────────────────────────────────────────────────────

  /** @opensips register_udomain */
  registerDomain(name: string): Udomain {
    let d = this.byName.get(name);
    if (!d) {
      d = new Udomain(name, this.cfg.hashSlots);
      this.byName.set(name, d);
      this.domains.push(d);
    }
    return d;
  }

  /** @opensips find_domain */
  domain(name: string): Udomain | undefined {
    return this.byName.get(name);
  }

  // ── change callbacks ─────────────────────────────────────────────────

  onChange(cb: Listener): () => void {
    this.listeners = [...this.listeners, cb];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb);
    };
  }

  private emit(type: UlChangeType, d: Udomain, r: Urecord, c: Ucontact | null, origin: ChangeOrigin): void {
    const ls = this.listeners;
    if (ls.length === 0) return;
    const ev: UlChange = { type, domain: d.name, aor: r.aor, record: r, contact: c, origin };
    for (const l of ls) {
      try {
        l(ev);
      } catch {
        // A listener's failure must not break the table; listeners log their own errors.
      }
    }
  }

  // ── records ──────────────────────────────────────────────────────────

  /**
   * Creates an AoR (`insert_urecord`). A local record takes the slot's next label and a random
   * next contact label and is announced (AoR insert); a replicated one gets its labels from
   * the caller.
   */
  insertRecord(d: Udomain, aor: string, origin: ChangeOrigin, label = 0, nextCl = 0, aorhash = -1): Urecord {
    const h = aorhash >= 0 ? aorhash : coreHash(aor);
    const sl = h & (d.size - 1);
    let slot = d.slots[sl];
    if (!slot) d.slots[sl] = slot = new Map();
    const local = origin === "local";
    const r = new Urecord(aor, h, local ? d.nextLabel[sl]! : label >>> 0, local ? this.cfg.rand() & CLABEL_MASK : nextCl & CLABEL_MASK);
    if (local) d.nextLabel[sl] = (d.nextLabel[sl]! + 1) >>> 0;
    else if (d.nextLabel[sl]! <= r.label) d.nextLabel[sl] = (r.label + 1) >>> 0;
    slot.set(aor, r);
    d.users++;
    if (local) this.repl?.aorInsert(d, r);
    this.emit("aor-insert", d, r, null, origin);
    return r;
  }

  private unlinkRecord(d: Udomain, r: Urecord): void {
    const m = d.slots[r.aorhash & (d.size - 1)];
    if (m && m.get(r.aor) === r) {
      m.delete(r.aor);
      d.users--;
    }
  }

  /**
   * Drops an AoR that has no contacts left (`release_urecord`): announced with an AoR delete
   * unless the change came from the cluster.
   */
  releaseRecord(d: Udomain, r: Urecord, origin: ChangeOrigin): void {
    if (r.contacts) return;
    this.emit("aor-delete", d, r, null, origin);
    if (origin === "local") this.repl?.aorDelete(d, r);
    this.unlinkRecord(d, r);
  }

  /**
   * Deletes an AoR and all its contacts (`delete_urecord`): locally this sends one contact
   * delete per contact (match mode 1) and the AoR delete twice, as OpenSIPS does (§5).
   */
  deleteRecord(d: Udomain, aor: string, origin: ChangeOrigin): boolean {
    const r = d.get(aor);
    if (!r) return false;
    for (let c = r.contacts; c; ) {
      const next = c.next;
      this.deleteContact(d, r, c, MATCH_CONTACT_CALLID, origin);
      c = next;
    }
    if (origin === "local") this.repl?.aorDelete(d, r);
    this.releaseRecord(d, r, origin);
    return true;
  }

  // ── contacts ─────────────────────────────────────────────────────────

  /** Links `c` into the AoR's list: by descending q (after equal q), or first with desc_time_order. */
  private link(r: Urecord, c: Ucontact): void {
    let prev: Ucontact | null = null;
    let ptr = r.contacts;
    if (!this.cfg.descTimeOrder) {
      while (ptr && ptr.q >= c.q) {
        prev = ptr;
        ptr = ptr.next;
      }
    }
    c.next = ptr;
    if (prev) prev.next = c;
    else r.contacts = c;
  }

  private unlink(r: Urecord, c: Ucontact): void {
    if (r.contacts === c) {
      r.contacts = c.next;
    } else {
      for (let p = r.contacts; p; p = p.next) {
        if (p.next === c) {
          p.next = c.next;
          break;
        }
      }
    }
    c.next = null;
  }

  private applyExt(c: Ucontact, ci: Ci, isUpdate: boolean): void {
    const path = ci.path;
    const needs = (path !== undefined && path.length > 0) || ci.attr.length > 0 || ci.received.length > 0 ||
      (!isUpdate && ci.instance.length > 0) || ci.kv.length > 0 || ci.regId !== 0;
    if (!needs && !c.ext) return;
    const x = c.x();
    if (path !== undefined) x.path = path;
    x.attr = ci.attr;
    x.received = ci.received;
    if (!isUpdate) x.instance = ci.instance;
    if (ci.kv.length > 0) x.kv = ci.kv;
    x.regId = ci.regId;
  }

  /** A Call-ID string shared with the previous contact's when equal. */
  private callidOf(s: string): string {
    if (s === this.lastCallid) return this.lastCallid;
    this.lastCallid = s;
    return s;
  }

  /**
   * Creates a contact (`insert_ucontact`). Without `ci.hasId` the id is allocated from the
   * AoR's labels. Announced (contact insert) only for local changes.
   */
  insertContact(d: Udomain, r: Urecord, uri: string, ci: Ci, match: CtMatch, origin: ChangeOrigin): Ucontact {
    let hi: number;
    let lo: number;
    if (!ci.hasId) {
      hi = packIdHi(r.aorhash, r.label);
      lo = packIdLo(r.label, r.nextClabel);
      r.nextClabel = nextClabel(r.nextClabel);
    } else {
      hi = ci.idHi;
      lo = ci.idLo;
    }
    const c = new Ucontact(uri, this.callidOf(ci.callid), intern(ci.userAgent), ci.socket, ci.expires, ci.q, ci.cseq,
      ci.flags, ci.cflags, ci.methods, ci.lastModified, hi, lo);
    this.applyExt(c, ci, false);
    d.contacts++;
    if (ci.kv.length > 0) this.restoreRecordKv(r, c);
    this.link(r, c);
    if (origin === "local") this.repl?.contactInsert(d, r, c, match);
    this.emit("contact-insert", d, r, c, origin);
    return c;
  }

  /**
   * `update_ucontact`: replaces everything but the URI and the SIP instance; the id only when
   * `ci.hasId` (replicated changes).
   */
  updateContact(d: Udomain, r: Urecord, c: Ucontact, ci: Ci, match: CtMatch, origin: ChangeOrigin): void {
    const qChanged = c.q !== ci.q;
    if (ci.hasId) {
      c.idHi = ci.idHi;
      c.idLo = ci.idLo;
    }
    c.callid = this.callidOf(ci.callid);
    c.userAgent = intern(ci.userAgent);
    c.socket = ci.socket;
    c.expires = ci.expires;
    c.q = ci.q;
    c.cseq = ci.cseq;
    c.flags = ci.flags;
    c.cflags = ci.cflags;
    c.methods = ci.methods;
    c.lastModified = ci.lastModified;
    this.applyExt(c, ci, true);
    if (ci.kv.length > 0) this.restoreRecordKv(r, c);
    // Keep the list ordered (update_contact_pos).
    if (this.cfg.descTimeOrder) {
      if (r.contacts !== c) {
        this.unlink(r, c);
        c.next = r.contacts;
        r.contacts = c;
      }
    } else if (qChanged) {
      this.unlink(r, c);
      this.link(r, c);
    }
    if (origin === "local") {
      this.persistRecordKv(r);
      this.repl?.contactUpdate(d, r, c, match);
    }
    this.emit("contact-update", d, r, c, origin);
  }

  /** `delete_ucontact`: announced (contact delete, match mode 1 if none given) for local changes. */
  deleteContact(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch | null, origin: ChangeOrigin): void {
    if (origin === "local") this.repl?.contactDelete(d, r, c, match ?? MATCH_CONTACT_CALLID);
    this.emit("contact-delete", d, r, c, origin);
    this.unlink(r, c);
    d.contacts--;
  }

  /** A contact carrying `_urec_kvs` restores the AoR store from it (`restore_urecord_kv_store`). */
  private restoreRecordKv(r: Urecord, c: Ucontact): void {
    const v = kvGet(c.kvJson, KV_UREC_KEY);
    if (typeof v === "string") {
      const o = kvParse(v);
      r.kvJson = o ? kvSerialize(o) : "";
    }
  }

  /** Copies the AoR store into a contact's `_urec_kvs` before an update goes out (`persist_urecord_kv_store`). */
  private persistRecordKv(r: Urecord): void {
    if (!r.kvJson || !r.contacts) return;
    let target: Ucontact = r.contacts;
    for (let c: Ucontact | null = r.contacts; c; c = c.next) {
      if (c.ext?.kv && kvGet(c.ext.kv, KV_UREC_KEY) !== undefined) {
        target = c;
        break;
      }
    }
    const o = (target.ext?.kv ? kvParse(target.ext.kv) : undefined) ?? {};
    o[KV_UREC_KEY] = r.kvJson;
    target.x().kv = kvSerialize(o);
  }

  /**
   * `get_ucontact`: finds the contact a (contact, Call-ID, CSeq) refers to under the match
   * mode. Returns GC_FOUND (newer), GC_NOT_FOUND, GC_OLDER or GC_SAME; `found` gets the contact.
   */
  getContact(r: Urecord, uri: string, callid: string, cseq: number, match: CtMatch, found: { c: Ucontact | null }): number {
    let mode = match.mode;
    if (mode === CT_MATCH_NONE) mode = this.cfg.matchingMode;
    let ptr: Ucontact | null = null;
    let checkCseq = false;
    if (mode === CT_MATCH_CONTACT_ONLY) {
      for (let c = r.contacts; c; c = c.next) {
        if (c.expires !== UL_EXPIRED_TIME && urisMatch(c.uri, uri)) {
          ptr = c;
          break;
        }
      }
    } else if (mode === CT_MATCH_CONTACT_CALLID) {
      checkCseq = true;
      for (let c = r.contacts; c; c = c.next) {
        if (c.callid === callid && c.expires !== UL_EXPIRED_TIME && urisMatch(c.uri, uri)) {
          ptr = c;
          break;
        }
      }
    } else if (mode === CT_MATCH_PARAMS) {
      ptr = this.paramsMatch(r, uri, match.params);
    } else {
      found.c = null;
      return GC_OLDER;
    }
    found.c = ptr;
    if (!ptr) return GC_NOT_FOUND;
    if (checkCseq || ptr.callid === callid) {
      if (cseq < ptr.cseq) return GC_OLDER;
      if (cseq === ptr.cseq) return ptr.lastModified + this.cfg.cseqDelay > this.cfg.now() ? GC_SAME : GC_OLDER;
    }
    return GC_FOUND;
  }

  private paramsMatch(r: Urecord, uri: string, params: readonly string[]): Ucontact | null {
    next: for (let c = r.contacts; c; c = c.next) {
      if (c.expires === UL_EXPIRED_TIME) continue;
      for (const p of params) {
        const v1 = uriParam(uri, p);
        const v2 = uriParam(c.uri, p);
        if (v1 === undefined || v2 === undefined) continue;
        if (v1 !== v2) continue next;
      }
      return c;
    }
    return null;
  }

  /** `get_simple_ucontact`: match by URI only (MI). */
  findByUri(r: Urecord, uri: string): Ucontact | null {
    for (let c = r.contacts; c; c = c.next) if (c.expires !== UL_EXPIRED_TIME && urisMatch(c.uri, uri)) return c;
    return null;
  }

  // ── expiry (each node's own timer; nothing is replicated) ────────────

  /** Removes expired contacts and empty AoRs (`timer_udomain` / `nodb_timer`). Returns contacts removed. */
  expire(now = this.cfg.now()): number {
    let removed = 0;
    for (const d of this.domains) {
      for (let i = 0; i < d.size; i++) {
        const m = d.slots[i];
        if (!m || m.size === 0) continue;
        for (const r of m.values()) {
          for (let c = r.contacts; c; ) {
            const next = c.next;
            if (c.expires !== 0 && c.expires <= now) {
              if (c.expires !== UL_EXPIRED_TIME) this.emit("contact-expire", d, r, c, "timer");
              this.unlink(r, c);
              d.contacts--;
              d.expired++;
              d.expiresStat?.inc();
              removed++;
            }
            c = next;
          }
          if (!r.contacts) {
            this.emit("aor-expire", d, r, null, "timer");
            m.delete(r.aor);
            d.users--;
          }
        }
      }
    }
    return removed;
  }

  /** Empties every domain (tests, ul_flush has nothing to flush without SQL). */
  clear(): void {
    for (const d of this.domains) {
      d.slots.fill(undefined);
      d.users = 0;
      d.contacts = 0;
    }
  }

  totalUsers(): number {
    let n = 0;
    for (const d of this.domains) n += d.users;
    return n;
  }
}

/** Builds a Ci from an API ContactInfo (defaults as registrar/usrloc use them). */
export function ciFromInfo(info: ContactInfo, flags: BranchFlags, sockets: SocketTable, now: number): Ci {
  return {
    hasId: false,
    idHi: 0,
    idLo: 0,
    callid: flat(info.callid),
    userAgent: flat(info.userAgent ?? ""),
    socket: info.socket ? sockets.resolve(info.socket) : "",
    expires: info.expires,
    q: info.q ?? -1,
    cseq: info.cseq,
    flags: info.flags ?? 0,
    cflags: typeof info.cflags === "string" ? flags.toMask(info.cflags) : (info.cflags ?? 0),
    methods: info.methods ?? ALL_METHODS,
    lastModified: info.lastModified ?? now,
    path: flat(info.path ?? ""),
    attr: flat(info.attr ?? ""),
    received: flat(info.received ?? ""),
    instance: flat(info.instance ?? ""),
    kv: info.kv ? kvSerialize(info.kv) : "",
    regId: info.regId ?? 0,
  };
}

/** The current values of a contact as a Ci (to update some fields and keep the rest). */
export function ciFromContact(c: Ucontact): Ci {
  return {
    hasId: false,
    idHi: 0,
    idLo: 0,
    callid: c.callid,
    userAgent: c.userAgent,
    socket: c.socket,
    expires: c.expires,
    q: c.q,
    cseq: c.cseq,
    flags: c.flags,
    cflags: c.cflags,
    methods: c.methods,
    lastModified: c.lastModified,
    path: c.path,
    attr: c.attr,
    received: c.received,
    instance: c.instance,
    kv: "",
    regId: c.regId,
  };
}

export type { KvValue, ContactMatchResult };
