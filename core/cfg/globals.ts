/**
 * The global parameters tsips accepts (`name = value`), with the value syntax OpenSIPS 3.6
 * expects for each (spec/cfg.md §3.1, cfg.lex/cfg.y). Generous on purpose: every name in the
 * spec plus the core globals real 3.x configs use, so a working OpenSIPS config parses. A
 * name not here is "unknown config variable", as in OpenSIPS.
 */

export type GlobalType =
  /** NUMBER only (yes/no count: they are NUMBER tokens) */
  | "int"
  /** NUMBER with an optional leading '-' */
  | "sint"
  /** NUMBER (yes/no/on/off/true/false/enable/disable or 0/1) */
  | "bool"
  | "str"
  /** STRING, ID or NUMBER (user/group/chroot/poll_method ...) */
  | "strIdNum"
  /** ID (syslog facility, e.g. LOG_LOCAL0) */
  | "id"
  /** plain_text | json | json_cee, quoted or not */
  | "logFormat"
  /** NUMBER [use_auto_scaling_profile ID] */
  | "workers"
  /** IP, hostname or quoted string */
  | "host"
  /** [proto:]host[:port] word(s) */
  | "alias"
  /** socket definition (§3.2) */
  | "socket"
  /** OpenSIPS 1.10 `bin_listen = HOST:PORT` (no protocol, port mandatory, once) */
  | "binListen"
  | "mpath"
  /** NAME scale up to ... [scale down to ...] (auto-scaling.ts) */
  | "autoScalingProfile"
  /** `name:{ rules }` (dst_blacklist) kept as raw text */
  | "braced";

export interface GlobalDef {
  type: GlobalType;
  /** Deprecation warning text (OpenSIPS prints one for these). */
  deprecated?: string;
}

const t = (type: GlobalType, deprecated?: string): GlobalDef => (deprecated ? { type, deprecated } : { type });

export const KNOWN_GLOBALS: ReadonlyMap<string, GlobalDef> = new Map<string, GlobalDef>([
  // logging
  ["log_level", t("sint")],
  ["debug_mode", t("bool")],
  ["stderror_enabled", t("bool")],
  ["syslog_enabled", t("bool")],
  ["log_event_enabled", t("bool")],
  ["log_stderror", t("bool", "'log_stderror' is deprecated, use 'stderror_enabled' and/or 'syslog_enabled' instead")],
  ["stderror_level_filter", t("sint")],
  ["syslog_level_filter", t("sint")],
  ["log_event_level_filter", t("sint")],
  ["stderror_log_format", t("logFormat")],
  ["syslog_log_format", t("logFormat")],
  ["log_prefix", t("str")],
  ["log_stdout", t("bool")],
  ["log_json_buf_size", t("int")],
  ["log_msg_buf_size", t("int")],
  ["syslog_facility", t("id")],
  ["log_facility", t("id", "'log_facility' is deprecated, use 'syslog_facility' instead")],
  ["syslog_name", t("str")],
  ["log_name", t("str", "'log_name' is deprecated, use 'syslog_name' instead")],
  ["xlog_level", t("sint")],
  ["xlog_default_level", t("sint")],
  ["xlog_print_level", t("sint")],
  ["xlog_buf_size", t("int")],
  ["xlog_force_color", t("bool")],
  ["enable_asserts", t("bool")],
  ["abort_on_assert", t("bool")],
  // processes
  ["udp_workers", t("workers")],
  ["tcp_workers", t("workers")],
  ["timer_workers", t("workers")],
  ["children", t("workers", "'children' is deprecated, use 'udp_workers' instead")],
  ["tcp_children", t("workers", "'tcp_children' is deprecated, use 'tcp_workers' instead")],
  ["auto_scaling_profile", t("autoScalingProfile")],
  ["auto_scaling_cycle", t("int")],
  // sockets and addresses
  ["socket", t("socket")],
  ["listen", t("socket", "'listen' is deprecated, use 'socket' instead")],
  ["alias", t("alias")],
  ["auto_aliases", t("bool")],
  ["advertised_address", t("host")],
  ["advertised_port", t("int")],
  ["mhomed", t("bool")],
  ["tos", t("strIdNum")],
  ["mcast_loopback", t("bool")],
  ["mcast_ttl", t("int")],
  ["maxbuffer", t("int")],
  // OpenSIPS 1.10 Binary Internal Interface (spec/bin-1.10.md §1.1): BIN over UDP
  ["bin_listen", t("binListen")],
  ["bin_children", t("sint")],
  ["max_recv_buffer_size", t("int")],
  // TCP
  ["tcp_accept_aliases", t("bool")],
  ["tcp_connect_timeout", t("int")],
  ["tcp_connection_lifetime", t("int")],
  ["tcp_listen_backlog", t("int")],
  ["tcp_socket_backlog", t("int")],
  ["tcp_max_connections", t("int")],
  ["tcp_no_new_conn_bflag", t("strIdNum")],
  ["tcp_no_new_conn_rplflag", t("strIdNum")],
  ["tcp_keepalive", t("bool")],
  ["tcp_keepcount", t("int")],
  ["tcp_keepidle", t("int")],
  ["tcp_keepinterval", t("int")],
  ["tcp_max_msg_time", t("int")],
  ["tcp_parallel_read_on_workers", t("bool")],
  ["tcp_threshold", t("int")],
  ["tcpthreshold", t("int")],
  // DNS
  ["dns", t("bool")],
  ["rev_dns", t("bool")],
  ["dns_try_ipv6", t("bool")],
  ["dns_try_naptr", t("bool")],
  ["dns_retr_time", t("int")],
  ["dns_retr_no", t("int")],
  ["dns_servers_no", t("int")],
  ["dns_use_search_list", t("bool")],
  ["disable_dns_failover", t("bool")],
  ["disable_dns_blacklist", t("bool")],
  ["dst_blacklist", t("braced")],
  // process environment
  ["chroot", t("strIdNum")],
  ["workdir", t("strIdNum")],
  ["wdir", t("strIdNum")],
  ["user", t("strIdNum")],
  ["uid", t("strIdNum")],
  ["group", t("strIdNum")],
  ["gid", t("strIdNum")],
  ["disable_core_dump", t("bool")],
  ["open_files_limit", t("int")],
  ["poll_method", t("strIdNum")],
  // memory
  ["shm_hash_split_percentage", t("int")],
  ["shm_secondary_hash_size", t("int")],
  ["mem_warming", t("bool")],
  ["mem_warming_enabled", t("bool")],
  ["mem_warming_pattern_file", t("str")],
  ["mem_warming_percentage", t("int")],
  ["memlog", t("sint")],
  ["mem_log", t("sint")],
  ["memdump", t("sint")],
  ["mem_dump", t("sint")],
  ["shm_memlog_size", t("int")],
  ["rpm_mem_file", t("str")],
  ["rpm_mem_size", t("int")],
  ["pv_print_buf_size", t("int")],
  // thresholds and misc
  ["execmsgthreshold", t("int")],
  ["exec_msg_threshold", t("int")],
  ["execdnsthreshold", t("int")],
  ["exec_dns_threshold", t("int")],
  ["event_shm_threshold", t("int")],
  ["event_pkg_threshold", t("int")],
  ["query_buffer_size", t("int")],
  ["query_flush_time", t("int")],
  ["max_while_loops", t("int")],
  ["check_via", t("bool")],
  ["sip_warning", t("bool")],
  ["server_signature", t("bool")],
  ["server_header", t("str")],
  ["user_agent_header", t("str")],
  ["disable_stateless_fwd", t("bool")],
  ["disable_503_translation", t("bool")],
  // databases and modules
  ["db_version_table", t("str")],
  ["db_default_url", t("str")],
  ["db_max_async_connections", t("int")],
  ["mpath", t("mpath")],
]);

/** Names that existed in older OpenSIPS versions: still unknown, but the error says what to use. */
export const REMOVED_GLOBALS: ReadonlyMap<string, string> = new Map([
  ["log_target", "it does not exist in OpenSIPS 3.6; use stderror_enabled / syslog_enabled"],
  ["debug", "removed; use log_level"],
  ["fork", "removed; use debug_mode, or run with -F / -D"],
  ["port", "removed; give the port in socket=proto:host:port"],
]);

/** The closest known name within edit distance 2, for "did you mean" hints. */
export function suggestGlobal(name: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const known of KNOWN_GLOBALS.keys()) {
    const d = editDistance(name, known, bestD);
    if (d < bestD) {
      bestD = d;
      best = known;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length] as number;
}
