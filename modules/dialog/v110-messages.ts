/**
 * The dialog module's OpenSIPS 1.10 wire messages (spec/bin-1.10.md §5), declared once:
 * module name `dialog`, types 1 CREATED and 2 UPDATED (the same 25-field record) and
 * 3 DELETED (callid and the two tags). Strings carry i32 lengths; there is no version.
 */
import { binStr, binUint, defineV110Message, type MessageValues } from "tsips";
import { DLG_RECORD_HEAD } from "./messages.ts";

/** The module name 1.10 dialog datagrams are addressed to (`bin_register_cb("dialog", …)`). */
export const V110_DIALOG_MODULE = "dialog";

/** Packet types (1.10 dlg_replication.h). */
export const V110_DLG_CREATED = 1;
export const V110_DLG_UPDATED = 2;
export const V110_DLG_DELETED = 3;

/**
 * The 25 items `dlg_replicated_create`/`_update` push, in push order (§5.1). Items 1–18
 * (identity, h_id, times, state, sockets, CSeqs, route sets, contacts, mangled URIs) are the
 * first 18 of the 3.x record, which grew from this one; 1.10 then ends with values,
 * profiles, flags and the absolute timeout.
 */
export const V110_RECORD_FIELDS = [
  ...DLG_RECORD_HEAD,
  binStr("vars"), // 19 name#value| pairs, escaped
  binStr("profiles"), // 20 name#value| pairs, escaped
  binUint("userFlags"), // 21
  binUint("flags"), // 22 minus NEW, CHANGED, VP_CHANGED
  binUint("timeout"), // 23 absolute UNIX expiry
  binUint("callerLastGenCseq"), // 24
  binUint("calleeLastGenCseq"), // 25
] as const;

export type V110DlgRecord = MessageValues<typeof V110_RECORD_FIELDS>;

export const V110DlgCreated = defineV110Message({ name: "REPLICATION_DLG_CREATED", module: V110_DIALOG_MODULE, type: V110_DLG_CREATED, fields: V110_RECORD_FIELDS });
export const V110DlgUpdated = defineV110Message({ name: "REPLICATION_DLG_UPDATED", module: V110_DIALOG_MODULE, type: V110_DLG_UPDATED, fields: V110_RECORD_FIELDS });
export const V110DlgDeleted = defineV110Message({
  name: "REPLICATION_DLG_DELETED", module: V110_DIALOG_MODULE, type: V110_DLG_DELETED,
  fields: [binStr("callid"), binStr("callerTag"), binStr("calleeTag")],
});

/** Every 1.10 message of the module (bin-dump, tests). */
export const dialogV110Messages = [V110DlgCreated, V110DlgUpdated, V110DlgDeleted] as const;
