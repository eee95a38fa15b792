/**
 * Every OpenSIPS 3.6.8 dialog modparam (spec dialog.md §9 and the module's parameter list).
 * Implemented where they mean something without SIP routing and a database; the SIP-, DB- and
 * CacheDB-only ones are accepted with one `ignored:` warning so real configs load unchanged.
 */
import { int, str, strList, type ParamSpec } from "tsips";

/**
 * Syntax of a profile list, checked at the modparam line (`add_profile_definitions`):
 * `;`-separated names of letters, digits, `_`, `-`, each with an optional `/s` or `/b`.
 */
export function checkProfileList(s: string): string {
  const seen = new Set<string>();
  for (const part of s.split(";")) {
    const item = part.trim();
    if (item === "") continue;
    const slash = item.indexOf("/");
    const name = (slash < 0 ? item : item.slice(0, slash)).trim();
    const suffix = slash < 0 ? "" : item.slice(slash + 1).trim();
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`bad profile name <${name}> - use only letters, digits, '_' and '-'`);
    const c = suffix[0];
    if (c !== undefined && c !== "s" && c !== "b" && /[A-Za-z0-9]/.test(c)) throw new Error(`Invalid letter in profile definition </${c}>!`);
    const key = `${name}/${c === "s" || c === "b" ? c : ""}`;
    if (seen.has(key)) throw new Error(`duplicate dialog profile registered <${name}>`);
    seen.add(key);
  }
  return s;
}

/** One `replicate_dialogs_to` value as written (the host is resolved at startup). */
export interface V110DestinationSpec {
  host: string;
  port: number;
  /** As written in the cfg. */
  raw: string;
}

/**
 * `[udp:]host[:port]` as 1.10's `parse_phostport` reads it: proto:host:port, host:port,
 * proto:host or host (IPv6 in brackets). Only UDP: 1.10 sends BIN datagrams only.
 */
export function parseReplicationDestination(s: string): V110DestinationSpec {
  const raw = s.trim();
  let proto: string | undefined;
  let host: string;
  let port: string | undefined;
  const m6 = /^(?:([A-Za-z][A-Za-z0-9_]*):)?\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(raw);
  if (m6) {
    [, proto, host, port] = m6 as unknown as [string, string | undefined, string, string | undefined];
  } else {
    const parts = raw.split(":");
    if (parts.length === 3) [proto, host, port] = parts as [string, string, string];
    else if (parts.length === 2 && /^\d+$/.test(parts[1]!)) [host, port] = parts as [string, string];
    else if (parts.length === 2) [proto, host] = parts as [string, string];
    else if (parts.length === 1) host = parts[0]!;
    else throw new Error(`Bad replication destination IP! ("${raw}": write [udp:]host[:port])`);
  }
  if (proto !== undefined && proto.toLowerCase() !== "udp") {
    throw new Error(`Dialog replication only supports UDP packets! ("${raw}" names ${proto}; write udp:host:port or host:port)`);
  }
  if (!host || !/^[A-Za-z0-9_.:-]+$/.test(host)) throw new Error(`Bad replication destination IP! ("${raw}": write [udp:]host[:port])`);
  const p = port === undefined ? 5060 : Number(port);
  if (!/^\d*$/.test(port ?? "") || p < 1 || p > 65535) throw new Error(`Bad replication destination IP! (port ${port} out of range)`);
  return { host, port: p, raw };
}

const SIP = "tsips routes no SIP (no requests are sent or matched)";
const DB = "tsips uses OpenSIPS's default column names";
const CDB = "tsips has no CacheDB support (/s profiles are counted locally)";

const dbCol = (name: string): ParamSpec<string> => str({ default: name, doc: `dialog table column name (${name})`, ignored: DB });


export const dialogParams = {
  enable_stats: int({ default: 1, min: 0, max: 1, doc: "keep the dialog statistics (0: they stay at 0)" }),
  hash_size: int({ default: 4096, min: 1, max: 16_777_216, doc: "dialog hash table size, rounded down to a power of two (a warning says so)" }),
  log_profile_hash_size: int({ default: 4, min: 0, max: 16, doc: "profile value buckets = 2^value (fixes the order values are broadcast in)" }),
  rr_param: str({
    default: "did", doc: "Record-Route parameter carrying the dialog id (max 32 chars)", ignored: SIP,
    parse: (s) => {
      if (s.length > 32) throw new Error(`rr_param "${s}" is longer than 32 characters`);
      return s;
    },
  }),
  default_timeout: int({ default: 43200, min: 1, doc: "lifetime in seconds of a dialog created without an explicit timeout (12 h)" }),
  dlg_extra_hdrs: str({ default: "", doc: "extra headers for BYEs sent by the module", ignored: SIP }),
  dlg_match_mode: int({ default: 1, min: 0, max: 2, doc: "sequential request matching: 0 did only, 1 did then SIP, 2 SIP only", ignored: SIP }),
  delete_delay: int({ default: 0, min: 0, doc: "seconds an ended dialog stays listed (state 5) before it is freed" }),
  db_url: str({ default: "", doc: "DB URL of the dialog table (sqlite:///abs/path.db or postgres://user:pass@host:port/db)" }),
  db_mode: int({ default: 0, min: 0, max: 3, doc: "0 none, 1 realtime (written as it changes), 2 delayed (every db_update_period), 3 at shutdown" }),
  db_update_period: int({ default: 60, min: 1, doc: "seconds between DB passes in db_mode 2" }),
  options_ping_interval: int({ default: 30, min: 1, doc: "seconds between OPTIONS pings of a pinged dialog", ignored: SIP }),
  reinvite_ping_interval: int({ default: 300, min: 1, doc: "seconds between re-INVITE pings", ignored: SIP }),
  table_name: str({ default: "dialog", doc: "dialog table name" }),
  call_id_column: dbCol("callid"),
  from_uri_column: dbCol("from_uri"),
  from_tag_column: dbCol("from_tag"),
  to_uri_column: dbCol("to_uri"),
  to_tag_column: dbCol("to_tag"),
  from_cseq_column: dbCol("caller_cseq"),
  to_cseq_column: dbCol("callee_cseq"),
  from_route_column: dbCol("caller_route_set"),
  to_route_column: dbCol("callee_route_set"),
  from_contact_column: dbCol("caller_contact"),
  to_contact_column: dbCol("callee_contact"),
  from_sock_column: dbCol("caller_sock"),
  to_sock_column: dbCol("callee_sock"),
  dlg_id_column: dbCol("dlg_id"),
  state_column: dbCol("state"),
  start_time_column: dbCol("start_time"),
  timeout_column: dbCol("timeout"),
  profiles_column: dbCol("profiles"),
  vars_column: dbCol("vars"),
  sflags_column: dbCol("script_flags"),
  mflags_column: dbCol("module_flags"),
  flags_column: dbCol("flags"),
  profiles_with_value: str({ default: "", doc: "profiles with values: names separated by ';', optional /b (BIN-replicated) or /s (CacheDB)", parse: checkProfileList }),
  profiles_no_value: str({ default: "", doc: "profiles without value: same syntax as profiles_with_value", parse: checkProfileList }),
  db_flush_vals_profiles: int({ default: 0, min: 0, max: 1, doc: "1 = also write values, profiles and flags at run time (else only at shutdown)" }),
  timer_bulk_del_no: int({ default: 1, min: 1, doc: "dialogs deleted per DELETE in db_mode 2" }),
  race_condition_timeout: int({ default: 5, doc: "seconds to keep a dialog ended by a race (CANCEL/200 OK)", ignored: SIP }),
  cachedb_url: str({ default: "", doc: "CacheDB URL for /s profiles", ignored: CDB }),
  profile_value_prefix: str({ default: "dlg_val_", doc: "CacheDB key prefix", ignored: CDB }),
  profile_no_value_prefix: str({ default: "dlg_noval_", doc: "CacheDB key prefix", ignored: CDB }),
  profile_size_prefix: str({ default: "dlg_size_", doc: "CacheDB key prefix", ignored: CDB }),
  profile_timeout: int({ default: 86400, min: 1, doc: "CacheDB profile key lifetime (s)", ignored: CDB }),
  dialog_replication_cluster: int({ default: 0, min: 0, doc: "cluster id dialogs are replicated in (capability dialog-dlg-repl); 0 = off" }),
  profile_replication_cluster: int({ default: 0, min: 0, doc: "cluster id /b profile counters are broadcast in (dialog-prof-repl); 0 = off" }),
  replicate_profiles_timer: int({ default: 200, min: 1, doc: "milliseconds between /b profile counter broadcasts" }),
  replicate_profiles_check: int({ default: 10, min: 1, doc: "seconds between cleanups of profile values whose count is 0" }),
  replicate_profiles_buffer: int({ default: 1400, min: 0, max: Math.floor(0.9 * 65535), doc: "bytes: a broadcast packet is sent and restarted once it exceeds this" }),
  replicate_profiles_expire: int({ default: 10, min: 1, doc: "seconds a counter received from another node stays valid" }),
  cluster_auto_sync: int({ default: 1, min: 0, max: 1, doc: "request a dialog sync when a node comes up and a sharing tag is backup here" }),
  accept_replicated_dialogs: int({
    default: 0, doc: "OpenSIPS 1.10: non-zero takes in the dialogs other nodes replicate over the 1.10 BIN interface (needs bin_listen)",
  }),
  replicate_dialogs_to: strList<V110DestinationSpec>({
    doc: "OpenSIPS 1.10: [udp:]host[:port] to replicate dialogs to over the 1.10 BIN interface (repeatable; port 5060 when omitted; needs bin_listen)",
    parse: parseReplicationDestination,
  }),
} as const;

export type DialogParamSpecs = typeof dialogParams;
