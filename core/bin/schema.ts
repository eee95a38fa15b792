/**
 * Declared BIN messages: each wire message is declared once — capability, type, the version
 * it is sent with, the versions it accepts, and its ordered fields — and both encode and
 * decode come from that declaration, typed.
 *
 * ```ts
 * const UcontactDelete = defineMessage({
 *   name: "UCONTACT_DELETE", capability: "usrloc-contact-repl", type: 5, version: 5, accepts: [2, 3, 4, 5],
 *   fields: [str("domain"), str("aor"), str("contact"), str("callid"), int("cseq")],
 * });
 * const pkt = UcontactDelete.encode({ domain: "location", aor: "alice", ... });
 * const rec = UcontactDelete.decode(receivedPacket); // typed { domain: string; ... }
 * ```
 *
 * The OpenSIPS 1.10 interface (module name instead of capability, no versions, i32 string
 * lengths, a CRC) is declared the same way with `defineV110Message`: the same field helpers,
 * the same compiled push/pop, a `BinV110Packet` instead of a `BinPacket`.
 */
import { TsipsError } from "../errors.ts";
import { BinPacket } from "./packet.ts";
import { BinV110Packet } from "./v110/packet.ts";

/**
 * The item calls both packet generations offer (3.x `BinPacket`, 1.10 `BinV110Packet`): what
 * a field pushes and pops through. The length width of a str is the packet's business.
 */
export interface BinItems {
  /** Capability (3.x) or module name (1.10), for error messages. */
  readonly capability: string;
  pushInt(v: number): unknown;
  pushStr(s: string | Uint8Array | null | undefined): unknown;
  popInt(): number;
  popStr(): string;
  popBytes(): Buffer;
  remaining(): number;
}

/** One field of a message: how to push it and how to pop it. */
export interface FieldDef<N extends string = string, T = unknown> {
  readonly name: N;
  /** Human-readable kind, shown by bin-dump. */
  readonly kind: string;
  /** Only present on the wire when this returns true for the packet's version. */
  readonly when?: (version: number) => boolean;
  push(pkt: BinItems, value: T): void;
  pop(pkt: BinItems): T;
  /** Value used when `when` excludes the field. */
  readonly absent: T;
}

interface FieldOpts {
  when?: (version: number) => boolean;
}

/** A signed 32-bit int. @opensips bin_push_int / bin_pop_int */
export function int<N extends string>(name: N, opts: FieldOpts = {}): FieldDef<N, number> {
  return { name, kind: "int", ...opts, absent: 0, push: (p, v) => void p.pushInt(v), pop: (p) => p.popInt() };
}

/** An unsigned 32-bit int (ids, UNIX times, flag words): pushed as i32, read back unsigned. */
export function uint<N extends string>(name: N, opts: FieldOpts = {}): FieldDef<N, number> {
  return { name, kind: "uint", ...opts, absent: 0, push: (p, v) => void p.pushInt(v), pop: (p) => p.popInt() >>> 0 };
}

/** A str holding UTF-8 text; empty and NULL are both "". @opensips bin_push_str / bin_pop_str */
export function str<N extends string>(name: N, opts: FieldOpts = {}): FieldDef<N, string> {
  return { name, kind: "str", ...opts, absent: "", push: (p, v) => void p.pushStr(v), pop: (p) => p.popStr() };
}

/** A str holding raw bytes (kept as bytes so non-text content round-trips exactly). */
export function bytes<N extends string>(name: N, opts: FieldOpts = {}): FieldDef<N, Uint8Array> {
  return {
    name, kind: "bytes", ...opts, absent: new Uint8Array(0),
    push: (p, v) => void p.pushStr(v),
    // Copy: a decoded record must outlive the receive buffer.
    pop: (p) => Uint8Array.prototype.slice.call(p.popBytes()),
  };
}

/** A str whose bytes carry a typed value (e.g. a raw little-endian number, a flag list). */
export function strAs<N extends string, T>(
  name: N,
  codec: { kind: string; encode(v: T): string | Uint8Array; decode(b: Buffer): T; absent: T },
  opts: FieldOpts = {},
): FieldDef<N, T> {
  return {
    name, kind: codec.kind, ...opts, absent: codec.absent,
    push: (p, v) => void p.pushStr(codec.encode(v)),
    pop: (p) => codec.decode(p.popBytes()),
  };
}

/** An i32 count followed by that many i32s. */
export function intList<N extends string>(name: N, opts: FieldOpts = {}): FieldDef<N, number[]> {
  return {
    name, kind: "int[]", ...opts, absent: [],
    push: (p, v) => {
      p.pushInt(v.length);
      for (const x of v) p.pushInt(x);
    },
    pop: (p) => {
      const n = p.popInt();
      if (n < 0 || n * 4 > p.remaining()) throw new TsipsError("TSIPS_ERR_BIN_SHORT", `${p.capability}: list of ${n} ints runs past the packet`);
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) out[i] = p.popInt();
      return out;
    },
  };
}

/** A field with hand-written push/pop (nested or repeated structures). */
export function custom<N extends string, T>(
  name: N,
  kind: string,
  io: { push(pkt: BinPacket, v: T): void; pop(pkt: BinPacket): T; absent: T },
  opts: FieldOpts = {},
): FieldDef<N, T> {
  return { name, kind, ...opts, ...io };
}

type FieldValue<F> = F extends FieldDef<string, infer T> ? T : never;
/** The typed record a field list describes. */
export type MessageValues<F extends readonly FieldDef[]> = {
  [K in F[number] as K["name"]]: FieldValue<K>;
};

export interface MessageDecl<F extends readonly FieldDef[]> {
  /** OpenSIPS name of the packet type, e.g. "UCONTACT_INSERT". */
  name: string;
  capability: string;
  type: number;
  /** Version this node sends. */
  version: number;
  /** Versions accepted on receive (default: only `version`). */
  accepts?: readonly number[];
  fields: F;
}

export interface BinMessage<F extends readonly FieldDef[]> {
  readonly name: string;
  readonly capability: string;
  readonly type: number;
  readonly version: number;
  readonly accepts: readonly number[];
  readonly fields: F;
  /** Starts a packet (bin.init) and pushes every field. */
  encode(values: MessageValues<F>, version?: number): BinPacket;
  /** Pushes every field onto an existing packet (e.g. one sync chunk). */
  pushFields(pkt: BinPacket, values: MessageValues<F>, version?: number): void;
  /**
   * Pops every field from the packet's front pointer. Throws TSIPS_ERR_BIN_VERSION for a
   * version not accepted, TSIPS_ERR_BIN_SHORT when the packet ends early.
   */
  decode(pkt: BinPacket, version?: number): MessageValues<F>;
  /** Pops the fields without the version check (a sync chunk whose version is the sync's). */
  popFields(pkt: BinPacket, version: number): MessageValues<F>;
  isAccepted(version: number): boolean;
}

type CompiledPop = (p: BinItems, version: number) => Record<string, unknown>;
type CompiledPush = (p: BinItems, v: Record<string, unknown>, version: number) => void;

/**
 * Unrolls a field list into one straight-line push and one straight-line pop function, so
 * every call site is monomorphic and each decoded record has one fixed shape (hidden class).
 * About 3x faster than looping over the fields on the receive path (a usrloc contact insert
 * decodes in ~0.7 µs instead of ~2 µs). Only field indexes and JSON-quoted names are spliced
 * into the generated code; the behaviour stays in the field objects.
 */
function compileFields(fields: readonly FieldDef[]): { pushFields: CompiledPush; popFields: CompiledPop } {
  let pop = "";
  let push = "";
  const keys: string[] = [];
  fields.forEach((f, i) => {
    const key = JSON.stringify(f.name);
    if (f.when) {
      pop += `const v${i} = F[${i}].when(version) ? F[${i}].pop(p) : F[${i}].absent;\n`;
      push += `if (F[${i}].when(version)) F[${i}].push(p, v[${key}]);\n`;
    } else {
      pop += `const v${i} = F[${i}].pop(p);\n`;
      push += `F[${i}].push(p, v[${key}]);\n`;
    }
    keys.push(`${key}: v${i}`);
  });
  const popFields = (new Function("F", `"use strict"; return function popFields(p, version) {\n${pop}return { ${keys.join(", ")} };\n}`) as
    (f: readonly FieldDef[]) => CompiledPop)(fields);
  const pushFields = (new Function("F", `"use strict"; return function pushFields(p, v, version) {\n${push}}`) as
    (f: readonly FieldDef[]) => CompiledPush)(fields);
  return { pushFields, popFields };
}

/** Declares one wire message; encode and decode both derive from `fields`. */
export function defineMessage<const F extends readonly FieldDef[]>(decl: MessageDecl<F>): BinMessage<F> {
  const accepts = decl.accepts ?? [decl.version];
  const fields = decl.fields;
  const { pushFields: push, popFields: pop } = compileFields(fields);
  const pushFields = (pkt: BinPacket, values: MessageValues<F>, version = decl.version): void => push(pkt, values as Record<string, unknown>, version);
  const popFields = (pkt: BinPacket, version: number): MessageValues<F> => pop(pkt, version) as MessageValues<F>;
  return {
    name: decl.name,
    capability: decl.capability,
    type: decl.type,
    version: decl.version,
    accepts,
    fields,
    isAccepted: (v) => accepts.includes(v),
    encode(values, version = decl.version) {
      const pkt = BinPacket.init(decl.capability, decl.type, version);
      pushFields(pkt, values, version);
      return pkt;
    },
    pushFields,
    popFields,
    decode(pkt, version = pkt.version) {
      if (!accepts.includes(version)) {
        throw new TsipsError("TSIPS_ERR_BIN_VERSION",
          `${decl.capability} ${decl.name}: version ${version} not accepted (accepts ${accepts.join(", ")})`);
      }
      return popFields(pkt, version);
    },
  };
}

/** A registry of declared messages, looked up by capability and type (used by bin-dump and dispatchers). */
export class MessageRegistry {
  private readonly byKey = new Map<string, BinMessage<readonly FieldDef[]>[]>();

  add(...msgs: BinMessage<readonly FieldDef[]>[]): this {
    for (const m of msgs) {
      const k = `${m.capability}\u0000${m.type}`;
      const list = this.byKey.get(k) ?? [];
      list.push(m);
      this.byKey.set(k, list);
    }
    return this;
  }

  /** The declaration for this capability/type that accepts the version (or the first one). */
  find(capability: string, type: number, version?: number): BinMessage<readonly FieldDef[]> | undefined {
    const list = this.byKey.get(`${capability}\u0000${type}`);
    if (!list) return undefined;
    if (version === undefined) return list[0];
    return list.find((m) => m.isAccepted(version)) ?? list[0];
  }
}

// ── the 1.10 interface ───────────────────────────────────────────────────

export interface V110MessageDecl<F extends readonly FieldDef[]> {
  /** OpenSIPS name of the packet type, e.g. "REPLICATION_DLG_CREATED". */
  name: string;
  /** The module name the receiver registered (`bin_register_cb`), e.g. "dialog". */
  module: string;
  type: number;
  fields: F;
}

/** A declared 1.10 message: one field list drives encode, decode and bin-dump. */
export interface V110Message<F extends readonly FieldDef[]> {
  readonly wire: "1.10";
  readonly name: string;
  readonly module: string;
  readonly type: number;
  readonly fields: F;
  /** Starts a datagram (bin_init) and pushes every field. */
  encode(values: MessageValues<F>): BinV110Packet;
  pushFields(pkt: BinV110Packet, values: MessageValues<F>): void;
  /** Pops every field (throws TSIPS_ERR_BIN_SHORT when the datagram ends early). */
  decode(pkt: BinV110Packet): MessageValues<F>;
}

/** Declares one 1.10 message (no version: 1.10 has none). */
export function defineV110Message<const F extends readonly FieldDef[]>(decl: V110MessageDecl<F>): V110Message<F> {
  const { pushFields: push, popFields: pop } = compileFields(decl.fields);
  return {
    wire: "1.10",
    name: decl.name,
    module: decl.module,
    type: decl.type,
    fields: decl.fields,
    encode(values) {
      const pkt = BinV110Packet.init(decl.module, decl.type);
      push(pkt, values as Record<string, unknown>, 0);
      return pkt;
    },
    pushFields: (pkt, values) => push(pkt, values as Record<string, unknown>, 0),
    decode: (pkt) => pop(pkt, 0) as MessageValues<F>,
  };
}

/** The 1.10 messages tools know, by module name and type. */
export class V110MessageRegistry {
  private readonly byKey = new Map<string, V110Message<readonly FieldDef[]>>();

  add(...msgs: V110Message<readonly FieldDef[]>[]): this {
    for (const m of msgs) this.byKey.set(`${m.module}\u0000${m.type}`, m);
    return this;
  }

  find(module: string, type: number): V110Message<readonly FieldDef[]> | undefined {
    return this.byKey.get(`${module}\u0000${type}`);
  }
}
