/**
 * The clusterer's modparams: every OpenSIPS 3.6.8 clusterer parameter (clusterer.md §11.1)
 * plus tsips's `shtag_auto_takeover`. Only `db_mode=0` (script provisioning) is supported,
 * so the tsips default is 0 (OpenSIPS defaults to 1).
 */
import { int, str, strList, type ParamSpec } from "tsips";
import { parseNodeInfo, parseSharingTag, type ShtagParam } from "./node-info.ts";

/** Syntax check at the modparam line (default property names); re-parsed at init with the *_col names. */
function checkNodeInfo(s: string): string {
  parseNodeInfo(s);
  return s;
}

/** `db_mode`: 0 (script) or 1 (the clusterer table); anything else is TSIPS_ERR_PARAM_VALUE at the modparam line. */
const dbMode: ParamSpec<number> = {
  ...int({ default: 0, doc: "node provisioning: 0 = my_node_info/neighbor_node_info (tsips default), 1 = the clusterer table at db_url (OpenSIPS's default)" }),
  accept: (raw) => raw === 0 || raw === 1
    ? { value: raw }
    : { error: `db_mode ${String(raw)} is not supported: use 0 (my_node_info/neighbor_node_info) or 1 (clusterer table)` },
};

const noDb = "tsips uses OpenSIPS's default column names";

export const clustererParams = {
  my_node_id: int({ default: -1, doc: "id of this node (> 0), the same in every cluster; my_node_info's node_id can set it instead" }),
  db_mode: dbMode,
  db_url: str({ default: "", doc: "DB URL of the clusterer table (db_mode 1)" }),
  db_table: str({ default: "clusterer", doc: "name of the clusterer table (db_mode 1)" }),
  my_node_info: strList<string>({
    doc: "this node in one cluster: cluster_id=, url=bin:IP:PORT [, node_id=, flags=seed, sip_addr=, priority=, no_ping_retries=]; repeat per cluster",
    parse: checkNodeInfo,
  }),
  neighbor_node_info: strList<string>({
    doc: "a known neighbour: cluster_id=, node_id=, url=bin:IP:PORT [, flags=seed, sip_addr=, priority=, no_ping_retries=, description=]; repeatable",
    parse: checkNodeInfo,
  }),
  ping_interval: int({ default: 4, doc: "seconds between pings on an Up link (<= 0: default 4)" }),
  ping_timeout: int({ default: 1000, doc: "milliseconds to wait for a pong; also the retry spacing (<= 0: default 1000)" }),
  node_timeout: int({ default: 60, doc: "seconds before a Down node is pinged again (< 0: default 60)" }),
  seed_fallback_interval: int({ default: 5, doc: "seconds a seed node waits for a sync donor before declaring itself synced (< 0: default 5)" }),
  sync_timeout: int({ default: 15, doc: "seconds without sync data before a sync in progress is abandoned" }),
  sync_packet_size: int({ default: 32768, min: 1, max: 65535, doc: "target size in bytes of one SYNC packet (OpenSIPS source default 32768)" }),
  sharing_tag: strList<ShtagParam>({ doc: "initial sharing tag state: name/cluster_id=active|backup; repeatable", parse: parseSharingTag }),
  dispatch_jobs: int({ default: 1, doc: "OpenSIPS runs module callbacks as IPC jobs; tsips always runs them in arrival order on the event loop" }),
  enable_rerouting: int({ default: 1, doc: "route packets to nodes without a direct Up link through other nodes (0: direct links only)" }),
  enable_stats: int({ default: 1, doc: "keep the clusterer_nodes* statistics" }),
  id_col: str({ default: "id", doc: "DB column name", ignored: noDb }),
  cluster_id_col: str({ default: "cluster_id", doc: "node-info property (and DB column) name for the cluster id" }),
  node_id_col: str({ default: "node_id", doc: "node-info property name for the node id" }),
  url_col: str({ default: "url", doc: "node-info property name for the URL" }),
  state_col: str({ default: "state", doc: "DB column name (node-info state is always enabled)", ignored: noDb }),
  no_ping_retries_col: str({ default: "no_ping_retries", doc: "node-info property name for no_ping_retries" }),
  priority_col: str({ default: "priority", doc: "node-info property name for the priority" }),
  sip_addr_col: str({ default: "sip_addr", doc: "node-info property name for the SIP address" }),
  flags_col: str({ default: "flags", doc: "node-info property name for the flags" }),
  description_col: str({ default: "description", doc: "node-info property name for the description (tsips reads it)" }),
  shtag_auto_takeover: int({
    default: 0, min: 0, max: 1,
    doc: "tsips: when the node holding a tag active goes down, the lowest-id Up node that knows the tag activates it (0: off, as OpenSIPS)",
  }),
  down_on_refused: int({
    default: 1, min: 0, max: 1,
    doc: "tsips: a connect to a node refused or reset (its process is gone) sets the link Down at once; silent loss keeps the retries (0: count retries, as OpenSIPS)",
  }),
  ping_on_silence: int({
    default: 1, min: 0, max: 1,
    doc: "tsips: ping a node when nothing has been received from it for ping_interval, whatever we send, and time out its pong the same way, so a hung peer is detected while we keep writing to it (0: OpenSIPS, which pings only when nothing was sent)",
  }),
  reprobe_down: int({
    default: 1, min: 0, max: 1,
    doc: "tsips: re-probe a Down node every ping_interval, backing off (doubling) up to node_timeout once it has been Down for node_timeout (0: OpenSIPS, every node_timeout)",
  }),
  heal_sync: int({
    default: 1, min: 0, max: 1,
    doc: "tsips: when a link returns to Up after a failure, each OK capability asks that node for a sync (SYNC_REQ) and merges the data, so both sides converge without an operator (0: off, as OpenSIPS)",
  }),
  cap_announce_interval: int({
    default: 30, min: 0,
    doc: "tsips: seconds between re-announcements of this node's capability states (CAP_UPDATE) to its Up neighbours, so a lost notice heals itself; 0 = off (OpenSIPS)",
  }),
} as const;

export type ClustererParamSpecs = typeof clustererParams;

/** Timer and behaviour settings after OpenSIPS's "<= 0 means default" rules. */
export interface ClustererTimers {
  /** ms */
  pingInterval: number;
  /** ms */
  pingTimeout: number;
  /** ms */
  nodeTimeout: number;
  /** ms */
  seedFallbackInterval: number;
  /** ms */
  syncTimeout: number;
  syncPacketSize: number;
  enableRerouting: boolean;
}

export function effectiveTimers(p: {
  ping_interval: number; ping_timeout: number; node_timeout: number; seed_fallback_interval: number;
  sync_timeout: number; sync_packet_size: number; enable_rerouting: number;
}): ClustererTimers {
  return {
    pingInterval: (p.ping_interval <= 0 ? 4 : p.ping_interval) * 1000,
    pingTimeout: p.ping_timeout <= 0 ? 1000 : p.ping_timeout,
    nodeTimeout: (p.node_timeout < 0 ? 60 : p.node_timeout) * 1000,
    seedFallbackInterval: (p.seed_fallback_interval < 0 ? 5 : p.seed_fallback_interval) * 1000,
    syncTimeout: p.sync_timeout * 1000,
    syncPacketSize: p.sync_packet_size,
    enableRerouting: p.enable_rerouting !== 0,
  };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Heartbeat period (§7.2): gcd(ping_interval, ping_timeout, node_timeout) in ms. */
export function heartbeatPeriod(t: ClustererTimers): number {
  const g = gcd(gcd(t.pingInterval, t.pingTimeout), t.nodeTimeout);
  return g > 0 ? g : 1000;
}
