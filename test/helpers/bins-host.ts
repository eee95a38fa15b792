/**
 * In-process BIN-over-TLS nodes for proto_bins tests: tls_openssl + tls_mgm (one server and
 * one client domain, mutual TLS, certificates from test/helpers/tls-certs.ts) + proto_bins,
 * run by the core's test host, plus a probe module that records TEST_CAP packets and sends
 * through the core with `proto: "bins"`.
 */
import { BinPacket } from "../../core/bin/packet.ts";
import type { BinSendStatus, BinSource } from "../../core/hooks.ts";
import { defineModule } from "../../core/module.ts";
import { createTestHost, type TestHost } from "../../core/testing/host.ts";
import tlsOpenssl from "../../modules/tls_openssl/index.ts";
import tlsMgm from "../../modules/tls_mgm/index.ts";
import protoBins from "../../modules/proto_bins/index.ts";
import type { ProtoBinsApi } from "../../modules/proto_bins/api.ts";
import type { TestCerts } from "./tls-certs.ts";

export const TEST_CAP = "tsips-test";

export interface BinsProbe {
  seqs: number[];
  sources: BinSource[];
  sizes: number[];
  send(bytes: Uint8Array | BinPacket, host: string, port: number, nodeId?: number): BinSendStatus;
}

const probe = defineModule({
  name: "bins_probe",
  version: "1.0.0",
  init(ctx): BinsProbe {
    const api: BinsProbe = {
      seqs: [], sources: [], sizes: [],
      send: (bytes, host, port, nodeId) => ctx.bin.send(bytes, host, port, { proto: "bins", ...(nodeId !== undefined ? { nodeId } : {}) }),
    };
    ctx.bin.registerCb(TEST_CAP, (pkt, { source }) => {
      api.seqs.push(pkt.popInt());
      api.sources.push(source);
      api.sizes.push(pkt.bytes().length);
    });
    return api;
  },
});

export interface BinsNode {
  host: TestHost;
  api: ProtoBinsApi;
  probe: BinsProbe;
  port: number;
  stat(name: string): number;
  stop(): Promise<void>;
}

export interface BinsNodeOptions {
  /** Certificate base name (default node1). */
  cert?: string;
  /** Extra raw tls_mgm params (arrays append to the defaults). */
  tlsMgm?: Record<string, string | string[]>;
  protoBins?: Record<string, number | string>;
  listen?: boolean;
  globals?: Record<string, number | string>;
}

/** Mutual-TLS domains for `name` (server requires a client certificate). */
export function domainParams(certs: TestCerts, name: string): Record<string, string[]> {
  const both = (v: (d: string) => string): string[] => ["bins_srv", "bins_cli"].map((d) => `[${d}]${v(d)}`);
  return {
    server_domain: ["bins_srv"],
    client_domain: ["bins_cli"],
    certificate: both(() => certs.cert(name)),
    private_key: both(() => certs.key(name)),
    ca_list: both(() => certs.ca),
    ca_dir: both(() => certs.dir + "/no-such-dir"),
    tls_method: both(() => "TLSv1_2-TLSv1_3"),
  };
}

export async function startBinsNode(certs: TestCerts, o: BinsNodeOptions = {}): Promise<BinsNode> {
  const params: Record<string, string | string[]> = { ...domainParams(certs, o.cert ?? "node1") };
  for (const [k, v] of Object.entries(o.tlsMgm ?? {})) {
    const cur = params[k];
    params[k] = Array.isArray(v) ? [...(Array.isArray(cur) ? cur : []), ...v] : v;
  }
  const host = await createTestHost({
    modules: [
      { def: tlsOpenssl },
      { def: tlsMgm, params },
      { def: protoBins, params: o.protoBins ?? {} },
      { def: probe },
    ],
    sockets: o.listen === false ? [] : ["bins:127.0.0.1:0"],
    ...(o.globals ? { globals: o.globals } : {}),
  });
  const api = host.api<ProtoBinsApi>("proto_bins");
  return {
    host, api, probe: host.api<BinsProbe>("bins_probe"),
    port: api.listeners()[0]?.port ?? 0,
    stat: (name) => {
      const s = host.stats.find(name.includes(":") ? name : `proto_bins:${name}`);
      return s ? s.get() : NaN;
    },
    stop: () => host.stop(),
  };
}

/** A TEST_CAP packet carrying `seq`, padded to `size` bytes. */
export function testPacket(seq: number, size = 40): Uint8Array {
  const p = BinPacket.init(TEST_CAP, 1, 1).pushInt(seq);
  const base = p.bytes().length;
  if (size >= base + 2) p.pushStr("x".repeat(size - base - 2));
  return p.bytes();
}
