/**
 * `npm run bench -- hostile [--connections=N] [--concurrency=C] [--json]`: N hostile
 * connections (default 100,000) into a proto_bins listener while a real peer keeps
 * replicating to it over mutual TLS. The listener runs in its own process
 * (scripts/bench/bin-peer.ts with TLS, bins_accept_timeout 1000 ms); this process is the
 * replicating peer and the attacker. Five kinds, in turn:
 *   garbage before the handshake · a stalled handshake (a record header, then silence) ·
 *   a valid handshake then garbage instead of BIN · a TLS 1.2 renegotiation attempt ·
 *   a plaintext BIN packet.
 * Prints the listener's memory (RSS, heap) before, at its peak and after, its refusal
 * counters, and whether every replicated packet arrived in order.
 */
import { readFileSync, rmSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, createSecureContext, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { BinPacket } from "../../core/bin/packet.ts";
import { defineModule } from "../../core/module.ts";
import { createTestHost } from "../../core/testing/host.ts";
import { report } from "./report.ts";
import { makeBenchCerts, startBinPeer, transportModules } from "./bin-transport.ts";

const CAP = "bench-bin";

interface PeerStats { packets: number; rssMb: number; heapMb: number; done: number; failed: number; plaintext: number; framing: number; timeouts: number; open: number }

export async function run({ json, args = [] }: { json: boolean; args?: string[] }): Promise<void> {
  const opt = (name: string, def: number): number => Number(args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
  const total = opt("connections", 100_000);
  const concurrency = opt("concurrency", 200);
  const certDir = makeBenchCerts();
  const ca = readFileSync(join(certDir, "ca.pem"));
  const id = { cert: readFileSync(join(certDir, "node1.pem")), key: readFileSync(join(certDir, "node1.key")) };
  // one context per kind, built once (a context per connection would cost the attacker, not the listener)
  const ctx13 = createSecureContext({ ca, ...id });
  const ctx12 = createSecureContext({ ca, ...id, maxVersion: "TLSv1.2" });

  let onStats: ((s: PeerStats) => void) | null = null;
  let onCount: ((n: number, disorder: number) => void) | null = null;
  const transport = transportModules(certDir, "node1");
  const sender = defineModule({
    name: "hostile_sender",
    version: "1.0.0",
    init(ctx) {
      ctx.bin.registerCb(CAP, (pkt) => {
        if (pkt.type === 14) {
          const v = Array.from({ length: 9 }, () => pkt.popInt());
          onStats?.({ packets: v[0]!, rssMb: v[1]!, heapMb: v[2]!, done: v[3]!, failed: v[4]!, plaintext: v[5]!, framing: v[6]!, timeouts: v[7]!, open: v[8]! });
        }
        if (pkt.type === 10) {
          const n = pkt.popInt();
          pkt.popInt();
          onCount?.(n, pkt.popInt());
        }
      });
      return { send: (b: Uint8Array, port: number) => ctx.bin.send(b, "127.0.0.1", port, { proto: "bins" }) };
    },
  });
  const host = await createTestHost({ modules: [...transport.modules, { def: sender }], sockets: [transport.socket] });
  const myPort = host.api<{ listeners(): { port: number }[] }>("proto_bins").listeners()[0]!.port;
  const send = host.api<{ send(b: Uint8Array, port: number): string }>("hostile_sender").send;
  let peer: { port: number; stop(): Promise<void> } | undefined;
  try {
    peer = await startBinPeer({ BIN_PEER_TLS_DIR: certDir, BIN_PEER_ACCEPT_TIMEOUT: "1000" });
    const peerPort = peer.port;
    const stats = (): Promise<PeerStats> => new Promise((res) => {
      onStats = res;
      send(BinPacket.init(CAP, 13, 1).pushInt(myPort).bytes(), peerPort);
    });
    const before = await stats();

    // replication: one packet every 2 ms for the whole run
    let seq = 0;
    const statuses: Record<string, number> = {};
    const data = Buffer.from(BinPacket.init(CAP, 1, 1).pushInt(0).pushStr("x".repeat(60)).bytes());
    const seqAt = 16 + CAP.length;
    const repl = setInterval(() => {
      data.writeInt32LE(seq, seqAt);
      const st = send(data, peerPort);
      statuses[st] = (statuses[st] ?? 0) + 1;
      if (st !== "dropped" && st !== "error") seq++;
    }, 2);

    let peak = before;
    const sampler = setInterval(() => void stats().then((s) => { if (s.rssMb > peak.rssMb) peak = s; }), 2000);

    const garbage = Buffer.alloc(200, 0x5a);
    const plainBin = Buffer.from(BinPacket.init("clusterer-internal", 0, 1).pushInt(1).pushInt(9).bytes());
    const one = (i: number): Promise<void> => new Promise<void>((resolve) => {
      const kind = i % 5;
      const finish = (s: { on(e: string, f: () => void): unknown; destroy(): void }): void => {
        s.on("error", () => undefined);
        s.on("close", () => resolve());
        setTimeout(() => s.destroy(), 10_000).unref();
      };
      if (kind === 0 || kind === 1 || kind === 4) {
        const s = netConnect(peerPort, "127.0.0.1", () => {
          if (kind === 0) s.write(garbage);
          else if (kind === 1) s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
          else s.write(plainBin);
        });
        return finish(s);
      }
      const tls12 = kind === 3;
      const s: TLSSocket = tlsConnect({
        host: "127.0.0.1", port: peerPort, secureContext: tls12 ? ctx12 : ctx13, checkServerIdentity: () => undefined,
      });
      s.on("secureConnect", () => {
        // the listener refuses renegotiation (no_renegotiation alert); then garbage instead of BIN
        if (tls12) s.renegotiate({}, () => undefined);
        s.write(garbage);
      });
      s.on("data", () => undefined);
      finish(s);
    });

    const t0 = performance.now();
    let started = 0;
    let finished = 0;
    await new Promise<void>((resolve) => {
      const next = (): void => {
        if (started >= total) {
          if (finished >= total) resolve();
          return;
        }
        const i = started++;
        void one(i).then(() => {
          finished++;
          if (!json && finished % 10_000 === 0) process.stderr.write(`  ${finished}/${total} hostile connections, ${Math.round(finished / ((performance.now() - t0) / 1000))}/s, ${seq} packets replicated\n`);
          next();
        });
      };
      for (let k = 0; k < Math.min(concurrency, total); k++) next();
    });
    const secs = (performance.now() - t0) / 1000;
    clearInterval(repl);
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await stats();
    const got = await new Promise<{ n: number; disorder: number }>((res) => {
      onCount = (n, disorder) => res({ n, disorder });
      send(BinPacket.init(CAP, 9, 1).pushInt(myPort).bytes(), peerPort);
    });
    if (!json) process.stderr.write(`send statuses: ${JSON.stringify(statuses)}\n`);
    report(json, { name: "hostile.connections", value: total, unit: "connections", note: `${concurrency} at a time: garbage, stalled, TLS+garbage, renegotiation, plaintext BIN` });
    report(json, { name: "hostile.rate", value: Math.round(total / secs), unit: "connections/s" });
    report(json, { name: "hostile.listener_rss_before", value: before.rssMb, unit: "MB" });
    report(json, { name: "hostile.listener_rss_peak", value: peak.rssMb, unit: "MB", note: `heap ${peak.heapMb} MB at the peak` });
    report(json, { name: "hostile.listener_rss_after", value: after.rssMb, unit: "MB", note: `heap ${after.heapMb} MB, ${after.open} connections open` });
    report(json, { name: "hostile.handshakes_failed", value: after.failed - before.failed, unit: "connections", note: `of which ${after.timeouts - before.timeouts} timeouts, ${after.plaintext - before.plaintext} not TLS` });
    report(json, { name: "hostile.framing_errors", value: after.framing - before.framing, unit: "connections", note: "garbage after a valid handshake" });
    report(json, { name: "hostile.replicated_sent", value: seq, unit: "packets", note: "one every 2 ms from the real peer, over mutual TLS" });
    report(json, { name: "hostile.replicated_lost", value: seq - got.n, unit: "packets", note: got.disorder ? `${got.disorder} out of order` : "in order" });
  } finally {
    await peer?.stop();
    await host.stop();
    rmSync(certDir, { recursive: true, force: true });
  }
}
