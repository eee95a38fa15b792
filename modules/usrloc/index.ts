/**
 * usrloc: the user location table (AoR → contacts), memory-only, replicated to every node
 * of `location_cluster` in `full-sharing-cluster` mode, wire-compatible with OpenSIPS 3.6.8
 * (spec/usrloc.md). Other modules use it through `api.ts` (`need<UsrlocApi>("usrloc")`).
 */
import { bindDb, dbDeps, DbWriter, defineModule, need, TsipsError } from "tsips";
import type { ClustererApi } from "../clusterer/api.ts";
import { BranchFlags } from "./flags.ts";
import { raiseUsrlocEvent, USRLOC_EVENTS } from "./evi.ts";
import { usrlocMessages } from "./messages.ts";
import { usrlocMi } from "./mi.ts";
import { resolveModes, usesSql, usrlocParams } from "./params.ts";
import { UsrlocReplication } from "./replication.ts";
import { UsrlocService } from "./service.ts";
import { SocketTable } from "./sockets.ts";
import { UsrlocSql } from "./sql.ts";
import { LocationStore, type Udomain } from "./store.ts";

export const DEFAULT_DOMAIN = "location";

const timers = new WeakMap<UsrlocService, NodeJS.Timeout>();

const usrlocDeps = {
  clusterer: need<ClustererApi>("clusterer", { when: (p) => (p.location_cluster as number) > 0 }),
  ...dbDeps(usesSql),
};

type UsrlocStat = "registered_users" | "location-users" | "location-contacts" | "location-expires" |
  "repl_received" | "repl_dropped" | "repl_sent" | "sql_queued" | "sql_written" | "sql_dropped" | "sql_failed" | "sql_reconnects";

// Type arguments are explicit: with `mi` handlers taking the API, TypeScript does not infer
// the API type from a context-sensitive `init(ctx)`.
export default defineModule<typeof usrlocParams, typeof usrlocDeps, UsrlocStat, UsrlocService>({
  name: "usrloc",
  version: "1.0.0",
  doc: "user location table (AoR -> contacts), replicated with full sharing over the clusterer",
  params: usrlocParams,
  deps: usrlocDeps,
  messages: usrlocMessages,
  events: USRLOC_EVENTS,
  stats: {
    registered_users: { kind: "gauge", doc: "AoRs in every table" },
    "location-users": { kind: "gauge", doc: "AoRs in the location table" },
    "location-contacts": { kind: "gauge", doc: "contacts in the location table" },
    "location-expires": { kind: "counter", doc: "contacts of the location table removed by expiry" },
    repl_received: { kind: "counter", doc: "tsips: replication packets and sync chunks applied" },
    repl_dropped: { kind: "counter", doc: "tsips: replication packets dropped (bad version, malformed, unknown table, empty AoR)" },
    repl_sent: { kind: "counter", doc: "tsips: replication packets sent" },
    sql_queued: { kind: "gauge", doc: "tsips: SQL writes waiting (database slow or away)" },
    sql_written: { kind: "gauge", doc: "tsips: SQL statements run since start" },
    sql_dropped: { kind: "gauge", doc: "tsips: SQL writes dropped because the queue was full" },
    sql_failed: { kind: "gauge", doc: "tsips: SQL writes the database refused" },
    sql_reconnects: { kind: "gauge", doc: "tsips: reconnects to the database after it went away" },
  },
  mi: usrlocMi,
  async init(ctx): Promise<UsrlocService> {
    const p = ctx.params;
    let modes;
    try {
      modes = resolveModes(p);
    } catch (e) {
      throw new TsipsError("TSIPS_ERR_PARAM_VALUE", `usrloc: ${(e as Error).message}`, { module: "usrloc" });
    }
    for (const w of modes.warnings) ctx.log.warn(w);

    const flags = new BranchFlags();
    for (const name of [...p.branch_flag, ...(p.nat_bflag ? [p.nat_bflag] : [])]) flags.declare(name);
    const store = new LocationStore({
      hashSlots: modes.hashSlots,
      useDomain: p.use_domain !== 0,
      descTimeOrder: p.desc_time_order !== 0,
      matchingMode: p.matching_mode,
      cseqDelay: p.cseq_delay,
      now: () => Math.floor(Date.now() / 1000),
      rand: () => Math.floor(Math.random() * 0x7fffffff),
      flags,
      sockets: new SocketTable(ctx.core.sockets),
    });
    const clusterer = ctx.deps.clusterer;
    const svc = new UsrlocService(store, {
      useDomain: p.use_domain !== 0,
      miDumpKvStore: p.mi_dump_kv_store !== 0,
      clusterId: p.location_cluster,
      pinging: modes.pinging,
      clusterer,
    });

    // Statistics: registered_users, and <table>-users / -contacts / -expires per table.
    ctx.stats.gauge("registered_users", () => store.totalUsers());
    const addTableStats = (d: Udomain): void => {
      const users = ctx.statsRegistry.register("usrloc", `${d.name}-users`, { kind: "gauge", doc: `AoRs in the ${d.name} table` });
      const contacts = ctx.statsRegistry.register("usrloc", `${d.name}-contacts`, { kind: "gauge", doc: `contacts in the ${d.name} table` });
      const expires = ctx.statsRegistry.register("usrloc", `${d.name}-expires`, { kind: "counter", doc: `contacts of the ${d.name} table removed by expiry` });
      users.compute = () => d.users;
      contacts.compute = () => d.contacts;
      d.expiresStat = expires;
    };
    for (const name of [DEFAULT_DOMAIN, ...p.register_domain]) addTableStats(store.registerDomain(name));
    const registerDomain = svc.registerDomain.bind(svc);
    svc.registerDomain = (name: string) => {
      const known = store.domain(name);
      registerDomain(name);
      if (!known) addTableStats(store.domain(name)!);
    };

    if (p.location_cluster > 0) {
      if (!clusterer) throw new TsipsError("TSIPS_ERR_DEP_MISSING", "usrloc: location_cluster needs the clusterer module", { module: "usrloc" });
      const repl = new UsrlocReplication(store, clusterer, {
        clusterId: p.location_cluster,
        contactRepl: modes.cluster === "full-sharing",
        startupSync: modes.persistency === "sync-from-cluster",
        skipReplicatedDbOps: p.skip_replicated_db_ops !== 0,
        log: ctx.log,
        stats: {
          received: ctx.stats.get("repl_received"),
          dropped: ctx.stats.get("repl_dropped"),
          sent: ctx.stats.get("repl_sent"),
        },
      });
      store.repl = repl;
      svc.repl = repl;
      repl.register();
    }

    if (modes.persistency === "load-from-sql") {
      const url = p.db_url;
      const driver = bindDb("usrloc", url, ctx.deps);
      const conn = await driver.connect(url);
      const writer = new DbWriter(conn, { connect: () => driver.connect(url), log: ctx.log });
      const sql = new UsrlocSql(store, writer, {
        writeMode: modes.sqlWrite === "write-through" ? "write-through" : "write-back",
        useDomain: p.use_domain !== 0,
        maxContactDelete: p.max_contact_delete,
        regenBrokenContactId: p.regen_broken_contactid !== 0,
        flags,
        sockets: store.cfg.sockets,
        log: ctx.log,
      });
      try {
        const t0 = performance.now();
        for (const d of store.domains) {
          await sql.checkTable(d.name);
          const n = await sql.load(d);
          ctx.log.info({ table: d.name, contacts: n, ms: +(performance.now() - t0).toFixed(1) }, `loaded ${n} contacts from SQL table '${d.name}'`);
        }
      } catch (err) {
        await writer.close(0);
        throw err;
      }
      sql.attach();
      svc.sql = sql;
      const st = writer.stats;
      ctx.stats.gauge("sql_queued", () => writer.pending);
      ctx.stats.gauge("sql_written", () => st.written);
      ctx.stats.gauge("sql_dropped", () => st.dropped);
      ctx.stats.gauge("sql_failed", () => st.failed);
      ctx.stats.gauge("sql_reconnects", () => st.reconnects);
    }

    svc.onChange((ev) => raiseUsrlocEvent(ctx.events, ev));

    // Expiry (and, with SQL, the write-back/delete pass) on this node's own timer (never replicated).
    const t = setInterval(() => {
      try {
        if (svc.sql) svc.sql.pass();
        else store.expire();
      } catch (err) {
        ctx.log.error({ err }, "usrloc timer failed");
      }
    }, p.timer_interval * 1000);
    t.unref();
    timers.set(svc, t);
    ctx.log.debug({ modes, slots: modes.hashSlots }, "usrloc ready");
    return svc;
  },
  async destroy(ctx, api: UsrlocService | undefined) {
    if (!api) return;
    const t = timers.get(api);
    if (t) clearInterval(t);
    if (api.sql) {
      // OpenSIPS runs the timer pass once more at shutdown: write-back loses nothing on a clean stop.
      api.sql.pass();
      api.sql.detach();
      const left = api.sql.writer.pending;
      await api.sql.writer.close(20_000);
      if (api.sql.writer.pending > 0) ctx.log.error({ lost: api.sql.writer.pending, queued: left }, "SQL writes still queued at shutdown were lost (database unreachable)");
    }
  },
});
