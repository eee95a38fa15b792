/**
 * Every usrloc replication message, declared once (spec/usrloc.md §1–§3): capability
 * `usrloc-contact-repl`, types 1–5 sent with BIN version 5, versions 2–5 accepted, and the
 * sync chunks (type 101) carried inside clusterer SYNC packets. Encode and decode both come
 * from these declarations (core/bin/schema.ts).
 *
 * Several numbers travel as a `str` holding the raw little-endian bytes of a C integer
 * (contact id: uint64, expires/last_modified: time_t = int64, q: int32); they have fixed
 * lengths and a str of another length is rejected as malformed.
 */
import { TsipsError, type BinPacket, defineMessage, binInt as int, binStr as str, binStrAs as strAs, binCustom as custom, type BinMessage, type FieldDef, type MessageValues } from "tsips";

export const UL_CAPABILITY = "usrloc-contact-repl";
/** `UL_BIN_VERSION`: the version sent, also the sync chunks' data_version. */
export const UL_BIN_VERSION = 5;
/** Versions accepted on receive, every type including 101. */
export const UL_ACCEPTED_VERSIONS = [2, 3, 4, 5] as const;

export const REPL_URECORD_INSERT = 1;
export const REPL_URECORD_DELETE = 2;
export const REPL_UCONTACT_INSERT = 3;
export const REPL_UCONTACT_UPDATE = 4;
export const REPL_UCONTACT_DELETE = 5;
/** Sync data as the module sees it (clusterer `SYNC_PACKET_TYPE`). */
export const UL_SYNC_PACKET_TYPE = 101;

/** Contact match modes (`enum ct_match_mode`). */
export const CT_MATCH_NONE = -1;
export const CT_MATCH_CONTACT_ONLY = 0;
export const CT_MATCH_CONTACT_CALLID = 1;
export const CT_MATCH_PARAMS = 2;

// ── codecs for values inside str fields ──────────────────────────────────

// The raw codecs return a shared scratch buffer: `strAs` pushes it (a copy) right away.
const scratch8 = Buffer.alloc(8);
const scratch4 = Buffer.alloc(4);

function wrongLength(what: string, got: number, want: number): TsipsError {
  return new TsipsError("TSIPS_ERR_BIN_MALFORMED", `usrloc: ${what} str of ${got} bytes (expected ${want})`);
}

/** Raw uint64 (contact id). */
export const RAW_U64 = {
  kind: "u64le-in-str",
  encode(v: bigint): Uint8Array {
    scratch8.writeBigUInt64LE(BigInt.asUintN(64, v), 0);
    return scratch8;
  },
  decode(b: Buffer): bigint {
    if (b.length !== 8) throw wrongLength("contact id", b.length, 8);
    return b.readBigUInt64LE(0);
  },
  absent: 0n,
};

/** Raw time_t (int64; expires, last_modified), as a JS number of seconds. */
export const RAW_TIME = {
  kind: "i64le-in-str",
  encode(v: number): Uint8Array {
    const hi = Math.floor(v / 4294967296);
    scratch8.writeUInt32LE(v - hi * 4294967296, 0);
    scratch8.writeInt32LE(hi, 4);
    return scratch8;
  },
  decode(b: Buffer): number {
    if (b.length !== 8) throw wrongLength("time_t", b.length, 8);
    return b.readUInt32LE(0) + b.readInt32LE(4) * 4294967296;
  },
  absent: 0,
};

/** Raw int32 (q × 1000, −1 = unspecified). */
export const RAW_I32 = {
  kind: "i32le-in-str",
  encode(v: number): Uint8Array {
    scratch4.writeInt32LE(v | 0, 0);
    return scratch4;
  },
  decode(b: Buffer): number {
    if (b.length !== 4) throw wrongLength("q", b.length, 4);
    return b.readInt32LE(0);
  },
  absent: -1,
};

/** Contact-match block (spec §2.8). */
export interface CtMatch {
  /** −1 none (receiver's matching_mode), 0 contact, 1 contact + Call-ID, 2 URI parameters. */
  mode: number;
  /** URI parameter names (mode 2 only). */
  params: string[];
}

/** Shared (frozen) match blocks for the modes without parameters: decoding allocates nothing. */
const MATCH_CONSTANTS = new Map<number, CtMatch>([CT_MATCH_NONE, CT_MATCH_CONTACT_ONLY, CT_MATCH_CONTACT_CALLID].map(
  (mode) => [mode, Object.freeze({ mode, params: Object.freeze([]) as unknown as string[] })]));

/** @opensips bin_push_ctmatch / bin_pop_ctmatch */
export const ctMatchField = (name: "match"): FieldDef<"match", CtMatch> =>
  custom<"match", CtMatch>(name, "ct-match", {
    push(p: BinPacket, m: CtMatch) {
      p.pushInt(m.mode);
      if (m.mode !== CT_MATCH_PARAMS) return;
      p.pushInt(m.params.length);
      for (const s of m.params) p.pushStr(s);
    },
    pop(p: BinPacket): CtMatch {
      const mode = p.popInt();
      if (mode !== CT_MATCH_PARAMS) return MATCH_CONSTANTS.get(mode) ?? { mode, params: [] };
      const n = p.popInt();
      if (n < 0 || n * 2 > p.remaining()) throw new TsipsError("TSIPS_ERR_BIN_SHORT", `usrloc: match block of ${n} params runs past the packet`);
      const params: string[] = [];
      for (let i = 0; i < n; i++) params.push(p.popStr());
      return { mode, params };
    },
    // Version 2 carries no block: the receiver assumes contact + Call-ID.
    absent: MATCH_CONSTANTS.get(CT_MATCH_CONTACT_CALLID)!,
  }, { when: (v) => v >= 3 });

const text = <N extends string>(name: N): FieldDef<N, string> => str(name);
const v5 = (v: number): boolean => v >= 5;
const v4 = (v: number): boolean => v >= 4;
const upToV3 = (v: number): boolean => v <= 3;

// ── declarations ─────────────────────────────────────────────────────────

const common = { capability: UL_CAPABILITY, version: UL_BIN_VERSION, accepts: UL_ACCEPTED_VERSIONS } as const;

/** AoR insert, type 1 (`bin_push_urecord`). */
export const UrecordInsert = defineMessage({
  ...common, name: "URECORD_INSERT", type: REPL_URECORD_INSERT,
  fields: [
    text("domain"),
    text("aor"),
    int("label"),
    int("nextClabel"),
    str("kv", { when: v5 }),
  ] as const,
});

/** AoR delete, type 2. */
export const UrecordDelete = defineMessage({
  ...common, name: "URECORD_DELETE", type: REPL_URECORD_DELETE,
  fields: [text("domain"), text("aor")] as const,
});

/** Contact fields shared by insert and update, in wire order after the AoR. */
function contactBody<const F extends readonly FieldDef[]>(head: F) {
  return [
    ...head,
    text("userAgent"),
    text("path"),
    text("attr"),
    text("received"),
    text("instance"),
    strAs("expires", RAW_TIME),
    strAs("q", RAW_I32),
    text("socket"),
    int("cseq"),
    int("flags"),
    str("cflags", { when: v4 }),
    int("cflagsBits", { when: upToV3 }),
    int("methods"),
    strAs("lastModified", RAW_TIME),
    text("kv"),
  ] as const;
}

/** Contact insert, type 3 (`bin_push_contact`); also the body of a sync contact chunk. */
export const UcontactInsert = defineMessage({
  ...common, name: "UCONTACT_INSERT", type: REPL_UCONTACT_INSERT,
  fields: [
    ...contactBody([text("domain"), text("aor"), text("contact"), strAs("contactId", RAW_U64), text("callid")] as const),
    ctMatchField("match"),
  ] as const,
});

/** Contact update, type 4 (`replicate_ucontact_update`): the contact id comes after the kv store. */
export const UcontactUpdate = defineMessage({
  ...common, name: "UCONTACT_UPDATE", type: REPL_UCONTACT_UPDATE,
  fields: [
    ...contactBody([text("domain"), text("aor"), text("contact"), text("callid")] as const),
    strAs("contactId", RAW_U64),
    ctMatchField("match"),
  ] as const,
});

/** Contact delete, type 5: the CSeq is the one stored with the contact. */
export const UcontactDelete = defineMessage({
  ...common, name: "UCONTACT_DELETE", type: REPL_UCONTACT_DELETE,
  fields: [text("domain"), text("aor"), text("contact"), text("callid"), int("cseq"), ctMatchField("match")] as const,
});

export type UrecordInsertRec = MessageValues<typeof UrecordInsert.fields>;
export type UrecordDeleteRec = MessageValues<typeof UrecordDelete.fields>;
export type UcontactInsertRec = MessageValues<typeof UcontactInsert.fields>;
export type UcontactUpdateRec = MessageValues<typeof UcontactUpdate.fields>;
export type UcontactDeleteRec = MessageValues<typeof UcontactDelete.fields>;

/** The five replication messages by name (declarations compile to straight-line code in core/bin/schema.ts). */
export const UlMessages = { UrecordInsert, UrecordDelete, UcontactInsert, UcontactUpdate, UcontactDelete };

// ── sync chunks (type 101) ───────────────────────────────────────────────

/** One sync chunk: `int 0` + AoR-insert body, or `int 1` + contact-insert body (match mode 1). */
export type SyncChunk =
  | { kind: "aor"; record: UrecordInsertRec }
  | { kind: "contact"; record: UcontactInsertRec };

function syncChunkMessage(version: number) {
  return defineMessage({
    name: "SYNC_CHUNK", capability: UL_CAPABILITY, type: UL_SYNC_PACKET_TYPE, version, accepts: [version],
    fields: [
      custom<"chunk", SyncChunk>("chunk", "usrloc-sync-chunk (int 0 AoR | int 1 contact, then its fields)", {
        push(p, c) {
          if (c.kind === "aor") {
            p.pushInt(0);
            UlMessages.UrecordInsert.pushFields(p, c.record, version);
          } else {
            p.pushInt(1);
            UlMessages.UcontactInsert.pushFields(p, c.record, version);
          }
        },
        pop(p) {
          const isContact = p.popInt();
          return isContact
            ? { kind: "contact", record: UlMessages.UcontactInsert.popFields(p, version) }
            : { kind: "aor", record: UlMessages.UrecordInsert.popFields(p, version) };
        },
        absent: { kind: "aor", record: { domain: "", aor: "", label: 0, nextClabel: 0, kv: "" } },
      }),
    ] as const,
  });
}

/**
 * Sync chunk declarations, one per accepted data_version (the layouts of the AoR and contact
 * bodies differ by version). Look one up with `syncChunkFor(dataVersion)`.
 */
export const UlSyncChunks = UL_ACCEPTED_VERSIONS.slice().reverse().map(syncChunkMessage);
export type UlSyncChunkMessage = ReturnType<typeof syncChunkMessage>;

export function syncChunkFor(dataVersion: number): UlSyncChunkMessage | undefined {
  return UlSyncChunks.find((m) => m.version === dataVersion);
}

/** Sync chunk declarations by data_version. */
export const SyncChunksByVersion = new Map(UlSyncChunks.map((m) => [m.version, m] as const));

/** Every usrloc declaration (for the shared registry used by bin-dump). */
export const usrlocMessages: BinMessage<readonly FieldDef[]>[] = [
  UrecordInsert, UrecordDelete, UcontactInsert, UcontactUpdate, UcontactDelete, ...UlSyncChunks,
] as unknown as BinMessage<readonly FieldDef[]>[];

/** The declaration for a regular packet type (1–5). */
export function messageForType(type: number): BinMessage<readonly FieldDef[]> | undefined {
  return usrlocMessages.find((m) => m.type === type);
}
