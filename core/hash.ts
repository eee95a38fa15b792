/**
 * OpenSIPS `core_hash` (core hash_func.h), bit for bit. Peers compute it themselves from
 * the same strings (a dialog's Call-ID gives its `h_entry`, an AoR its `aorhash` inside
 * every contact id), so ours must give identical values. Bytes are read as signed chars,
 * as the C code does on x86_64; a JS string is hashed as its UTF-8 bytes.
 */

/** `core_hash(s, NULL, size)`: the 32-bit hash, masked with `size - 1` when `size` is not 0 (a power of two). @opensips core_hash */
export function coreHash(s: string | Uint8Array, size = 0): number {
  let h: number;
  if (typeof s !== "string") h = hashBytes(s);
  else {
    h = -1;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        h = hashBytes(Buffer.from(s, "utf8"));
        break;
      }
    }
    if (h === -1) h = hashAscii(s);
  }
  return size !== 0 ? (h & (size - 1)) >>> 0 : h;
}

/** Pure ASCII: the string's code units are its bytes (and all non-negative). */
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

/** Any bytes, read as signed chars (0x80..0xff → -128..-1) before shifting. */
function hashBytes(b: Uint8Array): number {
  let h = 0;
  let v: number;
  const n = b.length;
  let p = 0;
  for (; p + 4 <= n; p += 4) {
    v = ((((b[p]! << 24) >> 24) << 24) + (((b[p + 1]! << 24) >> 24) << 16) + (((b[p + 2]! << 24) >> 24) << 8) + ((b[p + 3]! << 24) >> 24)) >>> 0;
    h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  }
  v = 0;
  for (; p < n; p++) v = ((v << 8) + ((b[p]! << 24) >> 24)) >>> 0;
  h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  return (h + (h >>> 11) + ((h >>> 13) + (h >>> 23))) >>> 0;
}
