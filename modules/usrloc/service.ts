/**
 * What usrloc's init returns: the UsrlocApi other modules use, plus what the MI handlers
 * need (store, replication, modes).
 */
import { TsipsError } from "tsips";
import type { ClustererApi } from "../clusterer/api.ts";
import type { ContactInfo, ContactMatchResult, CtMatch, KvValue, UlAor, UlChange, UlContact, UsrlocApi } from "./api.ts";
import { coreHash } from "tsips";
import { kvPut } from "./kv.ts";
import { UL_CAPABILITY } from "./messages.ts";
import type { PingingMode } from "./params.ts";
import type { UsrlocReplication } from "./replication.ts";
import type { UsrlocSql } from "./sql.ts";
import {
  GC_FOUND, GC_NOT_FOUND, GC_OLDER, NO_MATCH, ciFromContact, ciFromInfo, flat,
  type LocationStore, type Ucontact, type Udomain, type Urecord,
} from "./store.ts";

export interface ServiceOptions {
  useDomain: boolean;
  miDumpKvStore: boolean;
  clusterId: number;
  pinging: PingingMode;
  clusterer: ClustererApi | undefined;
}

export class UsrlocService implements UsrlocApi {
  /** Set by init when replicating. */
  repl: UsrlocReplication | null = null;
  /** Set by init with restart_persistency load-from-sql. */
  sql: UsrlocSql | null = null;

  constructor(
    readonly store: LocationStore,
    readonly opts: ServiceOptions,
  ) {}

  /**
   * Resolves `value` once the SQL writes queued so far ran (write-through: an MI reply comes
   * after the row is written), or after `timeoutMs` when the database is away (the writes stay queued).
   */
  settled<T>(value: T, timeoutMs = 2000): T | Promise<T> {
    // Memory-only: answer synchronously (no promise on the MI hot path).
    if (!this.sql || this.sql.writer.pending === 0) return value;
    return this.sql.writer.idle(timeoutMs).then(() => value);
  }

  now(): number {
    return this.store.cfg.now();
  }

  registerDomain(name: string): void {
    this.store.registerDomain(name);
  }

  domains(): string[] {
    return this.store.domains.map((d) => d.name);
  }

  private dom(name: string): Udomain {
    const d = this.store.domain(name);
    if (!d) throw new TsipsError("TSIPS_ERR_MODULE", `usrloc: domain '${name}' is not registered`, { module: "usrloc" });
    return d;
  }

  get(domain: string, aor: string): UlAor | undefined {
    return this.store.domain(domain)?.get(aor);
  }

  lookup(domain: string, aor: string): UlContact[] {
    const r = this.store.domain(domain)?.get(aor);
    if (!r) return [];
    const now = this.now();
    const out: UlContact[] = [];
    for (let c = r.contacts; c; c = c.next) if (c.expires === 0 || c.expires > now) out.push(c);
    return out;
  }

  match(domain: string, aor: string, uri: string, callid: string, cseq: number, match?: CtMatch): ContactMatchResult {
    const r = this.store.domain(domain)?.get(aor);
    if (!r) return { status: "not-found" };
    const found: { c: Ucontact | null } = { c: null };
    const rc = this.store.getContact(r, uri, callid, cseq, match ?? NO_MATCH, found);
    if (rc === GC_NOT_FOUND || !found.c) return { status: "not-found" };
    if (rc === GC_FOUND) return { status: "found", contact: found.c };
    return { status: rc === GC_OLDER ? "older" : "same", contact: found.c };
  }

  private recordFor(d: Udomain, aor: string): Urecord {
    if (aor.length === 0) throw new TsipsError("TSIPS_ERR_MODULE", "usrloc: empty AoR", { module: "usrloc" });
    const h = coreHash(aor);
    return d.getH(aor, h) ?? this.store.insertRecord(d, flat(aor), "local", 0, 0, h);
  }

  insert(domain: string, aor: string, uri: string, info: ContactInfo, match?: CtMatch): UlContact {
    const d = this.dom(domain);
    const r = this.recordFor(d, aor);
    const cfg = this.store.cfg;
    return this.store.insertContact(d, r, flat(uri), ciFromInfo(info, cfg.flags, cfg.sockets, cfg.now()), match ?? NO_MATCH, "local");
  }

  private own(d: Udomain, aor: string, contact: UlContact): { r: Urecord; c: Ucontact } {
    const r = d.get(aor);
    if (r) for (let c = r.contacts; c; c = c.next) if (c === contact) return { r, c };
    throw new TsipsError("TSIPS_ERR_MODULE", `usrloc: contact '${contact.uri}' is not a contact of AoR '${aor}'`, { module: "usrloc" });
  }

  update(domain: string, aor: string, contact: UlContact, info: Partial<ContactInfo>, match?: CtMatch): UlContact {
    const d = this.dom(domain);
    const { r, c } = this.own(d, aor, contact);
    const cfg = this.store.cfg;
    const ci = ciFromContact(c);
    if (info.expires !== undefined) ci.expires = info.expires;
    if (info.callid !== undefined) ci.callid = flat(info.callid);
    if (info.cseq !== undefined) ci.cseq = info.cseq;
    if (info.q !== undefined) ci.q = info.q;
    if (info.flags !== undefined) ci.flags = info.flags;
    if (info.cflags !== undefined) ci.cflags = typeof info.cflags === "string" ? cfg.flags.toMask(info.cflags) : info.cflags;
    if (info.userAgent !== undefined) ci.userAgent = flat(info.userAgent);
    if (info.received !== undefined) ci.received = flat(info.received);
    if (info.path !== undefined) ci.path = flat(info.path);
    if (info.socket !== undefined) ci.socket = cfg.sockets.resolve(info.socket);
    if (info.methods !== undefined) ci.methods = info.methods;
    ci.lastModified = info.lastModified ?? cfg.now();
    if (info.attr !== undefined) ci.attr = flat(info.attr);
    if (info.regId !== undefined) ci.regId = info.regId;
    if (info.kv !== undefined) {
      let t = "";
      for (const [k, v] of Object.entries(info.kv)) t = kvPut(t, k, v);
      ci.kv = t;
    }
    this.store.updateContact(d, r, c, ci, match ?? NO_MATCH, "local");
    return c;
  }

  save(domain: string, aor: string, uri: string, info: ContactInfo, match?: CtMatch):
    { result: "inserted" | "updated" | "ignored"; contact: UlContact | undefined } {
    const m = this.match(domain, aor, uri, info.callid, info.cseq, match);
    if (m.status === "not-found") return { result: "inserted", contact: this.insert(domain, aor, uri, info, match) };
    if (m.status === "found") return { result: "updated", contact: this.update(domain, aor, m.contact, info, match) };
    return { result: "ignored", contact: m.contact };
  }

  delete(domain: string, aor: string, contact: UlContact, match?: CtMatch): boolean {
    const d = this.dom(domain);
    const r = d.get(aor);
    if (!r) return false;
    let c: Ucontact | null = r.contacts;
    while (c && c !== contact) c = c.next;
    if (!c) return false;
    this.store.deleteContact(d, r, c, match ?? null, "local");
    this.store.releaseRecord(d, r, "local");
    return true;
  }

  deleteAor(domain: string, aor: string): boolean {
    return this.store.deleteRecord(this.dom(domain), aor, "local");
  }

  putAorKey(domain: string, aor: string, key: string, value: KvValue | undefined): boolean {
    const r = this.store.domain(domain)?.get(aor);
    if (!r) return false;
    (r as Urecord).kvJson = kvPut(r.kvJson, key, value);
    return true;
  }

  *records(domain?: string): Iterable<{ domain: string; record: UlAor }> {
    for (const d of this.store.domains) {
      if (domain !== undefined && d.name !== domain) continue;
      for (const record of d.records()) yield { domain: d.name, record };
    }
  }

  count(domain?: string): { users: number; contacts: number } {
    let users = 0;
    let contacts = 0;
    for (const d of this.store.domains) {
      if (domain !== undefined && d.name !== domain) continue;
      users += d.users;
      contacts += d.contacts;
    }
    return { users, contacts };
  }

  onChange(cb: (ev: UlChange) => void): () => void {
    return this.store.onChange(cb);
  }

  shouldPing(record: UlAor, contact: UlContact): boolean {
    const cl = this.opts.clusterer;
    if (!cl || this.opts.clusterId <= 0) return true;
    if (this.opts.pinging === "ownership") {
      const tag = contact.sharingTag;
      return tag === "" || cl.shtagGet(tag, this.opts.clusterId) === "active";
    }
    const { index, count } = cl.getMyIndex(this.opts.clusterId, UL_CAPABILITY);
    return count <= 1 || record.aorhash % count === index;
  }
}
