/**
 * clusterer: nodes, links, topology and routing, capabilities and data sync, sharing tags,
 * wire-compatible with OpenSIPS 3.6.8 (spec/clusterer.md). Script provisioning only
 * (`db_mode=0`).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import { bindDb, dbDeps, DbWriter, defineModule, TsipsError, type JsonValue, type StatDecl } from "tsips";
import { applyRows, clustererDbMi, clustererDbs, loadClustererTable, tableSignature, type ClustererDb, type ClustererTable } from "./db.ts";
import type { ClustererApi } from "./api.ts";
import { createClustererApi } from "./api-impl.ts";
import { Engine, normalizeHost } from "./engine.ts";
import { attachEngine, clustererMi, engineOf } from "./mi.ts";
import { DEFAULT_COLUMNS, type NodeInfoColumns } from "./node-info.ts";
import { genericMi } from "./generic-mi.ts";
import { ClustererReports } from "./sr.ts";
import { clustererMessages } from "./messages.ts";
import { clustererParams, effectiveTimers } from "./params.ts";
import type { NodeUrl } from "./node-info.ts";

const counters = [
  "dropped_self", "dropped_unknown_cluster", "dropped_local_disabled", "dropped_unknown_node", "dropped_bad_ip",
  "dropped_node_disabled", "dropped_cap_disabled", "dropped_malformed", "dropped_stale", "dropped_no_rerouting",
  "dropped_bad_version", "dropped_unknown_type", "dropped_long_path", "dropped_bad_identity",
  "send_failures", "pings_sent", "packets_routed", "packets_forwarded", "packets_buffered",
  "node_up_events", "node_down_events", "peer_events", "fast_probes", "fast_downs", "heal_syncs", "cap_announcements", "unknown_id_sent", "nodes_discovered", "mi_commands_run",
  "sync_requests_sent", "sync_retries", "syncs_served", "sync_packets_sent", "sync_chunks_sent", "sync_chunks_received",
  "syncs_done", "sync_timeouts", "seed_fallbacks", "shtag_announcements", "shtag_takeovers",
] as const;

type CounterName = (typeof counters)[number];
type StatName = CounterName | "clusterer_nodes" | "clusterer_nodes_up" | "clusterer_nodes_down";

const counterDocs: Partial<Record<CounterName, string>> = {
  dropped_unknown_cluster: "packets dropped: unknown cluster id",
  dropped_unknown_node: "packets dropped: unknown source node id",
  dropped_bad_ip: "packets dropped: source IP is not a known node's",
  dropped_bad_identity: "packets dropped: the peer's certificate does not name the node it speaks for (proto_bins node_identity)",
  dropped_stale: "topology/capability updates dropped by the sequence check",
  node_down_events: "nodes that became unreachable",
  fast_probes: "immediate probes after a peer connection closed (tsips)",
  fast_downs: "links set Down at once because a connect was refused or reset (tsips down_on_refused)",
  heal_syncs: "merge syncs requested when a link returned to Up after a failure (tsips heal_sync)",
  cap_announcements: "periodic re-announcements of this node's capability states (tsips cap_announce_interval)",
  syncs_done: "complete syncs received",
  sync_retries: "syncs restarted with another donor after the donor went down (tsips)",
};

const stats = {
  clusterer_nodes: { kind: "gauge", doc: "known nodes (all clusters, local node excluded)" },
  clusterer_nodes_up: { kind: "gauge", doc: "reachable nodes" },
  clusterer_nodes_down: { kind: "gauge", doc: "unreachable nodes" },
  ...Object.fromEntries(counters.map((n) => [n, { kind: "counter", doc: counterDocs[n] ?? n.replaceAll("_", " ") }])),
} as Record<StatName, StatDecl>;

async function resolveUrl(u: NodeUrl): Promise<void> {
  if (isIP(u.host) !== 0) return;
  const r = await lookup(u.host);
  u.host = r.address;
}

const clustererDeps = dbDeps((p) => p["db_mode"] === 1);

export default defineModule<typeof clustererParams, typeof clustererDeps, StatName, ClustererApi>({
  name: "clusterer",
  version: "1.0.0",
  doc: "cluster membership, link monitoring, routing, data sync and sharing tags (OpenSIPS 3.6.8 compatible)",
  params: clustererParams,
  stats,
  deps: clustererDeps,
  messages: clustererMessages,
  events: ["E_CLUSTERER_NODE_STATE_CHANGED", "E_CLUSTERER_SHARING_TAG_CHANGED", "E_CLUSTERER_REQ_RECEIVED", "E_CLUSTERER_RPL_RECEIVED"],
  mi: { ...clustererMi, ...genericMi, ...clustererDbMi(clustererMi) },
  async init(ctx) {
    const p = ctx.params;
    let table: ClustererTable | undefined;
    let db: ClustererDb | undefined;
    if (p.db_mode === 1) {
      if (p.my_node_id < 1) throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", "my_node_id must be set (> 0) in db_mode 1", { module: "clusterer" });
      const driver = bindDb("clusterer", p.db_url, ctx.deps);
      const conn = await driver.connect(p.db_url);
      const writer = new DbWriter(conn, { connect: () => driver.connect(p.db_url), log: ctx.log });
      try {
        table = await loadClustererTable(writer, p.db_table, p.my_node_id);
      } catch (err) {
        await writer.close(0);
        throw err;
      }
      if (p.my_node_info.length > 0 || p.neighbor_node_info.length > 0) ctx.log.info("Running in db mode, provisioning from the script is ignored");
      db = { writer, table: p.db_table, myNodeId: p.my_node_id, signature: tableSignature(table) };
    }
    const columns: NodeInfoColumns = {
      ...DEFAULT_COLUMNS,
      cluster_id: p.cluster_id_col, node_id: p.node_id_col, url: p.url_col, no_ping_retries: p.no_ping_retries_col,
      priority: p.priority_col, sip_addr: p.sip_addr_col, flags: p.flags_col, description: p.description_col,
    };
    const declared = new Set<string>(counters);
    const enableStats = p.enable_stats !== 0;
    const reports = new ClustererReports(ctx.sr.group("clusterer"));
    let engine: Engine;
    try {
      engine = new Engine({
        myNodeId: p.my_node_id,
        myNodeInfo: table ? table.myNodeInfo : p.my_node_info,
        neighborNodeInfo: table ? table.neighborNodeInfo : p.neighbor_node_info,
        columns,
        timers: effectiveTimers(p),
        sharingTags: p.sharing_tag,
        autoTakeover: p.shtag_auto_takeover !== 0,
        downOnRefused: p.down_on_refused !== 0,
        recvLiveness: p.ping_on_silence !== 0,
        reprobeDown: p.reprobe_down !== 0,
        healSync: p.heal_sync !== 0,
        capAnnounceInterval: p.cap_announce_interval * 1000,
      }, {
        bin: ctx.bin,
        log: ctx.log,
        now: () => performance.now(),
        wallSeconds: () => Math.floor(Date.now() / 1000),
        every: (ms, fn) => {
          const t = setInterval(fn, ms);
          t.unref();
          return () => clearInterval(t);
        },
        defer: (fn) => void setImmediate(fn),
        raiseEvent: (name, params) => {
          reports.onEvent(name, params);
          ctx.events.raise(name, params);
        },
        capStatus: (capability, status, report) => reports.capStatus(capability, status, report),
        runMi: (method, params) => ctx.mi.run(method, params as JsonValue[]),
        stat: (name, n = 1) => {
          if (enableStats && declared.has(name)) ctx.stats.get(name as StatName).inc(n);
        },
      });
    } catch (err) {
      if (err instanceof TsipsError) throw err;
      throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", err instanceof Error ? err.message : String(err),
        { module: "clusterer", location: ctx.cfgLocation("my_node_info", "neighbor_node_info"), cause: err });
    }
    if (engine.clusters.size === 0) ctx.log.warn("no my_node_info: this node is in no cluster");

    // hostnames are resolved once, at load time
    for (const c of engine.clusters.values()) {
      await resolveUrl(c.self.url);
      for (const n of c.nodes) await resolveUrl(n.url);
      // the cluster's send socket: a listener of the own URL's protocol, host and port (§3.1)
      const bins = ctx.core.sockets.filter((s) => s.proto === c.self.url.proto);
      const match = bins.some((s) => (s.port ?? (s.proto === "bins" ? 5556 : 5555)) === c.self.url.port &&
        (s.host === "*" || s.host === "0.0.0.0" || s.host === "::" || normalizeHost(s.host) === normalizeHost(c.self.url.host)));
      if (bins.length > 0 && !match) {
        throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG",
          `cluster ${c.clusterId}: my_node_info url ${c.self.url.text} matches no ${c.self.url.proto} socket (${bins.map((s) => s.raw).join(", ")})`,
          { module: "clusterer", location: ctx.cfgLocation("my_node_info") });
      }
      if (bins.length === 0) ctx.log.warn({ cluster: c.clusterId }, `no ${c.self.url.proto} socket defined: this node cannot be reached by its peers`);
      // bins-tls.md §3.2: a mixed bin/bins cluster never links up (or opens a connection per packet in OpenSIPS)
      for (const n of c.nodes) {
        if (n.url.proto !== c.self.url.proto) {
          ctx.log.warn({ cluster: c.clusterId, node: n.nodeId }, `cluster ${c.clusterId}: node ${n.nodeId} has url ${n.url.text} but this node uses ${c.self.url.proto}: all nodes of a cluster must use the same protocol`);
        }
      }
    }

    if (enableStats) {
      const count = (pred: (reachable: boolean) => boolean) => () => {
        let k = 0;
        for (const c of engine.clusters.values()) for (const n of c.nodes) if (pred(n.reachable)) k++;
        return k;
      };
      ctx.stats.gauge("clusterer_nodes", count(() => true));
      ctx.stats.gauge("clusterer_nodes_up", count((r) => r));
      ctx.stats.gauge("clusterer_nodes_down", count((r) => !r));
    }

    ctx.hooks.bin.peer.tap((ev) => engine.batch(() => engine.onPeerEvent(ev)));
    ctx.hooks.lifecycle.ready.tap(() => {
      engine.running = true;
      // first probes right away rather than one heartbeat period after start
      engine.batch(() => engine.heartbeat());
    });
    if (table) applyRows(engine, table);
    engine.start();
    ctx.log.info({ node: engine.myNodeId, clusters: [...engine.clusters.keys()] }, `clusterer: node ${engine.myNodeId} in cluster(s) ${[...engine.clusters.keys()].join(", ")}`);
    const api = attachEngine(createClustererApi(engine), engine);
    if (db) clustererDbs.set(api, db);
    return api;
  },
  async destroy(_ctx, api) {
    if (api) engineOf(api).stop();
    const db = api && clustererDbs.get(api);
    if (db) await db.writer.close(2000);
  },
});
