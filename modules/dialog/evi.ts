/**
 * E_DLG_STATE_CHANGED (OpenSIPS dlg_hash.c `raise_state_changed_event`): raised when a
 * dialog changes state on this node (its own transitions, as OpenSIPS raises it from
 * `next_state_dlg`), with OpenSIPS's parameter names. `db_id` is the 64-bit
 * `hash_entry << 32 | hash_id` the dialog table stores, as decimal text.
 */
import type { ModuleEvents } from "tsips";
import type { DialogEvent } from "./api.ts";

export const DIALOG_EVENTS = ["E_DLG_STATE_CHANGED"] as const;

export function dialogStateEventParams(ev: DialogEvent): Record<string, string | number> {
  const d = ev.dialog;
  return {
    hash_entry: d.hEntry, hash_id: d.hId, id: d.id, db_id: ((BigInt(d.hEntry) << 32n) | BigInt(d.hId)).toString(),
    callid: d.callid, from_tag: d.callerTag, to_tag: d.calleeTag, old_state: ev.oldState ?? 0, new_state: ev.newState ?? d.state,
  };
}

export function raiseDialogStateEvent(events: ModuleEvents, ev: DialogEvent): void {
  if (!events.wanted("E_DLG_STATE_CHANGED") || ev.origin !== "local" || ev.oldState === undefined || ev.newState === undefined || ev.oldState === ev.newState) return;
  events.raise("E_DLG_STATE_CHANGED", dialogStateEventParams(ev));
}
