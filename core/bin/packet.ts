/**
 * One BIN packet: builder and reader with OpenSIPS 3.6.8 semantics (bin_interface.c).
 *
 * Layout (spec/bin-wire.md §2), all numbers little-endian as on x86_64 (OpenSIPS writes
 * host order and every real deployment is LE):
 *   "P4CK" | u32 total_len | i16 version | u16 cap_len | cap | i32 type | body…
 * Body items are `int` (i32) or `str` (u16 length + raw bytes; empty and NULL are both `00 00`).
 *
 * The total-length field always equals the logical length after any builder call; the
 * reader-side `popBackInt` does not rewrite it (as OpenSIPS), so a packet whose trailer
 * was popped and pushed back re-forwards byte for byte.
 */
import { TsipsError } from "../errors.ts";

export const BIN_MARKER = "P4CK";
const MARKER_U32 = 0x4b433450; // "P4CK" read as u32le
export const BIN_HEADER_SIZE = 10;
export const BIN_MIN_PACKET_SIZE = 17;
export const BIN_MAX_PACKET_SIZE = 65535;
/** Spare bytes given to a received packet so a handler can push a few ints (OpenSIPS: 50). */
const RECV_SPARE = 50;

const utf8 = new TextEncoder();
const textDecoder = new TextDecoder("utf-8");

/** Header fields of a packet, readable without decoding the body. */
export interface BinHeader {
  length: number;
  version: number;
  capability: string;
  type: number;
  /** Offset of the first body byte (16 + cap length). */
  bodyOffset: number;
}

/**
 * Reads and validates the header of a complete packet. Throws TSIPS_ERR_BIN_MALFORMED
 * for a bad marker, a length outside [16, 65535] or over the bytes given, or a cap
 * length that runs past the packet (spec/bin-wire.md §6).
 */
export function readBinHeader(bytes: Uint8Array): BinHeader {
  if (bytes.length < BIN_MIN_PACKET_SIZE - 1) throw malformed(`packet of ${bytes.length} bytes is shorter than a header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MARKER_U32) throw malformed("bad marker (expected P4CK)");
  const length = dv.getUint32(4, true);
  if (length < 16 || length > BIN_MAX_PACKET_SIZE) throw malformed(`total length ${length} outside [16, 65535]`);
  if (length > bytes.length) throw malformed(`total length ${length} but only ${bytes.length} bytes`);
  const version = dv.getInt16(8, true);
  const capLen = dv.getUint16(10, true);
  if (capLen > length - 16) throw malformed(`capability length ${capLen} runs past the packet`);
  const capability = latin1(bytes, 12, 12 + capLen);
  const type = dv.getInt32(12 + capLen, true);
  return { length, version, capability, type, bodyOffset: 16 + capLen };
}

function malformed(msg: string): TsipsError {
  return new TsipsError("TSIPS_ERR_BIN_MALFORMED", msg);
}

function latin1(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/**
 * A BIN packet being built or read. Builder calls (`push*`) append at the logical end;
 * reader calls (`pop*`) consume from the front pointer; `popBackInt` from the end.
 */
export class BinPacket {
  /** Backing store; bytes [0, len) are the packet. */
  private buf: Buffer;
  private dv: DataView;
  private len: number;
  /** Reader position (front pointer). */
  private front: number;
  readonly capability: string;
  /** Packet type (i32 after the capability). */
  readonly type: number;
  private readonly bodyOffset: number;
  /** Set by the receiving side: the clusterer's source node id, etc. Free for dispatchers. */
  srcId = -1;

  private constructor(buf: Buffer, len: number, capability: string, type: number, bodyOffset: number) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.len = len;
    this.capability = capability;
    this.type = type;
    this.bodyOffset = bodyOffset;
    this.front = bodyOffset;
  }

  /**
   * Starts a new packet: marker, length, version, capability, type.
   * @opensips bin_init
   */
  static init(capability: string, type: number, version: number, initialSize = 256): BinPacket {
    const capBytes = Buffer.from(capability, "latin1");
    if (capBytes.length === 0 || capBytes.length > 0xffff) {
      throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `capability name of ${capBytes.length} bytes`);
    }
    const headerLen = 16 + capBytes.length;
    if (headerLen > BIN_MAX_PACKET_SIZE) throw new TsipsError("TSIPS_ERR_BIN_TOO_BIG", "capability too long");
    const buf = Buffer.allocUnsafe(Math.min(Math.max(initialSize, headerLen + 64), BIN_MAX_PACKET_SIZE));
    buf.writeUInt32LE(MARKER_U32, 0);
    // C semantics: version is a short, type an int (wrapped, never a RangeError).
    buf.writeInt16LE((version << 16) >> 16, 8);
    buf.writeUInt16LE(capBytes.length, 10);
    capBytes.copy(buf, 12);
    buf.writeInt32LE(type | 0, 12 + capBytes.length);
    const p = new BinPacket(buf, headerLen, capability, type | 0, headerLen);
    p.setLen(headerLen);
    return p;
  }

  /**
   * Wraps a received, complete packet for reading. The bytes are not copied until a
   * builder call needs more room: until then `setIntAt`, a push after `popBackInt`, or the
   * version setter write into `bytes` itself (the transport hands over bytes it no longer
   * needs; `clone()` first to keep the input intact). Only `[0, length)` is ever read.
   * Throws TSIPS_ERR_BIN_MALFORMED on a bad header.
   * @opensips bin_init_buffer
   */
  static parse(bytes: Uint8Array): BinPacket {
    const h = readBinHeader(bytes);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, h.length);
    return new BinPacket(buf, h.length, h.capability, h.type, h.bodyOffset);
  }

  /** Packet version (i16 at offset 8). @opensips get_bin_pkg_version */
  get version(): number {
    return this.dv.getInt16(8, true);
  }
  /** @opensips set_bin_pkg_version */
  set version(v: number) {
    this.dv.setInt16(8, v, true);
  }

  /** Logical length of the packet in bytes. */
  get length(): number {
    return this.len;
  }

  /** Value of the total-length field as it stands in the header. */
  get lengthField(): number {
    return this.dv.getUint32(4, true);
  }

  /** The bytes that go on the wire, `[0, length)`; a view, not a copy. @opensips bin_get_buffer */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  // ── builder ───────────────────────────────────────────────────────────

  private setLen(n: number): void {
    this.len = n;
    this.dv.setUint32(4, n, true);
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need > BIN_MAX_PACKET_SIZE) {
      throw new TsipsError("TSIPS_ERR_BIN_TOO_BIG",
        `${this.capability}: packet would be ${need} bytes, over the 65535-byte limit`);
    }
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.min(Math.max(need * 2, 256), BIN_MAX_PACKET_SIZE));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
    this.dv = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** Appends a signed 32-bit int (values are wrapped to i32). @opensips bin_push_int */
  pushInt(v: number): this {
    this.ensure(4);
    this.dv.setInt32(this.len, v | 0, true);
    this.setLen(this.len + 4);
    return this;
  }

  /**
   * Appends a str: u16 length + bytes. A JS string is written as UTF-8; null, undefined
   * and "" all encode as `00 00`. @opensips bin_push_str
   */
  pushStr(s: string | Uint8Array | null | undefined): this {
    if (s == null || s.length === 0) {
      this.ensure(2);
      this.dv.setUint16(this.len, 0, true);
      this.setLen(this.len + 2);
      return this;
    }
    if (typeof s === "string") {
      // Worst case 3 bytes per UTF-16 unit; write then patch the length.
      const max = s.length * 3;
      if (this.len + 2 + max > this.buf.length) this.ensureForString(s);
      const start = this.len + 2;
      const n = this.buf.write(s, start, "utf8");
      if (start + n > BIN_MAX_PACKET_SIZE) throw this.tooBig(start + n);
      this.dv.setUint16(this.len, n, true);
      this.setLen(start + n);
      return this;
    }
    this.ensure(2 + s.length);
    this.dv.setUint16(this.len, s.length, true);
    this.buf.set(s, this.len + 2);
    this.setLen(this.len + 2 + s.length);
    return this;
  }

  private ensureForString(s: string): void {
    this.ensure(2 + Buffer.byteLength(s, "utf8"));
  }

  private tooBig(n: number): TsipsError {
    return new TsipsError("TSIPS_ERR_BIN_TOO_BIG", `${this.capability}: packet would be ${n} bytes, over the 65535-byte limit`);
  }

  /** Appends raw bytes with no length prefix. @opensips bin_append_buffer */
  appendBuffer(raw: Uint8Array): this {
    this.ensure(raw.length);
    this.buf.set(raw, this.len);
    this.setLen(this.len + raw.length);
    return this;
  }

  /** Hides the last `n` ints (bytes stay in memory). @opensips bin_remove_int_buffer_end */
  removeIntBufferEnd(n: number): this {
    const nl = this.len - 4 * n;
    if (!(n >= 0) || nl < 0) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", "remove past the start of the packet");
    this.setLen(nl);
    return this;
  }

  /** Brings back `n` ints hidden by a remove. @opensips bin_skip_int_packet_end */
  skipIntPacketEnd(n: number): this {
    const nl = this.len + 4 * n;
    if (!(n >= 0) || nl > this.buf.length || nl > BIN_MAX_PACKET_SIZE) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", "skip past the allocated packet");
    this.setLen(nl);
    return this;
  }

  /** Overwrites the int at byte offset `at` (what OpenSIPS does with remove/push/skip). */
  setIntAt(at: number, v: number): this {
    if (at < this.bodyOffset || at + 4 > this.len) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `no int at offset ${at}`);
    this.dv.setInt32(at, v | 0, true);
    return this;
  }

  /** Drops the whole body (length field rewritten on the next push). @opensips bin_reset_back_pointer */
  resetBackPointer(): this {
    this.len = this.bodyOffset;
    this.front = this.bodyOffset;
    return this;
  }

  // ── reader ────────────────────────────────────────────────────────────

  /** Bytes left between the front pointer and the logical end. */
  remaining(): number {
    return this.len - this.front;
  }

  /** True when the front pointer is exactly at the logical end (OpenSIPS pop rc 1). */
  atEnd(): boolean {
    return this.front >= this.len;
  }

  /** Current front pointer (byte offset). */
  get position(): number {
    return this.front;
  }
  set position(at: number) {
    if (at < this.bodyOffset || at > this.len) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `position ${at} outside the body`);
    this.front = at;
  }

  /** Offset of the first body byte. */
  get bodyStart(): number {
    return this.bodyOffset;
  }

  private short(what: string): TsipsError {
    return new TsipsError("TSIPS_ERR_BIN_SHORT",
      `${this.capability} type ${this.type}: packet ends before ${what} (at byte ${this.front} of ${this.len})`);
  }

  /** Reads an i32; throws TSIPS_ERR_BIN_SHORT at the end of data. @opensips bin_pop_int */
  popInt(): number {
    if (this.len - this.front < 4) throw this.short("an int");
    const v = this.dv.getInt32(this.front, true);
    this.front += 4;
    return v;
  }

  /** Like popInt, but `undefined` when exactly at the end (OpenSIPS rc 1). */
  tryPopInt(): number | undefined {
    if (this.front === this.len) return undefined;
    return this.popInt();
  }

  /** Reads a str as bytes (a view into the packet, valid while the packet lives). @opensips bin_pop_str */
  popBytes(): Buffer {
    if (this.len - this.front < 2) throw this.short("a str length");
    const n = this.dv.getUint16(this.front, true);
    const start = this.front + 2;
    if (start + n > this.len) {
      this.front = start;
      throw this.short(`a str of ${n} bytes`);
    }
    this.front = start + n;
    return this.buf.subarray(start, start + n);
  }

  /** Reads a str as UTF-8 text; empty and NULL both come back as "". @opensips bin_pop_str */
  popStr(): string {
    if (this.len - this.front < 2) throw this.short("a str length");
    const n = this.dv.getUint16(this.front, true);
    const start = this.front + 2;
    if (start + n > this.len) {
      this.front = start;
      throw this.short(`a str of ${n} bytes`);
    }
    this.front = start + n;
    if (n === 0) return "";
    return n < 48 ? asciiOrUtf8(this.buf, start, start + n) : this.buf.toString("utf8", start, start + n);
  }

  /** Like popStr, but `undefined` when exactly at the end. */
  tryPopStr(): string | undefined {
    if (this.front === this.len) return undefined;
    return this.popStr();
  }

  /** Skips `n` ints. @opensips bin_skip_int */
  skipInt(n = 1): this {
    if (!(n >= 0)) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `skipInt(${n})`);
    if (this.front + 4 * n > this.len) {
      this.front = this.len;
      throw this.short(`${n} int(s)`);
    }
    this.front += 4 * n;
    return this;
  }

  /** Skips `n` strs. @opensips bin_skip_str */
  skipStr(n = 1): this {
    for (let i = 0; i < n; i++) this.popBytes();
    return this;
  }

  /**
   * Reads the last i32 of the logical buffer and shrinks the logical length by 4,
   * without rewriting the header's length field. @opensips bin_pop_back_int
   */
  popBackInt(): number {
    if (this.len < BIN_MIN_PACKET_SIZE + 4 || this.len - 4 < this.front) throw this.short("a trailing int");
    this.len -= 4;
    return this.dv.getInt32(this.len, true);
  }

  /** The body from the first byte to the logical end. @opensips bin_get_content_start */
  contentStart(): Buffer {
    return this.buf.subarray(this.bodyOffset, this.len);
  }

  /** The body from the front pointer to the logical end. @opensips bin_get_content_pos */
  contentPos(): Buffer {
    return this.buf.subarray(this.front, this.len);
  }

  /**
   * An independent copy of this packet's bytes `[0, length)` as a new packet positioned at
   * the body start (OpenSIPS copies every received packet with spare room; we do it only
   * when a packet must outlive the receive buffer, e.g. queued until a sync finishes).
   */
  clone(): BinPacket {
    const copy = Buffer.allocUnsafe(this.len + RECV_SPARE);
    this.buf.copy(copy, 0, 0, this.len);
    const p = new BinPacket(copy, this.len, this.capability, this.type, this.bodyOffset);
    p.dv.setUint32(4, this.lengthField, true);
    p.srcId = this.srcId;
    return p;
  }
}

/** Fast path for short strings: pure ASCII needs no UTF-8 decoder. */
function asciiOrUtf8(b: Buffer, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c > 0x7f) return textDecoder.decode(b.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

/** Byte length of a string as pushStr writes it. */
export function strWireLength(s: string | Uint8Array | null | undefined): number {
  if (s == null) return 2;
  return 2 + (typeof s === "string" ? utf8.encode(s).length : s.length);
}
