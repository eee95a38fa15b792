/**
 * In-process BIN nodes for proto_bin tests: the real module run by the core's test host
 * (`createTestHost`), plus a probe module that registers a test capability, records every
 * packet and peer event, and sends through the core (`ctx.bin.send`).
 */
import { connect, type Socket } from "node:net";
import { BinPacket } from "../../core/bin/packet.ts";
import type { BinPeerEvent, BinSendStatus, BinSource } from "../../core/hooks.ts";
import { defineModule } from "../../core/module.ts";
import { createTestHost, type TestHost } from "../../core/testing/host.ts";
import { waitFor } from "../../core/testing/wait.ts";
import protoBin from "../../modules/proto_bin/index.ts";
import type { ProtoBinApi } from "../../modules/proto_bin/api.ts";

export const TEST_CAP = "tsips-test";

export interface ProbeApi {
  /** Sequence numbers (first body int) of received TEST_CAP packets, in arrival order. */
  seqs: number[];
  /** Sources of received packets (one per packet). */
  sources: BinSource[];
  /** Every received packet's bytes (copied) when `keepBytes` is on. */
  bytes: Buffer[];
  keepBytes: boolean;
  peer: BinPeerEvent[];
  /** Called for every received packet (after recording). */
  onPacket?: (pkt: BinPacket, source: BinSource) => void;
  send(bytes: Uint8Array | BinPacket, host: string, port: number): BinSendStatus;
}

const probe = defineModule({
  name: "bin_probe",
  version: "1.0.0",
  init(ctx): ProbeApi {
    const api: ProbeApi = {
      seqs: [], sources: [], bytes: [], keepBytes: false, peer: [],
      send: (bytes, host, port) => ctx.bin.send(bytes, host, port),
    };
    ctx.bin.registerCb(TEST_CAP, (pkt, { source }) => {
      api.seqs.push(pkt.popInt());
      api.sources.push(source);
      if (api.keepBytes) api.bytes.push(Buffer.from(pkt.bytes()));
      api.onPacket?.(pkt, source);
    });
    ctx.hooks.bin.peer.tap((ev) => void api.peer.push(ev));
    return api;
  },
});

export interface BinNode {
  host: TestHost;
  api: ProtoBinApi;
  probe: ProbeApi;
  /** First listener's address. */
  ip: string;
  port: number;
  stat(name: string): number;
  stop(): Promise<void>;
}

export interface BinNodeOptions {
  params?: Record<string, number | string>;
  sockets?: string[];
  globals?: Record<string, number | string>;
}

const running = new Set<BinNode>();

export async function startBinNode(o: BinNodeOptions = {}): Promise<BinNode> {
  const host = await createTestHost({
    modules: [{ def: protoBin, params: o.params ?? {} }, { def: probe }],
    sockets: o.sockets ?? ["bin:127.0.0.1:0"],
    globals: o.globals ?? {},
  });
  const api = host.api<ProtoBinApi>("proto_bin");
  const l = api.listeners()[0];
  let stopped = false;
  const node: BinNode = {
    host, api, probe: host.api<ProbeApi>("bin_probe"),
    ip: l?.host ?? "", port: l?.port ?? 0,
    stat: (name) => host.stats.find(`proto_bin:${name}`)?.get() ?? NaN,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      running.delete(node);
      await host.stop();
    },
  };
  running.add(node);
  return node;
}

/** Stops every node still running (afterEach). */
export async function stopAllBinNodes(): Promise<void> {
  await Promise.all([...running].map((n) => n.stop()));
}

/** A TEST_CAP packet carrying `seq` and `pad` filler bytes. */
export function testPacket(seq: number, pad = 0): BinPacket {
  const p = BinPacket.init(TEST_CAP, 1, 1).pushInt(seq);
  if (pad > 0) p.pushStr(Buffer.alloc(pad, 0x61));
  return p;
}

/** A raw TCP client (a hostile or scripted peer). */
export async function rawClient(port: number, host = "127.0.0.1"): Promise<Socket & { whenClosed: Promise<void> }> {
  const s = connect({ host, port, noDelay: true });
  const whenClosed = new Promise<void>((r) => s.once("close", () => r()));
  s.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  return Object.assign(s, { whenClosed });
}

export { waitFor };
