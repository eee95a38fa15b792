/**
 * AoR hashing and contact-id packing, bit-exact with OpenSIPS 3.6.8
 * (core `hash_func.h` `core_hash`, usrloc `dlist.h` `pack_indexes`/`unpack_indexes`).
 * spec/usrloc.md §2.3, spec/dialog.md §2.1.
 */

const utf8 = new TextEncoder();

/**
 * `core_hash(s, NULL, 0)`: the full 32-bit hash of the UTF-8 bytes of `s`. Bytes are read as
 * signed chars, exactly as the C code does on x86_64.
 * @opensips core_hash
 */
export function coreHash(s: string): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? hashAscii(s) : coreHashBytes(utf8.encode(s));
}

function hashAscii(s: string): number {
  let h = 0;
  let v: number;
  const n = s.length;
  let p = 0;
  for (; p + 4 <= n; p += 4) {
    v = ((s.charCodeAt(p) << 24) + (s.charCodeAt(p + 1) << 16) + (s.charCodeAt(p + 2) << 8) + s.charCodeAt(p + 3)) >>> 0;
    h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  }
  v = 0;
  for (; p < n; p++) v = ((v << 8) + s.charCodeAt(p)) >>> 0;
  h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  return (h + (h >>> 11) + ((h >>> 13) + (h >>> 23))) >>> 0;
}

/** `core_hash` over raw bytes (signed-char semantics). */
export function coreHashBytes(b: Uint8Array): number {
  const sc = (i: number): number => {
    const x = b[i]!;
    return x > 127 ? x - 256 : x;
  };
  let h = 0;
  let v: number;
  const n = b.length;
  let p = 0;
  for (; p + 4 <= n; p += 4) {
    v = ((sc(p) << 24) + (sc(p + 1) << 16) + (sc(p + 2) << 8) + sc(p + 3)) >>> 0;
    h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  }
  v = 0;
  for (; p < n; p++) v = ((v << 8) + sc(p)) >>> 0;
  h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  return (h + (h >>> 11) + ((h >>> 13) + (h >>> 23))) >>> 0;
}

/** Contact labels are 14 bits. */
export const CLABEL_MASK = 0x3fff;

/** `(clabel + 1) & 0x3FFF` @opensips CLABEL_INC_AND_TEST */
export function nextClabel(clabel: number): number {
  return (clabel + 1) & CLABEL_MASK;
}

/**
 * The two 32-bit halves of a contact id:
 * `id = (clabel & 0x3FFF) + (rlabel << 14) + ((aorhash & 0xFFFF) << 46)`.
 * Kept as two int32s so a stored contact holds two small integers, not a BigInt.
 */
export function packIdLo(rlabel: number, clabel: number): number {
  return ((clabel & CLABEL_MASK) | ((rlabel & 0x3ffff) << 14)) | 0;
}
export function packIdHi(aorhash: number, rlabel: number): number {
  return (((rlabel >>> 18) & 0x3fff) | ((aorhash & 0xffff) << 14)) | 0;
}

/** Whole contact id as an unsigned 64-bit BigInt. @opensips pack_indexes */
export function packContactId(aorhash: number, rlabel: number, clabel: number): bigint {
  return idFromHalves(packIdHi(aorhash, rlabel), packIdLo(rlabel, clabel));
}

export function idFromHalves(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Splits a contact id into int32 halves [hi, lo]. */
export function idHalves(id: bigint): [number, number] {
  return [Number((id >> 32n) & 0xffffffffn) | 0, Number(id & 0xffffffffn) | 0];
}

/** @opensips unpack_indexes */
export function unpackContactId(id: bigint): { aorhash16: number; rlabel: number; clabel: number } {
  return {
    clabel: Number(id & 0x3fffn),
    rlabel: Number((id >> 14n) & 0xffffffffn),
    aorhash16: Number((id >> 46n) & 0xffffn),
  };
}

/** Decimal text of the id from its halves (MI `ContactID`). */
export function idDecimal(hi: number, lo: number): string {
  const h = hi >>> 0;
  const l = lo >>> 0;
  // Exact in doubles while below 2^53; otherwise go through BigInt.
  if (h < 0x200000) return String(h * 4294967296 + l);
  return idFromHalves(hi, lo).toString();
}
