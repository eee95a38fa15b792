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
  const length = checkHeader(bytes);
  const capLen = u16(bytes, 10);
  return { length, version: i16(bytes, 8), capability: capabilityName(bytes, capLen), type: i32(bytes, 12 + capLen), bodyOffset: 16 + capLen };
}

/** Validates the header; returns the total length. */
function checkHeader(b: Uint8Array): number {
  if (b.length < BIN_MIN_PACKET_SIZE - 1) throw malformed(`packet of ${b.length} bytes is shorter than a header`);
  if (b[0] !== 0x50 || b[1] !== 0x34 || b[2] !== 0x43 || b[3] !== 0x4b) throw malformed("bad marker (expected P4CK)");
  const length = u32(b, 4);
  if (length < 16 || length > BIN_MAX_PACKET_SIZE) throw malformed(`total length ${length} outside [16, 65535]`);
  if (length > b.length) throw malformed(`total length ${length} but only ${b.length} bytes`);
  if (u16(b, 10) > length - 16) throw malformed(`capability length ${u16(b, 10)} runs past the packet`);
  return length;
}

function malformed(msg: string): TsipsError {
  return new TsipsError("TSIPS_ERR_BIN_MALFORMED", msg);
}

// Little-endian helpers on plain bytes: cheaper than a DataView per packet.
function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function i16(b: Uint8Array, at: number): number {
  return ((b[at]! | (b[at + 1]! << 8)) << 16) >> 16;
}
function i32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}
function u32(b: Uint8Array, at: number): number {
  return i32(b, at) >>> 0;
}
function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
}
function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/**
 * Capability names seen recently (a node talks a handful): the name of a received packet is
 * matched against these bytes instead of being decoded each time. Latin-1, so any byte string
 * round-trips and compares exactly as OpenSIPS's memcmp does.
 */
const capCache: { bytes: Uint8Array; name: string }[] = [];
const CAP_CACHE_MAX = 32;

function capabilityName(b: Uint8Array, capLen: number): string {
  for (let k = 0; k < capCache.length; k++) {
    const c = capCache[k]!;
    const cb = c.bytes;
    if (cb.length !== capLen) continue;
    let i = 0;
    while (i < capLen && cb[i] === b[12 + i]) i++;
    if (i === capLen) return c.name;
  }
  let name = "";
  for (let i = 12; i < 12 + capLen; i++) name += String.fromCharCode(b[i]!);
  if (capLen <= 64) {
    if (capCache.length >= CAP_CACHE_MAX) capCache.shift();
    capCache.push({ bytes: Uint8Array.prototype.slice.call(b, 12, 12 + capLen), name });
  }
  return name;
}

/** Encoded capability names for `init` (bounded). */
const capBytesCache = new Map<string, Buffer>();

function capabilityBytes(capability: string): Buffer {
  let b = capBytesCache.get(capability);
  if (b === undefined) {
    b = Buffer.from(capability, "latin1");
    if (capBytesCache.size >= 256) capBytesCache.clear();
    capBytesCache.set(capability, b);
  }
  return b;
}

/**
 * A BIN packet being built or read. Builder calls (`push*`) append at the logical end;
 * reader calls (`pop*`) consume from the front pointer; `popBackInt` from the end.
 */
export class BinPacket {
  /** Backing store; bytes [0, len) are the packet. */
  private buf: Buffer;
  private len: number;
  /**
   * The header's length field is written lazily: builder calls only mark it stale and
   * `bytes()`/`lengthField`/`clone()` write it. Observably the same as OpenSIPS's set_len
   * after every push (and `popBackInt` still leaves the field alone).
   */
  private lenDirty = false;
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
    const capBytes = capabilityBytes(capability);
    const capLen = capBytes.length;
    if (capLen === 0 || capLen > 0xffff) {
      throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `capability name of ${capLen} bytes`);
    }
    const headerLen = 16 + capLen;
    if (headerLen > BIN_MAX_PACKET_SIZE) throw new TsipsError("TSIPS_ERR_BIN_TOO_BIG", "capability too long");
    const buf = Buffer.allocUnsafe(Math.min(Math.max(initialSize, headerLen + 64), BIN_MAX_PACKET_SIZE));
    put32(buf, 0, MARKER_U32);
    // C semantics: version is a short, type an int (wrapped, never a RangeError).
    put16(buf, 8, version);
    put16(buf, 10, capLen);
    buf.set(capBytes, 12);
    put32(buf, 12 + capLen, type);
    const p = new BinPacket(buf, headerLen, capability, type | 0, headerLen);
    put32(buf, 4, headerLen);
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
    const length = checkHeader(bytes);
    const capLen = u16(bytes, 10);
    const buf = bytes.length === length && Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, length);
    return new BinPacket(buf, length, capabilityName(bytes, capLen), i32(bytes, 12 + capLen), 16 + capLen);
  }

  /** Packet version (i16 at offset 8). @opensips get_bin_pkg_version */
  get version(): number {
    return i16(this.buf, 8);
  }
  /** @opensips set_bin_pkg_version */
  set version(v: number) {
    put16(this.buf, 8, v);
  }

  /** Logical length of the packet in bytes. */
  get length(): number {
    return this.len;
  }

  /** Value of the total-length field as it stands in the header. */
  get lengthField(): number {
    if (this.lenDirty) this.syncLen();
    return u32(this.buf, 4);
  }

  /** The bytes that go on the wire, `[0, length)`; a view, not a copy. @opensips bin_get_buffer */
  bytes(): Buffer {
    if (this.lenDirty) this.syncLen();
    return this.buf.subarray(0, this.len);
  }

  private syncLen(): void {
    this.lenDirty = false;
    put32(this.buf, 4, this.len);
  }

  // ── builder ───────────────────────────────────────────────────────────

  private setLen(n: number): void {
    this.len = n;
    this.lenDirty = true;
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
  }

  /** Appends a signed 32-bit int (values are wrapped to i32). @opensips bin_push_int */
  pushInt(v: number): this {
    const at = this.len;
    if (at + 4 > this.buf.length) this.ensure(4);
    put32(this.buf, at, v);
    this.len = at + 4;
    this.lenDirty = true;
    return this;
  }

  /**
   * Appends a str: u16 length + bytes. A JS string is written as UTF-8; null, undefined
   * and "" all encode as `00 00`. @opensips bin_push_str
   */
  pushStr(s: string | Uint8Array | null | undefined): this {
    const at = this.len;
    if (s == null || s.length === 0) {
      if (at + 2 > this.buf.length) this.ensure(2);
      this.buf[at] = 0;
      this.buf[at + 1] = 0;
      this.len = at + 2;
      this.lenDirty = true;
      return this;
    }
    if (typeof s === "string") {
      const sl = s.length;
      // Worst case 3 bytes per UTF-16 unit; ensure exact room only when that might not fit.
      if (at + 2 + sl * 3 > this.buf.length) this.ensureForString(s);
      const buf = this.buf;
      const start = at + 2;
      let n = -1;
      if (sl <= 48) {
        // ASCII fast path: no native call for the short strings BIN packets are made of.
        let i = 0;
        for (; i < sl; i++) {
          const c = s.charCodeAt(i);
          if (c > 0x7f) break;
          buf[start + i] = c;
        }
        if (i === sl) n = sl;
      }
      if (n < 0) n = buf.write(s, start, buf.length - start, "utf8");
      if (start + n > BIN_MAX_PACKET_SIZE) throw this.tooBig(start + n);
      put16(buf, at, n);
      this.len = start + n;
      this.lenDirty = true;
      return this;
    }
    const n = s.length;
    if (at + 2 + n > this.buf.length) this.ensure(2 + n);
    put16(this.buf, at, n);
    this.buf.set(s, at + 2);
    this.len = at + 2 + n;
    this.lenDirty = true;
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
    if (!(at >= this.bodyOffset && at + 4 <= this.len)) throw new TsipsError("TSIPS_ERR_BIN_MALFORMED", `no int at offset ${at}`);
    put32(this.buf, at, v);
    return this;
  }

  /** Drops the whole body (length field rewritten on the next push). @opensips bin_reset_back_pointer */
  resetBackPointer(): this {
    if (this.lenDirty) this.syncLen();
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
    const at = this.front;
    if (this.len - at < 4) throw this.short("an int");
    this.front = at + 4;
    return i32(this.buf, at);
  }

  /** Like popInt, but `undefined` when exactly at the end (OpenSIPS rc 1). */
  tryPopInt(): number | undefined {
    if (this.front === this.len) return undefined;
    return this.popInt();
  }

  /** Reads a str as bytes (a view into the packet, valid while the packet lives). @opensips bin_pop_str */
  popBytes(): Buffer {
    if (this.len - this.front < 2) throw this.short("a str length");
    const n = u16(this.buf, this.front);
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
    const at = this.front;
    if (this.len - at < 2) throw this.short("a str length");
    const buf = this.buf;
    const n = buf[at]! | (buf[at + 1]! << 8);
    const start = at + 2;
    if (start + n > this.len) {
      this.front = start;
      throw this.short(`a str of ${n} bytes`);
    }
    this.front = start + n;
    if (n === 0) return "";
    return n <= 12 ? asciiOrUtf8(buf, start, start + n) : buf.toString("utf8", start, start + n);
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
    if (this.lenDirty) this.syncLen(); // the field keeps the length from before the pop
    this.len -= 4;
    return i32(this.buf, this.len);
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
    p.lenDirty = this.lenDirty;
    p.srcId = this.srcId;
    return p;
  }
}

/** Fast path for very short strings: pure ASCII needs no native call. */
function asciiOrUtf8(b: Buffer, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c > 0x7f) return b.toString("utf8", start, end);
    s += String.fromCharCode(c);
  }
  return s;
}

/** Byte length of a string as pushStr writes it. */
export function strWireLength(s: string | Uint8Array | null | undefined): number {
  if (s == null) return 2;
  return 2 + (typeof s === "string" ? Buffer.byteLength(s, "utf8") : s.length);
}
