/**
 * Every wire message of the dialog module, declared once (spec dialog.md §1, §3, §5, §8):
 * capability `dialog-dlg-repl` types 1–5 and the sync chunk, capability `dialog-prof-repl`
 * type 4. Sent with BIN version 4; 3 is accepted where OpenSIPS accepts it.
 *
 * The 35-field dialog record (§3) is one field list, `DLG_RECORD_FIELDS`, shared by
 * CREATED, UPDATED and the sync chunk.
 */
import { binCustom, binInt, binStr, defineMessage, type BinPacket, type FieldDef, type MessageValues, type VersionedMessage } from "tsips";

export const DLG_REPL_CAP = "dialog-dlg-repl";
export const PROF_REPL_CAP = "dialog-prof-repl";

/** Packet types (dlg_replication.h, dlg_repl_profile.h). */
export const REPLICATION_DLG_CREATED = 1;
export const REPLICATION_DLG_UPDATED = 2;
export const REPLICATION_DLG_DELETED = 3;
export const REPLICATION_DLG_CSEQ = 4;
export const REPLICATION_DLG_VALUE = 5;
export const REPLICATION_DLG_PROFILE = 4;
/** What the clusterer hands the module for sync data (never on the wire). */
export const DLG_SYNC_TYPE = 101;

/** BIN version sent (DLG_BIN_V4) and the older one still accepted (DLG_BIN_V3). */
export const DLG_BIN_V4 = 4;
export const DLG_BIN_V3 = 3;

const hasHid = (v: number): boolean => v >= DLG_BIN_V4;

/** An unsigned 32-bit int (h_id, times, flag words): pushed as i32, read back unsigned. */
function uint<N extends string>(name: N, opts: { when?: (v: number) => boolean } = {}): FieldDef<N, number> {
  return binCustom(name, "uint", {
    push: (p: BinPacket, v: number) => void p.pushInt(v),
    pop: (p: BinPacket) => p.popInt() >>> 0,
    absent: 0,
  }, opts);
}

/**
 * Fields 1–18 of the record (identity, ids, times, state, sockets, CSeqs, route sets,
 * contacts, mangled URIs): unchanged since OpenSIPS 1.10, whose 25-item record starts the same.
 */
export const DLG_RECORD_HEAD = [
  binStr("callid"), // 1
  binStr("callerTag"), // 2 From tag
  binStr("calleeTag"), // 3 To tag
  binStr("fromUri"), // 4
  binStr("toUri"), // 5
  uint("hId"), // 6
  uint("startTs"), // 7
  binInt("state"), // 8
  binStr("callerSocket"), // 9 internal socket name
  binStr("calleeSocket"), // 10
  binStr("callerCseq"), // 11 r_cseq (decimal text)
  binStr("calleeCseq"), // 12
  binStr("callerRouteSet"), // 13
  binStr("calleeRouteSet"), // 14
  binStr("callerContact"), // 15
  binStr("calleeContact"), // 16
  binStr("calleeMangledFrom"), // 17
  binStr("calleeMangledTo"), // 18
] as const;

/** The 35 fields pushed by `bin_push_dlg` (§3), in push order. */
export const DLG_RECORD_FIELDS = [
  ...DLG_RECORD_HEAD,
  binStr("callerInSdp"), // 19
  binStr("callerOutSdp"), // 20
  binStr("calleeInSdp"), // 21
  binStr("calleeOutSdp"), // 22
  binStr("callerAdvContact"), // 23
  binStr("calleeAdvContact"), // 24
  binStr("vars"), // 25 values, escaped text (§4.1)
  binStr("profiles"), // 26 profiles, escaped text (§4.2)
  uint("userFlags"), // 27
  uint("modFlags"), // 28
  uint("flags"), // 29 internal flags minus NEW|CHANGED|FROM_DB|VP_CHANGED|SYNCED
  uint("expiresAt"), // 30 absolute expiry, UNIX seconds
  uint("callerLastGenCseq"), // 31
  uint("calleeLastGenCseq"), // 32
  binStr("onAnswerRoute"), // 33
  binStr("onTimeoutRoute"), // 34
  binStr("onHangupRoute"), // 35
] as const;


/** Decodes the 35-field record from the packet's front pointer (version already checked). */
export function popDlgRecord(p: BinPacket): MessageValues<typeof DLG_RECORD_FIELDS> {
  return DlgCreated.popFields(p, DLG_BIN_V4);
}

/** CREATED (type 1): a confirmed dialog. */
export const DlgCreated = defineMessage({
  name: "DLG_CREATED", capability: DLG_REPL_CAP, type: REPLICATION_DLG_CREATED, version: DLG_BIN_V4, accepts: [DLG_BIN_V3, DLG_BIN_V4],
  fields: DLG_RECORD_FIELDS,
});

/** UPDATED (type 2): the whole record again. */
export const DlgUpdated = defineMessage({
  name: "DLG_UPDATED", capability: DLG_REPL_CAP, type: REPLICATION_DLG_UPDATED, version: DLG_BIN_V4, accepts: [DLG_BIN_V3, DLG_BIN_V4],
  fields: DLG_RECORD_FIELDS,
});

/**
 * One dialog of sync data: the clusterer hands sync packets to the module as type 101 with
 * the version set to the chunk `data_version`; each chunk is this record (never on the wire
 * as a packet of its own: it rides inside clusterer-extra SYNC).
 */
export const DlgSyncChunk = defineMessage({
  name: "DLG_SYNC_CHUNK", capability: DLG_REPL_CAP, type: DLG_SYNC_TYPE, version: DLG_BIN_V4, accepts: [DLG_BIN_V3, DLG_BIN_V4],
  fields: DLG_RECORD_FIELDS,
});

/** DELETED (type 3, §5.1). V3 has no h_id. */
export const DlgDeleted = defineMessage({
  name: "DLG_DELETED", capability: DLG_REPL_CAP, type: REPLICATION_DLG_DELETED, version: DLG_BIN_V4, accepts: [DLG_BIN_V3, DLG_BIN_V4],
  fields: [binStr("callid"), binStr("callerTag"), binStr("calleeTag"), uint("hId", { when: hasHid })] as const,
});

/** CSEQ (type 4, §5.2): the last CSeq this node generated towards one leg. V3 has no h_id. */
export const DlgCseq = defineMessage({
  name: "DLG_CSEQ", capability: DLG_REPL_CAP, type: REPLICATION_DLG_CSEQ, version: DLG_BIN_V4, accepts: [DLG_BIN_V3, DLG_BIN_V4],
  fields: [binStr("callid"), binStr("fromTag"), binStr("toTag"), uint("hId", { when: hasHid }), uint("cseq")] as const,
});

/** The typed value of a VALUE packet: type 0 (removed), 1 (string) or 2 (integer). */
export type ReplValue = { type: 0 } | { type: 1; value: string } | { type: 2; value: number };

const replValue = binCustom<"value", ReplValue>("value", "int type + str|int|nothing", {
  push(p, v) {
    p.pushInt(v.type);
    if (v.type === 1) p.pushStr(v.value);
    else if (v.type === 2) p.pushInt(v.value);
  },
  pop(p) {
    const type = p.popInt();
    if (type === 1) return { type: 1, value: p.popStr() };
    if (type === 2) return { type: 2, value: p.popInt() };
    return { type: 0 };
  },
  absent: { type: 0 },
});

/** VALUE (type 5, §5.3): one dialog value stored or removed. Version 4 only. */
export const DlgValue = defineMessage({
  name: "DLG_VALUE", capability: DLG_REPL_CAP, type: REPLICATION_DLG_VALUE, version: DLG_BIN_V4, accepts: [DLG_BIN_V4],
  fields: [binStr("callid"), uint("hId"), binStr("name"), replValue] as const,
});

/** The `dialog-dlg-repl` declarations by packet type (receive dispatch and version checks). */
export const DIALOG_MESSAGES_BY_TYPE: ReadonlyMap<number, VersionedMessage> =
  new Map<number, VersionedMessage>([
    [REPLICATION_DLG_CREATED, DlgCreated], [REPLICATION_DLG_UPDATED, DlgUpdated], [REPLICATION_DLG_DELETED, DlgDeleted],
    [REPLICATION_DLG_CSEQ, DlgCseq], [REPLICATION_DLG_VALUE, DlgValue], [DLG_SYNC_TYPE, DlgSyncChunk],
  ]);

/** One record of a profile packet (§8.1). */
export interface ProfileCounterRecord {
  /** Profile name without the `/b` suffix. */
  name: string;
  /** The value, for profiles with values (has_value = 1); undefined otherwise. */
  value: string | undefined;
  /** Dialogs the sender holds in that profile/value. */
  count: number;
}

/** Pushes one profile record (used by the broadcast, which cuts packets by size). */
export function pushProfileRecord(p: BinPacket, r: ProfileCounterRecord): void {
  p.pushStr(r.name);
  if (r.value === undefined) p.pushInt(0);
  else {
    p.pushInt(1);
    p.pushStr(r.value);
  }
  p.pushInt(r.count);
}

/** Pops one profile record. */
export function popProfileRecord(p: BinPacket): ProfileCounterRecord {
  const name = p.popStr();
  const hasValue = p.popInt();
  const value = hasValue ? p.popStr() : undefined;
  const count = p.popInt();
  return { name, value, count };
}

const profileRecords = binCustom<"records", ProfileCounterRecord[]>("records", "{str name, int has_value, [str value], int count}*", {
  push(p, recs) {
    for (const r of recs) pushProfileRecord(p, r);
  },
  pop(p) {
    const out: ProfileCounterRecord[] = [];
    while (!p.atEnd()) out.push(popProfileRecord(p));
    return out;
  },
  absent: [],
});

/**
 * PROFILE (type 4 on `dialog-prof-repl`, §8): records until the end of the packet. OpenSIPS
 * does not check this packet's version on receive; the receiver here decodes it with
 * `popFields` (no version check) for the same reason.
 */
export const DlgProfile = defineMessage({
  name: "DLG_PROFILE", capability: PROF_REPL_CAP, type: REPLICATION_DLG_PROFILE, version: DLG_BIN_V4, accepts: [DLG_BIN_V3, DLG_BIN_V4],
  fields: [profileRecords] as const,
});

/** Every dialog message, declared in defineModule({ messages }) (bin-dump finds them through the loader). */
export const dialogMessages = [DlgCreated, DlgUpdated, DlgDeleted, DlgCseq, DlgValue, DlgProfile, DlgSyncChunk] as const;
