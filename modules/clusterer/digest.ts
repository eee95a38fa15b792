/**
 * tsips: a digest of one capability's data (MI `clusterer_cap_digest`), so an operator and
 * the tests can see two nodes hold the same records: the count and an order-independent hash
 * (the sum, modulo 2^64, of the first 64 bits of each key's SHA-1). Equal digests on two
 * nodes mean the same set of keys, whatever order they were inserted in.
 */
import { createHash } from "node:crypto";

export interface CapDigest {
  count: number;
  /** 16 hex digits. */
  hash: string;
}

export function digestOf(keys: Iterable<string>): CapDigest {
  let hi = 0;
  let lo = 0;
  let count = 0;
  for (const k of keys) {
    const d = createHash("sha1").update(k).digest();
    const sum = lo + d.readUInt32BE(4);
    lo = sum >>> 0;
    hi = (hi + d.readUInt32BE(0) + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    count++;
  }
  return { count, hash: hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0") };
}
