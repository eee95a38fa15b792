/**
 * Named branch flags (core flags.c): the replicated `cflags` travel as the space-separated
 * names of the set flags; each node maps names to its own bits. A name gets the next free bit
 * the first time it is declared (script `setbflag("NAME")`, usrloc `nat_bflag`, or the
 * tsips `branch_flag` modparam). Unknown names on receive are dropped, as OpenSIPS does.
 */

/** OpenSIPS keeps branch flags in a 32-bit mask. */
export const MAX_BRANCH_FLAGS = 32;

export class BranchFlags {
  private readonly names: string[] = [];
  private readonly bits = new Map<string, number>();
  private readonly cache = new Map<number, string>();

  /** Declares a flag (idempotent); returns its bit index. @opensips get_flag_id_by_name */
  declare(name: string): number {
    const have = this.bits.get(name);
    if (have !== undefined) return have;
    if (this.names.length >= MAX_BRANCH_FLAGS) throw new Error(`too many branch flags (max ${MAX_BRANCH_FLAGS}): "${name}"`);
    const bit = this.names.length;
    this.names.push(name);
    this.bits.set(name, bit);
    this.cache.clear();
    return bit;
  }

  bitOf(name: string): number | undefined {
    return this.bits.get(name);
  }

  /** @opensips bitmask_to_flag_list (delimiter ' ') */
  toNames(mask: number): string {
    if (mask === 0 || this.names.length === 0) return "";
    const hit = this.cache.get(mask);
    if (hit !== undefined) return hit;
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) if (mask & (1 << i)) out.push(this.names[i]!);
    const s = out.join(" ");
    if (this.cache.size < 256) this.cache.set(mask, s);
    return s;
  }

  /** @opensips flag_list_to_bitmask (unknown names ignored, flags not created) */
  toMask(list: string): number {
    if (list.length === 0) return 0;
    let mask = 0;
    for (const n of list.split(" ")) {
      if (n.length === 0) continue;
      const b = this.bits.get(n);
      if (b !== undefined) mask |= 1 << b;
    }
    return mask;
  }
}
