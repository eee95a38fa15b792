/**
 * One OpenSIPS 1.10 BIN datagram (bin_interface.c of 1.10.5, spec/bin-1.10.md §2): builder
 * and reader.
 *
 *   "P4CK" | u32 crc | i32 name_len | module name | i32 type | items…
 *
 * Items are `int` (i32) or `str` (i32 length + raw bytes; empty and NULL are both
 * `00 00 00 00`). All numbers little-endian (x86_64 host order). The CRC covers bytes
 * [8, end) and is written by `bytes()` (OpenSIPS computes it in `bin_send`). There is no
 * length field: the datagram's length is the packet's.
 *
 * Unlike 1.10 this reader never trusts a length: a negative or overlong length is a
 * truncated item (TSIPS_ERR_BIN_SHORT), never a read past the datagram.
 */
import { TsipsError } from "../../errors.ts";
import { crc32NoFinalXor } from "./crc.ts";

export const V110_MARKER = "P4CK";
/** Marker + CRC. */
export const V110_HEADER_SIZE = 8;
/** `MIN_BIN_PACKET_SIZE`: header, name length, type, two name bytes. */
export const V110_MIN_PACKET_SIZE = 18;
/** `BUF_SIZE`: the send and receive buffers. */
export const V110_MAX_PACKET_SIZE = 65535;

/** Why a datagram was refused before any handler saw it (the statistic's reasons). */
export type V110DropReason = "short" | "marker" | "crc" | "truncated";

/** A datagram refused by `BinV110Packet.parse` (or an item that ran past the datagram). */
export class V110DatagramError extends TsipsError {
  constructor(readonly reason: V110DropReason, message: string) {
    super(reason === "crc" ? "TSIPS_ERR_BIN_CRC" : reason === "truncated" ? "TSIPS_ERR_BIN_SHORT" : "TSIPS_ERR_BIN_MALFORMED", message);
  }
}

function i32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}
function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/** Header fields of a datagram, readable without decoding the body. */
export interface V110Header {
  /** The CRC field as stored. */
  crc: number;
  /** The CRC computed over [8, end). */
  computedCrc: number;
  moduleName: string;
  type: number;
  /** Offset of the first item. */
  bodyOffset: number;
}

/**
 * Reads and checks a datagram's header in the receiver's order (§4.1): length ≥ 18, marker,
 * CRC, then the module name (which must fit). Throws V110DatagramError.
 */
export function readV110Header(b: Uint8Array, checkCrc = true): V110Header {
  if (b.length < V110_MIN_PACKET_SIZE) throw new V110DatagramError("short", `datagram of ${b.length} bytes is shorter than ${V110_MIN_PACKET_SIZE}`);
  if (b[0] !== 0x50 || b[1] !== 0x34 || b[2] !== 0x43 || b[3] !== 0x4b) throw new V110DatagramError("marker", "bad marker (expected P4CK)");
  const crc = i32(b, 4) >>> 0;
  const computedCrc = crc32NoFinalXor(b.subarray(V110_HEADER_SIZE));
  if (checkCrc && crc !== computedCrc) {
    throw new V110DatagramError("crc", `checksum 0x${crc.toString(16).padStart(8, "0")} but the data gives 0x${computedCrc.toString(16).padStart(8, "0")}`);
  }
  const nameLen = i32(b, 8);
  if (nameLen < 0 || 12 + nameLen + 4 > b.length) throw new V110DatagramError("truncated", `module name length ${nameLen} runs past the datagram`);
  return { crc, computedCrc, moduleName: Buffer.from(b.buffer, b.byteOffset + 12, nameLen).toString("latin1"), type: i32(b, 12 + nameLen), bodyOffset: 16 + nameLen };
}

/** Encoded module names for `init` (a node sends for a handful). */
const nameCache = new Map<string, Buffer>();
function nameBytes(name: string): Buffer {
  let b = nameCache.get(name);
  if (!b) {
    b = Buffer.from(name, "latin1");
    if (nameCache.size >= 64) nameCache.clear();
    nameCache.set(name, b);
  }
  return b;
}

/** A 1.10 BIN packet being built (`init` + `push*`) or read (`parse` + `pop*`). */
export class BinV110Packet {
  private buf: Buffer;
  private len: number;
  private front: number;
  /** Module name (the 1.10 dispatch key). */
  readonly moduleName: string;
  readonly type: number;
  private readonly bodyOffset: number;

  private constructor(buf: Buffer, len: number, moduleName: string, type: number, bodyOffset: number) {
    this.buf = buf;
    this.len = len;
    this.moduleName = moduleName;
    this.type = type;
    this.bodyOffset = bodyOffset;
    this.front = bodyOffset;
  }

  /** The module name under the name the shared field helpers use in their messages. */
  get capability(): string {
    return this.moduleName;
  }

  /**
   * Starts a packet for `moduleName` (the receiver's `bin_register_cb` name) and `type`.
   * @opensips bin_init (1.10: `bin_init(str *mod_name, int cmd_type)`)
   */
  static init(moduleName: string, type: number, initialSize = 512): BinV110Packet {
    const name = nameBytes(moduleName);
    const headerLen = 16 + name.length;
    if (name.length === 0) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", "a 1.10 BIN packet needs a module name");
    if (headerLen > V110_MAX_PACKET_SIZE) throw new TsipsError("TSIPS_ERR_BIN_TOO_BIG", "module name too long");
    const buf = Buffer.allocUnsafe(Math.min(Math.max(initialSize, headerLen + 64), V110_MAX_PACKET_SIZE));
    buf.write(V110_MARKER, 0, "latin1");
    put32(buf, 4, 0);
    put32(buf, 8, name.length);
    buf.set(name, 12);
    put32(buf, 12 + name.length, type);
    return new BinV110Packet(buf, headerLen, moduleName, type | 0, headerLen);
  }

  /**
   * Wraps a received datagram for reading after checking length, marker, CRC and the module
   * name (spec §4.1 steps 2–5). The bytes are not copied. Throws V110DatagramError.
   */
  static parse(bytes: Uint8Array, opts: { checkCrc?: boolean } = {}): BinV110Packet {
    const h = readV110Header(bytes, opts.checkCrc ?? true);
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    return new BinV110Packet(buf, bytes.length, h.moduleName, h.type, h.bodyOffset);
  }

  get length(): number {
    return this.len;
  }

  /** Offset of the first item. */
  get bodyStart(): number {
    return this.bodyOffset;
  }

  /** The CRC of the bytes as they stand. */
  computeCrc(): number {
    return crc32NoFinalXor(this.buf.subarray(V110_HEADER_SIZE, this.len));
  }

  /**
   * The datagram, CRC written (a view, not a copy).
   * @opensips bin_send (1.10 computes the CRC there, then one `sendto` on the BIN socket)
   */
  bytes(): Buffer {
    put32(this.buf, 4, this.computeCrc());
    return this.buf.subarray(0, this.len);
  }

  // ── builder ───────────────────────────────────────────────────────────

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need > V110_MAX_PACKET_SIZE) {
      // 1.10 ignores the failed push and sends a malformed packet; we refuse loudly.
      throw new TsipsError("TSIPS_ERR_BIN_TOO_BIG", `${this.moduleName}: datagram would be ${need} bytes, over the ${V110_MAX_PACKET_SIZE}-byte limit`);
    }
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.min(Math.max(need * 2, 256), V110_MAX_PACKET_SIZE));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  /** Appends an int (wrapped to i32; unsigned values round-trip through popInt() >>> 0). @opensips bin_push_int */
  pushInt(v: number): this {
    this.ensure(4);
    put32(this.buf, this.len, v);
    this.len += 4;
    return this;
  }

  /** Appends a str: i32 length + bytes; null, undefined and "" all give `00000000`. @opensips bin_push_str */
  pushStr(s: string | Uint8Array | null | undefined): this {
    if (s == null || s.length === 0) return this.pushInt(0);
    if (typeof s === "string") {
      const n = Buffer.byteLength(s, "utf8");
      this.ensure(4 + n);
      put32(this.buf, this.len, n);
      this.buf.write(s, this.len + 4, n, "utf8");
      this.len += 4 + n;
      return this;
    }
    this.ensure(4 + s.length);
    put32(this.buf, this.len, s.length);
    this.buf.set(s, this.len + 4);
    this.len += 4 + s.length;
    return this;
  }

  // ── reader ────────────────────────────────────────────────────────────

  remaining(): number {
    return this.len - this.front;
  }

  atEnd(): boolean {
    return this.front >= this.len;
  }

  get position(): number {
    return this.front;
  }

  private short(what: string): V110DatagramError {
    return new V110DatagramError("truncated", `${this.moduleName} type ${this.type}: datagram ends before ${what} (at byte ${this.front} of ${this.len})`);
  }

  /** Reads an i32. Throws V110DatagramError("truncated") past the end. @opensips bin_pop_int */
  popInt(): number {
    if (this.len - this.front < 4) throw this.short("an int");
    const v = i32(this.buf, this.front);
    this.front += 4;
    return v;
  }

  /** Reads a str as bytes (a view into the datagram). @opensips bin_pop_str */
  popBytes(): Buffer {
    if (this.len - this.front < 4) throw this.short("a str length");
    const n = i32(this.buf, this.front);
    if (n < 0) throw this.short(`a str of negative length ${n}`);
    const start = this.front + 4;
    if (start + n > this.len) throw this.short(`a str of ${n} bytes`);
    this.front = start + n;
    return this.buf.subarray(start, start + n);
  }

  /** Reads a str as UTF-8 text; empty and NULL are both "". @opensips bin_pop_str */
  popStr(): string {
    const at = this.front;
    if (this.len - at < 4) throw this.short("a str length");
    const n = i32(this.buf, at);
    if (n < 0) throw this.short(`a str of negative length ${n}`);
    const start = at + 4;
    if (start + n > this.len) throw this.short(`a str of ${n} bytes`);
    this.front = start + n;
    return n === 0 ? "" : this.buf.toString("utf8", start, start + n);
  }

  /** @opensips bin_skip_int */
  skipInt(n = 1): this {
    for (let i = 0; i < n; i++) this.popInt();
    return this;
  }

  /** @opensips bin_skip_str */
  skipStr(n = 1): this {
    for (let i = 0; i < n; i++) this.popBytes();
    return this;
  }
}
