/**
 * The dialog module's API for other modules (OpenSIPS `dlg_load.h`, the `dlg_binds` struct,
 * adapted: tsips routes no SIP, so dialogs are created and driven through this API or MI).
 * Consumers declare `need<DialogApi>("dialog")` and get it as `ctx.deps.dialog`; they
 * `import type` from this file only.
 */

/** Dialog states: 1 unconfirmed, 2 early, 3 confirmed not ACKed, 4 confirmed, 5 deleted (DLG_STATE_*). */
export type DlgStateNum = 1 | 2 | 3 | 4 | 5;

/** Where a dialog came from on this node. */
export type DialogOriginKind = "local" | "replicated" | "sync";

/** A profile as defined by `profiles_with_value` / `profiles_no_value`. */
export interface ProfileInfo {
  /** Bare name (`calls`). */
  readonly name: string;
  /** Name with its replication suffix, as MI and the wire use it (`calls/b`). */
  readonly fullName: string;
  readonly hasValue: boolean;
  /** `none` local, `cachedb` (`/s`), `bin` (`/b`, counters replicated). */
  readonly repl: "none" | "cachedb" | "bin";
}

/** A read-only view of one dialog (the live object: read it, change it through the API). */
export interface DialogInfo {
  /** MI `ID` / `$DLG_did`: reverse-hex `hentry.hid`. */
  readonly id: string;
  readonly hEntry: number;
  readonly hId: number;
  readonly callid: string;
  readonly fromUri: string;
  readonly toUri: string;
  readonly callerTag: string;
  readonly calleeTag: string;
  readonly state: DlgStateNum;
  /** UNIX seconds. */
  readonly startTs: number;
  /** Absolute expiry, UNIX seconds (0 = not on the timer). */
  readonly expiresAt: number;
  readonly shtag: string | undefined;
  readonly origin: DialogOriginKind;
  readonly callerLastGenCseq: number;
  readonly calleeLastGenCseq: number;
  readonly userFlags: number;
  readonly flags: number;
  /** Values, oldest first. */
  readonly vals: ReadonlyMap<string, string | number> | undefined;
  /** Profile links, newest first. */
  readonly links: readonly { readonly profile: ProfileInfo; readonly value: string }[] | undefined;
  /** Why it ended (state 5): "api", "mi", "timeout", "replicated", "sync-purge", ... */
  readonly endReason: string | undefined;
}

/** What `create` takes. Only callid, fromUri and toUri are required. */
export interface CreateDialogOptions {
  callid: string;
  fromUri: string;
  toUri: string;
  /** Generated (10 random hex chars) when missing. */
  fromTag?: string;
  toTag?: string;
  /** 1..4, default 4 (confirmed). A dialog is replicated (CREATED) once it is in state 3 or 4. */
  state?: 1 | 2 | 3 | 4;
  /** Lifetime in seconds (default modparam `default_timeout`). */
  timeout?: number;
  /** Sharing tag (clusterer): only the node where it is active runs this dialog's timers. */
  sharingTag?: string;
  /** Profiles to link, by name as defined (with its suffix: `calls/b`), value for profiles with value. */
  profiles?: readonly { name: string; value?: string }[];
  /** Values stored on the dialog, in this order. */
  values?: Readonly<Record<string, string | number>>;
  /** Socket strings (`udp:10.0.0.1:5060`, `udp:pub`); default the first SIP socket of the config. */
  callerSocket?: string;
  calleeSocket?: string;
  callerContact?: string;
  calleeContact?: string;
  /** CSeq numbers as decimal text (default caller "0" as OpenSIPS stores it, callee "1"). */
  callerCseq?: string;
  calleeCseq?: string;
  callerRouteSet?: string;
  calleeRouteSet?: string;
  callerSdp?: string;
  calleeSdp?: string;
  userFlags?: number;
  /** Internal flags (spec §6.2); NEW is added. */
  flags?: number;
}

/** A dialog reference: the `ID` form (`3c3.c671a4b6`), a Call-ID, or the dialog itself. */
export type DialogRef = string | DialogInfo;

export type DialogEventKind = "created" | "state" | "updated" | "expired" | "terminated";

export interface DialogEvent {
  kind: DialogEventKind;
  dialog: DialogInfo;
  /** Local API/MI action, a replicated packet, or sync data. */
  origin: DialogOriginKind;
  oldState?: DlgStateNum;
  newState?: DlgStateNum;
  /** For `terminated`. */
  reason?: string;
}

export interface DialogCounts {
  /** Every dialog in the table (state 5 included while kept by `delete_delay`). */
  total: number;
  /** State 2. */
  early: number;
  /** States 3 and 4. */
  active: number;
}

export interface DialogApi {
  /** Creates a local dialog; replicates it (CREATED) if it is in state 3 or 4. Throws TSIPS_ERR_DLG_ARG. */
  create(opts: CreateDialogOptions): DialogInfo;
  /** By `ID` form or Call-ID (optionally with the caller's tag); state-5 dialogs are not returned. */
  lookup(ref: string, fromTag?: string): DialogInfo | undefined;
  /** Moves the state forward (1..5); confirming replicates CREATED/UPDATED, 5 ends the dialog. */
  setState(ref: DialogRef, state: DlgStateNum): DialogInfo;
  /** New lifetime from now, in seconds (replicates UPDATED). */
  setTimeout(ref: DialogRef, seconds: number): DialogInfo;
  /** An in-dialog request with CSeq `cseq` relayed towards `leg`: stores the leg's r_cseq (replicates UPDATED). */
  setCseq(ref: DialogRef, leg: "caller" | "callee", cseq: string): DialogInfo;
  /** The CSeq this node generated last towards a leg (replicates CSEQ). */
  setLastGenCseq(ref: DialogRef, leg: "caller" | "callee", cseq: number): DialogInfo;
  /** Stores (or with `undefined` removes) a value; replicated as VALUE in state >= 4. */
  setValue(ref: DialogRef, name: string, value: string | number | undefined): DialogInfo;
  /** Links the dialog to a profile (name with suffix as defined); replicates UPDATED. */
  setProfile(ref: DialogRef, profile: string, value?: string): DialogInfo;
  /** Unlinks; returns false when it was not linked. Replicates UPDATED. */
  unsetProfile(ref: DialogRef, profile: string, value?: string): boolean;
  /** Sets or clears the dialog's sharing tag (replicates UPDATED). */
  setSharingTag(ref: DialogRef, tag: string | undefined): DialogInfo;
  /** Ends the dialog (state 5) and replicates DELETED. Throws TSIPS_ERR_DLG_BACKUP on a backup node. */
  end(ref: DialogRef, reason?: string): DialogInfo;
  /** True when this node runs the dialog's timers (no sharing tag, or its tag is active here). */
  isOwner(ref: DialogRef): boolean;
  /** Every dialog, in table order. */
  dialogs(): IterableIterator<DialogInfo>;
  counts(): DialogCounts;
  /** Profiles in definition order. */
  profiles(): readonly ProfileInfo[];
  /** Profile size as MI `profile_get_size` reports it (BIN profiles: remote counters included). */
  profileSize(profile: string, value?: string): number;
  /** Subscribes to dialog events; returns the undo. */
  on(kinds: DialogEventKind | readonly DialogEventKind[], cb: (ev: DialogEvent) => void): () => void;
}
