/**
 * The BIN stream framer: cuts a TCP byte stream into complete BIN packets by their length
 * field, exactly as OpenSIPS 3.6.8 proto_bin does (spec/proto-bin.md §3):
 *
 * 1. wait until 10 bytes (HEADER_SIZE) are buffered;
 * 2. the first 4 bytes must be `P4CK`, else fatal;
 * 3. the u32le total length L must be in [17, 65535], else fatal;
 * 4. once L bytes are buffered, hand `[0, L)` over and loop on what follows **before**
 *    reading again (many packets per read);
 * 5. no resynchronisation: after a fatal error the framer refuses further input.
 *
 * It also counts the reads that end with a packet still incomplete (`bin_max_msg_chunks`,
 * reset after each complete packet). Timers (tcp_max_msg_time) are the transport's job:
 * `partial` tells whether a packet is in flight.
 *
 * Zero-copy where possible: a packet that lies wholly inside one pushed chunk is handed over
 * as a view of that chunk; a packet split across chunks is assembled into a fresh buffer of
 * exactly L bytes (never reused, so a view kept by a handler stays valid).
 */
import { TsipsError } from "../errors.ts";
import { BIN_HEADER_SIZE, BIN_MAX_PACKET_SIZE, BIN_MIN_PACKET_SIZE } from "./packet.ts";

/** Why a stream was rejected. */
export type BinFramingErrorKind = "marker" | "length" | "chunks" | "failed";

/** A framing error: always a TsipsError TSIPS_ERR_BIN_MALFORMED with `framing` set. */
export class BinFramingError extends TsipsError {
  readonly framing: BinFramingErrorKind;
  /** Stream offset (bytes pushed before the packet) where the bad packet starts. */
  readonly streamOffset: number;
  constructor(kind: BinFramingErrorKind, message: string, streamOffset: number) {
    super("TSIPS_ERR_BIN_MALFORMED", message);
    this.framing = kind;
    this.streamOffset = streamOffset;
  }
}

export interface BinFramerOptions {
  /**
   * Called once per complete packet with exactly its L bytes. Return `false` to stop
   * processing the rest of the current chunk (the transport closed the connection);
   * the framer then refuses further input.
   */
  onPacket: (packet: Uint8Array) => void | boolean;
  /** `bin_max_msg_chunks`: reads allowed to end with the same packet incomplete; 0 = no limit. */
  maxChunks?: number;
}

const M0 = 0x50, M1 = 0x34, M2 = 0x43, M3 = 0x4b; // "P4CK"

export class BinFramer {
  private readonly onPacket: (packet: Uint8Array) => void | boolean;
  private readonly maxChunks: number;
  /** Header bytes of a packet whose first 10 bytes have not all arrived. */
  private readonly hdr = new Uint8Array(BIN_HEADER_SIZE);
  private hdrLen = 0;
  /** Assembly buffer of a packet split across chunks (exactly `need` bytes). */
  private asm: Uint8Array | null = null;
  private asmLen = 0;
  private need = 0;
  private chunks = 0;
  private dead = false;
  /** Total bytes pushed so far. */
  private consumed = 0;
  /** Complete packets handed over. */
  packets = 0;

  constructor(opts: BinFramerOptions) {
    this.onPacket = opts.onPacket;
    this.maxChunks = opts.maxChunks ?? 32;
  }

  /** True while part of a packet is buffered. */
  get partial(): boolean {
    return this.hdrLen > 0 || this.asm !== null;
  }

  /** Bytes of the incomplete packet buffered so far. */
  get buffered(): number {
    return this.asm !== null ? this.asmLen : this.hdrLen;
  }

  /** Bytes pushed so far (stream offset). */
  get offset(): number {
    return this.consumed;
  }

  /** True after a framing error or a `false` from onPacket. */
  get failed(): boolean {
    return this.dead;
  }

  /** Stops the framer: further pushes throw. */
  stop(): void {
    this.dead = true;
  }

  /**
   * Feeds one chunk read from the stream. Throws BinFramingError (a TsipsError) on a bad
   * marker, a length outside [17, 65535], or too many reads for one packet.
   */
  push(chunk: Uint8Array): void {
    if (this.dead) throw new BinFramingError("failed", "stream already rejected", this.consumed);
    const base = this.consumed;
    this.consumed += chunk.length;
    const n = chunk.length;
    let off = 0;

    // 1. Finish a packet left over from earlier chunks.
    if (this.asm === null && this.hdrLen > 0) {
      const take = Math.min(BIN_HEADER_SIZE - this.hdrLen, n);
      this.hdr.set(chunk.subarray(0, take), this.hdrLen);
      this.hdrLen += take;
      off = take;
      if (this.hdrLen < BIN_HEADER_SIZE) return this.endRead(base);
      const len = this.checkHeader(this.hdr, 0, base + off - BIN_HEADER_SIZE);
      this.asm = Buffer.allocUnsafe(len);
      this.asm.set(this.hdr, 0);
      this.asmLen = BIN_HEADER_SIZE;
      this.need = len;
      this.hdrLen = 0;
    }
    if (this.asm !== null) {
      const take = Math.min(this.need - this.asmLen, n - off);
      this.asm.set(off === 0 && take === n ? chunk : chunk.subarray(off, off + take), this.asmLen);
      this.asmLen += take;
      off += take;
      if (this.asmLen < this.need) return this.endRead(base);
      const pkt = this.asm;
      this.asm = null;
      this.asmLen = 0;
      this.need = 0;
      this.chunks = 0;
      this.packets++;
      if (this.onPacket(pkt) === false || this.dead) {
        this.dead = true;
        return;
      }
    }

    // 2. Whole packets inside this chunk: zero-copy views.
    while (n - off >= BIN_HEADER_SIZE) {
      const len = this.checkHeader(chunk, off, base + off);
      if (n - off < len) break;
      this.chunks = 0;
      this.packets++;
      const r = this.onPacket(chunk.subarray(off, off + len));
      off += len;
      if (r === false || this.dead) {
        this.dead = true;
        return;
      }
    }

    // 3. Keep the tail.
    const rest = n - off;
    if (rest === 0) return;
    if (rest < BIN_HEADER_SIZE) {
      this.hdr.set(chunk.subarray(off), 0);
      this.hdrLen = rest;
    } else {
      const len = this.checkHeader(chunk, off, base + off); // already checked above; cheap
      this.asm = Buffer.allocUnsafe(len);
      this.asm.set(chunk.subarray(off), 0);
      this.asmLen = rest;
      this.need = len;
    }
    this.endRead(base);
  }

  /** A read ended with a packet incomplete: count it against bin_max_msg_chunks. */
  private endRead(base: number): void {
    this.chunks++;
    if (this.maxChunks > 0 && this.chunks >= this.maxChunks) {
      this.dead = true;
      throw new BinFramingError("chunks",
        `packet still incomplete after ${this.chunks} reads (bin_max_msg_chunks ${this.maxChunks})`, base);
    }
  }

  private checkHeader(b: Uint8Array, at: number, streamOffset: number): number {
    if (b[at] !== M0 || b[at + 1] !== M1 || b[at + 2] !== M2 || b[at + 3] !== M3) {
      this.dead = true;
      throw new BinFramingError("marker", `bad marker ${hex4(b, at)} at stream offset ${streamOffset} (expected P4CK)`, streamOffset);
    }
    const len = (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0;
    if (len < BIN_MIN_PACKET_SIZE || len > BIN_MAX_PACKET_SIZE) {
      this.dead = true;
      throw new BinFramingError("length", `total length ${len} outside [17, 65535] at stream offset ${streamOffset}`, streamOffset);
    }
    return len;
  }
}

function hex4(b: Uint8Array, at: number): string {
  let s = "";
  for (let i = at; i < at + 4; i++) s += (b[i] ?? 0).toString(16).padStart(2, "0");
  return s;
}
