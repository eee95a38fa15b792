/**
 * AoR hashing and contact-id packing, bit-exact with OpenSIPS 3.6.8
 * (usrloc `dlist.h` `pack_indexes`/`unpack_indexes`; the AoR hash is the core's `coreHash`).
 * spec/usrloc.md §2.3, spec/dialog.md §2.1.
 */

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
