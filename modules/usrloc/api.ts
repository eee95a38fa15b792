/**
 * The usrloc API for other modules (OpenSIPS `usrloc_api_t`, `bind_usrloc`): what a
 * registrar-like module calls. Consumers declare `need<UsrlocApi>("usrloc")` and
 * `import type` from this file only.
 *
 * Times are UNIX seconds. `expires` is absolute (0 = permanent), as usrloc stores it; use
 * `now()` to build it from a relative value.
 */
import type { CtMatch } from "./messages.ts";
import type { KvObject, KvValue } from "./kv.ts";

export type { CtMatch, KvObject, KvValue };

/** One contact binding (read-only view; change it through the API). */
export interface UlContact {
  readonly uri: string;
  /** 64-bit contact id (aorhash/record label/contact label, spec §2.3). */
  readonly contactId: bigint;
  /** Absolute expiry (UNIX s); 0 = permanent; 10 = forcibly expired. */
  readonly expires: number;
  /** q × 1000; −1 = unspecified. */
  readonly q: number;
  readonly callid: string;
  readonly cseq: number;
  /** Internal flags: 1 memory only, 2 extra hop, 4 push notification. */
  readonly flags: number;
  /** Branch flags bitmask (named flags of this node). */
  readonly cflags: number;
  readonly userAgent: string;
  /** Internal name of the local socket (`udp:tag` or `udp:ip:port`), "" if none. */
  readonly socket: string;
  /** Supported methods bitmask (−1 = all). */
  readonly methods: number;
  /** UNIX time of the last change (0 for MI-created contacts). */
  readonly lastModified: number;
  readonly received: string;
  readonly path: string;
  /** `+sip.instance`. */
  readonly instance: string;
  /** RFC 5626 reg-id (kept locally; OpenSIPS does not replicate it). */
  readonly regId: number;
  /** Opaque extra info. */
  readonly attr: string;
  /** Key-value store (parsed on access). */
  readonly kv: Readonly<KvObject>;
  /** Key-value store as compact JSON ("" when empty). */
  readonly kvJson: string;
  /** Sharing tag (`_st` key of the store), "" if none. */
  readonly sharingTag: string;
  /** Next contact of the same AoR (ordered by q, or newest first with desc_time_order). */
  readonly next: UlContact | null;
}

/** One AoR record. */
export interface UlAor {
  readonly aor: string;
  readonly aorhash: number;
  readonly label: number;
  readonly nextClabel: number;
  /** First contact (walk with `.next`). */
  readonly contacts: UlContact | null;
  contactList(): UlContact[];
  readonly kv: Readonly<KvObject>;
  readonly kvJson: string;
}

/** Contact data for insert/update (`ucontact_info_t`). */
export interface ContactInfo {
  /** Absolute expiry, UNIX s (0 = permanent). */
  expires: number;
  callid: string;
  cseq: number;
  /** q × 1000 (default −1, unspecified). */
  q?: number;
  flags?: number;
  /** Bitmask, or space-separated branch flag names. */
  cflags?: number | string;
  userAgent?: string;
  received?: string;
  path?: string;
  /** Socket internal name; a name that is not a local socket is dropped. */
  socket?: string;
  /** Default −1 (all methods). */
  methods?: number;
  /** Default now. */
  lastModified?: number;
  instance?: string;
  regId?: number;
  attr?: string;
  kv?: KvObject;
}

export type UlChangeType =
  | "aor-insert" | "aor-delete" | "aor-expire"
  | "contact-insert" | "contact-update" | "contact-delete" | "contact-expire";

/** Where a change came from: this node's API/MI, a replicated packet, a sync, or the expiry timer. */
export type ChangeOrigin = "local" | "replicated" | "sync" | "timer";

export interface UlChange {
  type: UlChangeType;
  domain: string;
  aor: string;
  record: UlAor;
  contact: UlContact | null;
  origin: ChangeOrigin;
}

/** `get_ucontact` outcome. */
export type ContactMatchResult =
  | { status: "found"; contact: UlContact }
  | { status: "not-found" }
  | { status: "older"; contact: UlContact }
  | { status: "same"; contact: UlContact };

export interface UsrlocApi {
  /** Current time in UNIX seconds, as usrloc sees it. */
  now(): number;
  /** Registers a table (`register_udomain`); `location` always exists. */
  registerDomain(name: string): void;
  domains(): string[];
  /** The AoR record, if any (`get_urecord`). */
  get(domain: string, aor: string): UlAor | undefined;
  /** Valid (unexpired) contacts of an AoR, in order. */
  lookup(domain: string, aor: string): UlContact[];
  /**
   * Finds the contact a REGISTER refers to (`get_ucontact`): by the match mode (default: the
   * `matching_mode` modparam), checking Call-ID and CSeq.
   */
  match(domain: string, aor: string, uri: string, callid: string, cseq: number, match?: CtMatch): ContactMatchResult;
  /** Adds a new contact, creating the AoR if needed (`insert_urecord` + `insert_ucontact`). Replicated. */
  insert(domain: string, aor: string, uri: string, info: ContactInfo, match?: CtMatch): UlContact;
  /** Updates a contact (`update_ucontact`); fields not given keep their value. Replicated. */
  update(domain: string, aor: string, contact: UlContact, info: Partial<ContactInfo>, match?: CtMatch): UlContact;
  /**
   * Registrar-style save: match (as `match`) and then update a newer binding or insert a new
   * one; older/same CSeq is ignored.
   */
  save(domain: string, aor: string, uri: string, info: ContactInfo, match?: CtMatch):
    { result: "inserted" | "updated" | "ignored"; contact: UlContact | undefined };
  /** Deletes a contact (`delete_ucontact` + `release_urecord`); the AoR goes when empty. Replicated. */
  delete(domain: string, aor: string, contact: UlContact, match?: CtMatch): boolean;
  /** Deletes an AoR and all its contacts (`delete_urecord`). Replicated. */
  deleteAor(domain: string, aor: string): boolean;
  /** Sets/removes a key of an AoR's kv store (replicated with the next contact update). */
  putAorKey(domain: string, aor: string, key: string, value: KvValue | undefined): boolean;
  /** Every AoR of a domain (or of all), slot by slot. */
  records(domain?: string): Iterable<{ domain: string; record: UlAor }>;
  /** Counts (users = AoRs). */
  count(domain?: string): { users: number; contacts: number };
  /** Calls `cb` on every change; returns the undo function. */
  onChange(cb: (ev: UlChange) => void): () => void;
  /**
   * NAT pinging split in full sharing (`pinging_mode`): true when this node should ping the
   * contact (cooperation: `aorhash % nodes == my index`; ownership: its sharing tag is active here).
   */
  shouldPing(record: UlAor, contact: UlContact): boolean;
}
