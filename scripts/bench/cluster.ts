/**
 * cluster: clusterer failure detection and startup sync, with real node processes on
 * 127.0.0.1 (core/testing/cluster.ts).
 *
 * - detection.crash: SIGKILL of node 1 → on node 2, (a) the node-down event (the link leaves
 *   Up, E_CLUSTERER_NODE_STATE_CHANGED 0) and (b) `link_state` Down, each from node 2's log
 *   line. The killed process's sockets close, so tsips probes at once, the reconnect is
 *   refused and (down_on_refused) the link is Down. Median of ≥ 5 runs, with the default
 *   timers and with ping_interval=1, ping_timeout=500, node_timeout=2.
 *   OpenSIPS 3.6.8, default timers (issue 11): leaves Up 54 ms (45–174), Down 4.40 s.
 * - detection.partition: a TCP proxy between the nodes stops forwarding (no socket closes):
 *   only the link state machine (missing pongs) can notice.
 * - sync: a fresh node joins a donor holding 100k kv_store records: time from the joiner's
 *   "ready" line (and from its process start) to its "synced" line. OpenSIPS 3.6.8: 2.07 s
 *   for 100k usrloc contacts.
 *
 * Options: --runs=N (default 5), --records=N (default 100000), --only=crash|partition|sync.
 */
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes, type LogLine } from "../../core/testing/node-process.ts";
import { median, report } from "./report.ts";

const KV = `loadmodule "kv_store.so"\nmodparam("kv_store", "cluster_id", 1)\n`;
const TUNED = { ping_interval: 1, ping_timeout: 500, node_timeout: 2 };

const isDown = (id: number) => (l: LogLine): boolean => l["event"] === "node-down" && l["node"] === id;
const isLinkDown = (id: number) => (l: LogLine): boolean => l["event"] === "link-down" && l["node"] === id;

async function crashDetection(runs: number, timers: Record<string, number> | undefined): Promise<{ event: number[]; down: number[] }> {
  const c = await LocalCluster.start({ size: 2, logLevel: 3, ...(timers ? { clusterer: timers } : {}) });
  const out = { event: [] as number[], down: [] as number[] };
  try {
    for (let i = 0; i < runs; i++) {
      const mark = c.node(2).mark();
      const killedAt = Date.now();
      await c.kill(1);
      const line = await c.node(2).waitForLog(isDown(1), 30_000, mark);
      const down = await c.node(2).waitForLog(isLinkDown(1), 30_000, mark);
      out.event.push((line.time as number) - killedAt);
      out.down.push((down.time as number) - killedAt);
      await c.restart(1);
      await c.waitAllUp(30_000);
    }
  } finally {
    await c.stop();
  }
  return out;
}

async function partitionDetection(runs: number, timers: Record<string, number> | undefined): Promise<number[]> {
  const c = await LocalCluster.start({ size: 2, logLevel: 3, proxied: true, ...(timers ? { clusterer: timers } : {}) });
  const out: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const mark = c.node(2).mark();
      const cutAt = Date.now();
      c.partition(1, 2, "drop");
      const line = await c.node(2).waitForLog(isDown(1), 60_000, mark);
      out.push((line.time as number) - cutAt);
      c.heal(1, 2);
      // both sides now wait node_timeout before probing again: a restart of node 1 rejoins at once
      await c.kill(1);
      await c.restart(1);
      await c.waitAllUp(30_000);
    }
  } finally {
    await c.stop();
  }
  return out;
}

async function syncRuns(runs: number, records: number): Promise<{ fromReady: number[]; fromSpawn: number[]; transfer: number[] }> {
  const c = await LocalCluster.start({ size: 2, logLevel: 3, extra: KV, clusterer: { seed_fallback_interval: 1 } });
  const fromReady: number[] = [];
  const fromSpawn: number[] = [];
  const transfer: number[] = [];
  try {
    await c.mi(1, "kv_load", [records, "user", 16]);
    for (let i = 0; i < runs; i++) {
      await c.kill(2);
      const mark = c.node(2).logs.length;
      const spawnAt = Date.now();
      await c.restart(2);
      const n = c.node(2);
      const ready = await n.waitForLog((l) => l.msg.startsWith("ready"), 30_000, mark);
      const synced = await n.waitForLog((l) => l["event"] === "synced" && l["capability"] === "kv-store-repl", 60_000, mark);
      const count = ((await c.mi(2, "kv_count")) as { count: number }).count;
      if (count !== records) throw new Error(`node 2 has ${count} keys after the sync, expected ${records}`);
      fromReady.push((synced.time as number) - (ready.time as number));
      fromSpawn.push((synced.time as number) - spawnAt);
      transfer.push(synced["ms"] as number);
    }
  } finally {
    await c.stop();
  }
  return { fromReady, fromSpawn, transfer };
}

const note = (xs: number[], extra: string): string => `${xs.length} runs, min ${Math.round(Math.min(...xs))} max ${Math.round(Math.max(...xs))}; ${extra}`;

export async function run({ json, args = [] }: { json: boolean; args?: string[] }): Promise<void> {
  const arg = (k: string): string | undefined => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const runs = Math.max(5, Number(arg("runs") ?? 5));
  const records = Number(arg("records") ?? 100_000);
  const only = arg("only");
  try {
    if (!only || only === "crash") {
      const d = await crashDetection(runs, undefined);
      report(json, { name: "cluster.detection.crash.event_ms", value: Math.round(median(d.event)), unit: "ms", note: note(d.event, "node-down event (link leaves Up); OpenSIPS 3.6.8: 54 ms (45-174)") });
      report(json, { name: "cluster.detection.crash.down_ms", value: Math.round(median(d.down)), unit: "ms", note: note(d.down, "link_state Down; OpenSIPS 3.6.8: 4400 ms; goal <= 100 ms") });
      const t = await crashDetection(runs, TUNED);
      report(json, { name: "cluster.detection.crash.tuned_event_ms", value: Math.round(median(t.event)), unit: "ms", note: note(t.event, "ping_interval=1 ping_timeout=500 node_timeout=2; node-down event") });
      report(json, { name: "cluster.detection.crash.tuned_down_ms", value: Math.round(median(t.down)), unit: "ms", note: note(t.down, "tuned timers; link_state Down") });
    }
    if (!only || only === "partition") {
      const d = await partitionDetection(runs, undefined);
      report(json, { name: "cluster.detection.partition.default_ms", value: Math.round(median(d)), unit: "ms", note: note(d, "silent: state machine bound ping_interval + 1 tick + ping_timeout ~ 6000 ms") });
      const t = await partitionDetection(runs, TUNED);
      report(json, { name: "cluster.detection.partition.tuned_ms", value: Math.round(median(t)), unit: "ms", note: note(t, "tuned timers; bound ~ 2000 ms") });
    }
    if (!only || only === "sync") {
      const s = await syncRuns(Math.max(3, Math.min(runs, 5)), records);
      report(json, { name: "cluster.sync.ready_to_synced_ms", value: Math.round(median(s.fromReady)), unit: "ms", note: note(s.fromReady, `${records} kv_store records; goal <= 500 ms; OpenSIPS 3.6.8: 2070 ms (100k usrloc, from start)`) });
      report(json, { name: "cluster.sync.spawn_to_synced_ms", value: Math.round(median(s.fromSpawn)), unit: "ms", note: note(s.fromSpawn, "includes process boot (tsx)") });
      report(json, { name: "cluster.sync.transfer_ms", value: Math.round(median(s.transfer)), unit: "ms", note: note(s.transfer, "first SYNC packet to complete, as the joiner logs it") });
    }
  } finally {
    await killAllNodes();
  }
}
