/**
 * proto_bin: the BIN transport over TCP (OpenSIPS 3.6.8 `modules/proto_bin`,
 * spec/proto-bin.md). Listens on every `socket=bin:IP[:PORT]` (port defaults to `bin_port`),
 * frames by the length field, hands each packet to the core (`ctx.bin.deliver`), serves the
 * core's BIN sends for `bin:` URLs (`ctx.bin.serveSend`) with one reused connection per
 * destination, and reports connection changes (`ctx.bin.peerEvent`) as they happen. The
 * transport itself is the core's BIN stream transport (shared with proto_bins).
 */
import { createServer, connect } from "node:net";
import { defineModule, int, BIN_STREAM_STATS, binStreamOptions, startBinStream, stopBinStream, type BinStreamFactory } from "tsips";
import type { ProtoBinApi } from "./api.ts";

export type { ProtoBinApi } from "./api.ts";

const NEVER_BLOCKS = "tsips never blocks a sender: connects and writes always run in the background";

const tcp: BinStreamFactory = {
  proto: "bin",
  readyEvent: "connect",
  createServer: (onStream, opts) => createServer(opts, onStream),
  connect: (dest, opts) => connect({ host: dest.host, port: dest.port, ...opts }),
};

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
  stats: BIN_STREAM_STATS,

  async init(ctx): Promise<ProtoBinApi> {
    const p = ctx.params;
    const opts = binStreamOptions(ctx.core.globals, {
      maxChunks: p.bin_max_msg_chunks,
      readTimeoutMs: p.bin_read_timeout,
      async: p.bin_async === 1,
      connectTimeoutMs: p.bin_connect_timeout,
      sendTimeoutMs: p.bin_send_timeout,
      queueLimitBytes: p.bin_queue_limit,
      maxPostponed: p.bin_async_max_postponed_chunks,
    });
    const { api } = await startBinStream(ctx, tcp, opts, p.bin_port);
    return api;
  },

  destroy: (_ctx, api) => stopBinStream(api),
});
