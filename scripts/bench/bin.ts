/**
 * `npm run bench -- bin`:
 * - codec: encode and decode of a usrloc UCONTACT_INSERT-sized packet (22 fields, 328 bytes)
 *   with the BinPacket API, and of the real captured UCONTACT_INSERT through its declared
 *   message when the usrloc declarations are registered; packets/s (goal ≥ 1,000,000/s).
 * - loopback: proto_bin here → proto_bin in a child process (scripts/bench/bin-peer.ts) over
 *   127.0.0.1, 100-byte and 1,000-byte packets, packets/s and MB/s (goal ≥ 300,000 small/s),
 *   and the round-trip latency of one packet (median and p99 of 2,000 ping-pongs).
 * - `--tls`: the loopback part over proto_bin (TCP) and then over proto_bins (mutual TLS 1.3,
 *   certificates made with openssl in a temp folder), with TLS as a share of TCP
 *   (goal: TLS ≥ 50% of TCP for 100-byte packets).
 * Each figure is the best of a few short rounds (the machine is shared; best-of filters noise).
 */

import { fileURLToPath } from "node:url";
import { BinPacket } from "../../core/bin/packet.ts";
import { discoverMessages } from "../../core/loader/messages.ts";
import { findVector } from "../../core/bin/vectors.ts";
import { defineModule } from "../../core/module.ts";
import { createTestHost } from "../../core/testing/host.ts";
import type { ProtoBinApi } from "../../modules/proto_bin/api.ts";
import { report } from "./report.ts";
import { makeBenchCerts, startBinPeer, transportModules } from "./bin-transport.ts";
import { rmSync } from "node:fs";

/** Every declared message, found through the loader as bin-dump finds them. */
const knownMessages = (await discoverMessages()).registry;

const BENCH_CAP = "bench-bin";

// ── codec ────────────────────────────────────────────────────────────────

const CONTACT = {
  domain: "location", aor: "alice@example.com", contact: "sip:alice@198.51.100.23:5090;transport=udp;ob",
  callid: "a84b4c76e66710-2b8c1d@pc33.example.com", ua: "OpenSIPS (3.6.8 (x86_64/linux))",
  received: "sip:198.51.100.23:50234", instance: "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>",
  sock: "udp:127.0.0.1:5060",
};

/** A UCONTACT_INSERT-shaped packet: 11 strs, 11 ints (trailer included). */
function encodeContact(i: number): BinPacket {
  const c = CONTACT;
  return BinPacket.init("usrloc-contact-repl", 3, 5)
    .pushStr(c.domain).pushStr(c.aor).pushStr(c.contact).pushStr(c.callid).pushStr(c.ua).pushStr(null)
    .pushStr(c.received).pushStr(c.instance).pushStr(c.sock).pushInt(3600 + i).pushInt(500).pushInt(i)
    .pushInt(0).pushInt(0).pushInt(1_700_000_000).pushInt(2).pushStr(null).pushStr(null).pushInt(0)
    .pushInt(1).pushInt(1).pushInt(2);
}

function decodeContact(b: Uint8Array): number {
  const p = BinPacket.parse(b);
  p.popBackInt();
  p.popBackInt();
  p.popBackInt();
  let s = 0;
  for (let k = 0; k < 9; k++) s += p.popStr().length;
  for (let k = 0; k < 7; k++) s += p.popInt();
  s += p.popStr().length + p.popStr().length + p.popInt();
  return s;
}

/** Best packets/s over `rounds` rounds of ~`ms` each. */
function rate(fn: (i: number) => number, rounds = 5, ms = 400): number {
  let best = 0, sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      for (let k = 0; k < 5000; k++) sink += fn(k);
      n += 5000;
    }
    best = Math.max(best, n / ((performance.now() - t0) / 1000));
  }
  if (sink === 0.5) console.log(sink); // keep the work observable
  return Math.round(best);
}

function codec(json: boolean): void {
  const wire = Buffer.from(encodeContact(1).bytes());
  rate((i) => encodeContact(i).bytes().length, 2, 200); // warm-up
  rate((i) => decodeContact(wire) + i, 2, 200);
  report(json, { name: "bin.codec.encode", value: rate((i) => encodeContact(i).bytes().length), unit: "packets/s", note: `${wire.length}-byte, 22-field packet; goal ≥ 1,000,000` });
  report(json, { name: "bin.codec.decode", value: rate((i) => decodeContact(wire) + i), unit: "packets/s", note: `parse + 3 popBackInt + 19 pops; goal ≥ 1,000,000` });

  // The real thing, through the declared message (when usrloc registered its declarations),
  // on the packet captured from OpenSIPS (test/vectors/, part of the repo).
  const msg = knownMessages.find("usrloc-contact-repl", 3, 5);
  if (msg) {
    const v = findVector("main", "022-usrloc-ucontact-insert-n1-to-n2.hex");
    const strip = (b: Uint8Array): BinPacket => {
      const p = BinPacket.parse(b);
      p.popBackInt(); p.popBackInt(); p.popBackInt();
      return p;
    };
    const rec = msg.decode(strip(v.bytes));
    const encoded = msg.encode(rec).pushInt(1).pushInt(1).pushInt(2).bytes();
    const same = Buffer.compare(encoded, v.bytes) === 0;
    rate((i) => msg.encode(rec).bytes().length + i, 2, 200);
    report(json, { name: "bin.codec.declared_encode", value: rate((i) => msg.encode(rec).bytes().length + i), unit: "packets/s", note: `usrloc ${msg.name} (captured, ${v.bytes.length} bytes${same ? ", re-encodes byte-identical" : ""})` });
    report(json, { name: "bin.codec.declared_decode", value: rate((i) => (msg.decode(strip(v.bytes)) ? i : 0)), unit: "packets/s", note: `usrloc ${msg.name} decode into a typed record` });
  }
}

// ── loopback ─────────────────────────────────────────────────────────────

interface Result { packets: number; bytes: number; disorder: number }

async function loopback(json: boolean, certDir?: string): Promise<Record<number, number>> {
  const transport = transportModules(certDir, "node1");
  const proto = transport.proto;
  const tag = certDir ? "bins" : "bin";
  const out: Record<number, number> = {};
  let pending: ((r: Result) => void) | null = null;
  let echo: (() => void) | null = null;
  const collector = defineModule({
    name: "bench_sender",
    version: "1.0.0",
    init(ctx) {
      ctx.bin.registerCb(BENCH_CAP, (pkt) => {
        if (pkt.type === 10) pending?.({ packets: pkt.popInt(), bytes: pkt.popInt() >>> 0, disorder: pkt.popInt() });
        if (pkt.type === 12) echo?.();
      });
      return { send: (b: Uint8Array, port: number) => ctx.bin.send(b, "127.0.0.1", port, { proto }) };
    },
  });
  const host = await createTestHost({ modules: [...transport.modules, { def: collector }], sockets: [transport.socket] });
  const myPort = host.api<ProtoBinApi>(certDir ? "proto_bins" : "proto_bin").listeners()[0]!.port;
  const sender = host.api<{ send(b: Uint8Array, port: number): string }>("bench_sender");
  let peer: { port: number; stop(): Promise<void> } | undefined;
  try {
    // BIN_PEER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/x" profiles the receiving side too.
    const extra = (process.env["BIN_PEER_NODE_ARGS"] ?? "").split(/\s+/).filter(Boolean);
    peer = await startBinPeer(certDir ? { BIN_PEER_TLS_DIR: certDir } : {}, extra);
    const peerPort = peer.port;
    const control = BinPacket.init(BENCH_CAP, 9, 1).pushInt(myPort).bytes();
    const roundTrip = async (): Promise<Result> => {
      const r = new Promise<Result>((res) => (pending = res));
      sender.send(control, peerPort);
      return r;
    };
    await roundTrip(); // connect both ways

    for (const size of [100, 1000]) {
      const pkt = BinPacket.init(BENCH_CAP, 1, 1).pushInt(0).pushStr(Buffer.alloc(size - (16 + BENCH_CAP.length) - 4 - 2, 0x61));
      const bytes = Buffer.from(pkt.bytes());
      if (bytes.length !== size) throw new Error(`bench packet is ${bytes.length} bytes, not ${size}`);
      const seqAt = 16 + BENCH_CAP.length;
      let best = { pps: 0, mbs: 0 };
      for (let round = 0; round < 3; round++) {
        let seq = 0, dropped = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < 1000) {
          for (let k = 0; k < 2000; k++) {
            bytes.writeInt32LE(seq, seqAt);
            if (sender.send(bytes, peerPort) === "dropped") {
              dropped++;
              break;
            }
            seq++;
          }
          await new Promise((r) => setImmediate(r));
        }
        const r = await roundTrip();
        const secs = (performance.now() - t0) / 1000;
        if (r.packets !== seq || r.disorder !== 0) throw new Error(`loopback lost or reordered packets: sent ${seq}, got ${r.packets}, ${r.disorder} out of order`);
        const pps = seq / secs;
        if (pps > best.pps) best = { pps, mbs: (seq * size) / secs / 1e6 };
        if (dropped > 0 && round === 0 && !json) process.stderr.write(`(queue full ${dropped} times: the sender outran the link)\n`);
      }
      out[size] = best.pps;
      report(json, { name: `${tag}.loopback.${size}B`, value: Math.round(best.pps), unit: "packets/s", note: size === 100 && !certDir ? "goal ≥ 300,000" : "" });
      report(json, { name: `${tag}.loopback.${size}B_throughput`, value: +best.mbs.toFixed(1), unit: "MB/s" });
    }
    // latency: one 100-byte-class packet there and back, 2,000 times, nothing else in flight
    const probe = BinPacket.init(BENCH_CAP, 11, 1).pushInt(myPort).bytes();
    const rtts: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      await new Promise<void>((res) => {
        echo = res;
        sender.send(probe, peerPort);
      });
      rtts.push((performance.now() - t0) * 1000);
    }
    rtts.sort((a, b) => a - b);
    report(json, { name: `${tag}.loopback.rtt_median`, value: Math.round(rtts[1000]!), unit: "µs", note: "send → peer callback → reply callback, one packet in flight" });
    report(json, { name: `${tag}.loopback.rtt_p99`, value: Math.round(rtts[1980]!), unit: "µs" });
  } finally {
    await peer?.stop();
    await host.stop();
  }
  return out;
}

/** `--only=codec` or `--only=loopback` runs one part. */
export async function run({ json, args = [] }: { json: boolean; args?: string[] }): Promise<void> {
  const only = args.find((a) => a.startsWith("--only="))?.slice(7);
  if (only !== "loopback") codec(json);
  if (only === "codec") return;
  const tcp = await loopback(json);
  if (!args.includes("--tls")) return;
  const certDir = makeBenchCerts();
  try {
    const tls = await loopback(json, certDir);
    for (const size of [100, 1000]) {
      report(json, { name: `bins.vs_bin.${size}B`, value: Math.round((100 * tls[size]!) / tcp[size]!), unit: "%", note: size === 100 ? "TLS throughput as a share of TCP; goal ≥ 50" : "" });
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run({ json: process.argv.includes("--json"), args: process.argv.slice(2) });
  process.exit(0);
}
