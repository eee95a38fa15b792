/**
 * __NAME__: a replicated map of string entries with optional TTLs — a starting point for
 * your own module, built on the core replication helper:
 *
 * - messages.ts declares the record once (`defineReplication`); `ReplicatedMap` broadcasts
 *   every local change, applies the peers' changes, asks a donor for everything at startup
 *   and serves the same request as a donor, drops versions it does not accept (counted);
 * - what is specific to this module stays here: an entry's expiry is absolute and travels
 *   with it, so every node drops it on its own at that time (nothing is sent); an entry may
 *   carry a sharing tag, and only the node where that tag is active may change it (MI answers
 *   403 elsewhere), the way dialog treats tagged dialogs; a size limit;
 * - MI commands and statistics.
 *
 * Under the hood it is the raw clusterer API (registerCapability, sendAll, syncChunkStart,
 * syncChunkIter): see docs/writing-modules.md when you need full control.
 *
 * Loaded with `loadmodule "__NAME__.so"` (from the repo's modules/ or an mpath) or
 * `loadmodule "/abs/path/__NAME__.so"` (→ /abs/path/__NAME__/index.ts).
 */
import { defineModule, int, MiError, ReplicatedMap, startReplication } from "tsips";
import type { __PASCAL__Api, __PASCAL__Entry, __PASCAL__Refusal } from "./api.ts";
import { entries } from "./messages.ts";

export type { __PASCAL__Api, __PASCAL__Entry, __PASCAL__SetOptions } from "./api.ts";

type Stored = Omit<__PASCAL__Entry, "key">;

const nowSec = (): number => Math.floor(Date.now() / 1000);
const isExpired = (e: Stored, now = nowSec()): boolean => e.expires !== 0 && e.expires <= now;

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
    // cluster_id (0 = local only) and startup_sync, as every replicated module has them
    ...entries.params,
    max_entries: int({ default: 1_000_000, min: 1, doc: "entries held at most; set beyond it is refused" }),
    expire_interval: int({ default: 1, min: 1, max: 3600, doc: "seconds between two sweeps of expired entries" }),
  },
  // the clusterer, needed only when cluster_id > 0 (then it is initialised first)
  deps: entries.deps,
  stats: {
    ...entries.stats, // keys, repl_sent, repl_received, repl_dropped, expired
    local_changes: { doc: "sets and deletes made on this node" },
  },
  messages: entries.messages, // bin-dump decodes them by field name

  init(ctx): __PASCAL__Api {
    const store = startReplication(ctx, (cluster, counters) => new ReplicatedMap(entries, cluster, ctx.log, counters, {
      shtag: (_key, e) => e.tag || undefined, // store.owns(key): the entry's tag is active here
      accept: (_key, e) => !isExpired(e), // an entry that expired on its way is ignored
    }));
    const local = ctx.stats.get("local_changes");

    // Expiry: each node sweeps on its own; the timer stops itself once the module is destroyed.
    const sweep = setInterval(() => {
      if (!ctx.isRunning()) return clearInterval(sweep);
      const now = nowSec();
      let n = 0;
      for (const [key, e] of store) if (isExpired(e, now) && store.delete(key, false)) n++;
      if (n > 0) ctx.stats.inc("expired", n);
    }, ctx.params.expire_interval * 1000);
    sweep.unref();

    const live = (key: string): __PASCAL__Entry | undefined => {
      const e = store.get(key);
      return e && !isExpired(e) ? { key, ...e } : undefined;
    };

    const api: __PASCAL__Api = {
      get: live,
      set(key, value, opts = {}) {
        const tag = opts.tag ?? "";
        if (!store.ownsTag(tag) || (live(key) && !store.owns(key))) return "backup";
        if (store.get(key) === undefined && store.size >= ctx.params.max_entries) return "full";
        store.set(key, { value, tag, expires: opts.ttl ? nowSec() + opts.ttl : 0 });
        local.inc();
        return true;
      },
      delete(key) {
        if (!live(key)) return false;
        if (!store.owns(key)) return "backup";
        store.delete(key);
        local.inc();
        return true;
      },
      *entries() {
        const now = nowSec();
        for (const [key, e] of store) if (!isExpired(e, now)) yield { key, ...e };
      },
      get size() {
        return store.size;
      },
    };
    ctx.log.info({ clusterId: ctx.params.cluster_id, replication: store.cluster !== undefined }, "__NAME__ ready");
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
        const list = [...api.entries()].map(show);
        return { count: list.length, Entries: list };
      },
    },
  },
});
