/**
 * The transport modules of the `bin` benchmark's two ends: proto_bin (TCP), or with a
 * certificate folder proto_bins (TLS 1.3, mutual, tls_mgm domains as examples/tls sets
 * them up). `makeBenchCerts` makes a throwaway CA and two node certificates with openssl.
 */
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
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

/**
 * Starts scripts/bench/bin-peer.ts in its own process (`env` selects TLS and its options) and
 * resolves with its BIN port and a `stop` that ends it (stdin closed, SIGKILL after 3 s).
 */
export async function startBinPeer(env: Record<string, string>, nodeArgs: string[] = []): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(root, "scripts/bench/bin-peer.ts")], {
    cwd: root, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env },
  });
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    if (child.exitCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    await gone;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", (l) => resolve((JSON.parse(l) as { port: number }).port));
      child.once("exit", (code) => reject(new Error(`bin-peer exited with ${code}`)));
      setTimeout(() => reject(new Error("bin-peer did not start within 20 s")), 20_000).unref();
    });
    return { port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
