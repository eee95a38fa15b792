/**
 * What the dialog engine lends to the parts that change its table from outside the local API
 * (3.6 cluster replication, profile replication, 1.10 replication), so each of those lives in
 * its own file and touches the table only through the engine's bookkeeping (counters, timers,
 * profile links, events).
 */
import { TsipsError, type LocalSockets, type TsipsLogger } from "tsips";
import type { DlgStateNum } from "./api.ts";
import type { DialogEvents } from "./events.ts";
import type { ProfileTable } from "./profiles.ts";
import { DLG_STATE_DELETED, type Dialog, type DialogTable } from "./store.ts";

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
  /** OpenSIPS 1.10: take in dialogs replicated over the 1.10 BIN interface (non-zero = on). */
  accept_replicated_dialogs: number;
}

export const DIALOG_STAT_NAMES = [
  "active_dialogs", "early_dialogs", "processed_dialogs", "expired_dialogs", "failed_dialogs",
  "create_sent", "update_sent", "delete_sent", "create_recv", "update_recv", "delete_recv", "repl_dropped",
] as const;
export type DialogStatName = (typeof DIALOG_STAT_NAMES)[number];

export interface Counter {
  inc(n?: number): void;
}
export const NOOP_COUNTER: Counter = { inc() {} };

export const isState = (n: number): n is DlgStateNum => n >= 1 && n <= 5 && Number.isInteger(n);

export function dlgError(code: "TSIPS_ERR_DLG_NOT_FOUND" | "TSIPS_ERR_DLG_BACKUP" | "TSIPS_ERR_DLG_STATE" | "TSIPS_ERR_DLG_ARG", msg: string): TsipsError {
  return new TsipsError(code, msg, { module: "dialog" });
}

/** The engine as its replication parts see it. */
export interface DialogHost {
  readonly table: DialogTable;
  readonly profilesTable: ProfileTable;
  readonly sockets: LocalSockets;
  readonly params: DialogEngineParams;
  readonly log: TsipsLogger;
  readonly st: Readonly<Record<DialogStatName, Counter>>;
  readonly events: DialogEvents;
  /** Our "sync in progress" marker (dlg_replication.c); set by the 3.6 replication. */
  syncInProgress: boolean;
  nowSec(): number;
  /** Links a new dialog into the table and counts it. */
  insert(d: Dialog): void;
  /** Puts the dialog's lifetime (`expiresAt`) on the timer, or takes it off when 0. */
  arm(d: Dialog): void;
  /** Changes the state, keeping the early/active counts right (no events, no replication). */
  setStateRaw(d: Dialog, s: DlgStateNum): void;
  /** Ends a dialog (state 5); `replicate` sends DELETED in the configured mode. False if already ended. */
  terminate(d: Dialog, reason: string, replicate: boolean, keep?: boolean): boolean;
  /** Moves a dialog to another sharing tag (profiles and overdue timers follow). */
  retag(d: Dialog, tag: string | undefined): void;
  /** A sharing tag changed state (clusterer callback). */
  onTagChange(tag: string, active: boolean): void;
  /** Links profiles named in a wire string (`name#value|…`); unknown names are created on the fly. */
  linkWireProfiles(d: Dialog, text: string, skipLinked: boolean): void;
}

/** Logs and counts a replication packet that could not be applied. */
export function dropPacket(host: Pick<DialogHost, "st" | "log">, type: number, src: number | string, err: unknown): void {
  host.st.repl_dropped.inc();
  host.log.error({ type, src, err: err instanceof Error ? err.message : err }, "Failed to process a binary packet!");
}

/**
 * A replicated UPDATED's state, applied verbatim to a known dialog (no state machine; 5 ends
 * it without replicating further). Returns the state it had, to go on applying the record;
 * `undefined` when the dialog ended (nothing more to apply); `false` for an invalid state.
 */
export function applyReplicatedState(h: DialogHost, d: Dialog, state: number): DlgStateNum | undefined | false {
  if (!isState(state)) return false;
  if (state === DLG_STATE_DELETED) {
    h.terminate(d, "replicated", false);
    return undefined;
  }
  const old = d.state;
  d.wire = undefined;
  if (state !== old) h.setStateRaw(d, state);
  return old;
}

/** The events of an applied replicated UPDATED: a state change (if any), then "updated". */
export function emitReplicatedUpdate(h: DialogHost, d: Dialog, old: DlgStateNum): void {
  if (d.state !== old) h.events.emit({ kind: "state", dialog: d, origin: "replicated", oldState: old, newState: d.state });
  h.events.emit({ kind: "updated", dialog: d, origin: "replicated" });
}
