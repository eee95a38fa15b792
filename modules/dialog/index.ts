/**
 * dialog: call dialogs kept in a hash table with lifetimes, profiles and values, replicated
 * to the other nodes of a cluster byte-identically to OpenSIPS 3.6.8 (`dialog-dlg-repl`,
 * `dialog-prof-repl`; spec/dialog.md). tsips routes no SIP: dialogs are created and driven
 * through the module API (`api.ts`) and MI (`dlg_create`, `dlg_set_state`, ...).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { bindDb, dbDeps, DbWriter, defineModule, need, TsipsError, type DbDriver, type DepSpec, type StatDecl } from "tsips";
import type { ClustererApi } from "../clusterer/api.ts";
import { floorPow2 } from "./hash-size.ts";
import { DialogEngine, type DialogStatName } from "./engine.ts";
import { DIALOG_EVENTS, raiseDialogStateEvent } from "./evi.ts";
import { dialogMessages } from "./messages.ts";
import { dialogMi } from "./mi.ts";
import { DialogDb, dialogDbMi, dialogDbs, settleAfterWrites } from "./db.ts";
import { dialogParams } from "./params.ts";
import { dialogV110Messages } from "./v110-messages.ts";
import { ProfileDefinitionError } from "./profiles.ts";
import type { V110Destination } from "./v110-replication.ts";

const stats: Record<DialogStatName, StatDecl> = {
  active_dialogs: { kind: "gauge", doc: "dialogs in state 3 or 4 (confirmed)" },
  early_dialogs: { kind: "gauge", doc: "dialogs in state 2 (early)" },
  processed_dialogs: { doc: "dialogs created here or received from the cluster" },
  expired_dialogs: { doc: "dialogs ended by their lifetime on this node (the owner)" },
  failed_dialogs: { doc: "dialogs ended before they were confirmed" },
  create_sent: { doc: "CREATED packets sent" },
  update_sent: { doc: "UPDATED packets sent" },
  delete_sent: { doc: "DELETED packets sent" },
  create_recv: { doc: "CREATED packets applied (3.6); CREATED datagrams received, whatever their outcome (1.10)" },
  update_recv: { doc: "UPDATED packets applied (3.6); UPDATED datagrams received (1.10)" },
  delete_recv: { doc: "DELETED packets applied (3.6); DELETED datagrams received (1.10)" },
  repl_dropped: { doc: "tsips: dialog/profile packets dropped (bad version, unknown type, malformed, rejected)" },
};

const replicationOn = (p: Record<string, unknown>): boolean =>
  (p["dialog_replication_cluster"] as number) > 0 || (p["profile_replication_cluster"] as number) > 0;

/**
 * `replicate_dialogs_to` values resolved once at startup (1.10 `sip_resolvehost`), in
 * sending order: 1.10 prepends each one, so the last in the cfg goes first.
 */
async function v110Destinations(specs: readonly { host: string; port: number; raw: string }[]): Promise<V110Destination[]> {
  const out: V110Destination[] = [];
  for (const s of specs) {
    let host = s.host;
    if (isIP(host) === 0) {
      try {
        host = (await lookup(host)).address;
      } catch (err) {
        throw new TsipsError("TSIPS_ERR_PARAM_VALUE", `replicate_dialogs_to "${s.raw}": Cannot resolve host ${s.host}`, { module: "dialog", cause: err });
      }
    }
    out.unshift({ host, port: s.port });
  }
  return out;
}

const dbTimers = new WeakMap<DialogEngine, NodeJS.Timeout>();

export default defineModule<typeof dialogParams, { clusterer: DepSpec<ClustererApi, true>; db_sqlite: DepSpec<DbDriver, true>; db_postgres: DepSpec<DbDriver, true> }, DialogStatName, DialogEngine>({
  name: "dialog",
  version: "1.0.0",
  doc: "dialogs with lifetimes, profiles and values, replicated over the cluster (OpenSIPS 3.6.8) or to bin_listen peers (OpenSIPS 1.10)",
  params: dialogParams,
  deps: { clusterer: need<ClustererApi>("clusterer", { when: replicationOn }), ...dbDeps((p) => (p["db_mode"] as number) > 0) },
  stats,
  messages: dialogMessages,
  v110Messages: dialogV110Messages,
  events: DIALOG_EVENTS,
  mi: settleAfterWrites({ ...dialogMi, ...dialogDbMi }),
  async init(ctx) {
    const p = ctx.params;
    const v110 = await v110Destinations(p.replicate_dialogs_to);
    if (v110.length > 0 && p.dialog_replication_cluster > 0) {
      throw new TsipsError("TSIPS_ERR_PARAM_VALUE", "replicate_dialogs_to (OpenSIPS 1.10 replication) and dialog_replication_cluster (3.6 clusterer "
        + "replication) are two replication modes: configure one", { module: "dialog" });
    }
    if (v110.length > 0 && !ctx.bin.v110.listenSocket) {
      throw new TsipsError("TSIPS_ERR_PARAM_VALUE", "replicate_dialogs_to needs a bin_listen = HOST:PORT line: 1.10 dialog datagrams are sent from that socket",
        { module: "dialog" });
    }
    if (p.accept_replicated_dialogs !== 0 && !ctx.bin.v110.listenSocket) {
      ctx.log.warn("accept_replicated_dialogs is on but there is no bin_listen: no 1.10 dialog datagram can arrive");
    }
    const hashSize = floorPow2(p.hash_size);
    if (hashSize !== p.hash_size) ctx.log.warn(`hash_size ${p.hash_size} is not a power of 2, using ${hashSize}`);
    const clusterer = ctx.deps.clusterer;
    const adv = ctx.core.globals.get("advertised_address");
    const enable = p.enable_stats !== 0;
    let engine: DialogEngine;
    try {
      engine = new DialogEngine({
        params: { ...p, hash_size: hashSize },
        clusterer,
        log: ctx.log,
        sockets: ctx.core.sockets,
        ...(adv && adv.kind !== "int" ? { advertisedAddress: adv.value } : {}),
        v110: { destinations: v110, bin: ctx.bin.v110 },
        ...(enable ? { stats: Object.fromEntries(Object.keys(stats).map((n) => [n, ctx.stats.get(n as DialogStatName)])) } : {}),
      });
    } catch (err) {
      if (err instanceof ProfileDefinitionError) throw new TsipsError("TSIPS_ERR_PARAM_VALUE", err.message, { module: "dialog", cause: err });
      throw err;
    }
    if (enable) {
      ctx.stats.gauge("active_dialogs", () => engine.counts().active);
      ctx.stats.gauge("early_dialogs", () => engine.counts().early);
    }
    if (clusterer) engine.benchPrefix = `bench-${clusterer.myNodeId()}`;
    if (p.db_mode > 0) {
      if (!p.db_url) throw new TsipsError("TSIPS_ERR_DB_URL", `db_url not configured for db_mode ${p.db_mode}`, { module: "dialog" });
      const driver = bindDb("dialog", p.db_url, ctx.deps);
      const conn = await driver.connect(p.db_url);
      const writer = new DbWriter(conn, { connect: () => driver.connect(p.db_url), log: ctx.log });
      const db = new DialogDb(engine, writer, {
        mode: p.db_mode as 1 | 2 | 3, table: p.table_name, flushValsProfiles: p.db_flush_vals_profiles !== 0,
        bulkDelete: p.timer_bulk_del_no, log: ctx.log,
      });
      try {
        await db.checkTable();
        const n = await db.load();
        ctx.log.info({ table: p.table_name, dialogs: n, db_mode: p.db_mode }, `loaded ${n} dialogs from SQL table '${p.table_name}'`);
      } catch (err) {
        await writer.close(0);
        throw err;
      }
      db.attach();
      dialogDbs.set(engine, db);
      if (p.db_mode === 2) {
        const t = setInterval(() => db.pass(), p.db_update_period * 1000);
        t.unref();
        dbTimers.set(engine, t);
      }
    }
    engine.on(["state", "terminated"], (ev) => raiseDialogStateEvent(ctx.events, ev));
    engine.start();
    const sip = engine.sockets.defaultSip();
    ctx.log.info({ hash_size: hashSize, profiles: engine.profilesTable.defs.map((d) => d.fullName), socket: sip?.sockStr,
      dialog_replication_cluster: engine.dlgRepl ? p.dialog_replication_cluster : 0,
      profile_replication_cluster: engine.profRepl ? p.profile_replication_cluster : 0,
      ...(v110.length ? { replicate_dialogs_to: v110.map((d) => `${d.host}:${d.port}`) } : {}),
      ...(p.accept_replicated_dialogs ? { accept_replicated_dialogs: 1 } : {}) }, "dialog module initialised");
    return engine;
  },
  async destroy(_ctx, api) {
    api?.stop();
    const db = api && dialogDbs.get(api);
    if (db) {
      const t = dbTimers.get(api);
      if (t) clearInterval(t);
      // Modes 1-3: one last pass "on shutdown" (new dialogs inserted, every stored one updated with values/profiles).
      db.pass(true);
      db.detach();
      await db.writer.close(5000);
    }
  },
});
