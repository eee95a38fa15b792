/**
 * The 3.6 dialog record (`bin_push_dlg`, the 35 fields of spec/dialog.md §6.2) of a dialog,
 * and its encoded bytes, built once per change and kept on the dialog (`d.wire`) for
 * CREATED/UPDATED packets and sync chunks.
 */
import { BinPacket as Packet, type BinPacket, type MessageValues } from "tsips";
import { DLG_BIN_V4, DLG_RECORD_FIELDS, DLG_REPL_CAP, DlgSyncChunk } from "./messages.ts";
import { DLG_FLAGS_NOT_SENT, SHTAG_VALUE_NAME, type Dialog } from "./store.ts";
import { serializeProfiles, serializeValues } from "./vals.ts";

export type DlgRecord = MessageValues<typeof DLG_RECORD_FIELDS>;

/** Scratch packet the record is encoded into before it is copied to `d.wire`. */
let scratch: BinPacket | undefined;

/** The 35-field record (`bin_push_dlg`). A tagged dialog stores its tag as value `dlgX_shtag` first. */
export function record(d: Dialog): DlgRecord {
  if (d.shtag !== undefined) d.storeValue(SHTAG_VALUE_NAME, d.shtag);
  const callerSock = d.callerSock?.sockStr ?? "";
  return {
    callid: d.callid, callerTag: d.callerTag, calleeTag: d.calleeTag, fromUri: d.fromUri, toUri: d.toUri,
    hId: d.hId, startTs: d.startTs, state: d.state,
    callerSocket: callerSock, calleeSocket: d.calleeSock?.sockStr ?? callerSock,
    callerCseq: d.callerCseq, calleeCseq: d.calleeCseq, callerRouteSet: d.callerRouteSet, calleeRouteSet: d.calleeRouteSet,
    callerContact: d.callerContact, calleeContact: d.calleeContact, calleeMangledFrom: d.calleeMangledFrom, calleeMangledTo: d.calleeMangledTo,
    callerInSdp: d.callerInSdp, callerOutSdp: d.callerOutSdp, calleeInSdp: d.calleeInSdp, calleeOutSdp: d.calleeOutSdp,
    callerAdvContact: d.callerAdvContact, calleeAdvContact: d.calleeAdvContact,
    vars: serializeValues(d.vals), profiles: serializeProfiles(d.links?.map((l) => ({ name: l.profile.fullName, value: l.value }))),
    userFlags: d.userFlags, modFlags: d.modFlags, flags: (d.flags & ~DLG_FLAGS_NOT_SENT) >>> 0,
    expiresAt: d.expiresAt, callerLastGenCseq: d.callerLastGenCseq, calleeLastGenCseq: d.calleeLastGenCseq,
    onAnswerRoute: d.onAnswerRoute, onTimeoutRoute: d.onTimeoutRoute, onHangupRoute: d.onHangupRoute,
  };
}

/** The encoded record of a dialog, built once per change (`d.wire`). */
export function wireOf(d: Dialog): Buffer {
  const rec = d.wire === undefined || (d.shtag !== undefined && d.vals?.get(SHTAG_VALUE_NAME) !== d.shtag) ? record(d) : undefined;
  if (rec) {
    const p = (scratch ??= Packet.init(DLG_REPL_CAP, 0, DLG_BIN_V4, 65535));
    p.resetBackPointer();
    DlgSyncChunk.pushFields(p, rec, DLG_BIN_V4);
    d.wire = Buffer.from(p.contentStart());
  }
  return d.wire!;
}
