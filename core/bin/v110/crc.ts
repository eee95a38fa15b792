/**
 * The CRC of the 1.10 BIN header (crc.c `crc32_uint`, spec/bin-1.10.md §3): the reflected
 * CRC-32 (polynomial 0xEDB88320, initial value 0xFFFFFFFF) WITHOUT the final XOR — the
 * bitwise complement of the standard CRC-32. Check value: "123456789" → 0x340BC6D9.
 */
import { crc32 } from "node:zlib";

/** CRC-32 of `data` without the final XOR, as an unsigned 32-bit number. */
export function crc32NoFinalXor(data: Uint8Array): number {
  // zlib's crc32 applies the final XOR; undo it (native, ~GB/s, no table of our own).
  return (crc32(data) ^ 0xffffffff) >>> 0;
}
