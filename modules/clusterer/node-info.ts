/**
 * Node-info strings (`my_node_info`, `neighbor_node_info`; clusterer.md §11.2), node URLs,
 * and `sharing_tag` values (§11.3). Pure functions, parsed as OpenSIPS 3.6.8 does
 * (`parse_param_node_info`, `shtag_modparam_func`).
 */
import { isIP } from "node:net";

/** Property names: they are the DB column names (`*_col` modparams), §11.1. */
export interface NodeInfoColumns {
  cluster_id: string;
  node_id: string;
  url: string;
  no_ping_retries: string;
  priority: string;
  sip_addr: string;
  flags: string;
  description: string;
}

export const DEFAULT_COLUMNS: NodeInfoColumns = {
  cluster_id: "cluster_id",
  node_id: "node_id",
  url: "url",
  no_ping_retries: "no_ping_retries",
  priority: "priority",
  sip_addr: "sip_addr",
  flags: "flags",
  description: "description",
};

/** `DEFAULT_NO_PING_RETRIES` (node_info.h). */
export const DEFAULT_NO_PING_RETRIES = 3;
/** Script-provisioned nodes get priority 3 (the source assigns DEFAULT_NO_PING_RETRIES), §11.2. */
export const SCRIPT_DEFAULT_PRIORITY = 3;
/** proto_bin's default port (`bin_port`). */
export const BIN_DEFAULT_PORT = 5555;
/** proto_bins's default port (`bins_port`). */
export const BINS_DEFAULT_PORT = 5556;

/** What a node-info string sets; unset properties are undefined. */
export interface NodeInfoProps {
  clusterId?: number;
  nodeId?: number;
  url?: string;
  noPingRetries?: number;
  priority?: number;
  sipAddr?: string;
  flags?: string;
  /** Not parsed by OpenSIPS (description stays empty there); tsips reads it for MI display. */
  description?: string;
}

/** A parsed BIN URL. */
export interface NodeUrl {
  proto: "bin" | "bins";
  host: string;
  port: number;
  /** The URL as written. */
  text: string;
}

/**
 * Parses a node-info string: each property is found by substring search anywhere in the
 * string, its value runs from the next `=` to the next `,` (or the end), trimmed. Ints are
 * unsigned decimals; an empty value is an error. Throws an Error naming the problem.
 */
export function parseNodeInfo(s: string, cols: NodeInfoColumns = DEFAULT_COLUMNS): NodeInfoProps {
  const value = (name: string): string | undefined => {
    const at = s.indexOf(name);
    if (at < 0) return undefined;
    const eq = s.indexOf("=", at + name.length);
    if (eq < 0) throw new Error(`no value for property "${name}" in node info "${s}"`);
    const comma = s.indexOf(",", eq + 1);
    const v = s.slice(eq + 1, comma < 0 ? s.length : comma).trim();
    if (v === "") throw new Error(`empty value for property "${name}" in node info "${s}"`);
    return v;
  };
  const intValue = (name: string): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v)) throw new Error(`property "${name}" must be an unsigned integer, got "${v}" in node info "${s}"`);
    return Number(v);
  };
  const out: NodeInfoProps = {};
  const clusterId = intValue(cols.cluster_id);
  if (clusterId !== undefined) out.clusterId = clusterId;
  const nodeId = intValue(cols.node_id);
  if (nodeId !== undefined) out.nodeId = nodeId;
  const url = value(cols.url);
  if (url !== undefined) out.url = url;
  const retries = intValue(cols.no_ping_retries);
  if (retries !== undefined) out.noPingRetries = retries;
  const prio = intValue(cols.priority);
  if (prio !== undefined) out.priority = prio;
  const sip = value(cols.sip_addr);
  if (sip !== undefined) out.sipAddr = sip;
  const flags = value(cols.flags);
  if (flags !== undefined) {
    // OpenSIPS reads only a leading "seed" and silently ignores anything else, so a typo
    // (flags=seeed) quietly drops the seed role: reject what it would not understand.
    if (!NODE_FLAGS.includes(flags)) {
      throw new Error(`unknown flag "${flags}" in property "${cols.flags}" of node info "${s}" (accepted: ${NODE_FLAGS.join(", ")})`);
    }
    out.flags = flags;
  }
  const desc = value(cols.description);
  if (desc !== undefined) out.description = desc;
  return out;
}

/** The values `flags=` accepts (OpenSIPS 3.6 knows one node flag). */
export const NODE_FLAGS: readonly string[] = ["seed"];

/** `flags`: seed when the value begins with `seed` (4-byte compare). */
export function isSeedFlag(flags: string | undefined): boolean {
  return flags !== undefined && flags.startsWith("seed");
}

/**
 * Parses `[proto:]host[:port]` (proto bin or bins, default bin; an IPv6 literal in
 * brackets). A URL with no port gets the BIN default port.
 */
export function parseNodeUrl(text: string, defaultPort = BIN_DEFAULT_PORT): NodeUrl {
  let rest = text.trim();
  let proto: "bin" | "bins" = "bin";
  const m = /^(bins?):/i.exec(rest);
  if (m) {
    proto = m[1]!.toLowerCase() as "bin" | "bins";
    rest = rest.slice(m[0].length);
  } else if (/^[a-z]+:/i.test(rest) && isIP(rest) === 0 && !/^[^:]+:[0-9]+$/.test(rest)) {
    throw new Error(`unsupported protocol in node URL "${text}" (bin or bins)`);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw new Error(`unterminated IPv6 address in node URL "${text}"`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) throw new Error(`bad node URL "${text}"`);
      portText = after.slice(1);
    }
  } else if (isIP(rest) === 6) {
    host = rest;
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon >= 0) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else host = rest;
  }
  if (host === "") throw new Error(`no host in node URL "${text}"`);
  let port = proto === "bins" && defaultPort === BIN_DEFAULT_PORT ? BINS_DEFAULT_PORT : defaultPort;
  if (portText !== undefined) {
    if (!/^[0-9]+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new Error(`bad port "${portText}" in node URL "${text}"`);
    }
    port = Number(portText);
  }
  return { proto, host, port, text };
}

/** A node defined in the script (my_node_info or neighbor_node_info), validated. */
export interface ScriptNode {
  clusterId: number;
  nodeId: number;
  url: NodeUrl;
  noPingRetries: number;
  priority: number;
  sipAddr: string;
  seed: boolean;
  description: string;
}

function finish(p: NodeInfoProps, nodeId: number, clusterId: number, url: string): ScriptNode {
  return {
    clusterId,
    nodeId,
    url: parseNodeUrl(url),
    noPingRetries: p.noPingRetries ?? DEFAULT_NO_PING_RETRIES,
    priority: p.priority ?? SCRIPT_DEFAULT_PRIORITY,
    sipAddr: p.sipAddr ?? "",
    seed: isSeedFlag(p.flags),
    description: p.description ?? "",
  };
}

/**
 * `my_node_info`: needs cluster_id and url; node_id may be omitted when my_node_id is
 * set; if both are given they must be equal.
 */
export function parseMyNodeInfo(s: string, myNodeId: number | undefined, cols?: NodeInfoColumns): ScriptNode {
  const p = parseNodeInfo(s, cols);
  if (p.clusterId === undefined || p.clusterId < 1) throw new Error(`my_node_info "${s}": cluster_id is required (> 0)`);
  if (p.url === undefined) throw new Error(`my_node_info "${s}": url is required`);
  let nodeId = p.nodeId;
  if (nodeId === undefined) {
    if (myNodeId === undefined || myNodeId < 1) throw new Error(`my_node_info "${s}": node_id missing and my_node_id not set before it`);
    nodeId = myNodeId;
  } else if (myNodeId !== undefined && myNodeId >= 1 && nodeId !== myNodeId) {
    throw new Error(`my_node_info "${s}": node_id ${nodeId} differs from my_node_id ${myNodeId}`);
  }
  if (nodeId < 1) throw new Error(`my_node_info "${s}": node_id must be > 0`);
  return finish(p, nodeId, p.clusterId, p.url);
}

/** `neighbor_node_info`: needs cluster_id, node_id and url. */
export function parseNeighborNodeInfo(s: string, cols?: NodeInfoColumns): ScriptNode {
  const p = parseNodeInfo(s, cols);
  if (p.clusterId === undefined || p.clusterId < 1) throw new Error(`neighbor_node_info "${s}": cluster_id is required (> 0)`);
  if (p.nodeId === undefined || p.nodeId < 1) throw new Error(`neighbor_node_info "${s}": node_id is required (> 0)`);
  if (p.url === undefined) throw new Error(`neighbor_node_info "${s}": url is required`);
  return finish(p, p.nodeId, p.clusterId, p.url);
}

/** A `sharing_tag` modparam value. */
export interface ShtagParam {
  name: string;
  clusterId: number;
  state: "active" | "backup";
}

/**
 * `"<name>/<cluster_id>=<active|backup>"`. Parts are trimmed; the state word is compared as
 * a prefix of `active` then `backup` (so an abbreviation, or an empty value, means active).
 */
export function parseSharingTag(s: string): ShtagParam {
  const eq = s.indexOf("=");
  if (eq < 0) throw new Error(`bad sharing_tag "${s}": <name/cluster_id>=<active|backup> expected`);
  const word = s.slice(eq + 1).trim();
  let state: "active" | "backup";
  if ("active".startsWith(word)) state = "active";
  else if ("backup".startsWith(word)) state = "backup";
  else throw new Error(`bad state "${word}" in sharing_tag "${s}": active or backup`);
  const left = s.slice(0, eq);
  const slash = left.indexOf("/");
  if (slash < 0) throw new Error(`bad sharing_tag "${s}": <name/cluster_id> expected`);
  const name = left.slice(0, slash).trim();
  const cid = left.slice(slash + 1).trim();
  if (!/^[0-9]+$/.test(cid)) throw new Error(`bad cluster id "${cid}" in sharing_tag "${s}"`);
  if (name === "") throw new Error(`empty tag name in sharing_tag "${s}"`);
  return { name, clusterId: Number(cid), state };
}

/** `name/cluster_id` as MI `clusterer_shtag_set_active` takes it; undefined pieces are errors there. */
export function splitTagRef(s: string): { name: string; clusterText: string } | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  return { name: s.slice(0, slash).trim(), clusterText: s.slice(slash + 1).trim() };
}
