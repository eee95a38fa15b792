/**
 * Dialog hashing: `h_entry = core_hash(callid) & (hash_size - 1)` (spec dialog.md §2.1) and
 * profile value buckets use the core's `core_hash`; `hash_size` is rounded down to a power of two.
 */

/** Largest power of two <= n (OpenSIPS rounds `hash_size` down); at least 1. */
export function floorPow2(n: number): number {
  if (n < 1) return 1;
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
