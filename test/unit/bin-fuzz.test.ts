/**
 * Property tests for the reader (BinPacket.parse + pops) and the stream framer: random,
 * truncated, bit-flipped and oversized inputs never throw anything but TsipsError and never
 * read beyond the packet's declared length. Seeded, so failures reproduce.
 */
import { describe, expect, it } from "vitest";
import { BinFramer } from "../../core/bin/framer.ts";
import { BinPacket } from "../../core/bin/packet.ts";
import { loadVectorSet } from "../../core/bin/vectors.ts";
import { isTsipsError } from "../../core/errors.ts";
import { prng, type Prng } from "../helpers/prng.ts";

const vectors = [...loadVectorSet("main"), ...loadVectorSet("idle"), ...loadVectorSet("more")].map((v) => v.bytes);

/** Runs `fn`; a thrown non-TsipsError is a test failure (returned as a message). */
function onlyTsips(fn: () => void): string | null {
  try {
    fn();
  } catch (e) {
    if (!isTsipsError(e)) return `${(e as Error)?.stack ?? String(e)}`;
  }
  return null;
}

/** Packs the input into exactly-sized memory so any read past its end would throw a RangeError. */
function exact(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Asserts a view returned by the reader lies inside the first `len` bytes of `base`. */
function inside(view: Uint8Array, base: Uint8Array, len: number): void {
  const start = view.byteOffset - base.byteOffset;
  if (view.buffer !== base.buffer) return; // a copy (after a builder call grew the packet)
  if (start < 0 || start + view.length > len) throw new Error(`view [${start}, ${start + view.length}) outside [0, ${len})`);
}

/** A random sequence of reader (and a few builder) calls; returns what was read, for comparison. */
function readRandomly(r: Prng, input: Uint8Array): unknown[] {
  const out: unknown[] = [];
  let p: BinPacket;
  try {
    p = BinPacket.parse(input);
  } catch (e) {
    out.push(isTsipsError(e) ? e.code : "THROW");
    if (!isTsipsError(e)) throw e;
    return out;
  }
  const declared = p.lengthField;
  out.push(p.capability, p.type, p.version, p.length);
  const steps = r.range(1, 12);
  for (let i = 0; i < steps; i++) {
    const op = r.int(14);
    try {
      switch (op) {
        case 0: out.push(p.popInt()); break;
        case 1: out.push(p.popStr()); break;
        case 2: { const v = p.popBytes(); inside(v, input, declared); out.push(Buffer.from(v).toString("hex")); break; }
        case 3: out.push(p.tryPopInt()); break;
        case 4: out.push(p.tryPopStr()); break;
        case 5: p.skipInt(r.range(0, 4)); break;
        case 6: p.skipStr(r.range(0, 3)); break;
        case 7: out.push(p.popBackInt()); break;
        case 8: { const v = p.contentPos(); inside(v, input, declared); out.push(v.length); break; }
        case 9: { const v = p.contentStart(); inside(v, input, declared); out.push(v.length); break; }
        case 10: out.push(p.remaining(), p.atEnd()); break;
        case 11: p.position = p.bodyStart + r.range(-2, p.length - p.bodyStart + 2); break;
        case 12: out.push(p.clone().length); break;
        case 13: out.push(p.version); break;
      }
    } catch (e) {
      if (!isTsipsError(e)) throw e;
      out.push(e.code);
    }
    if (p.position < p.bodyStart) throw new Error("front pointer before the body");
  }
  return out;
}

function mutate(r: Prng, src: Uint8Array): Uint8Array {
  const b = Buffer.from(src);
  switch (r.int(6)) {
    case 0: { // bit flips
      const flips = r.range(1, 4);
      for (let i = 0; i < flips; i++) { const at = r.int(b.length); b[at]! ^= 1 << r.int(8); }
      return b;
    }
    case 1: return b.subarray(0, r.int(b.length)); // truncated
    case 2: { // oversized / undersized length field
      b.writeUInt32LE(r.pick([0, 1, 15, 16, 17, b.length - 1, b.length + 1, 65535, 65536, 0xffffffff, r.int(0x1_0000_0000)]) >>> 0, 4);
      return b;
    }
    case 3: { // huge cap length or a str length pointing far away
      if (r.chance(0.5)) b.writeUInt16LE(r.int(65536), 10);
      else if (b.length > 40) b.writeUInt16LE(r.int(65536), r.range(20, b.length - 2));
      return b;
    }
    case 4: return Buffer.concat([b, r.bytes(r.range(1, 64))]); // trailing garbage beyond L
    default: return r.bytes(r.range(0, 80)); // pure noise
  }
}

describe("reader property tests", () => {
  it("60k mutated vectors and random inputs: only TsipsError, never beyond the declared length", () => {
    const r = prng(0xb1a5);
    let cases = 0;
    for (let i = 0; i < 60_000; i++) {
      const base = mutate(r, r.pick(vectors));
      const seed = r.int(2 ** 31);
      // exact-size memory: an out-of-bounds read would surface as a RangeError
      const e1 = onlyTsips(() => void readRandomly(prng(seed), exact(base)));
      if (e1 !== null) expect(e1, `case ${i}`).toBeNull();
      // same bytes followed by 32 poison bytes: results must be identical (nothing past L is read)
      const padded = Buffer.concat([base, Buffer.alloc(32, 0xee)]);
      let a: unknown[] = [], b: unknown[] = [];
      const e2 = onlyTsips(() => {
        a = readRandomly(prng(seed), padded);
        b = readRandomly(prng(seed), Buffer.concat([base, Buffer.alloc(32, 0x11)]));
      });
      if (e2 !== null) expect(e2, `case ${i}`).toBeNull();
      // (when the declared length reaches into the padding, the padding is part of the packet)
      const declared = base.length >= 8 ? Buffer.from(base).readUInt32LE(4) : 0;
      if (declared <= base.length && JSON.stringify(a) !== JSON.stringify(b)) expect(a, `case ${i}`).toEqual(b);
      cases++;
    }
    expect(cases).toBe(60_000);
  });

  it("every vector reads back as its own trailer-less body and survives every prefix", () => {
    const r = prng(7);
    let n = 0;
    for (const v of vectors) {
      for (let len = 0; len <= v.length; len += 1 + r.int(9)) {
        const e = onlyTsips(() => void readRandomly(prng(len), exact(v.subarray(0, len))));
        if (e !== null) expect(e).toBeNull();
        n++;
      }
    }
    expect(n).toBeGreaterThan(5_000);
  });
});

describe("framer property tests", () => {
  function stream(r: Prng, count: number): { bytes: Buffer; packets: Buffer[] } {
    const packets = Array.from({ length: count }, () => r.pick(vectors));
    return { bytes: Buffer.concat(packets), packets };
  }

  function feed(r: Prng, f: BinFramer, bytes: Buffer, maxChunk: number): void {
    for (let off = 0; off < bytes.length;) {
      const n = r.range(1, maxChunk);
      f.push(bytes.subarray(off, off + n));
      off += n;
    }
  }

  it("20k random chunkings of valid streams deliver exactly the packets, in order", () => {
    const r = prng(42);
    for (let i = 0; i < 20_000; i++) {
      const { bytes, packets } = stream(r, r.range(1, 6));
      const got: Uint8Array[] = [];
      const f = new BinFramer({ onPacket: (p) => void got.push(p), maxChunks: 0 });
      feed(r, f, bytes, r.pick([1, 3, 10, 64, 700, 5000]));
      const ok = got.length === packets.length && !f.partial && got.every((g, k) => Buffer.compare(g, packets[k]!) === 0);
      if (!ok) expect({ i, got: got.length, f: f.partial }).toEqual({ i, got: packets.length, f: false });
    }
  });

  it("25k hostile streams: only TsipsError, delivered packets are well-framed and never longer than declared", () => {
    const r = prng(1234);
    for (let i = 0; i < 25_000; i++) {
      const { bytes } = stream(r, r.range(1, 4));
      const bad = r.chance(0.15) ? r.bytes(r.range(1, 300)) : mutate(r, bytes);
      const delivered: Uint8Array[] = [];
      const f = new BinFramer({ onPacket: (p) => void delivered.push(p), maxChunks: r.pick([0, 2, 32]) });
      const err = onlyTsips(() => feed(r, f, Buffer.from(bad), r.pick([1, 7, 100, 4096])));
      if (err !== null) expect(err, `case ${i}`).toBeNull();
      let total = 0;
      for (const p of delivered) {
        const len = (p[4]! | (p[5]! << 8) | (p[6]! << 16) | (p[7]! << 24)) >>> 0;
        const framed = p.length === len && len >= 17 && p[0] === 0x50 && p[1] === 0x34 && p[2] === 0x43 && p[3] === 0x4b;
        if (!framed) expect({ i, len: p.length, field: len }).toEqual({ i, len, field: len, marker: "P4CK" });
        total += len;
        // the dispatcher may still reject the header: that too must be a TsipsError
        const e = onlyTsips(() => void readRandomly(r, p));
        if (e !== null) expect(e).toBeNull();
      }
      if (total > bad.length) expect(total).toBeLessThanOrEqual(bad.length);
      if (f.failed) expect(() => f.push(Buffer.from("P4CK"))).toThrow(/rejected/);
    }
  });

  it("rejects a bad marker, a length out of range and too many reads, without resynchronising", () => {
    const one = vectors[0]!;
    const run = (bytes: Buffer, chunk = 1 << 20, maxChunks = 32): { got: number; err?: string } => {
      let got = 0;
      const f = new BinFramer({ onPacket: () => void got++, maxChunks });
      try {
        for (let off = 0; off < bytes.length; off += chunk) f.push(bytes.subarray(off, off + chunk));
      } catch (e) {
        return { got, err: (e as { framing?: string }).framing ?? "?" };
      }
      return { got };
    };
    const badMarker = Buffer.from(one); badMarker[2] = 0x58;
    expect(run(Buffer.concat([one, badMarker, one]))).toEqual({ got: 1, err: "marker" });
    const short = Buffer.from(one); short.writeUInt32LE(16, 4);
    expect(run(Buffer.concat([one, short]))).toEqual({ got: 1, err: "length" });
    const big = Buffer.from(one); big.writeUInt32LE(65536, 4);
    expect(run(Buffer.concat([big]))).toEqual({ got: 0, err: "length" });
    // 9 bytes of anything: still waiting for a header (no verdict yet)
    expect(run(Buffer.from("GET / HTT"))).toEqual({ got: 0 });
    // a packet dribbled one byte per read: the 32nd incomplete read closes (bin_max_msg_chunks)
    expect(run(one, 1, 32)).toEqual({ got: 0, err: "chunks" });
    expect(run(one.subarray(0, 32), 1, 33)).toEqual({ got: 0 });
    expect(run(one, 1, 0)).toEqual({ got: 1 });
  });
});
