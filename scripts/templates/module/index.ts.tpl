/**
 * __NAME__: a replicated map of string entries with optional TTLs — a starting point for
 * your own module.
 *
 * - every local change is broadcast to the cluster (`sendAll`), receivers apply it;
 * - a node that starts asks a donor for everything (`startupSync` + `requestSync`) and
 *   serves the same request as a donor (`sync-request` → `syncChunkStart`);
 * - an entry may expire: its absolute expiry travels with it and every node drops it on
 *   its own at that time (nothing is sent), like usrloc's contacts;
 * - an entry may carry a sharing tag: only the node where that tag is active may change
 *   it (MI answers 403 elsewhere), the way dialog treats tagged dialogs;
 * - MI commands and statistics.
 *
 * Loaded with `loadmodule "__NAME__.so"` (from the repo's modules/ or an mpath) or
 * `loadmodule "/abs/path/__NAME__.so"` (→ /abs/path/__NAME__/index.ts).
 */
import { defineModule, int, isTsipsError, MiError, need } from "tsips";
import type { BinPacket } from "tsips";
import type { ClustererApi, ClusterEvent } from "tsips/modules/clusterer/api.ts";
import type { __PASCAL__Api, __PASCAL__Entry, __PASCAL__Refusal } from "./api.ts";
import { CAPABILITY, DATA_VERSION, EntryDelete, EntrySet, SYNC_PACKET_TYPE, SyncEntry } from "./messages.ts";

export type { __PASCAL__Api, __PASCAL__Entry, __PASCAL__SetOptions } from "./api.ts";

const nowSec = (): number => Math.floor(Date.now() / 1000);
const isExpired = (e: __PASCAL__Entry, now = nowSec()): boolean => e.expires !== 0 && e.expires <= now;

const refusalError = (r: __PASCAL__Refusal): MiError =>
  r === "backup" ? new MiError(403, "Node is backup for this entry") : new MiError(500, "Too many entries");

/** The MI view of an entry. */
const show = (e: __PASCAL__Entry): { key: string; value: string; sharing_tag: string; expires_in: number | null } =>
  ({ key: e.key, value: e.value, sharing_tag: e.tag, expires_in: e.expires === 0 ? null : Math.max(0, e.expires - nowSec()) });

export default defineModule({
  name: "__NAME__",
  version: "0.1.0",
  doc: "a replicated map of string entries with TTLs (scaffolded by npm run new-module)",
  params: {
    cluster_id: int({ default: 0, min: 0, doc: "clusterer cluster to replicate to; 0 = local only" }),
    max_entries: int({ default: 1_000_000, min: 1, doc: "entries held at most; set beyond it is refused" }),
    expire_interval: int({ default: 1, min: 1, max: 3600, doc: "seconds between two sweeps of expired entries" }),
  },
  deps: {
    // Needed only when replication is on; then the clusterer is initialised first.
    clusterer: need<ClustererApi>("clusterer", { when: (p) => Number(p.cluster_id) > 0 }),
  },
  stats: {
    entries: { kind: "gauge", doc: "entries held" },
    local_changes: { doc: "sets and deletes made on this node" },
    replicated_out: { doc: "changes broadcast to the cluster" },
    replicated_in: { doc: "changes received from other nodes" },
    sync_entries_in: { doc: "entries received through a sync" },
    expired: { doc: "entries dropped by the expiry sweep" },
    dropped: { doc: "received packets dropped (unknown type or version)" },
  },

  init(ctx): __PASCAL__Api {
    const store = new Map<string, __PASCAL__Entry>();
    const clusterId = ctx.params.cluster_id;
    const cl = ctx.deps.clusterer; // undefined when cluster_id is 0
    ctx.stats.gauge("entries", () => store.size);
    const stat = {
      local: ctx.stats.get("local_changes"),
      out: ctx.stats.get("replicated_out"),
      in: ctx.stats.get("replicated_in"),
      syncIn: ctx.stats.get("sync_entries_in"),
      expired: ctx.stats.get("expired"),
      dropped: ctx.stats.get("dropped"),
    };

    /** Only the node where the tag is active owns a tagged entry. */
    const isBackup = (tag: string): boolean => cl !== undefined && tag !== "" && cl.shtagGet(tag, clusterId) === "backup";

    /** Applies an entry received from another node (an already expired one is ignored). */
    const apply = (e: __PASCAL__Entry): boolean => {
      if (isExpired(e)) return false;
      store.set(e.key, { key: e.key, value: e.value, tag: e.tag, expires: e.expires });
      return true;
    };

    const broadcast = (pkt: BinPacket): void => {
      if (!cl) return;
      // 0 sent, 1 replication disabled, -1 no node reachable, -2 send error: the
      // receivers catch up through the next sync either way.
      const r = cl.sendAll(pkt, clusterId);
      if (r === 0) stat.out.inc();
      else if (r === -2) ctx.log.warn({ capability: CAPABILITY }, "replication send failed");
    };

    const onPacket = (pkt: BinPacket, type: number, src: number): void => {
      try {
        if (type === SYNC_PACKET_TYPE) {
          // One sync packet holds several chunks; each chunk is one entry here.
          if (!SyncEntry.isAccepted(pkt.version)) {
            stat.dropped.inc();
            ctx.log.warn({ version: pkt.version, src }, "sync data of an unsupported version dropped");
            return;
          }
          while (cl!.syncChunkIter(pkt)) {
            if (apply(SyncEntry.popFields(pkt, pkt.version))) stat.syncIn.inc();
          }
          return;
        }
        switch (type) {
          case EntrySet.type:
            apply(EntrySet.decode(pkt));
            break;
          case EntryDelete.type:
            store.delete(EntryDelete.decode(pkt).key);
            break;
          default:
            stat.dropped.inc();
            ctx.log.debug({ type, src }, "unknown packet type dropped");
            return;
        }
        stat.in.inc();
      } catch (err) {
        // TSIPS_ERR_BIN_VERSION (a newer peer) or TSIPS_ERR_BIN_SHORT (a bad packet).
        if (!isTsipsError(err)) throw err;
        stat.dropped.inc();
        ctx.log.warn({ err, type, src }, "replicated packet dropped");
      }
    };

    const onEvent = (ev: ClusterEvent): void => {
      switch (ev.kind) {
        case "sync-request": {
          // We are the donor: push every live entry as one chunk; the clusterer packs the
          // chunks into packets of sync_packet_size and sends them when we return.
          const now = nowSec();
          let n = 0;
          for (const e of store.values()) {
            if (isExpired(e, now)) continue;
            SyncEntry.pushFields(cl!.syncChunkStart(CAPABILITY, clusterId, ev.nodeId, DATA_VERSION), e);
            n++;
          }
          ctx.log.info({ node: ev.nodeId, entries: n }, "sync served");
          break;
        }
        case "sync-done":
          ctx.log.info({ donor: ev.nodeId, chunks: ev.chunks, entries: store.size }, "sync done");
          break;
        case "node-up":
        case "node-down":
          break;
      }
    };

    if (cl) {
      // startupSync: the capability starts "not synced" (no donor picks us) until our own
      // sync is done; requestSync asks the first Up node that has it synced, or queues the
      // request until one shows up (a lone seed declares itself synced after
      // seed_fallback_interval).
      cl.registerCapability({ capability: CAPABILITY, clusterId, onPacket, onEvent, startupSync: true });
      if (cl.requestSync(CAPABILITY, clusterId) < 0) ctx.log.error("sync request failed");
      cl.shtagOnChange(undefined, clusterId, (tag, state) => ctx.log.info({ tag, state }, `sharing tag ${tag} is now ${state} here`));
    }

    // Expiry: each node sweeps on its own; the timer stops itself once the module is destroyed.
    const sweep = setInterval(() => {
      if (!ctx.isRunning()) {
        clearInterval(sweep);
        return;
      }
      const now = nowSec();
      for (const [k, e] of store) {
        if (isExpired(e, now)) {
          store.delete(k);
          stat.expired.inc();
        }
      }
    }, ctx.params.expire_interval * 1000);
    sweep.unref();

    const live = (key: string): __PASCAL__Entry | undefined => {
      const e = store.get(key);
      return e && !isExpired(e) ? e : undefined;
    };

    const api: __PASCAL__Api = {
      get: live,
      set(key, value, opts = {}) {
        const tag = opts.tag ?? "";
        const old = live(key);
        if (isBackup(tag) || (old && isBackup(old.tag))) return "backup";
        if (!store.has(key) && store.size >= ctx.params.max_entries) return "full";
        const e: __PASCAL__Entry = { key, value, tag, expires: opts.ttl ? nowSec() + opts.ttl : 0 };
        store.set(key, e);
        stat.local.inc();
        broadcast(EntrySet.encode(e));
        return true;
      },
      delete(key) {
        const old = live(key);
        if (!old) return false;
        if (isBackup(old.tag)) return "backup";
        store.delete(key);
        stat.local.inc();
        broadcast(EntryDelete.encode({ key }));
        return true;
      },
      *entries() {
        const now = nowSec();
        for (const e of store.values()) if (!isExpired(e, now)) yield e;
      },
      get size() {
        return store.size;
      },
    };
    ctx.log.info({ clusterId, replication: cl !== undefined }, "__NAME__ ready");
    return api;
  },

  // MI after init: TypeScript infers the API type from init before it types the handlers.
  mi: {
    "__NAME___set": {
      help: "creates or replaces an entry (optional ttl in seconds, optional owning sharing tag) and replicates it",
      params: [["key", "value"], ["key", "value", "ttl"], ["key", "value", "sharing_tag"], ["key", "value", "ttl", "sharing_tag"]],
      run: (p, api) => {
        const ttl = p.optInt("ttl");
        if (ttl !== undefined && ttl < 0) throw new MiError(400, "Bad ttl");
        const tag = p.optStr("sharing_tag");
        const r = api.set(p.str("key"), p.str("value"), { ...(ttl !== undefined ? { ttl } : {}), ...(tag !== undefined ? { tag } : {}) });
        if (r !== true) throw refusalError(r);
        return "OK";
      },
    },
    "__NAME___get": {
      help: "one entry (expires_in: seconds left, null = never)",
      params: [["key"]],
      run: (p, api) => {
        const e = api.get(p.str("key"));
        if (!e) throw new MiError(404, "Entry not found");
        return show(e);
      },
    },
    "__NAME___delete": {
      help: "deletes an entry and replicates the delete",
      params: [["key"]],
      run: (p, api) => {
        const r = api.delete(p.str("key"));
        if (r === false) throw new MiError(404, "Entry not found");
        if (r !== true) throw refusalError(r);
        return "OK";
      },
    },
    "__NAME___list": {
      help: "every live entry",
      run: (_p, api) => {
        const entries = [...api.entries()].map(show);
        return { count: entries.length, Entries: entries };
      },
    },
  },
});
