/**
 * usrloc MI commands (spec/usrloc.md §8, OpenSIPS ul_mi.c): replies shaped exactly as
 * OpenSIPS 3.6.8 prints them. `ul_dump` streams its reply so a table of 100k contacts
 * neither builds one huge value nor blocks other MI requests.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { MiError, miStream, type JsonValue, type MiCommandDecl, type MiParams, type MiResult } from "tsips";
import { MATCH_CONTACT_CALLID, UL_EXPIRED_TIME, type Ci, type Ucontact, type Udomain, type Urecord } from "./store.ts";
import type { UsrlocService } from "./service.ts";

/** Call-ID and User-Agent of contacts added with ul_add. */
export const MI_UL_CALLID = "dfjrewr12386fd6-343@opensips.mi";
export const MI_UL_UA = "OpenSIPS MI Server";

/** `q2str`: "" unspecified, "1" for >= 1000, "0" for <= 0, else "0." and the digits without trailing zeros. */
export function q2str(q: number): string {
  if (q === -1) return "";
  if (q >= 1000) return "1";
  if (q <= 0) return "0";
  let d = String(q).padStart(3, "0");
  while (d.endsWith("0")) d = d.slice(0, -1);
  return "0." + d;
}

/** `str2q`: "0", "1", "0.d[d[d]]", "1.0[0[0]]" with optional surrounding whitespace; q × 1000 or undefined. */
export function str2q(s: string): number | undefined {
  const m = /^[ \t\r\n]*(?:(0)(?:\.(\d{1,3}))?|(1)(?:\.(0{1,3}))?)[ \t\r\n]*$/.exec(s);
  if (!m) return undefined;
  if (m[3]) return 1000;
  return m[2] ? Number(m[2].padEnd(3, "0")) : 0;
}

function findTable(api: UsrlocService, p: MiParams): Udomain {
  const d = api.store.domain(p.str("table_name"));
  if (!d) throw new MiError(404, "Table not found");
  return d;
}

/** `mi_fix_aor`. */
function fixAor(api: UsrlocService, aor: string): string {
  const at = aor.indexOf("@");
  if (api.opts.useDomain) {
    if (at < 0) throw new MiError(400, "Domain missing in AOR");
    return aor;
  }
  return at >= 0 ? aor.slice(0, at) : aor;
}

/** One contact as `mi_add_aor_node` prints it. */
export function contactObject(api: UsrlocService, c: Ucontact, now: number): Record<string, JsonValue> {
  const o: Record<string, JsonValue> = {
    Contact: c.uri,
    ContactID: c.contactIdText,
    Expires: c.expires === 0 ? "permanent" : c.expires === UL_EXPIRED_TIME ? "deleted" : now > c.expires ? "expired" : c.expires - now,
    Q: q2str(c.q),
    Callid: c.callid,
    Cseq: c.cseq,
  };
  if (c.userAgent) o["User-agent"] = c.userAgent;
  const x = c.ext;
  if (x?.received) o.Received = x.received;
  if (x?.path) o.Path = x.path;
  o.State = c.state;
  o.Flags = c.flags >>> 0;
  o.Cflags = api.store.cfg.flags.toNames(c.cflags);
  if (c.socket) o.Socket = api.store.cfg.sockets.display(c.socket);
  o.Methods = c.methods >>> 0;
  if (x?.attr) o.Attr = x.attr;
  if (x?.instance) o.SIP_instance = x.instance;
  if (x && x.pingLatency > 0) o["Ping-Latency"] = x.pingLatency;
  if (api.opts.miDumpKvStore && x?.kv) o["KV-Store"] = x.kv;
  return o;
}

/** An AoR: `{AOR, Contacts[, KV-Store]}`; brief: `{AOR}`. */
export function aorObject(api: UsrlocService, r: Urecord, now: number, brief = false): Record<string, JsonValue> {
  if (brief) return { AOR: r.aor };
  const contacts: JsonValue[] = [];
  for (let c = r.contacts; c; c = c.next) contacts.push(contactObject(api, c, now));
  const o: Record<string, JsonValue> = { AOR: r.aor, Contacts: contacts };
  if (api.opts.miDumpKvStore && r.kvJson) o["KV-Store"] = r.kvJson;
  return o;
}

/** Contacts between two yields to the event loop while streaming ul_dump. */
const DUMP_YIELD_EVERY = 2000;
/** Text accumulated before a chunk is handed to the transport. */
const DUMP_CHUNK_CHARS = 64 * 1024;

/** The ul_dump reply as JSON text chunks (slot by slot, AoRs in map order). */
export async function* dumpChunks(api: UsrlocService, brief: boolean): AsyncGenerator<string> {
  const now = api.now();
  yield '{"Domains":[';
  let firstDomain = true;
  for (const d of api.store.domains) {
    let buf = (firstDomain ? "" : ",") + `{"name":${JSON.stringify(d.name)},"hash_size":${d.size},"AORs":[`;
    firstDomain = false;
    let first = true;
    let sinceYield = 0;
    for (let i = 0; i < d.size; i++) {
      if (!d.slots[i]) continue;
      for (const r of d.slotRecords(i)) {
        buf += (first ? "" : ",") + JSON.stringify(aorObject(api, r, now, brief));
        first = false;
        sinceYield += brief ? 1 : 1 + r.contactCount;
      }
      if (buf.length >= DUMP_CHUNK_CHARS) {
        yield buf;
        buf = "";
      }
      if (sinceYield >= DUMP_YIELD_EVERY) {
        sinceYield = 0;
        if (buf) {
          yield buf;
          buf = "";
        }
        await yieldToLoop();
      }
    }
    yield buf + "]}";
  }
  yield "]}";
}

export const usrlocMi: Record<string, MiCommandDecl<UsrlocService>> = {
  ul_rm: {
    help: "deletes an AoR and all its contacts (replicated)",
    params: [["table_name", "aor"]],
    run(p, api) {
      const d = findTable(api, p);
      const aor = fixAor(api, p.str("aor"));
      api.store.deleteRecord(d, aor, "local");
      return api.settled("OK");
    },
  },
  ul_rm_contact: {
    help: "deletes one contact of an AoR, matched by URI (replicated)",
    params: [["table_name", "aor", "contact"]],
    run(p, api) {
      const d = findTable(api, p);
      const aor = fixAor(api, p.str("aor"));
      const r = d.get(aor);
      if (!r) throw new MiError(404, "AOR not found");
      const c = api.store.findByUri(r, p.str("contact"));
      if (!c) throw new MiError(404, "Contact not found");
      api.store.deleteContact(d, r, c, null, "local");
      api.store.releaseRecord(d, r, "local");
      return api.settled("OK");
    },
  },
  ul_dump: {
    help: "dumps every AoR and contact (streamed); brief = AoRs only",
    params: [[], ["brief"]],
    run(p, api): MiResult {
      const brief = p.has("brief") ? p.int("brief") !== 0 : false;
      return miStream(dumpChunks(api, brief));
    },
  },
  ul_flush: {
    help: "runs the SQL timer pass now: INSERT new, UPDATE changed, DELETE expired/removed contacts",
    params: [[]],
    async run(_p, api) {
      if (!api.sql) return "OK";
      api.sql.pass();
      return api.settled("OK", 10_000);
    },
  },
  ul_add: {
    help: "adds or updates a contact: expires in seconds from now (0 = permanent), q as \"0.5\" (replicated)",
    params: [["table_name", "aor", "contact", "expires", "q", "flags", "cflags", "methods"]],
    run(p, api) {
      const d = findTable(api, p);
      const aor = fixAor(api, p.str("aor"));
      const uri = p.str("contact");
      const expires = p.int("expires");
      const q = str2q(p.str("q"));
      if (q === undefined) throw new MiError(400, "Bad parameter value");
      const flags = p.int("flags");
      const cflags = p.int("cflags");
      const methods = p.int("methods");
      const store = api.store;
      const now = store.cfg.now();
      const r = d.get(aor) ?? store.insertRecord(d, aor, "local");
      const c = store.findByUri(r, uri);
      const ci: Ci = {
        hasId: false, idHi: 0, idLo: 0, callid: MI_UL_CALLID, userAgent: MI_UL_UA, socket: "",
        expires: expires !== 0 ? now + expires : 0, q, cseq: c ? c.cseq : 1, flags, cflags, methods,
        lastModified: 0, path: "", attr: "", received: "", instance: "", kv: "", regId: 0,
      };
      if (c) store.updateContact(d, r, c, ci, MATCH_CONTACT_CALLID, "local");
      else store.insertContact(d, r, uri, ci, MATCH_CONTACT_CALLID, "local");
      store.releaseRecord(d, r, "local");
      return api.settled("OK");
    },
  },
  ul_show_contact: {
    help: "shows one AoR and its contacts",
    params: [["table_name", "aor"]],
    run(p, api) {
      const d = findTable(api, p);
      const aor = fixAor(api, p.str("aor"));
      const r = d.get(aor);
      if (!r) throw new MiError(404, "AOR not found");
      return aorObject(api, r, api.now());
    },
  },
  ul_sync: {
    help: "empties the SQL table (or the AoR's rows); the contacts are written again at the next pass or ul_flush",
    params: [["table_name"], ["table_name", "aor"]],
    run(p, api) {
      if (!api.sql) throw new MiError(200, "Contacts already synced");
      const d = findTable(api, p);
      if (p.has("aor")) {
        const r = d.get(p.str("aor"));
        if (!r) throw new MiError(404, "AOR not found");
        api.sql.sync(d, r);
      } else api.sql.sync(d);
      return api.settled("OK");
    },
  },
  ul_cluster_sync: {
    help: "asks a cluster donor for all contacts again",
    params: [[]],
    run(_p, api) {
      if (!api.repl) throw new MiError(400, "Clustering not enabled");
      if (api.repl.requestSync() < 0) throw new MiError(400, "Failed to send sync request");
      return "OK";
    },
  },
  ul_bench_load: {
    help: "tsips: inserts count contacts through the module API (benchmarks); one AoR per per_aor contacts",
    params: [["count"], ["count", "prefix"], ["count", "prefix", "per_aor"]],
    namedOnly: true,
    async run(p, api) {
      const count = p.int("count");
      const prefix = p.optStr("prefix") ?? "bench";
      const perAor = Math.max(1, p.optInt("per_aor") ?? 1);
      const t0 = performance.now();
      const expires = api.now() + 3600;
      for (let i = 0; i < count; i++) {
        const a = Math.floor(i / perAor);
        api.insert("location", `${prefix}${a}`, `sip:${prefix}${a}-${i % perAor}@10.0.${(a >> 8) & 255}.${a & 255}:5060`, {
          expires, callid: `${prefix}-${i}@bench`, cseq: 1, q: 1000, userAgent: "tsips-bench/1.0",
        });
        if ((i & 4095) === 4095) await yieldToLoop();
      }
      return api.settled({ inserted: count, ms: Math.round(performance.now() - t0) }, 30_000);
    },
  },
};
