/**
 * dialog persistence in OpenSIPS's `dialog` table (spec/db.md §4): db_mode 1 (realtime),
 * 2 (delayed, every db_update_period) and 3 (at shutdown); the start-up load with the
 * h_entry check; dlg_db_sync and dlg_restore_db. Writes go through the core's ordered
 * DbWriter, so a database that goes away queues them instead of stopping the node.
 * Hooks into the engine only through its events and `restore()`.
 */
import { checkTableVersion, coreHash, MiError, TABLE_VERSIONS, TsipsError, type DbStatement, type DbValue, type DbWriter,
  type MiCommandDecl, type TsipsLogger } from "tsips";
import type { DialogEvent } from "./api.ts";
import type { DialogEngine } from "./engine.ts";
import {
  DLG_FLAG_CHANGED, DLG_FLAG_FROM_DB, DLG_FLAG_NEW, DLG_FLAG_VP_CHANGED, DLG_STATE_CONFIRMED, DLG_STATE_CONFIRMED_NA,
  DLG_STATE_DELETED, type Dialog,
} from "./store.ts";
import { serializeProfiles, serializeValues } from "./vals.ts";

/** `DLG_FLAG_DB_DELETED` (dlg_hash.h). */
const DLG_FLAG_DB_DELETED = 0x200;

export interface DialogDbOptions {
  mode: 1 | 2 | 3;
  table: string;
  flushValsProfiles: boolean;
  bulkDelete: number;
  log: TsipsLogger;
}

type DlgRecord = NonNullable<Parameters<DialogEngine["restore"]>[0]>;

const COLS = ["dlg_id", "callid", "from_uri", "from_tag", "to_uri", "to_tag", "mangled_from_uri", "mangled_to_uri",
  "caller_cseq", "callee_cseq", "caller_ping_cseq", "callee_ping_cseq", "caller_route_set", "callee_route_set",
  "caller_contact", "callee_contact", "caller_sock", "callee_sock", "state", "start_time", "timeout", "vars", "profiles",
  "script_flags", "module_flags", "flags", "rt_on_answer", "rt_on_timeout", "rt_on_hangup"] as const;

/** The load query (dlg_db_handler.c), with dlg_id as two 32-bit halves = h_entry, h_id. */
const LOAD_SQL = (t: string): string => `SELECT dlg_id >> 32, dlg_id & 4294967295, callid, from_uri, from_tag, to_uri, to_tag,
 start_time, state, timeout, caller_cseq, callee_cseq, caller_route_set, callee_route_set, caller_contact, callee_contact,
 caller_sock, callee_sock, vars, profiles, script_flags, caller_ping_cseq, callee_ping_cseq, flags, mangled_from_uri,
 mangled_to_uri, module_flags, rt_on_answer, rt_on_timeout, rt_on_hangup FROM ${t}`;

const enc = new TextEncoder();
const dec = new TextDecoder();
const orNull = (s: string | undefined): string | null => (s ? s : null);
const str = (v: DbValue | undefined): string =>
  typeof v === "string" ? v : v instanceof Uint8Array ? dec.decode(v) : v === null || v === undefined ? "" : String(v);
const num = (v: DbValue | undefined): number => (v === null || v === undefined ? 0 : Number(v));

export const dlgId = (d: { hEntry: number; hId: number }): bigint => (BigInt(d.hEntry >>> 0) << 32n) | BigInt(d.hId >>> 0);

export class DialogDb {
  /** Dialogs whose row exists (or whose INSERT is queued). */
  private readonly stored = new Set<Dialog>();
  /** Mode 2 / replicated: to INSERT (NEW) or UPDATE (CHANGED) at the next pass. */
  private readonly fresh = new Set<Dialog>();
  private readonly dirty = new Set<Dialog>();
  private deletes: bigint[] = [];
  private loading = false;
  private undo: (() => void) | null = null;
  readonly skipped = { hEntry: 0, rejected: 0, deleted: 0 };

  constructor(private readonly engine: DialogEngine, readonly writer: DbWriter, private readonly o: DialogDbOptions) {}

  async checkTable(): Promise<void> {
    await this.writer.read((c) => checkTableVersion(c, "dialog", this.o.table, TABLE_VERSIONS.dialog));
  }

  /**
   * Start-up load (load_dialog_info_from_db), then `DELETE ... WHERE state=5`, and in mode 3
   * `DELETE FROM dialog`. `startup` false: MI dlg_db_sync (new dialogs only, no deletes).
   */
  async load(startup = true): Promise<number> {
    let rows: DbValue[][];
    try {
      rows = await this.writer.read((c) => c.queryArrays(LOAD_SQL(this.o.table)));
    } catch (err) {
      throw new TsipsError("TSIPS_ERR_DB_QUERY", `loading table '${this.o.table}' failed: ${(err as Error).message}`, { module: "dialog", cause: err });
    }
    let n = 0;
    this.loading = true;
    try {
      for (const row of rows) if (this.loadRow(row)) n++;
    } finally {
      this.loading = false;
    }
    if (!startup) return n;
    if (this.skipped.deleted > 0) this.writer.submit({ sql: `DELETE FROM ${this.o.table} WHERE state=?`, params: [DLG_STATE_DELETED] });
    if (this.o.mode === 3) {
      this.writer.submit({ sql: `DELETE FROM ${this.o.table}` });
      this.stored.clear();
    }
    return n;
  }

  private loadRow(r: DbValue[]): boolean {
    const [hEntry, hId, callid, fromUri, fromTag, toUri, toTag, startTime, state, timeout, callerCseq, calleeCseq,
      callerRoute, calleeRoute, callerContact, calleeContact, callerSock, calleeSock, vars, profiles, , callerPing, calleePing,
      flags, mangledFrom, mangledTo, modFlags, rtAnswer, rtTimeout, rtHangup] = r;
    if (typeof hEntry !== "number" || typeof hId !== "number" || startTime === null || state === null) {
      this.o.log.error("dialog row with a NULL dlg_id, start_time or state; skipped");
      this.skipped.rejected++;
      return false;
    }
    if (Number(state) === DLG_STATE_DELETED) {
      this.skipped.deleted++;
      return false;
    }
    if (!callid || fromTag === null || toTag === null || callerCseq === null || calleeCseq === null) {
      this.skipped.rejected++;
      return false;
    }
    const cid = str(callid);
    if ((coreHash(cid, this.engine.table.size) >>> 0) !== hEntry) {
      this.o.log.error({ callid: cid, h_entry: hEntry }, "dialog row's h_entry does not match its Call-ID (hash_size changed?); skipped");
      this.skipped.hEntry++;
      return false;
    }
    let dflags = (num(flags) | DLG_FLAG_FROM_DB) >>> 0;
    if (this.o.mode === 3) dflags |= DLG_FLAG_NEW;
    const rec: DlgRecord = {
      callid: cid, callerTag: str(fromTag), calleeTag: str(toTag), fromUri: str(fromUri), toUri: str(toUri),
      hId, startTs: num(startTime), state: Number(state), callerSocket: str(callerSock), calleeSocket: str(calleeSock),
      callerCseq: str(callerCseq), calleeCseq: str(calleeCseq), callerRouteSet: str(callerRoute), calleeRouteSet: str(calleeRoute),
      callerContact: str(callerContact), calleeContact: str(calleeContact), calleeMangledFrom: str(mangledFrom), calleeMangledTo: str(mangledTo),
      callerInSdp: "", callerOutSdp: "", calleeInSdp: "", calleeOutSdp: "", callerAdvContact: "", calleeAdvContact: "",
      vars: str(vars), profiles: str(profiles), userFlags: 0, modFlags: num(modFlags), flags: dflags,
      expiresAt: num(timeout), callerLastGenCseq: num(callerPing), calleeLastGenCseq: num(calleePing),
      onAnswerRoute: str(rtAnswer), onTimeoutRoute: str(rtTimeout), onHangupRoute: str(rtHangup),
    } as DlgRecord;
    const d = this.engine.restore(rec);
    if (!d) {
      this.skipped.rejected++;
      return false;
    }
    d.callerCseq = rec.callerCseq;
    d.flags = this.o.mode === 3 ? (dflags | DLG_FLAG_NEW) >>> 0 : (dflags & ~DLG_FLAG_NEW) >>> 0;
    if (this.o.mode !== 3) this.stored.add(d);
    else this.fresh.add(d);
    return true;
  }

  // ── writes ───────────────────────────────────────────────────────────

  attach(): void {
    this.undo = this.engine.on(["created", "state", "updated", "expired", "terminated"], (ev) => this.onEvent(ev));
  }

  detach(): void {
    this.undo?.();
    this.undo = null;
  }

  private onEvent(ev: DialogEvent): void {
    if (this.loading) return;
    const d = ev.dialog as Dialog;
    const confirmed = d.state === DLG_STATE_CONFIRMED_NA || d.state === DLG_STATE_CONFIRMED;
    if (ev.kind === "terminated" || ev.kind === "expired" || d.state === DLG_STATE_DELETED) {
      this.fresh.delete(d);
      this.dirty.delete(d);
      if (!this.stored.delete(d)) return;
      if (this.o.mode === 1) this.writer.submit(this.deleteStmt([dlgId(d)]));
      else if (this.o.mode === 2) this.deletes.push(dlgId(d));
      return;
    }
    if (!confirmed) return; // only confirmed dialogs are stored
    if (this.o.mode === 3) {
      this.fresh.add(d);
      return;
    }
    const local = ev.origin === "local";
    if (!this.stored.has(d)) {
      // Mode 1 inserts what it confirms itself at once; received dialogs wait for shutdown (mode 1) or the pass (mode 2).
      if (this.o.mode === 1 && local) {
        this.stored.add(d);
        this.writer.submit(this.insertStmt(d, false));
      } else this.fresh.add(d);
      return;
    }
    if (this.o.mode === 1 && local) this.writer.submit(this.updateStmt(d, false));
    else this.dirty.add(d);
  }

  /** The 29 columns (update_dialog_dbinfo); `full` = vars/profiles/flags included (shutdown, restore, flush_vals). */
  insertStmt(d: Dialog, full: boolean): DbStatement {
    const withVp = full || (this.o.flushValsProfiles && (d.flags & DLG_FLAG_VP_CHANGED) !== 0);
    const values: DbValue[] = [
      dlgId(d), d.callid, d.fromUri, d.callerTag, d.toUri, d.calleeTag, orNull(d.calleeMangledFrom), orNull(d.calleeMangledTo),
      d.callerCseq, d.calleeCseq, d.callerLastGenCseq | 0, d.calleeLastGenCseq | 0, orNull(d.callerRouteSet), orNull(d.calleeRouteSet),
      orNull(d.callerContact), orNull(d.calleeContact), d.callerSock?.sockStr ?? null, d.calleeSock?.sockStr ?? null,
      d.state, d.startTs, d.expiresAt, ...this.vp(d, withVp),
      (d.flags & ~(DLG_FLAG_NEW | DLG_FLAG_CHANGED | DLG_FLAG_VP_CHANGED | DLG_FLAG_DB_DELETED)) | 0,
      orNull(d.onAnswerRoute), orNull(d.onTimeoutRoute), orNull(d.onHangupRoute),
    ];
    return { sql: `INSERT INTO ${this.o.table} (${COLS.join(", ")}) VALUES (${COLS.map(() => "?").join(",")})`, params: values };
  }

  /** vars (BLOB), profiles, script_flags, module_flags: NULL/0 unless written "on shutdown" or flushed. */
  private vp(d: Dialog, withVp: boolean): DbValue[] {
    if (!withVp) return [null, null, null, 0];
    if (d.shtag !== undefined) d.storeValue("dlgX_shtag", d.shtag);
    const vars = serializeValues(d.vals);
    const profiles = serializeProfiles(d.links?.map((l) => ({ name: l.profile.fullName, value: l.value })));
    let sflags = "";
    for (let i = 0; i < 32; i++) if (d.userFlags & (1 << i)) sflags += (sflags ? " " : "") + String(i);
    return [vars ? enc.encode(vars) : null, profiles || null, sflags || null, d.modFlags | 0];
  }

  updateStmt(d: Dialog, full: boolean): DbStatement {
    const withVp = full || (this.o.flushValsProfiles && (d.flags & DLG_FLAG_VP_CHANGED) !== 0);
    const [vars, profiles, sflags, mflags] = this.vp(d, withVp);
    return {
      sql: `UPDATE ${this.o.table} SET state=?, timeout=?, caller_cseq=?, callee_cseq=?, caller_ping_cseq=?, callee_ping_cseq=?, flags=?, vars=?, profiles=?, script_flags=?, module_flags=?, caller_contact=?, callee_contact=? WHERE dlg_id=?`,
      params: [d.state, d.expiresAt, d.callerCseq, d.calleeCseq, d.callerLastGenCseq | 0, d.calleeLastGenCseq | 0,
        (d.flags & ~(DLG_FLAG_CHANGED | DLG_FLAG_VP_CHANGED | DLG_FLAG_DB_DELETED)) | 0, vars!, profiles!, sflags!, mflags!,
        orNull(d.callerContact), orNull(d.calleeContact), dlgId(d)],
    };
  }

  deleteStmt(ids: readonly bigint[]): DbStatement {
    return { sql: `DELETE FROM ${this.o.table} WHERE ${ids.map(() => "dlg_id=?").join(" OR ")}`, params: ids };
  }

  /**
   * The mode-2 pass (dialog_update_db), also run once at shutdown (`onShutdown`: every live stored
   * dialog is UPDATEd with vars/profiles/flags).
   */
  pass(onShutdown = false): { inserted: number; updated: number; deleted: number } {
    const stmts: DbStatement[] = [];
    let inserted = 0;
    let updated = 0;
    for (const d of this.fresh) {
      if (d.state === DLG_STATE_DELETED) continue;
      stmts.push(this.insertStmt(d, onShutdown));
      this.stored.add(d);
      inserted++;
    }
    this.fresh.clear();
    const toUpdate = onShutdown ? [...this.stored] : [...this.dirty];
    this.dirty.clear();
    for (const d of toUpdate) {
      if (d.state === DLG_STATE_DELETED || !this.stored.has(d)) continue;
      stmts.push(this.updateStmt(d, onShutdown));
      updated++;
    }
    const ids = this.deletes;
    this.deletes = [];
    const per = Math.max(1, this.o.bulkDelete);
    for (let i = 0; i < ids.length; i += per) stmts.push(this.deleteStmt(ids.slice(i, i + per)));
    for (let i = 0; i < stmts.length; i += 2000) this.writer.submit(stmts.slice(i, i + 2000));
    return { inserted, updated, deleted: ids.length };
  }

  /** MI dlg_restore_db: `DELETE FROM dialog`, then INSERT every dialog in state 3 or 4 with all columns. */
  restoreDb(): void {
    const stmts: DbStatement[] = [{ sql: `DELETE FROM ${this.o.table}` }];
    this.stored.clear();
    this.fresh.clear();
    this.dirty.clear();
    this.deletes = [];
    for (const info of this.engine.dialogs()) {
      const d = info as Dialog;
      if (d.state !== DLG_STATE_CONFIRMED_NA && d.state !== DLG_STATE_CONFIRMED) continue;
      stmts.push(this.insertStmt(d, true));
      this.stored.add(d);
    }
    this.writer.submit(stmts);
  }

  /** MI dlg_db_sync: reads the table again; dialogs not in memory are built as at start-up. */
  async syncFromDb(): Promise<number> {
    return this.load(false);
  }
}

/** The DB side of each running dialog engine (set by init with db_mode > 0). */
export const dialogDbs = new WeakMap<DialogEngine, DialogDb>();

/**
 * Every dialog MI command, answering only once the SQL writes it caused ran (db_mode 1: a
 * reply acknowledges a stored dialog), or after 2 s when the database is away (writes stay queued).
 */
export function settleAfterWrites(mi: Record<string, MiCommandDecl<DialogEngine>>): Record<string, MiCommandDecl<DialogEngine>> {
  const out: Record<string, MiCommandDecl<DialogEngine>> = {};
  for (const [name, decl] of Object.entries(mi)) {
    out[name] = {
      ...decl,
      async run(p, engine) {
        const r = await decl.run(p, engine);
        const db = dialogDbs.get(engine);
        if (db) await db.writer.idle(2000);
        return r;
      },
    };
  }
  return out;
}

/** dlg_db_sync / dlg_restore_db (replace the no-db answers of mi.ts). */
export const dialogDbMi: Record<string, MiCommandDecl<DialogEngine>> = {
  dlg_db_sync: {
    help: "reads the dialog table again; dialogs not in memory are loaded as at start-up",
    params: [[]],
    async run(_p, engine) {
      const db = dialogDbs.get(engine);
      if (!db) throw new MiError(400, "Cannot sync in no-db mode");
      try {
        await db.syncFromDb();
      } catch {
        throw new MiError(400, "Sync mem with DB failed");
      }
      return "OK";
    },
  },
  dlg_restore_db: {
    help: "empties the dialog table and writes every confirmed dialog again, with values and profiles",
    params: [[]],
    async run(_p, engine) {
      const db = dialogDbs.get(engine);
      if (!db) throw new MiError(400, "Cannot restore db in no-db mode!");
      db.restoreDb();
      if (!(await db.writer.idle(10_000))) throw new MiError(400, "Restore dlg DB failed!");
      return "OK";
    },
  },
};
