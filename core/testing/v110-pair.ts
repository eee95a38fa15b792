/**
 * Two tsips nodes speaking the OpenSIPS 1.10 BIN interface on loopback, as in the 1.10
 * manual: A replicates its dialogs to B's `bin_listen`, B accepts them. B's SIP socket
 * advertises A's address, so the socket strings A sends match one of B's listeners (the
 * usual 1.10 HA setup shares or advertises the primary's address, spec/bin-1.10.md §6.3).
 * Used by the integration tests, `npm run failover -- --v110` and `npm run bench -- v110`.
 */
import { NodeProcess, type NodeProcessOptions } from "./node-process.ts";
import { freePorts } from "./ports.ts";

export interface V110PairPorts {
  binA: number;
  binB: number;
  sipA: number;
  sipB: number;
  httpA: number;
  httpB: number;
}

/** The config of one node of the pair (the same text `examples/v110/` ships, on other ports). */
export function v110NodeCfg(role: "A" | "B", p: V110PairPorts, logLevel = 3): string {
  const a = role === "A";
  return `# tsips 1.10 pair, node ${role}: ${a ? "replicates its dialogs to B" : "accepts A's replicated dialogs"}
log_level = ${logLevel}
stderror_enabled = yes
bin_listen = 127.0.0.1:${a ? p.binA : p.binB}
bin_children = 1
socket = udp:127.0.0.1:${a ? p.sipA : `${p.sipB} as 127.0.0.1:${p.sipA}`}

loadmodule "httpd.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", ${a ? p.httpA : p.httpB})
loadmodule "mi_http.so"

loadmodule "dialog.so"
modparam("dialog", "profiles_with_value", "caller")
modparam("dialog", "profiles_no_value", "calls")
${a ? `modparam("dialog", "replicate_dialogs_to", "127.0.0.1:${p.binB}")` : `modparam("dialog", "accept_replicated_dialogs", 1)`}
`;
}

export interface V110Pair {
  ports: V110PairPorts;
  a: NodeProcess;
  b: NodeProcess;
  stop(): Promise<void>;
}

/** Starts B then A on free ports. */
export async function startV110Pair(opts: Partial<NodeProcessOptions> = {}): Promise<V110Pair> {
  const [binA, binB, sipA, sipB, httpA, httpB] = await freePorts(6);
  const ports = { binA: binA!, binB: binB!, sipA: sipA!, sipB: sipB!, httpA: httpA!, httpB: httpB! };
  const b = await NodeProcess.start({ ...opts, cfg: v110NodeCfg("B", ports), name: "v110-B" });
  const a = await NodeProcess.start({ ...opts, cfg: v110NodeCfg("A", ports), name: "v110-A" });
  return {
    ports, a, b,
    async stop() {
      await Promise.allSettled([a.stop(), b.stop()]);
    },
  };
}
