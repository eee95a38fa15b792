/**
 * The transport modules of the `bin` benchmark's two ends: proto_bin (TCP), or with a
 * certificate folder proto_bins (TLS 1.3, mutual, tls_mgm domains as examples/tls sets
 * them up). `makeBenchCerts` makes a throwaway CA and two node certificates with openssl.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TsipsModule } from "../../core/module.ts";
import protoBin from "../../modules/proto_bin/index.ts";
import protoBins from "../../modules/proto_bins/index.ts";
import tlsMgm from "../../modules/tls_mgm/index.ts";
import tlsOpenssl from "../../modules/tls_openssl/index.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

export function makeBenchCerts(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsips-bench-certs-"));
  execFileSync("sh", [join(root, "examples/tls/make-certs.sh"), dir, "node1", "node2"], { stdio: "ignore" });
  return dir;
}

type HostModule = { def: TsipsModule; params?: Record<string, string | number | (string | number)[]> };

/** Modules, socket and protocol of one end; `certDir` + `name` select TLS. */
export function transportModules(certDir: string | undefined, name: string, protoBinsParams: Record<string, number> = {}): { modules: HostModule[]; socket: string; proto: "bin" | "bins" } {
  if (!certDir) return { modules: [{ def: protoBin as TsipsModule }], socket: "bin:127.0.0.1:0", proto: "bin" };
  const both = (v: string): string[] => [`[srv]${v}`, `[cli]${v}`];
  return {
    modules: [
      { def: tlsOpenssl as TsipsModule },
      {
        def: tlsMgm as TsipsModule,
        params: {
          server_domain: ["srv"], client_domain: ["cli"],
          certificate: both(join(certDir, `${name}.pem`)), private_key: both(join(certDir, `${name}.key`)),
          ca_list: both(join(certDir, "ca.pem")), tls_method: both("TLSv1_2-TLSv1_3"),
        },
      },
      { def: protoBins as TsipsModule, params: protoBinsParams },
    ],
    socket: "bins:127.0.0.1:0",
    proto: "bins",
  };
}
