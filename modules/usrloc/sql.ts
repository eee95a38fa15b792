/**
 * usrloc SQL persistence (spec/db.md §3): rows of OpenSIPS's `location` table keyed by
 * contact_id, written through (inline, in order) or back (by the timer / ul_flush), loaded at
 * start with the contact-id consistency check, and rebuilt by ul_sync. Writes go through the
 * core's ordered DbWriter, so a database that goes away queues them instead of stopping the node.
 */
import { checkTableVersion, coreHash, dbDatetime, dbDouble2, dbParseDatetime, TsipsError, TABLE_VERSIONS,
  type DbStatement, type DbValue, type DbWriter, type TsipsLogger } from "tsips";
import type { UlChange } from "./api.ts";
import type { BranchFlags } from "./flags.ts";
import type { SqlWriteMode } from "./params.ts";
import type { SocketTable } from "./sockets.ts";
import {
  ALL_METHODS, CS_DIRTY, CS_NEW, CS_QUEUED, CS_SYNC, FL_MEM, NO_MATCH,
  type Ci, type LocationStore, type Ucontact, type Udomain, type Urecord,
} from "./store.ts";

export interface UsrlocSqlOptions {
  writeMode: Exclude<SqlWriteMode, "none">;
  useDomain: boolean;
  maxContactDelete: number;
  regenBrokenContactId: boolean;
  flags: BranchFlags;
  sockets: SocketTable;
  log: TsipsLogger;
}

/** Statements per transaction in a timer pass (SQLite commits are the cost, not the rows). */
const PASS_CHUNK = 2000;

const INSERT_COLS = "contact_id, username, contact, expires, q, callid, cseq, flags, cflags, user_agent, received, path, socket, methods, last_modified, sip_instance, kv_store, attr";
/** contact_id as two 32-bit halves: exact on every backend without 64-bit integers per row. */
const LOAD_COLS = "username, contact_id >> 32, contact_id & 4294967295, contact, expires, q, callid, cseq, flags, cflags, user_agent, received, path, socket, methods, last_modified, sip_instance, kv_store, attr";

function str(v: DbValue | undefined): string {
  return typeof v === "string" ? v : v === null || v === undefined ? "" : String(v);
}

export class UsrlocSql {
  /** Contacts deleted or expired whose rows wait for the next pass (write-back, and every mode's expiry). */
  private deletes = new Map<string, bigint[]>();
  private loading = false;
  private unsubscribe: (() => void) | null = null;
  /** Rows skipped by the last load, by reason (for the log and tests). */
  readonly skipped = { badRow: 0, aorhash: 0, regenerated: 0 };
  /** Duration of the last load (query + rows into memory), ms. */
  lastLoadMs = 0;

  constructor(
    private readonly store: LocationStore,
    readonly writer: DbWriter,
    private readonly opts: UsrlocSqlOptions,
  ) {}

  // ── start-up ─────────────────────────────────────────────────────────

  /** register_udomain with SQL: version check (1013), then the dummy-user connectivity test. */
  async checkTable(table: string): Promise<void> {
    await this.writer.read(async (conn) => {
      await checkTableVersion(conn, "usrloc", table, TABLE_VERSIONS.location);
      try {
        await conn.query(`SELECT username FROM ${table} WHERE username=?`, ["dummy_user"]);
      } catch (err) {
        throw new TsipsError("TSIPS_ERR_DB_QUERY", `table '${table}' cannot be queried: ${(err as Error).message}`, { module: "usrloc", cause: err });
      }
    });
  }

  /** preload_udomain: every row, expired or not; rows that fail the checks are skipped and logged. */
  async load(d: Udomain): Promise<number> {
    const t0 = performance.now();
    const cols = this.opts.useDomain ? `${LOAD_COLS}, domain` : LOAD_COLS;
    let rows: DbValue[][];
    try {
      rows = await this.writer.read((conn) => conn.queryArrays(`SELECT ${cols} FROM ${d.name}`));
    } catch (err) {
      throw new TsipsError("TSIPS_ERR_DB_QUERY", `loading table '${d.name}' failed: ${(err as Error).message}`, { module: "usrloc", cause: err });
    }
    this.loading = true;
    let loaded = 0;
    try {
      for (const row of rows) if (this.loadRow(d, row)) loaded++;
    } finally {
      this.loading = false;
    }
    this.lastLoadMs = performance.now() - t0;
    if (this.skipped.aorhash > 0 && !this.opts.regenBrokenContactId) {
      this.opts.log.warn({ skipped: this.skipped.aorhash },
        `${this.skipped.aorhash} rows of '${d.name}' had a contact_id not matching their AoR and were skipped; set regen_broken_contactid = 1 to give them new ids`);
    }
    return loaded;
  }

  /** One row of LOAD_COLS (+ domain): dbrow2info + the contact-id check of preload_udomain. */
  private loadRow(d: Udomain, row: DbValue[]): boolean {
    const log = this.opts.log;
    const [user, idHi, idLo, contactV, expires, q, callidV, cseq, flags, cflags, ua, received, path, socket, methods, lastMod,
      instance, kv, attr, domain] = row;
    const username = str(user);
    const contact = str(contactV);
    const callid = str(callidV);
    let aor = username;
    if (this.opts.useDomain) {
      const dom = str(domain);
      if (!dom) {
        log.error({ username }, "empty domain record; row skipped");
        this.skipped.badRow++;
        return false;
      }
      aor = `${username}@${dom}`;
    }
    if (!username || !contact || !callid || typeof idHi !== "number" || typeof idLo !== "number" || expires === null ||
      q === null || cseq === null || flags === null) {
      log.error({ username }, "bad location row (empty username/contact/callid or NULL contact_id/expires/q/cseq/flags); skipped");
      this.skipped.badRow++;
      return false;
    }
    const aorhash = coreHash(aor);
    // id = clabel (14 bits) | rlabel (32 bits) << 14 | aorhash16 << 46
    const aorhash16 = (idHi >>> 14) & 0xffff;
    const rlabel = ((idLo >>> 14) | ((idHi & 0x3fff) << 18)) >>> 0;
    const clabel = idLo & 0x3fff;
    const socketText = str(socket);
    const qNum = Number(q);
    const ci: Ci = {
      hasId: true, idHi: idHi | 0, idLo: idLo | 0,
      callid, userAgent: str(ua),
      socket: socketText ? this.opts.sockets.resolve(socketText) : "",
      expires: Number(expires), q: qNum === -1 ? -1 : Math.trunc(qNum * 1000), cseq: Number(cseq), flags: Number(flags),
      cflags: this.opts.flags.toMask(str(cflags)),
      methods: methods === null || methods === undefined ? ALL_METHODS : Number(methods),
      lastModified: dbParseDatetime(lastMod),
      path: str(path), attr: str(attr), received: str(received), instance: str(instance), kv: str(kv), regId: 0,
    };
    let r = d.getH(aor, aorhash);
    if (aorhash16 !== (aorhash & 0xffff)) {
      const id = (BigInt(idHi >>> 0) << 32n) | BigInt(idLo >>> 0);
      if (!this.opts.regenBrokenContactId) {
        log.error({ aor, contact_id: id.toString() }, "failed to match aorhashes; row skipped");
        this.skipped.aorhash++;
        return false;
      }
      // regen: the old row is deleted at the next pass, the contact gets an id of its AoR and is inserted.
      this.queueDelete(d.name, id);
      r ??= this.store.insertRecord(d, aor, "sync", rlabel, 0, aorhash);
      ci.hasId = false;
      const c = this.store.insertContact(d, r, contact, ci, NO_MATCH, "sync");
      c.dbState = CS_NEW;
      this.skipped.regenerated++;
      return true;
    }
    const next = (clabel + 1) & 0x3fff;
    if (!r) r = this.store.insertRecord(d, aor, "sync", rlabel, next, aorhash);
    else if (next > r.nextClabel) r.nextClabel = next;
    const c = this.store.insertContact(d, r, contact, ci, NO_MATCH, "sync");
    c.dbState = CS_SYNC;
    return true;
  }

  // ── change tracking ──────────────────────────────────────────────────

  attach(): void {
    this.unsubscribe = this.store.onChange((ev) => this.onChange(ev));
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private onChange(ev: UlChange): void {
    if (this.loading) return;
    const c = ev.contact as Ucontact | null;
    if (!c) return;
    // skip_replicated_db_ops / save(...,"m"): memory-only contacts never touch SQL.
    if (c.flags & FL_MEM) return;
    const through = this.opts.writeMode === "write-through";
    switch (ev.type) {
      case "contact-insert":
        if (through) this.writeContact(ev.domain, ev.record as Urecord, c, true);
        else c.dbState = CS_NEW;
        break;
      case "contact-update":
        if (through) this.writeContact(ev.domain, ev.record as Urecord, c, c.dbState === CS_NEW);
        // A change while the pass's write is queued: written again by the next pass.
        else if (c.dbState === CS_SYNC || c.dbState === CS_QUEUED) c.dbState = CS_DIRTY;
        break;
      case "contact-delete":
        if (c.dbState === CS_NEW) break;
        if (through) this.writer.submit(this.deleteStmt(ev.domain, [c.contactId]));
        else this.queueDelete(ev.domain, c.contactId);
        break;
      case "contact-expire":
        if (c.dbState !== CS_NEW) this.queueDelete(ev.domain, c.contactId);
        break;
      default:
        break;
    }
  }

  private queueDelete(table: string, id: bigint): void {
    let l = this.deletes.get(table);
    if (!l) this.deletes.set(table, (l = []));
    l.push(id);
  }

  /** INSERT (or UPDATE) now, in order; CS_SYNC once written, back to NEW/DIRTY if refused. */
  private writeContact(table: string, r: Urecord, c: Ucontact, insert: boolean): void {
    const before = c.dbState;
    c.dbState = CS_QUEUED;
    this.writer.submit(insert ? this.insertStmt(table, r, c) : this.updateStmt(table, c), (ok) => {
      if (c.dbState === CS_QUEUED) c.dbState = ok ? CS_SYNC : insert ? CS_NEW : before === CS_NEW ? CS_NEW : CS_DIRTY;
    });
  }

  // ── rows ─────────────────────────────────────────────────────────────

  /** The values OpenSIPS writes for a contact (ucontact.c db_insert_ucontact), INSERT column order. */
  rowValues(r: Urecord, c: Ucontact): DbValue[] {
    let username = r.aor;
    if (this.opts.useDomain) {
      const at = r.aor.indexOf("@");
      username = at >= 0 ? r.aor.slice(0, at) : "";
    }
    const v: DbValue[] = [
      c.contactId, username, c.uri, c.expires | 0, c.q === -1 ? -1 : dbDouble2(c.q / 1000), c.callid, c.cseq | 0, c.flags | 0,
      this.opts.flags.toNames(c.cflags), c.userAgent, c.received || null, c.path || null,
      c.socket ? this.opts.sockets.display(c.socket) : null, (c.methods >>> 0) === 0xffffffff ? null : c.methods | 0,
      dbDatetime(c.lastModified), c.instance || null, c.kvJson || null, c.attr || null,
    ];
    if (this.opts.useDomain) {
      const at = r.aor.indexOf("@");
      v.push(at >= 0 ? r.aor.slice(at + 1) : r.aor);
    }
    return v;
  }

  insertStmt(table: string, r: Urecord, c: Ucontact): DbStatement {
    const v = this.rowValues(r, c);
    const cols = this.opts.useDomain ? `${INSERT_COLS}, domain` : INSERT_COLS;
    return { sql: `INSERT INTO ${table} (${cols}) VALUES (${v.map(() => "?").join(",")})`, params: v };
  }

  updateStmt(table: string, c: Ucontact): DbStatement {
    return {
      sql: `UPDATE ${table} SET contact_id=?, expires=?, q=?, cseq=?, flags=?, cflags=?, user_agent=?, received=?, path=?, socket=?, methods=?, last_modified=?, kv_store=?, attr=?, callid=? WHERE contact_id=?`,
      params: [
        c.contactId, c.expires | 0, c.q === -1 ? -1 : dbDouble2(c.q / 1000), c.cseq | 0, c.flags | 0, this.opts.flags.toNames(c.cflags),
        c.userAgent, c.received || null, c.path || null, c.socket ? this.opts.sockets.display(c.socket) : null,
        (c.methods >>> 0) === 0xffffffff ? null : c.methods | 0, dbDatetime(c.lastModified), c.kvJson || null, c.attr || null,
        c.callid, c.contactId,
      ],
    };
  }

  deleteStmt(table: string, ids: readonly bigint[]): DbStatement {
    return { sql: `DELETE FROM ${table} WHERE ${ids.map(() => "contact_id=?").join(" OR ")}`, params: ids };
  }

  // ── timer / ul_flush ─────────────────────────────────────────────────

  /**
   * One timer pass (ul_timer.c): expire contacts (their rows join the delete batch), INSERT the
   * NEW ones, UPDATE the DIRTY ones, then DELETE in batches of max_contact_delete. Queued in order.
   */
  pass(): { inserted: number; updated: number; deleted: number } {
    this.store.expire();
    let inserted = 0;
    let updated = 0;
    let deleted = 0;
    for (const d of this.store.domains) {
      let chunk: DbStatement[] = [];
      let marks: { c: Ucontact; before: number }[] = [];
      const submit = (): void => {
        if (chunk.length === 0) return;
        const m = marks;
        this.writer.submit(chunk, (ok) => {
          for (const { c, before } of m) if (c.dbState === CS_QUEUED) c.dbState = ok ? CS_SYNC : before;
        });
        chunk = [];
        marks = [];
      };
      for (const r of d.records()) {
        for (let c = r.contacts; c; c = c.next) {
          if (c.flags & FL_MEM) continue;
          if (c.dbState === CS_NEW) {
            chunk.push(this.insertStmt(d.name, r, c));
            inserted++;
          } else if (c.dbState === CS_DIRTY) {
            chunk.push(this.updateStmt(d.name, c));
            updated++;
          } else continue;
          marks.push({ c, before: c.dbState });
          c.dbState = CS_QUEUED;
          if (chunk.length >= PASS_CHUNK) submit();
        }
      }
      const ids = this.deletes.get(d.name) ?? [];
      this.deletes.delete(d.name);
      for (let i = 0; i < ids.length; i += this.opts.maxContactDelete) {
        chunk.push(this.deleteStmt(d.name, ids.slice(i, i + this.opts.maxContactDelete)));
        if (chunk.length >= PASS_CHUNK) submit();
      }
      deleted += ids.length;
      submit();
    }
    return { inserted, updated, deleted };
  }

  /** MI ul_sync: the table (or the AoR's rows) is emptied now; the contacts become NEW and come back at the next pass. */
  sync(d: Udomain, aor?: Urecord): void {
    if (aor) {
      let where = "username=?";
      const params: DbValue[] = [aor.aor];
      if (this.opts.useDomain) {
        const at = aor.aor.indexOf("@");
        where = "username=? AND domain=?";
        params.splice(0, 1, at >= 0 ? aor.aor.slice(0, at) : "", at >= 0 ? aor.aor.slice(at + 1) : aor.aor);
      }
      this.writer.submit({ sql: `DELETE FROM ${d.name} WHERE ${where}`, params });
      for (let c = aor.contacts; c; c = c.next) c.dbState = CS_NEW;
      return;
    }
    this.deletes.delete(d.name);
    this.writer.submit({ sql: `DELETE FROM ${d.name}` });
    for (const r of d.records()) for (let c = r.contacts; c; c = c.next) c.dbState = CS_NEW;
  }
}
