/**
 * The wire messages of __NAME__, capability "__CAP__". Each message is declared once;
 * `encode` and `decode` both come from the declaration, so sender and receiver cannot
 * disagree on the field order.
 */
import { binInt, binStr, defineMessage } from "tsips";

/** The capability name other nodes know this data by (like OpenSIPS's "dialog-dlg-repl"). */
export const CAPABILITY = "__CAP__";

/**
 * The version this node sends. When the layout changes, bump it and list every version
 * the code can still read in `accepts` (fields can depend on it with `when`).
 */
export const DATA_VERSION = 1;

/**
 * The packet type the clusterer uses for sync data (OpenSIPS CLUSTERER_SYNC). Also exported
 * by modules/clusterer/api.ts as SYNC_PACKET_TYPE, but a module may import only types from
 * another module, so it is repeated here.
 */
export const SYNC_PACKET_TYPE = 101;

/**
 * The fields of one entry. `expires` is absolute (unix seconds, 0 = never), so every node
 * expires the entry at the same moment without any packet (as usrloc does with contacts).
 */
const entryFields = [binStr("key"), binStr("value"), binStr("tag"), binInt("expires")] as const;

/** An entry was created or changed on the sending node. */
export const EntrySet = defineMessage({
  name: "ENTRY_SET",
  capability: CAPABILITY,
  type: 1,
  version: DATA_VERSION,
  fields: entryFields,
});

/** An entry was deleted on the sending node. */
export const EntryDelete = defineMessage({
  name: "ENTRY_DELETE",
  capability: CAPABILITY,
  type: 2,
  version: DATA_VERSION,
  fields: [binStr("key")],
});

/** One entry inside a sync chunk (a joining node receives every entry this way). */
export const SyncEntry = defineMessage({
  name: "SYNC_ENTRY",
  capability: CAPABILITY,
  type: SYNC_PACKET_TYPE,
  version: DATA_VERSION,
  fields: entryFields,
});

/** Every message, e.g. for `knownMessages.add(...)` so `scripts/bin-dump.ts` decodes them. */
export const __CAMEL__Messages = [EntrySet, EntryDelete, SyncEntry] as const;
