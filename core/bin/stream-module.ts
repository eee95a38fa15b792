/**
 * What proto_bin and proto_bins share as modules: the transport options read from the core
 * globals (tcp_max_msg_time, tcp_connection_lifetime, …), the statistics, opening the
 * listeners of the module's protocol, serving the core's send hook and the inspection API.
 */
import type { SocketDef, CfgValue } from "../cfg/ast.ts";
import type { BinApi } from "./dispatch.ts";
import type { TsipsLogger } from "../log.ts";
import type { Stat, StatDecl } from "../stats.ts";
import {
  BinStreamTransport, type BinConnectionInfo, type BinListenerInfo, type BinStreamFactory, type TransportOptions,
} from "./stream-transport.ts";

/** The inspection API both BIN stream transports return from init. */
export interface BinStreamApi {
  /** Every listener with its bound address (ephemeral ports resolved). */
  listeners(): BinListenerInfo[];
  /** Number of open or connecting connections (inbound and outbound). */
  connections(): number;
  /** Details of every connection. */
  connectionList(): BinConnectionInfo[];
  /**
   * Writes every batched packet now and resolves once each connection's output has reached
   * the kernel (or the connection closed). With `timeoutMs`, resolves after that long at the
   * latest (a peer that never reads would otherwise keep it pending).
   */
  flush(timeoutMs?: number): Promise<void>;
}

export const BIN_STREAM_STATS = {
  packets_in: { doc: "BIN packets received (complete, framed)" },
  packets_out: { doc: "BIN packets handed to the kernel" },
  bytes_in: { doc: "bytes read from BIN connections" },
  bytes_out: { doc: "bytes written to BIN connections" },
  framing_errors: { doc: "connections closed for a bad marker, length, too many reads or a malformed header" },
  read_timeouts: { doc: "connections closed because a packet stayed incomplete past tcp_max_msg_time" },
  drops: { doc: "packets dropped because the destination's queue was full" },
  connections_open: { doc: "open BIN connections (inbound and outbound)", kind: "gauge" },
  connects_failed: { doc: "outbound connects refused or timed out" },
  packets_discarded: { doc: "queued packets lost because their connection failed or closed" },
} as const satisfies Record<string, StatDecl>;

export type BinStreamStatName = keyof typeof BIN_STREAM_STATS;

/** The module parameters both transports map onto transport options. */
export interface BinStreamParams {
  maxChunks: number;
  /** ms; 0 = the core tcp_max_msg_time. */
  readTimeoutMs: number;
  async: boolean;
  /** ms, with async. */
  connectTimeoutMs: number;
  /** ms, without async. */
  sendTimeoutMs: number;
  queueLimitBytes: number;
  maxPostponed: number;
}

function globalInt(globals: ReadonlyMap<string, CfgValue>, name: string, def: number): number {
  const v = globals.get(name);
  if (v === undefined) return def;
  if (typeof v.value === "number") return v.value;
  const n = Number(v.value);
  return Number.isFinite(n) ? n : def;
}

export function binStreamOptions(globals: ReadonlyMap<string, CfgValue>, p: BinStreamParams): TransportOptions {
  return {
    maxChunks: p.maxChunks,
    readTimeoutMs: p.readTimeoutMs > 0 ? p.readTimeoutMs : globalInt(globals, "tcp_max_msg_time", 4) * 1000,
    connectTimeoutMs: p.async ? p.connectTimeoutMs : globalInt(globals, "tcp_connect_timeout", 100),
    sendTimeoutMs: p.async ? 0 : p.sendTimeoutMs,
    queueLimitBytes: p.queueLimitBytes,
    maxPostponed: p.maxPostponed,
    lifetimeMs: globalInt(globals, "tcp_connection_lifetime", 120) * 1000,
    keepAlive: globalInt(globals, "tcp_keepalive", 1) !== 0,
    keepIdleMs: globalInt(globals, "tcp_keepidle", 0) * 1000,
    backlog: globalInt(globals, "tcp_socket_backlog", 10),
    maxConnections: globalInt(globals, "tcp_max_connections", 2048),
  };
}

/** The parts of a module context a BIN stream transport uses. */
export interface BinStreamHost {
  bin: BinApi;
  log: TsipsLogger;
  stats: { get(name: BinStreamStatName): Stat; gauge(name: "connections_open", compute: () => number): void };
  core: { sockets: readonly SocketDef[] };
  listening(desc: string): void;
}

/**
 * Creates the transport, opens one listener per `socket=<proto>:…` line (port defaults to
 * `defaultPort`), and serves the core's sends for the protocol. Returns the transport and
 * its inspection API; on a listen failure everything opened so far is closed.
 */
export async function startBinStream(host: BinStreamHost, factory: BinStreamFactory, opts: TransportOptions, defaultPort: number):
  Promise<{ transport: BinStreamTransport; api: BinStreamApi }> {
  const s = host.stats;
  const transport = new BinStreamTransport(factory, opts, {
    deliver: (bytes, source) => host.bin.deliver(bytes, source),
    peerEvent: (ev) => host.bin.peerEvent(ev),
  }, {
    packets_in: s.get("packets_in"),
    packets_out: s.get("packets_out"),
    bytes_in: s.get("bytes_in"),
    bytes_out: s.get("bytes_out"),
    framing_errors: s.get("framing_errors"),
    read_timeouts: s.get("read_timeouts"),
    drops: s.get("drops"),
    connects_failed: s.get("connects_failed"),
    packets_discarded: s.get("packets_discarded"),
  }, host.log);
  s.gauge("connections_open", () => transport.openCount());

  const proto = factory.proto;
  const sockets = host.core.sockets.filter((sk) => sk.proto === proto);
  try {
    for (const sk of sockets) {
      const info = await transport.listen({ host: sk.host, port: sk.port ?? defaultPort, raw: sk.raw, loc: sk.declLoc ?? sk.loc });
      host.log.info({ listener: info.url }, `listening on ${info.url}`);
      host.listening(info.url);
    }
  } catch (err) {
    await transport.close(0);
    throw err;
  }
  if (sockets.length === 0) host.log.warn(`no socket=${proto}:IP:PORT defined: ${proto} is outbound only (peers cannot connect to this node)`);

  host.bin.serveSend((bytes, h, port, nodeId) => transport.send(bytes, h, port, nodeId), proto);
  const api: BinStreamApi = {
    listeners: () => transport.listeners(),
    connections: () => transport.connectionCount(),
    connectionList: () => transport.connectionList(),
    flush: (timeoutMs) => transport.flush(timeoutMs),
  };
  running.set(api, transport);
  return { transport, api };
}

/** The transport behind each started API (several test hosts may run in one process). */
const running = new WeakMap<BinStreamApi, BinStreamTransport>();

/** Closes what `startBinStream` opened for `api` (the module's destroy); queued output gets a short grace. */
export async function stopBinStream(api: BinStreamApi | undefined): Promise<void> {
  const t = api ? running.get(api) : undefined;
  if (!t) return;
  running.delete(api!);
  await t.close();
}
