/**
 * OpenSIPS `core_hash` (core hash_func.h), bit for bit: the dialog table bucket of a
 * Call-ID (`h_entry = core_hash(callid) & (hash_size - 1)`, spec dialog.md §2.1) and the
 * bucket of a profile value. A peer computes `h_entry` itself from the Call-ID, so ours
 * must give identical values or two dialogs may collide on (bucket, h_id) over there.
 */

/** Bytes are read as signed chars (0x80..0xff → -128..-1) before shifting. */
function sb(b: number): number {
  return (b << 24) >> 24;
}

function hashBytes(n: number, at: (i: number) => number, size: number): number {
  let h = 0;
  let i = 0;
  let v: number;
  for (; i + 4 <= n; i += 4) {
    v = ((sb(at(i)) << 24) + (sb(at(i + 1)) << 16) + (sb(at(i + 2)) << 8) + sb(at(i + 3))) >>> 0;
    h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  }
  v = 0;
  for (; i < n; i++) v = ((v << 8) + sb(at(i))) >>> 0;
  h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  h = (h + (h >>> 11) + ((h >>> 13) + (h >>> 23))) >>> 0;
  return size !== 0 ? (h & (size - 1)) >>> 0 : h;
}

/**
 * `core_hash(s, NULL, size)`: the hash of `s` (a JS string is hashed as its UTF-8 bytes),
 * masked with `size - 1` when `size` is not 0 (size must then be a power of two).
 * @opensips core_hash
 */
export function coreHash(s: string | Uint8Array, size = 0): number {
  if (typeof s !== "string") return hashBytes(s.length, (i) => s[i]!, size);
  // Fast path: pure ASCII strings are their own bytes.
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      const bytes = Buffer.from(s, "utf8");
      return hashBytes(bytes.length, (j) => bytes[j]!, size);
    }
  }
  return hashBytes(s.length, (i) => s.charCodeAt(i), size);
}

/** Largest power of two <= n (OpenSIPS rounds `hash_size` down); at least 1. */
export function floorPow2(n: number): number {
  if (n < 1) return 1;
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
