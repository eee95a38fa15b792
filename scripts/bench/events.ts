/**
 * events: what an operator's event subscriber sees, with real node processes on 127.0.0.1.
 *
 * - events.crash_to_udp.killN: SIGKILL of node N (instant: just before `kill`) → the other
 *   node's E_CLUSTERER_NODE_STATE_CHANGED new_state 0 datagram received by a UDP subscriber in
 *   this process (event_datagram). Median and worst of --runs, for N = 2 and N = 1.
 * - events.exit_to_udp.killN: the same datagram, measured from the instant this process reaps
 *   node N's exit (the kernel has closed its sockets).
 * - events.repl_20k_{plain,stuck}: usrloc, 20 000 contacts inserted on node 1 (ul_bench_load)
 *   until node 2 counts them all, without a subscriber and with a TCP subscriber on node 2
 *   that never reads (E_UL_CONTACT_INSERT, event_stream): the same instants on both sides.
 *
 * Options: --runs=N (default 7).
 */
import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes } from "../../core/testing/node-process.ts";
import { waitFor } from "../../core/testing/wait.ts";
import { median, report } from "./report.ts";

const EVENTS = `loadmodule "event_datagram.so"\nloadmodule "event_stream.so"\n`;
const USRLOC = `loadmodule "usrloc.so"\nmodparam("usrloc", "working_mode_preset", "full-sharing-cluster")\nmodparam("usrloc", "location_cluster", 1)\n`;

async function crashLatency(runs: number, victim: 1 | 2): Promise<{ kill: number[]; exit: number[] }> {
  const watcher = victim === 1 ? 2 : 1;
  const sock = createSocket("udp4");
  let waiter: ((t: number) => void) | undefined;
  sock.on("message", (b) => {
    const n = JSON.parse(b.toString("utf8")) as { params: { new_state?: number } };
    if (n.params.new_state === 0) waiter?.(performance.now());
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const c = await LocalCluster.start({ size: 2, logLevel: 3, extra: EVENTS });
  const kill: number[] = [];
  const exit: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      await c.mi(watcher, "event_subscribe", ["E_CLUSTERER_NODE_STATE_CHANGED", `udp:127.0.0.1:${sock.address().port}`]);
      const got = new Promise<number>((r) => (waiter = r));
      const t0 = performance.now();
      await c.kill(victim);
      const t1 = performance.now();
      const t = await got;
      kill.push(t - t0);
      exit.push(Math.max(0, t - t1));
      await c.restart(victim);
      await c.waitAllUp(30_000);
    }
  } finally {
    await c.stop();
    sock.close();
  }
  return { kill, exit };
}

async function replication(stuck: boolean): Promise<number> {
  const conns: Socket[] = [];
  const server = createServer((s) => {
    conns.push(s);
    s.pause();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const c = await LocalCluster.start({ size: 2, logLevel: 3, clusterer: { seed_fallback_interval: 1 }, extra: EVENTS + USRLOC });
  try {
    await waitFor("usrloc synced", async () => {
      for (const id of [1, 2]) if (((await c.mi(id, "sr_get_status", ["clusterer", "cap:usrloc-contact-repl"])) as { Status: number }).Status !== 1) return false;
      return true;
    }, 20_000);
    if (stuck) await c.mi(2, "event_subscribe", ["E_UL_CONTACT_INSERT", `tcp:127.0.0.1:${(server.address() as { port: number }).port}`]);
    const t0 = performance.now();
    await c.mi(1, "ul_bench_load", { count: 20_000, prefix: "b" });
    await waitFor("20000 on node 2", async () =>
      ((await c.mi(2, "get_statistics", { statistics: ["location-contacts"] })) as Record<string, number>)["usrloc:location-contacts"] === 20_000, 60_000, 5);
    return performance.now() - t0;
  } finally {
    await c.stop();
    for (const s of conns) s.destroy();
    server.close();
  }
}

export async function run({ json, args }: { json: boolean; args: string[] }): Promise<void> {
  const runs = Number(args.find((a) => a.startsWith("--runs="))?.slice(7) ?? 7);
  try {
    for (const victim of [2, 1] as const) {
      const { kill, exit } = await crashLatency(runs, victim);
      const who = `node ${victim} killed, node ${victim === 1 ? 2 : 1} subscribed`;
      report(json, { name: `events.crash_to_udp.kill${victim}`, value: median(kill), unit: "ms", note: `${who}; median of ${runs}, worst ${Math.max(...kill).toFixed(0)} ms` });
      report(json, { name: `events.exit_to_udp.kill${victim}`, value: median(exit), unit: "ms", note: `${who}; median of ${runs}, worst ${Math.max(...exit).toFixed(0)} ms` });
    }
    report(json, { name: "events.repl_20k_plain", value: await replication(false), unit: "ms", note: "no subscriber" });
    report(json, { name: "events.repl_20k_stuck", value: await replication(true), unit: "ms", note: "a TCP subscriber on node 2 that never reads" });
  } finally {
    await killAllNodes();
  }
}
