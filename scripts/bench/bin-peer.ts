/**
 * The far end of `npm run bench -- bin` (loopback): a proto_bin node (proto_bins with
 * BIN_PEER_TLS_DIR set to a certificate folder) in its own process that
 * counts the `bench-bin` packets it receives. It prints `{"port":N}` once listening. A
 * control packet (type 9: i32 reply port) is answered with type 10: i32 packets, i32 bytes
 * (low 32 bits), i32 out-of-order count — sent to 127.0.0.1:<reply port>. Type 11 (i32 reply
 * port) is echoed at once as type 12 (latency probes). The control packet
 * travels behind the data on the same connection, so everything sent before it has arrived.
 */
import { defineModule } from "../../core/module.ts";
import { createTestHost } from "../../core/testing/host.ts";
import type { ProtoBinApi } from "../../modules/proto_bin/api.ts";
import { transportModules } from "./bin-transport.ts";

export const BENCH_CAP = "bench-bin";

const transport = transportModules(process.env["BIN_PEER_TLS_DIR"], "node2", {
  ...(process.env["BIN_PEER_ACCEPT_TIMEOUT"] ? { bins_accept_timeout: Number(process.env["BIN_PEER_ACCEPT_TIMEOUT"]) } : {}),
});
const proto = transport.proto;

const counter = defineModule({
  name: "bench_peer",
  version: "1.0.0",
  init(ctx) {
    let packets = 0, bytes = 0, disorder = 0, next = 0;
    ctx.bin.registerCb(BENCH_CAP, (pkt) => {
      if (pkt.type === 1) {
        packets++;
        bytes += pkt.length;
        const seq = pkt.popInt();
        if (seq !== next) disorder++;
        next = seq + 1;
        return;
      }
      if (pkt.type === 9) {
        const port = pkt.popInt();
        const reply = ctx.bin.init(BENCH_CAP, 10, 1).pushInt(packets).pushInt(bytes | 0).pushInt(disorder);
        ctx.bin.send(reply, "127.0.0.1", port, { proto });
        packets = bytes = disorder = next = 0;
      }
      if (pkt.type === 11) ctx.bin.send(ctx.bin.init(BENCH_CAP, 12, 1).pushInt(0), "127.0.0.1", pkt.popInt(), { proto });
      if (pkt.type === 13) {
        // memory and transport counters (the hostile-connections bench)
        const port = pkt.popInt();
        const m = process.memoryUsage();
        const stat = (n: string): number => ctx.statsRegistry.find(`${proto === "bins" ? "proto_bins" : "proto_bin"}:${n}`)?.get() ?? -1;
        const reply = ctx.bin.init(BENCH_CAP, 14, 1).pushInt(packets).pushInt(Math.round(m.rss / 1048576)).pushInt(Math.round(m.heapUsed / 1048576))
          .pushInt(stat("handshakes_done")).pushInt(stat("handshakes_failed")).pushInt(stat("plaintext_refused")).pushInt(stat("framing_errors"))
          .pushInt(stat("handshakes_failed_timeout")).pushInt(stat("connections_open"));
        ctx.bin.send(reply, "127.0.0.1", port, { proto });
      }
    });
  },
});

const host = await createTestHost({
  modules: [...transport.modules, { def: counter }], sockets: [transport.socket],
  globals: { tcp_socket_backlog: 1024, tcp_max_connections: 4096 },
});
const port = host.api<ProtoBinApi>(proto === "bins" ? "proto_bins" : "proto_bin").listeners()[0]!.port;
process.stdout.write(`${JSON.stringify({ port })}\n`);
// Exit with the parent: stdin closes when it goes away.
process.stdin.on("data", () => {});
process.stdin.on("end", () => void host.stop().then(() => process.exit(0)));
