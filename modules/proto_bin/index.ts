/**
 * proto_bin: the BIN transport over TCP (OpenSIPS 3.6.8 `modules/proto_bin`,
 * spec/proto-bin.md). Listens on every `socket=bin:IP[:PORT]` (port defaults to `bin_port`),
 * frames by the length field, hands each packet to the core (`ctx.bin.deliver`), serves the
 * core's BIN sends (`ctx.bin.serveSend`) with one reused connection per destination, and
 * reports connection changes (`ctx.bin.peerEvent`) as they happen.
 */
import { defineModule, int } from "tsips";
import type { ProtoBinApi } from "./api.ts";
import { BinTransport, type TransportOptions } from "./transport.ts";

export type { ProtoBinApi } from "./api.ts";

function globalInt(globals: ReadonlyMap<string, { kind: string; value: number | string }>, name: string, def: number): number {
  const v = globals.get(name);
  if (v === undefined) return def;
  if (typeof v.value === "number") return v.value;
  const n = Number(v.value);
  return Number.isFinite(n) ? n : def;
}

const NEVER_BLOCKS = "tsips never blocks a sender: connects and writes always run in the background";

export default defineModule({
  name: "proto_bin",
  version: "1.0.0",
  doc: "BIN (OpenSIPS binary internal interface) over TCP",
  params: {
    // ── OpenSIPS 3.6.8 proto_bin parameters (spec/proto-bin.md §6) ──
    bin_port: int({ default: 5555, min: 1, max: 65535, doc: "Default port of bin: listeners and URLs that give none" }),
    bin_send_timeout: int({ default: 100, min: 0, doc: "ms; with bin_async=0, output that makes no progress for this long closes the connection (OpenSIPS: blocking-write bound)" }),
    bin_max_msg_chunks: int({ default: 32, min: 0, doc: "Reads one packet may take before the connection is dropped (0 = no limit)" }),
    bin_async: int({ default: 1, min: 0, max: 1, doc: "1: connects are bounded by bin_connect_timeout and output queues up to bin_queue_limit; 0: connects bounded by tcp_connect_timeout, writes by bin_send_timeout" }),
    bin_async_max_postponed_chunks: int({ default: 1024, min: 1, doc: "Packets a destination may queue while its connection is being set up; more are dropped" }),
    bin_async_local_connect_timeout: int({ default: 100, min: 0, doc: "ms the sending worker waits on a connect in OpenSIPS", ignored: `${NEVER_BLOCKS} (see bin_connect_timeout)` }),
    bin_async_local_write_timeout: int({ default: 10, min: 0, doc: "ms the sending worker spends writing in OpenSIPS", ignored: `${NEVER_BLOCKS} (see bin_queue_limit)` }),
    // ── tsips additions ──
    bin_queue_limit: int({ default: 32 * 1024 * 1024, min: 65535, doc: "tsips: bytes of output one destination may hold (queued, batched or in the socket buffer); packets beyond are dropped and counted" }),
    bin_connect_timeout: int({ default: 3000, min: 1, doc: "tsips: ms an outbound connect may take with bin_async=1 (with bin_async=0 the core tcp_connect_timeout applies)" }),
    bin_read_timeout: int({ default: 0, min: 0, doc: "tsips: ms one packet may take to arrive; 0 = the core tcp_max_msg_time (seconds, default 4)" }),
  },
  stats: {
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
  },

  async init(ctx): Promise<ProtoBinApi> {
    const p = ctx.params;
    const g = ctx.core.globals;
    const async = p.bin_async === 1;
    const opts: TransportOptions = {
      maxChunks: p.bin_max_msg_chunks,
      readTimeoutMs: p.bin_read_timeout > 0 ? p.bin_read_timeout : globalInt(g, "tcp_max_msg_time", 4) * 1000,
      connectTimeoutMs: async ? p.bin_connect_timeout : globalInt(g, "tcp_connect_timeout", 100),
      sendTimeoutMs: async ? 0 : p.bin_send_timeout,
      queueLimitBytes: p.bin_queue_limit,
      maxPostponed: p.bin_async_max_postponed_chunks,
      lifetimeMs: globalInt(g, "tcp_connection_lifetime", 120) * 1000,
      keepAlive: globalInt(g, "tcp_keepalive", 1) !== 0,
      keepIdleMs: globalInt(g, "tcp_keepidle", 0) * 1000,
      backlog: globalInt(g, "tcp_socket_backlog", 10),
      maxConnections: globalInt(g, "tcp_max_connections", 2048),
    };
    const s = ctx.stats;
    const transport = new BinTransport(opts, {
      deliver: (bytes, source) => ctx.bin.deliver(bytes, source),
      peerEvent: (ev) => ctx.bin.peerEvent(ev),
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
    }, ctx.log);
    s.gauge("connections_open", () => transport.openCount());

    const sockets = ctx.core.sockets.filter((sk) => sk.proto === "bin");
    try {
      for (const sk of sockets) {
        const info = await transport.listen({ host: sk.host, port: sk.port ?? p.bin_port, raw: sk.raw, loc: sk.declLoc ?? sk.loc });
        ctx.log.info({ listener: info.url }, `listening on ${info.url}`);
        ctx.listening(info.url);
      }
    } catch (err) {
      await transport.close(0);
      throw err;
    }
    if (sockets.length === 0) ctx.log.warn("no socket=bin:IP:PORT defined: BIN is outbound only (peers cannot connect to this node)");

    ctx.bin.serveSend((bytes, host, port) => transport.send(bytes, host, port));

    const api: ProtoBinApi = {
      listeners: () => transport.listeners(),
      connections: () => transport.connectionCount(),
      connectionList: () => transport.connectionList(),
      flush: (timeoutMs) => transport.flush(timeoutMs),
    };
    transports.set(api, transport);
    return api;
  },

  async destroy(_ctx, api) {
    const t = api ? transports.get(api) : undefined;
    if (!t) return;
    transports.delete(api!);
    await t.close();
  },
});

/** The transport behind each instance's API (several test hosts may run in one process). */
const transports = new WeakMap<ProtoBinApi, BinTransport>();
