/**
 * Dialog profiles (dlg_profile.c, dlg_repl_profile.h; spec dialog.md §8, §9): definitions
 * from `profiles_with_value` / `profiles_no_value` (`/s` CacheDB, `/b` BIN-replicated),
 * the dialogs linked to each profile (and value), and, for `/b` profiles, the counters other
 * nodes broadcast on `dialog-prof-repl`, kept per source node with the time they arrived.
 */
import type { ProfileInfo } from "./api.ts";
import { coreHash } from "tsips";
import type { ProfileCounterRecord } from "./messages.ts";
import type { Dialog } from "./store.ts";

export type ReplType = "none" | "cachedb" | "bin";

interface RemoteCounter {
  count: number;
  /** When it arrived (ms). */
  ts: number;
}

/** The dialogs of one profile (no value) or one value of a profile. */
interface Members {
  dialogs: Set<Dialog>;
  /** How many of them carry a sharing tag (a backup-tag check is only needed when > 0). */
  tagged: number;
  /** `/b` only: counters of other nodes, by node id. */
  remote: Map<number, RemoteCounter> | undefined;
}

function newMembers(): Members {
  return { dialogs: new Set(), tagged: 0, remote: undefined };
}

/** One profile definition. @opensips struct dlg_profile_table */
export class ProfileDef implements ProfileInfo {
  readonly fullName: string;
  /** No-value profiles. */
  readonly noval: Members = newMembers();
  /** Profiles with value: value → members. */
  readonly byValue = new Map<string, Members>();
  private order: string[] | undefined;

  constructor(
    readonly name: string,
    readonly hasValue: boolean,
    readonly repl: ReplType,
    private readonly buckets: number,
  ) {
    this.fullName = repl === "bin" ? `${name}/b` : repl === "cachedb" ? `${name}/s` : name;
  }

  /** Values in OpenSIPS's iteration order: profile hash bucket, then byte order inside the bucket (AVL map). */
  valuesInOrder(): string[] {
    if (!this.order) {
      const keyed = [...this.byValue.keys()].map((v) => ({ v, b: coreHash(v, this.buckets), bytes: Buffer.from(v, "utf8") }));
      keyed.sort((a, b) => a.b - b.b || Buffer.compare(a.bytes, b.bytes));
      this.order = keyed.map((k) => k.v);
    }
    return this.order;
  }

  /** Bucket of a value (`core_hash(value) & (2^log_profile_hash_size - 1)`). */
  bucketOf(value: string): number {
    return coreHash(value, this.buckets);
  }

  members(value: string, create: boolean): Members | undefined {
    if (!this.hasValue) return this.noval;
    let m = this.byValue.get(value);
    if (!m && create) {
      this.byValue.set(value, m = newMembers());
      this.order = undefined;
    }
    return m;
  }

  dropValue(value: string): void {
    if (this.byValue.delete(value)) this.order = undefined;
  }
}

export interface ProfileTableOptions {
  /** 2^log_profile_hash_size. */
  buckets: number;
  /** `profile_replication_cluster` > 0: `/b` profiles are replicated; otherwise they fall back to local. */
  binEnabled: boolean;
  /** CacheDB URL configured (tsips has no CacheDB: `/s` profiles are always counted locally). */
  cachedbUrl: string;
  /** `replicate_profiles_expire`, seconds. */
  expireSec: number;
  now: () => number;
  /** True when the tag is backup here and dialog replication is on (those dialogs are not counted in broadcasts). */
  isBackupTag: (tag: string) => boolean;
  warn: (msg: string) => void;
}

/** Parse error of a profile definition string. */
export class ProfileDefinitionError extends Error {}

const NAME_RE = /^[A-Za-z0-9_-]+$/;

/** All profiles of the module, in definition order. */
export class ProfileTable {
  readonly defs: ProfileDef[] = [];

  constructor(private readonly o: ProfileTableOptions) {}

  /**
   * Adds the profiles of one modparam value (`add_profile_definitions`): names separated by
   * `;`, trimmed, `[A-Za-z0-9_-]`, optional `/s` or `/b`. Throws ProfileDefinitionError.
   */
  define(spec: string, hasValue: boolean): void {
    for (const part of spec.split(";")) {
      let name = part.trim();
      if (name === "") continue;
      let repl: ReplType = "none";
      const slash = name.indexOf("/");
      if (slash >= 0) {
        const suffix = name.slice(slash + 1).trim();
        name = name.slice(0, slash).trim();
        const c = suffix[0];
        if (c === "s") {
          if (this.o.cachedbUrl) {
            this.o.warn(`profile ${name}/s: tsips has no CacheDB support; the profile is counted locally (shared over nothing)`);
            repl = "cachedb";
          } else this.o.warn(`profile ${name} configured to be stored in CacheDB, but the cachedb_url was not defined`);
        } else if (c === "b") {
          if (this.o.binEnabled) repl = "bin";
          else this.o.warn(`profile ${name} configured to be replicated over BIN, but 'profile_replication_cluster' is not defined`);
        } else if (c !== undefined && /[A-Za-z0-9]/.test(c)) {
          throw new ProfileDefinitionError(`Invalid letter in profile definition </${c}>!`);
        }
      }
      if (!NAME_RE.test(name)) throw new ProfileDefinitionError(`bad profile name <${name}> - use only letters, digits, '_' and '-'`);
      if (this.defs.some((d) => d.name === name && d.repl === repl)) throw new ProfileDefinitionError(`duplicate dialog profile registered <${name}>`);
      this.defs.push(new ProfileDef(name, hasValue, repl, this.o.buckets));
    }
  }

  /** Looks a profile up by name with its suffix (`calls/b` finds only the BIN profile). @opensips search_dlg_profile */
  search(fullName: string): ProfileDef | undefined {
    const { name, repl } = splitProfileName(fullName);
    return this.defs.find((d) => d.name === name && d.repl === repl);
  }

  /** Creates a profile on the fly (a replicated dialog names a profile not defined here). */
  createOnTheFly(fullName: string, hasValue: boolean): ProfileDef {
    const split = splitProfileName(fullName);
    const name = split.name;
    // A `/b` profile is replicated only when profile replication is on here.
    const repl: ReplType = split.repl === "bin" && !this.o.binEnabled ? "none" : split.repl;
    const def = new ProfileDef(name, hasValue, repl, this.o.buckets);
    this.defs.push(def);
    return def;
  }

  get hasBin(): boolean {
    return this.defs.some((d) => d.repl === "bin");
  }

  /** Links a dialog (newest first in its link list). Returns false if already linked with that value. */
  link(d: Dialog, def: ProfileDef, value: string): boolean {
    const v = def.hasValue ? value : "";
    if (d.links?.some((l) => l.profile === def && l.value === v)) return false;
    (d.links ??= []).unshift({ profile: def, value: v });
    d.wire = undefined;
    const m = def.members(v, true)!;
    m.dialogs.add(d);
    if (d.shtag !== undefined) m.tagged++;
    return true;
  }

  /**
   * Unlinks a dialog from a profile (all its values when `value` is undefined). Returns the
   * immediate "removal" records to broadcast: a `/b` value whose total count dropped to 0.
   */
  unlink(d: Dialog, def: ProfileDef, value: string | undefined, removals: ProfileCounterRecord[] = []): boolean {
    if (!d.links) return false;
    let found = false;
    for (let i = d.links.length - 1; i >= 0; i--) {
      const l = d.links[i]!;
      if (l.profile !== def || (value !== undefined && def.hasValue && l.value !== value)) continue;
      d.links.splice(i, 1);
      d.wire = undefined;
      this.leave(d, def, l.value, removals);
      found = true;
    }
    if (d.links.length === 0) d.links = undefined;
    return found;
  }

  /** Unlinks every profile of a dialog. */
  unlinkAll(d: Dialog, removals: ProfileCounterRecord[] = []): ProfileCounterRecord[] {
    if (!d.links) return removals;
    for (const l of d.links) this.leave(d, l.profile, l.value, removals);
    d.links = undefined;
    d.wire = undefined;
    return removals;
  }

  private leave(d: Dialog, def: ProfileDef, value: string, removals: ProfileCounterRecord[]): void {
    const m = def.members(value, false);
    if (!m || !m.dialogs.delete(d)) return;
    if (d.shtag !== undefined) m.tagged--;
    if (!def.hasValue || m.dialogs.size > 0) return;
    if (def.repl !== "bin") {
      def.dropValue(value);
      return;
    }
    if (this.remoteSum(m) === 0) {
      def.dropValue(value);
      removals.push({ name: def.name, value, count: 0 });
    }
  }

  /** A dialog's sharing tag changes: keep the per-members tagged counts right. */
  retag(d: Dialog, oldTag: string | undefined, newTag: string | undefined): void {
    if ((oldTag === undefined) === (newTag === undefined) || !d.links) return;
    for (const l of d.links) {
      const m = l.profile.members(l.value, false);
      if (m) m.tagged += newTag === undefined ? -1 : 1;
    }
  }

  /** Local dialogs in a members set; for `/b` profiles, without those whose tag is backup here. */
  private localCount(def: ProfileDef, m: Members): number {
    if (def.repl !== "bin" || m.tagged === 0) return m.dialogs.size;
    let n = 0;
    for (const d of m.dialogs) if (d.shtag === undefined || !this.o.isBackupTag(d.shtag)) n++;
    return n;
  }

  /** Sum of the remote counters still valid; expired ones are dropped as they are read. */
  private remoteSum(m: Members): number {
    if (!m.remote) return 0;
    const limit = this.o.now() - this.o.expireSec * 1000;
    let n = 0;
    for (const [node, c] of m.remote) {
      if (c.ts < limit) m.remote.delete(node);
      else n += c.count;
    }
    return n;
  }

  /** The size MI `profile_get_size` reports (BIN: valid remote counters included, backup-tagged local dialogs excluded). */
  size(def: ProfileDef, value?: string): number {
    const one = (m: Members): number => this.localCount(def, m) + (def.repl === "bin" ? this.remoteSum(m) : 0);
    if (!def.hasValue) return one(def.noval);
    if (value !== undefined) {
      const m = def.byValue.get(value);
      return m ? one(m) : 0;
    }
    let n = 0;
    for (const m of def.byValue.values()) n += one(m);
    return n;
  }

  /** The dialogs linked (to one value, or to any). */
  dialogsOf(def: ProfileDef, value?: string): Dialog[] {
    if (!def.hasValue) return [...def.noval.dialogs];
    if (value !== undefined) return [...(def.byValue.get(value)?.dialogs ?? [])];
    const out: Dialog[] = [];
    for (const v of def.valuesInOrder()) out.push(...def.byValue.get(v)!.dialogs);
    return out;
  }

  /**
   * The records of one periodic broadcast, grouped as OpenSIPS checks the buffer size: one
   * group per no-value profile, one group per hash bucket of a profile with values.
   */
  *broadcastGroups(): Generator<ProfileCounterRecord[]> {
    for (const def of this.defs) {
      if (def.repl !== "bin") continue;
      if (!def.hasValue) {
        yield [{ name: def.name, value: undefined, count: this.localCount(def, def.noval) }];
        continue;
      }
      let group: ProfileCounterRecord[] = [];
      let bucket = -1;
      for (const v of def.valuesInOrder()) {
        const b = def.bucketOf(v);
        if (b !== bucket && group.length > 0) {
          yield group;
          group = [];
        }
        bucket = b;
        group.push({ name: def.name, value: v, count: this.localCount(def, def.byValue.get(v)!) });
      }
      if (group.length > 0) yield group;
    }
  }

  /**
   * Applies one received profile packet from node `src` (`receive_prof_repl`). Returns false
   * when the rest of the packet was ignored (a record for a local profile).
   */
  receive(records: readonly ProfileCounterRecord[], src: number): boolean {
    const now = this.o.now();
    for (const r of records) {
      const def = this.defs.find((d) => d.name === r.name && d.repl === "bin") ?? this.defs.find((d) => d.name === r.name);
      if (!def) {
        this.o.warn(`Received a replication packet for an unknown profile <${r.name}>`);
        continue;
      }
      if (def.repl !== "bin") {
        this.o.warn(`Received a replication packet for a local profile <${r.name}>`);
        return false;
      }
      if (r.value !== undefined && !def.hasValue) {
        this.o.warn(`Received a value for profile <${r.name}> that has no value`);
        continue;
      }
      if (r.value === undefined && def.hasValue) {
        this.o.warn(`Received no value for profile <${r.name}> that has values`);
        continue;
      }
      const m = def.hasValue ? def.members(r.value!, r.count !== 0) : def.noval;
      if (!m) continue; // counter 0 for an unknown value does not create it
      (m.remote ??= new Map()).set(src, { count: r.count, ts: now });
    }
    return true;
  }

  /** Periodic cleanup (`replicate_profiles_check`): drops values whose total count is 0. */
  cleanup(): number {
    let dropped = 0;
    for (const def of this.defs) {
      if (def.repl !== "bin") continue;
      if (!def.hasValue) {
        this.remoteSum(def.noval);
        continue;
      }
      for (const [v, m] of [...def.byValue]) {
        if (m.dialogs.size === 0 && this.remoteSum(m) === 0) {
          def.dropValue(v);
          dropped++;
        }
      }
    }
    return dropped;
  }
}

/** `name[/s|/b]` → the bare name and its replication kind (`/s` cachedb, `/b` BIN). */
function splitProfileName(fullName: string): { name: string; repl: ReplType } {
  const slash = fullName.indexOf("/");
  if (slash < 0) return { name: fullName, repl: "none" };
  const c = fullName.slice(slash + 1).trim()[0];
  return { name: fullName.slice(0, slash).trim(), repl: c === "s" ? "cachedb" : c === "b" ? "bin" : "none" };
}
