/**
 * The dialog MI commands (spec dialog.md §10) with OpenSIPS's reply shapes, plus the tsips
 * extensions `dlg_create`, `dlg_set_state` and `dlg_bench_create` (names that do not exist
 * in OpenSIPS; see README.md).
 */
import { setImmediate as yieldLoop } from "node:timers/promises";
import { MiError, isTsipsError, miStream, type JsonValue, type MiCommandDecl, type MiParams, type MiResult } from "tsips";
import type { DlgStateNum } from "./api.ts";
import { coreHash } from "tsips";
import { dbId } from "./did.ts";
import type { DialogEngine } from "./engine.ts";
import { DLG_STATE_DELETED, type Dialog } from "./store.ts";

type Obj = { [k: string]: JsonValue };

const pad = (n: number): string => String(n).padStart(2, "0");

/** `YYYY-MM-DD HH:MM:SS` in local time (strftime %Y-%m-%d %H:%M:%S of localtime). */
export function formatDate(unix: number): string {
  const t = new Date(unix * 1000);
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

/** Script flag names: tsips has no script, so set bits print as their numbers ("0 3"). */
function flagNames(flags: number): string {
  if (flags === 0) return "";
  const out: number[] = [];
  for (let i = 0; i < 32; i++) if (flags & (1 << i)) out.push(i);
  return out.join(" ");
}

/** Escapes bytes < 0x20 and >= 0x7f of a string value as OpenSIPS's dlg_list_ctx does. */
export function escapeCtxValue(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u001f\u007f-\uffff]/.test(s)) return s;
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else if (b === 0x08) out += "\\b";
    else if (b === 0x09) out += "\\t";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0c) out += "\\f";
    else if (b === 0x0d) out += "\\r";
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** One `<dialog>` object of dlg_list (keys in OpenSIPS's order). */
export function printDialog(d: Dialog, withCtx: boolean): Obj {
  const o: Obj = {
    ID: d.id,
    db_id: dbId(d.hEntry, d.hId),
    state: d.state,
    user_flags: flagNames(d.userFlags),
    timestart: d.startTs,
  };
  if (d.startTs !== 0) o["datestart"] = formatDate(d.startTs);
  const timeout = d.state === DLG_STATE_DELETED ? 0 : d.expiresAt;
  o["timeout"] = timeout;
  if (timeout !== 0) o["dateout"] = formatDate(timeout);
  o["callid"] = d.callid;
  o["from_uri"] = d.fromUri;
  o["to_uri"] = d.toUri;
  o["caller_tag"] = d.callerTag;
  o["caller_contact"] = d.callerContact;
  o["callee_cseq"] = d.callerCseq;
  o["caller_route_set"] = d.callerRouteSet;
  o["caller_bind_addr"] = d.callerSock?.realName ?? "";
  if (d.callerInSdp) o["caller_sdp"] = d.callerInSdp;
  if (d.callerOutSdp) o["caller_sent_sdp"] = d.callerOutSdp;
  const callee: Obj = {
    callee_tag: d.calleeTag,
    callee_contact: d.calleeContact,
    caller_cseq: d.calleeCseq,
    callee_route_set: d.calleeRouteSet,
    callee_bind_addr: d.calleeSock?.realName ?? null,
  };
  if (d.calleeInSdp) callee["callee_sdp"] = d.calleeInSdp;
  if (d.calleeOutSdp) callee["callee_sent_sdp"] = d.calleeOutSdp;
  o["CALLEES"] = [callee];
  if (withCtx) {
    const ctx: Obj = {};
    if (d.vals && d.vals.size > 0) {
      const vals: JsonValue[] = [];
      // newest first, as OpenSIPS walks its value list
      for (const [k, v] of [...d.vals].reverse()) vals.push({ [k]: typeof v === "number" ? v : escapeCtxValue(v) });
      ctx["values"] = vals;
    }
    if (d.links && d.links.length > 0) ctx["profiles"] = d.links.map((l) => ({ [l.profile.name]: l.value }));
    o["context"] = ctx;
  }
  return o;
}

/** Above this many dialogs, `dlg_list` streams its reply instead of building one value. */
const STREAM_ABOVE = 2000;

function listReply(e: DialogEngine, withCtx: boolean, params: MiParams): MiResult {
  if (params.has("callid")) {
    const callid = params.str("callid");
    const fromTag = params.optStr("from_tag");
    const d = e.table.findByCallid(hashOf(e, callid), callid, fromTag);
    if (!d || d.state === DLG_STATE_DELETED) throw new MiError(404, "No such dialog");
    return { Dialog: printDialog(d, withCtx) };
  }
  if (params.has("index")) {
    const index = params.int("index");
    const counter = params.int("counter");
    if (index < 0 || counter <= 0) throw new MiError(400, "Invalid index/counter");
    const out: JsonValue[] = [];
    let i = 0;
    for (const d of e.table) {
      if (i++ < index) continue;
      if (out.length >= counter) break;
      out.push(printDialog(d, withCtx));
    }
    return { count: e.table.count, Dialogs: out };
  }
  if (e.table.count <= STREAM_ABOVE) return { Dialogs: [...e.table].map((d) => printDialog(d, withCtx)) };
  // A large table: stream the array so the event loop keeps serving.
  const dialogs = [...e.table];
  return miStream((async function* () {
    yield "{\"Dialogs\":[";
    for (let i = 0; i < dialogs.length; i += 500) {
      const part = dialogs.slice(i, i + 500).map((d) => JSON.stringify(printDialog(d, withCtx))).join(",");
      yield (i === 0 ? "" : ",") + part;
      await yieldLoop();
    }
    yield "]}";
  })());
}

function hashOf(e: DialogEngine, callid: string): number {
  return coreHash(callid, e.table.size);
}

function profileOf(e: DialogEngine, name: string) {
  const def = e.profilesTable.search(name);
  if (!def) throw new MiError(404, "Profile not found");
  return def;
}

/** Maps API errors onto MI errors. */
function mi<T>(fn: () => T, notFound = "Requested Dialog not found"): T {
  try {
    return fn();
  } catch (err) {
    if (isTsipsError(err)) {
      if (err.code === "TSIPS_ERR_DLG_NOT_FOUND") throw new MiError(404, notFound);
      if (err.code === "TSIPS_ERR_DLG_BACKUP") throw new MiError(403, "Node is backup for requested dialog");
      if (err.code === "TSIPS_ERR_DLG_STATE" || err.code === "TSIPS_ERR_DLG_ARG") throw new MiError(400, err.message);
    }
    throw err;
  }
}

/** Every subset of the optional names (in order), each appended to `base`, filtered by `keep`. */
function recipes(base: string[], optional: string[], keep: (r: string[]) => boolean = () => true): string[][] {
  const out: string[][] = [];
  for (let mask = 0; mask < 1 << optional.length; mask++) {
    const r = [...base, ...optional.filter((_, i) => mask & (1 << i))];
    if (keep(r)) out.push(r);
  }
  return out;
}

/** `profiles` of dlg_create: a JSON array of "name" / "name=value", or one string of them separated by ';'. */
function parseProfileArg(p: MiParams): { name: string; value?: string }[] {
  const raw = p.raw("profiles");
  const items = Array.isArray(raw) ? raw.map((x) => String(x)) : String(p.str("profiles")).split(";");
  const out: { name: string; value?: string }[] = [];
  for (const it of items) {
    const s = it.trim();
    if (!s) continue;
    const eq = s.indexOf("=");
    out.push(eq < 0 ? { name: s } : { name: s.slice(0, eq).trim(), value: s.slice(eq + 1) });
  }
  return out;
}

const DLG_CREATE_OPTIONAL = ["from_tag", "to_tag", "state", "timeout", "sharing_tag", "profiles"];

export const dialogMi: Record<string, MiCommandDecl<DialogEngine>> = {
  dlg_list: {
    help: "lists dialogs: all, one by callid [and from_tag], or a page (index, counter)",
    namedOnly: true,
    params: [[], ["callid"], ["callid", "from_tag"], ["index", "counter"]],
    run: (p, e) => listReply(e, false, p),
  },
  dlg_list_ctx: {
    help: "as dlg_list, with each dialog's values and profiles",
    namedOnly: true,
    params: [[], ["callid"], ["callid", "from_tag"], ["index", "counter"]],
    run: (p, e) => listReply(e, true, p),
  },
  dlg_end_dlg: {
    help: "ends a dialog (by ID hentry.hid, or by Call-ID) and replicates the deletion; tsips sends no BYE",
    params: [["dialog_id"], ["dialog_id", "extra_hdrs"]],
    run: (p, e) => {
      const id = p.str("dialog_id");
      const d = e.find(id);
      if (!d || d.state === DLG_STATE_DELETED) throw new MiError(404, "Requested Dialog not found");
      mi(() => e.end(d, "mi"));
      return "OK";
    },
  },
  dlg_db_sync: {
    help: "reloads the dialog table from the DB (tsips: no DB, as db_mode 0)",
    params: [[]],
    run: () => {
      throw new MiError(400, "Cannot sync in no-db mode");
    },
  },
  dlg_restore_db: {
    help: "rewrites the DB from memory (tsips: no DB, as db_mode 0)",
    params: [[]],
    run: () => {
      throw new MiError(400, "Cannot restore db in no-db mode!");
    },
  },
  dlg_cluster_sync: {
    help: "asks the cluster for a full dialog sync (all tags, or only sharing_tag)",
    params: [[], ["sharing_tag"]],
    run: (p, e) => {
      if (!e.dlgRepl) throw new MiError(400, "Dialog replication disabled");
      const rc = e.requestClusterSync(p.optStr("sharing_tag"));
      if (rc === 1) return "Sync already in progress";
      if (rc < 0) throw new MiError(400, "Failed to send sync request");
      return "OK";
    },
  },
  profile_get_size: {
    help: "number of dialogs in a profile (or one value of it); BIN profiles include other nodes' counters",
    params: [["profile"], ["profile", "value"]],
    run: (p, e) => {
      const def = profileOf(e, p.str("profile"));
      const value = def.hasValue ? p.optStr("value") : undefined;
      return {
        Profile: {
          name: def.name, value: value ?? null, count: e.profilesTable.size(def, value),
          shared: def.repl === "cachedb" ? "yes" : "no", replicated: def.repl === "bin" ? "yes" : "no",
        },
      };
    },
  },
  profile_get_values: {
    help: "every value of a profile with its count",
    params: [["profile"]],
    run: (p, e) => {
      const def = profileOf(e, p.str("profile"));
      if (def.repl === "cachedb") throw new MiError(405, "Unsupported command for shared profiles");
      if (!def.hasValue) return [{ value: null, count: e.profilesTable.size(def) }];
      return def.valuesInOrder().map((v) => ({ value: v, count: e.profilesTable.size(def, v) }));
    },
  },
  profile_list_dlgs: {
    help: "the dialogs of a profile (or of one value)",
    params: [["profile"], ["profile", "value"]],
    run: (p, e) => {
      const def = profileOf(e, p.str("profile"));
      const value = def.hasValue ? p.optStr("value") : undefined;
      return { Dialogs: e.profilesTable.dialogsOf(def, value).map((d) => printDialog(d, false)) };
    },
  },
  list_all_profiles: {
    help: "every defined profile",
    params: [[]],
    run: (_p, e) => ({ Profiles: e.profilesTable.defs.map((d) => ({ name: d.name, "has value": d.hasValue })) }),
  },
  profile_end_dlgs: {
    help: "ends every dialog of a profile (or of one value), except those this node is backup for",
    params: [["profile"], ["profile", "value"]],
    run: (p, e) => {
      const def = profileOf(e, p.str("profile"));
      const value = def.hasValue ? p.optStr("value") : undefined;
      for (const d of e.profilesTable.dialogsOf(def, value)) {
        if (d.state === DLG_STATE_DELETED || !e.isOwner(d)) continue;
        e.end(d, "mi");
      }
      return "OK";
    },
  },
  dlg_set_profile: {
    help: "3.6.8 reads a parameter named DID that no recipe has, so every call fails (kept as is)",
    params: [["dlg_id", "profile"], ["dlg_id", "profile", "value"], ["dlg_id", "profile", "value", "clear_values"]],
    run: (p) => {
      p.str("DID"); // OpenSIPS quirk: -32000 "Server error" / "Failed to handle parameter"
      throw new MiError(-32000, "Server error", "Failed to handle parameter");
    },
  },
  dlg_unset_profile: {
    help: "3.6.8 reads a parameter named DID that no recipe has, so every call fails (kept as is)",
    params: [["dlg_id", "profile"], ["dlg_id", "profile", "value"]],
    run: (p) => {
      p.str("DID");
      throw new MiError(-32000, "Server error", "Failed to handle parameter");
    },
  },
  dlg_push_var: {
    help: "sets a string value on dialogs (DID: array of IDs or Call-IDs) and replicates it",
    params: [["dlg_val_name", "dlg_val_value", "DID"]],
    run: (p, e) => {
      const name = p.str("dlg_val_name");
      const value = p.str("dlg_val_value");
      const ids = p.array("DID").map((x) => (typeof x === "number" ? String(Math.trunc(x)) : String(x)));
      for (const id of ids) {
        const d = e.find(id);
        if (!d || d.state === DLG_STATE_DELETED) continue;
        if (!e.isOwner(d)) throw new MiError(403, "Node is backup for requested dialog");
        e.pushValue(d, name, value);
      }
      return "OK";
    },
  },

  // ── tsips extensions (no such command in OpenSIPS) ─────────────────────

  dlg_create: {
    help: "tsips: creates a dialog (callid, from_uri, to_uri; optional from_tag, to_tag [needs from_tag], state 1-4, timeout s, sharing_tag, profiles 'name[=value];...'); returns its ID",
    namedOnly: true,
    // 48 recipes: every subset of the optional names, except to_tag without from_tag.
    params: recipes(["callid", "from_uri", "to_uri"], DLG_CREATE_OPTIONAL, (r) => !r.includes("to_tag") || r.includes("from_tag")),
    run: (p, e) => {
      const state = p.optInt("state");
      if (state !== undefined && (state < 1 || state > 4)) throw new MiError(400, "state must be 1..4");
      const d = mi(() => e.create({
        callid: p.str("callid"), fromUri: p.str("from_uri"), toUri: p.str("to_uri"),
        ...(p.has("from_tag") ? { fromTag: p.str("from_tag") } : {}),
        ...(p.has("to_tag") ? { toTag: p.str("to_tag") } : {}),
        ...(state !== undefined ? { state: state as 1 | 2 | 3 | 4 } : {}),
        ...(p.has("timeout") ? { timeout: p.int("timeout") } : {}),
        ...(p.has("sharing_tag") ? { sharingTag: p.str("sharing_tag") } : {}),
        ...(p.has("profiles") ? { profiles: parseProfileArg(p) } : {}),
      }));
      return { ID: d.id, callid: d.callid, from_tag: d.callerTag, to_tag: d.calleeTag, state: d.state, timeout: d.expiresAt };
    },
  },
  dlg_set_state: {
    help: "tsips: moves a dialog (ID or Call-ID) to state 2-5 (forward only); 3/4 replicate, 5 ends it",
    params: [["dialog_id", "state"]],
    run: (p, e) => {
      const id = p.str("dialog_id");
      const state = p.int("state");
      if (state < 1 || state > 5) throw new MiError(400, "state must be 1..5");
      const d = e.find(id);
      if (!d || d.state === DLG_STATE_DELETED) throw new MiError(404, "Requested Dialog not found");
      mi(() => e.setState(d, state as DlgStateNum));
      return "OK";
    },
  },
  dlg_bench_create: {
    help: "tsips (benchmarks): creates count confirmed dialogs (callid bench-<node>-<n>@tsips), optional timeout, sharing_tag, profiles",
    params: recipes(["count"], ["timeout", "sharing_tag", "profiles"]),
    run: async (p, e) => {
      const count = p.int("count");
      if (count < 1 || count > 1_000_000) throw new MiError(400, "count must be 1..1000000");
      const opts = {
        ...(p.has("timeout") ? { timeout: p.int("timeout") } : {}),
        ...(p.has("sharing_tag") ? { sharingTag: p.str("sharing_tag") } : {}),
        ...(p.has("profiles") ? { profiles: parseProfileArg(p) } : {}),
      };
      const t0 = performance.now();
      let made = 0;
      while (made < count) {
        const n = Math.min(2000, count - made);
        made += mi(() => e.benchCreate(n, e.benchPrefix, opts));
        if (made < count) await yieldLoop(); // let the transport flush between batches
      }
      const ms = performance.now() - t0;
      return { created: made, elapsed_ms: Math.round(ms * 1000) / 1000, per_second: Math.round(made / (ms / 1000)) };
    },
  },
  dlg_bench_end: {
    help: "tsips (benchmarks): ends up to count confirmed dialogs this node owns (DELETED is replicated as for any end)",
    params: recipes(["count"], []),
    run: async (p, e) => {
      const count = p.int("count");
      if (count < 1 || count > 1_000_000) throw new MiError(400, "count must be 1..1000000");
      const t0 = performance.now();
      let ended = 0;
      while (ended < count) {
        const n = mi(() => e.benchEnd(Math.min(2000, count - ended)));
        ended += n;
        if (n === 0) break;
        if (ended < count) await yieldLoop(); // let the transport flush between batches
      }
      const ms = performance.now() - t0;
      return { ended, elapsed_ms: Math.round(ms * 1000) / 1000, per_second: ended ? Math.round(ended / (ms / 1000)) : 0 };
    },
  },
};
