/**
 * The API of __NAME__ for other modules: they declare `need<__PASCAL__Api>("__NAME__")`
 * and get it as `ctx.deps.<key>`; they import this file with `import type` only.
 */

export interface __PASCAL__Entry {
  readonly key: string;
  readonly value: string;
  /** Sharing tag that owns the entry ("" = none: any node may change it). */
  readonly tag: string;
  /** Absolute expiry, unix seconds (0 = never). */
  readonly expires: number;
}

export interface __PASCAL__SetOptions {
  /** Sharing tag that will own the entry. */
  tag?: string;
  /** Lifetime in seconds (0 or absent = never expires). */
  ttl?: number;
}

/** Why a change was refused. */
export type __PASCAL__Refusal = "backup" | "full";

export interface __PASCAL__Api {
  /** The entry, unless missing or expired. */
  get(key: string): __PASCAL__Entry | undefined;
  /**
   * Creates or replaces an entry and replicates it. Refused with "backup" when the entry's
   * sharing tag (the new one, or the existing entry's) is backup on this node, "full" at
   * max_entries.
   */
  set(key: string, value: string, opts?: __PASCAL__SetOptions): true | __PASCAL__Refusal;
  /** Deletes an entry and replicates the delete; false if there was none. Refused like `set`. */
  delete(key: string): boolean | __PASCAL__Refusal;
  entries(): IterableIterator<__PASCAL__Entry>;
  readonly size: number;
}
