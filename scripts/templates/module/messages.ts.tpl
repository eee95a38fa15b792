/**
 * The replicated record of __NAME__, capability "__CAP__", declared once. defineReplication
 * derives the wire messages from it — ENTRY_SET (type 1: key, value, tag, expires),
 * ENTRY_DELETE (type 2: key) and ENTRY_SYNC (type 101: one entry per sync chunk) — so sender
 * and receiver cannot disagree on the field order.
 */
import { binInt, binStr, defineReplication } from "tsips";

/** The capability name other nodes know this data by (like OpenSIPS's "dialog-dlg-repl"). */
export const CAPABILITY = "__CAP__";

/**
 * The version this node sends. When the layout changes, bump it and list every version the
 * code can still read in `accepts` (a list, or `{ min, max }`); fields can depend on the
 * version with `when`.
 */
export const DATA_VERSION = 1;

/**
 * `expires` is absolute (unix seconds, 0 = never), so every node expires an entry at the same
 * moment without any packet (as usrloc does with contacts).
 */
export const entries = defineReplication({
  name: "ENTRY", capability: CAPABILITY, version: DATA_VERSION,
  key: binStr("key"),
  value: [binStr("value"), binStr("tag"), binInt("expires")],
});

export const EntrySet = entries.set;
export const EntryDelete = entries.delete;
export const SyncEntry = entries.sync;
/** The packet type the clusterer uses for sync data (OpenSIPS CLUSTERER_SYNC). */
export const SYNC_PACKET_TYPE = SyncEntry.type;
