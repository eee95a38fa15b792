/**
 * usrloc modparams (spec/usrloc.md §6–§7, OpenSIPS 3.6.8 ul_mod.c) and the working-mode
 * resolution of `ul_check_config`. The SQL write modes (write-through, write-back) with
 * load-from-sql are served through the core DB API (spec/db.md §3); sql-only and the CacheDB
 * modes are rejected where the modparam stands, naming the modes that work.
 */
import { int, str, strList, type ParamSpec } from "tsips";

export type ClusterMode = "none" | "federation" | "federation-cachedb" | "full-sharing" | "full-sharing-cachedb" | "sql-only";
export type RestartPersistency = "none" | "load-from-sql" | "sync-from-cluster";
export type SqlWriteMode = "none" | "write-through" | "write-back";
export type PingingMode = "ownership" | "cooperation";

interface Preset {
  cluster: ClusterMode;
  persistency: RestartPersistency;
  sqlWrite: SqlWriteMode;
}

/** §6.1 presets. */
export const PRESETS: Record<string, Preset> = {
  "single-instance-no-db": { cluster: "none", persistency: "none", sqlWrite: "none" },
  "single-instance-sql-write-through": { cluster: "none", persistency: "load-from-sql", sqlWrite: "write-through" },
  "single-instance-sql-write-back": { cluster: "none", persistency: "load-from-sql", sqlWrite: "write-back" },
  "federation-cluster": { cluster: "federation", persistency: "sync-from-cluster", sqlWrite: "none" },
  "federation-cachedb-cluster": { cluster: "federation-cachedb", persistency: "sync-from-cluster", sqlWrite: "none" },
  "full-sharing-cluster": { cluster: "full-sharing", persistency: "sync-from-cluster", sqlWrite: "none" },
  "full-sharing-cachedb-cluster": { cluster: "full-sharing-cachedb", persistency: "none", sqlWrite: "none" },
  "sql-only": { cluster: "sql-only", persistency: "none", sqlWrite: "none" },
};

const SUPPORTED_PRESETS = ["single-instance-no-db", "full-sharing-cluster", "single-instance-sql-write-through", "single-instance-sql-write-back"];
const SUPPORTED_TEXT = `"single-instance-no-db", "single-instance-sql-write-through", "single-instance-sql-write-back" or "full-sharing-cluster"`;
const WHY: Record<string, string> = {
  "federation-cluster": "OpenSIPS 3.6.8 itself does not implement 'federation' clustering",
  "federation-cachedb-cluster": "it needs a CacheDB backend",
  "full-sharing-cachedb-cluster": "it needs a CacheDB backend",
  "sql-only": "every lookup would be an SQL query; tsips keeps the cache in memory and writes through or back",
};

function parsePreset(raw: string): string {
  const v = raw.toLowerCase();
  if (!(v in PRESETS)) {
    throw new Error(`unknown working_mode_preset "${raw}"; OpenSIPS knows ${Object.keys(PRESETS).map((p) => `"${p}"`).join(", ")}`);
  }
  if (!SUPPORTED_PRESETS.includes(v)) {
    throw new Error(`working_mode_preset "${v}" is not supported by tsips (${WHY[v]}); use ${SUPPORTED_TEXT}`);
  }
  return v;
}

function parseClusterMode(raw: string): ClusterMode {
  const v = raw.toLowerCase();
  const all: ClusterMode[] = ["none", "federation", "federation-cachedb", "full-sharing", "full-sharing-cachedb", "sql-only"];
  if (!all.includes(v as ClusterMode)) throw new Error(`unknown cluster_mode "${raw}"; use one of ${all.map((m) => `"${m}"`).join(", ")}`);
  if (v === "federation") throw new Error(`usrloc 'federation' clustering not implemented yet! (as in OpenSIPS 3.6.8); use "full-sharing"`);
  if (v !== "none" && v !== "full-sharing") {
    throw new Error(`cluster_mode "${v}" is not supported by tsips (${v === "sql-only" ? "tsips keeps the cache in memory; use restart_persistency \"load-from-sql\" with a sql_write_mode" : "it needs a CacheDB backend"}); use "none" or "full-sharing"`);
  }
  return v as ClusterMode;
}

function parsePersistency(raw: string): RestartPersistency {
  const v = raw.toLowerCase();
  if (v !== "none" && v !== "sync-from-cluster" && v !== "load-from-sql") throw new Error(`unknown restart_persistency "${raw}"; use "none", "load-from-sql" or "sync-from-cluster"`);
  return v;
}

function parseSqlWrite(raw: string): SqlWriteMode {
  const v = raw.toLowerCase();
  if (v !== "none" && v !== "write-through" && v !== "write-back") throw new Error(`unknown sql_write_mode "${raw}"; use "none", "write-through" or "write-back"`);
  return v;
}

function parsePinging(raw: string): PingingMode {
  const v = raw.toLowerCase();
  if (v !== "ownership" && v !== "cooperation") throw new Error(`unknown pinging_mode "${raw}"; use "ownership" or "cooperation"`);
  return v;
}

const col = (name: string): ParamSpec<string> => str({ default: name, doc: `SQL column name (default "${name}")`, ignored: "tsips uses OpenSIPS's default column names" });

export const usrlocParams = {
  location_cluster: int({ default: 0, min: 0, doc: "clusterer cluster id the location table is shared in; 0 = no replication" }),
  working_mode_preset: str<string>({ default: "", parse: parsePreset, doc: "\"single-instance-no-db\", \"single-instance-sql-write-through\", \"single-instance-sql-write-back\" or \"full-sharing-cluster\" (sets cluster_mode, restart_persistency and sql_write_mode)" }),
  cluster_mode: str<ClusterMode>({ default: "none", parse: parseClusterMode, doc: "\"none\" or \"full-sharing\"" }),
  restart_persistency: str<RestartPersistency>({ default: "none", parse: parsePersistency, doc: "\"none\", \"load-from-sql\" (load the table from db_url at start) or \"sync-from-cluster\" (full sync from a donor at start)" }),
  sql_write_mode: str<SqlWriteMode>({ default: "none", parse: parseSqlWrite, doc: "without load-from-sql always forced to \"none\" (with a warning), as OpenSIPS does" }),
  db_mode: int({ default: -1, min: -1, max: 3, doc: "deprecated: 0 = single-instance-no-db, 1 = -sql-write-through, 2 = -sql-write-back (3 = sql-only is rejected)" }),
  pinging_mode: str<PingingMode>({ default: "cooperation", parse: parsePinging, doc: "NAT ping split in full sharing: \"cooperation\" (by aorhash) or \"ownership\" (by sharing tag); see api.shouldPing" }),
  shared_pinging: int({ default: -1, min: -1, doc: "deprecated: 0 = ownership, other = cooperation" }),
  ha_cluster: int({ default: 0, min: 0, doc: "federation HA cluster", ignored: "federation modes are not supported by tsips" }),
  ha_shtag: str({ default: "", doc: "federation HA sharing tag", ignored: "federation modes are not supported by tsips" }),
  skip_replicated_db_ops: int({ default: 0, min: 0, doc: "1 = replicated contacts get the memory-only flag (FL_MEM)" }),
  use_domain: int({ default: 0, min: 0, max: 1, doc: "1 = AoRs are user@domain (MI AoRs must then have a domain)" }),
  desc_time_order: int({ default: 0, min: 0, max: 1, doc: "1 = newest contact first instead of ordering by q" }),
  hash_size: int({ default: 9, max: 16, doc: "hash slots = 2^hash_size (<= 1 means 512); orders ul_dump and sync" }),
  timer_interval: int({ default: 60, min: 1, doc: "seconds between expiry runs (each node expires on its own; nothing is replicated)" }),
  matching_mode: int({ default: 0, min: 0, max: 1, doc: "0 = contact only, 1 = contact + Call-ID (when a change carries no match mode)" }),
  cseq_delay: int({ default: 20, min: 0, doc: "seconds during which an equal CSeq counts as a retransmission" }),
  nat_bflag: str({ default: "", doc: "branch flag name marking NATed contacts (declared as a named branch flag)" }),
  contact_refresh_timer: int({ default: 0, min: 0, doc: "push-notification contact refresh", ignored: "push notifications are not implemented by tsips" }),
  max_contact_delete: int({ default: 10, min: 1, doc: "contacts deleted per SQL DELETE (WHERE contact_id=a OR contact_id=b ...)" }),
  regen_broken_contactid: int({ default: 0, min: 0, max: 1, doc: "1 = a loaded row whose contact_id does not match its AoR gets a new id (old row deleted)" }),
  mi_dump_kv_store: int({ default: 0, min: 0, max: 1, doc: "1 = ul_dump/ul_show_contact add KV-Store" }),
  latency_event_min_us: int({ default: 0, min: 0, doc: "ping latency event threshold", ignored: "NAT pinging is not implemented by tsips" }),
  latency_event_min_us_delta: int({ default: 0, min: 0, doc: "ping latency event delta", ignored: "NAT pinging is not implemented by tsips" }),
  db_url: str({ default: "", doc: "SQL database URL (sqlite:///abs/path.db or postgres://user:pass@host:port/db); used with load-from-sql" }),
  cachedb_url: str({ default: "", doc: "CacheDB URL", ignored: "CacheDB modes are not supported by tsips" }),
  contact_id_column: col("contact_id"),
  user_column: col("username"),
  domain_column: col("domain"),
  contact_column: col("contact"),
  expires_column: col("expires"),
  q_column: col("q"),
  callid_column: col("callid"),
  cseq_column: col("cseq"),
  flags_column: col("flags"),
  cflags_column: col("cflags"),
  user_agent_column: col("user_agent"),
  received_column: col("received"),
  path_column: col("path"),
  socket_column: col("socket"),
  methods_column: col("methods"),
  sip_instance_column: col("sip_instance"),
  kv_store_column: col("kv_store"),
  attr_column: col("attr"),
  // ── tsips extensions ──
  branch_flag: strList({ doc: "tsips: declares a named branch flag (what setbflag(\"NAME\") does in a script), in bit order" }),
  register_domain: strList({ doc: "tsips: registers another usrloc table besides \"location\" (what save(\"table\") does)" }),
};

export interface ResolvedModes {
  cluster: ClusterMode;
  persistency: RestartPersistency;
  sqlWrite: SqlWriteMode;
  pinging: PingingMode;
  hashSlots: number;
  warnings: string[];
}

type P = { readonly [K in keyof typeof usrlocParams]: (typeof usrlocParams)[K] extends ParamSpec<infer T> ? T : never };

/**
 * `ul_check_config`: applies the preset (or deprecated db_mode) and the consistency rules.
 * Returns the modes and the warnings to log; throws an Error naming the conflict.
 */
export function resolveModes(p: P): ResolvedModes {
  const warnings: string[] = [];
  let cluster = p.cluster_mode;
  let persistency = p.restart_persistency;
  let sqlWrite = p.sql_write_mode;
  let preset = p.working_mode_preset;
  if (p.db_mode !== -1) {
    if (preset) throw new Error(`both 'db_mode' and 'working_mode_preset' are set; keep only 'working_mode_preset'`);
    const byMode = ["single-instance-no-db", "single-instance-sql-write-through", "single-instance-sql-write-back"];
    if (p.db_mode === 3) throw new Error(`db_mode 3 (sql-only) is not supported by tsips; use working_mode_preset ${SUPPORTED_TEXT}`);
    preset = byMode[p.db_mode]!;
    warnings.push(`'db_mode' is deprecated, use 'working_mode_preset' ("${preset}")`);
  }
  if (preset) {
    const pr = PRESETS[preset]!;
    cluster = pr.cluster;
    persistency = pr.persistency;
    sqlWrite = pr.sqlWrite;
  }
  if (sqlWrite !== "none" && persistency !== "load-from-sql") {
    warnings.push(`sql_write_mode "${sqlWrite}" without restart_persistency "load-from-sql" is meaningless; forcing "none"`);
    sqlWrite = "none";
  }
  if (persistency === "load-from-sql" && sqlWrite === "none") {
    warnings.push(`restart_persistency "load-from-sql" with sql_write_mode "none" would never write; forcing "write-back"`);
    sqlWrite = "write-back";
  }
  if (cluster === "none" && persistency === "sync-from-cluster") {
    throw new Error(`restart_persistency "sync-from-cluster" needs a cluster_mode other than "none"`);
  }
  if (cluster === "none" && p.location_cluster > 0) {
    throw new Error(`location_cluster is set but cluster_mode is "none"; use working_mode_preset "full-sharing-cluster"`);
  }
  if (cluster === "full-sharing" && p.location_cluster <= 0) {
    throw new Error(`cluster_mode "full-sharing" needs 'location_cluster' (the clusterer cluster id)`);
  }
  let pinging = p.pinging_mode;
  if (p.shared_pinging !== -1) {
    warnings.push(`'shared_pinging' is deprecated, use 'pinging_mode'`);
    pinging = p.shared_pinging === 0 ? "ownership" : "cooperation";
  }
  const hashSlots = p.hash_size <= 1 ? 512 : 1 << p.hash_size;
  return { cluster, persistency, sqlWrite, pinging, hashSlots, warnings };
}

export type UsrlocParamValues = P;

/** `have_sql_con`: the node opens an SQL connection iff it loads from SQL (sql-only is rejected). */
export function usesSql(p: Record<string, unknown>): boolean {
  try {
    return resolveModes(p as P).persistency === "load-from-sql";
  } catch {
    return false;
  }
}
