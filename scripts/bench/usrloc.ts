/**
 * `npm run bench -- usrloc [--json] [--count=N] [--mi-count=N] [--only=memory|mi|api|dump|sync]`
 *
 * usrloc replication and MI on real node processes (core/testing LocalCluster, proto_bin +
 * clusterer + mi_http), plus the table's memory in-process:
 * - mi: `ul_add` of 20,000 contacts on node 1 from 4 concurrent MI clients, until node 2 has
 *   them all (real OpenSIPS 3.6.8: 4,215 contacts/s; goal ≥ 2×).
 * - api: `ul_bench_load count=100000` (module API inserts on node 1) until node 2 has them
 *   all (goal ≥ 100,000 contacts/s).
 * - dump: `ul_dump` over mi_http with 25k/50k/100k contacts, and the worst latency of a small
 *   MI call made while the dump streams (goal ≤ 1 s for 100k, linear; OpenSIPS ~100 s).
 * - sync: `ul_cluster_sync` on an empty node until it holds all 100k contacts
 *   (goal ≤ 0.5 s; OpenSIPS 2.07 s).
 * - memory: heap growth per contact for 100k contacts, after GC (goal ≤ 600 B).
 */
import http from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { performance } from "node:perf_hooks";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { createTestHost } from "../../core/testing/host.ts";
import { killAllNodes, type NodeProcess } from "../../core/testing/node-process.ts";
import { waitFor } from "../../core/testing/wait.ts";
import usrloc from "../../modules/usrloc/index.ts";
import type { UsrlocApi } from "../../modules/usrloc/api.ts";
import { median, report } from "./report.ts";

const FULL_SHARING = `loadmodule "usrloc.so"
modparam("usrloc", "working_mode_preset", "full-sharing-cluster")
modparam("usrloc", "location_cluster", 1)
`;
/** A node that starts empty and syncs only when asked (ul_cluster_sync). */
const NO_STARTUP_SYNC = `loadmodule "usrloc.so"
modparam("usrloc", "cluster_mode", "full-sharing")
modparam("usrloc", "restart_persistency", "none")
modparam("usrloc", "location_cluster", 1)
`;

function arg(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

async function contacts(n: NodeProcess): Promise<number> {
  const r = (await n.mi("get_statistics", { statistics: ["location-contacts"] })) as Record<string, number>;
  return r["usrloc:location-contacts"] ?? 0;
}

/** Polls until node `n` holds `want` contacts; returns the time it was seen (ms, performance clock). */
async function until(n: NodeProcess, want: number, timeoutMs = 120_000): Promise<number> {
  let seen = 0;
  await waitFor(`${want} contacts on ${n.name}`, async () => {
    if ((await contacts(n)) >= want) {
      seen = performance.now();
      return true;
    }
    return false;
  }, timeoutMs, 5);
  return seen;
}

/** Waits until usrloc's capability is synced ("Ok") on every given node, so no startup sync runs during a measurement. */
async function capsOk(nodes: NodeProcess[]): Promise<void> {
  for (const n of nodes) {
    await waitFor(`usrloc synced on ${n.name}`, async () =>
      /"name":"usrloc-contact-repl","state":"Ok"/.test(JSON.stringify(await n.mi("clusterer_list_cap"))), 30_000, 50);
  }
}

function gcFn(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

async function memory(json: boolean, count: number): Promise<void> {
  const gc = gcFn();
  const host = await createTestHost({ modules: [{ def: usrloc, params: {} }], sockets: ["udp:127.0.0.1:5060"] });
  try {
    const ul = host.api<UsrlocApi>("usrloc");
    const runs: number[] = [];
    for (let run = 0; run < 3; run++) {
      gc();
      gc();
      const h0 = process.memoryUsage().heapUsed;
      const exp = ul.now() + 3600;
      for (let i = 0; i < count; i++) {
        ul.insert("location", `r${run}u${i}`, `sip:r${run}u${i}@10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5060`, {
          expires: exp, callid: `${i}-f81d4fae7dec11d0a765@10.0.0.1`, cseq: 1, q: 1000, userAgent: "Phone/1.0",
          socket: "udp:127.0.0.1:5060",
        });
      }
      gc();
      gc();
      runs.push((process.memoryUsage().heapUsed - h0) / count);
    }
    report(json, { name: "usrloc.memory_per_contact", value: Math.round(median(runs)), unit: "B", note: `heap after GC, ${count} contacts, 1 per AoR, median of 3; goal <= 600` });
  } finally {
    await host.stop();
  }
}

/** A minimal keep-alive JSON-RPC client (one per simulated MI client, like curl in a loop). */
function miClient(port: number): (method: string, params: Record<string, string | number>) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let id = 0;
  return (method, params) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: "2.0", method, id: ++id, params });
    const req = http.request({ host: "127.0.0.1", port, path: "/mi", method: "POST", agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => (text.includes('"error"') ? reject(new Error(text)) : resolve()));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function miReplication(json: boolean, count: number): Promise<void> {
  const c = await LocalCluster.start({ size: 2, extra: FULL_SHARING, logLevel: 2 });
  try {
    const [n1, n2] = [c.nodes[0]!, c.nodes[1]!];
    await capsOk([n1, n2]);
    const t0 = performance.now();
    const clients = 4;
    await Promise.all(Array.from({ length: clients }, async (_, k) => {
      const call = miClient(c.specs[0]!.httpPort);
      for (let i = k; i < count; i += clients) {
        await call("ul_add", {
          table_name: "location", aor: `mi${i}`, contact: `sip:mi${i}@10.1.${(i >> 8) & 255}.${i & 255}:5060`,
          expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 32767,
        });
      }
    }));
    const tAdded = performance.now();
    const t1 = await until(n2, count);
    report(json, { name: "usrloc.mi_replication", value: Math.round(count / ((t1 - t0) / 1000)), unit: "contacts/s",
      note: `${count} ul_add, 4 clients, until all on node 2; ul_add alone ${Math.round(count / ((tAdded - t0) / 1000))}/s; OpenSIPS 4,215/s; goal >= 8,430` });
    // The MI transport's own ceiling with the same clients: a no-op command.
    const u0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async (_, k) => {
      const call = miClient(c.specs[0]!.httpPort);
      for (let i = k; i < count; i += clients) await call("uptime", {});
    }));
    report(json, { name: "usrloc.mi_baseline_uptime", value: Math.round(count / ((performance.now() - u0) / 1000)), unit: "calls/s",
      note: "same 4 clients calling MI uptime: the mi_http/JSON-RPC ceiling ul_add replication runs under" });
  } finally {
    await c.stop();
  }
}

async function dumpTimes(json: boolean, n: NodeProcess, url: string, label: string): Promise<number> {
  const body = JSON.stringify({ jsonrpc: "2.0", method: "ul_dump", id: 1 });
  const times: number[] = [];
  let worst = 0;
  let bytes = 0;
  for (let run = 0; run < 3; run++) {
    let done = false;
    // A small MI request every 20 ms while the dump streams: it must not wait for the dump.
    const probe = (async () => {
      while (!done) {
        const s = performance.now();
        await n.mi("ul_show_contact", { table_name: "location", aor: "b0" }).catch(() => null);
        worst = Math.max(worst, performance.now() - s);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = performance.now();
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    const text = await res.text();
    times.push(performance.now() - t0);
    done = true;
    await probe;
    bytes = text.length;
    if (!text.includes('"AORs"')) throw new Error(`ul_dump failed: ${text.slice(0, 200)}`);
  }
  const ms = median(times);
  report(json, { name: `usrloc.ul_dump_${label}`, value: Math.round(ms), unit: "ms",
    note: `mi_http, ${(bytes / 1e6).toFixed(1)} MB, median of 3; slowest concurrent MI call ${Math.round(worst)} ms` });
  return ms;
}

/** ul_dump on one node at 25k / 50k / 100k contacts: time per contact must stay flat. */
async function dumpLinearity(json: boolean, count: number): Promise<void> {
  const c = await LocalCluster.start({ size: 1, logLevel: 2, extra: `loadmodule "usrloc.so"\n` });
  try {
    const n = c.nodes[0]!;
    const url = `http://127.0.0.1:${c.specs[0]!.httpPort}/mi`;
    const dumps: [number, number][] = [];
    let loaded = 0;
    for (const [part, prefix] of [[count / 4, "q"], [count / 4, "h"], [count / 2, "b"]] as const) {
      await n.mi("ul_bench_load", { count: part, prefix });
      loaded += part;
      dumps.push([loaded, await dumpTimes(json, n, url, `${loaded / 1000}k_single_node`)]);
    }
    const per = dumps.map(([k, ms]) => ms / (k / 1000));
    report(json, { name: "usrloc.ul_dump_linearity", value: Number((per[2]! / per[0]!).toFixed(2)), unit: "x",
      note: `ms per 1k contacts at ${dumps.map(([k]) => k / 1000).join("k/")}k: ${per.map((p) => p.toFixed(2)).join(" / ")} (<= 1.0 = linear or better)` });
  } finally {
    await c.stop();
  }
}

/** API-driven replication, 3 runs on an emptied 2-node cluster (both nodes restarted between runs). */
async function apiReplication(json: boolean, count: number): Promise<void> {
  const c = await LocalCluster.start({ size: 2, extra: FULL_SHARING, logLevel: 2, clusterer: { seed_fallback_interval: 1 } });
  try {
    const rates: number[] = [];
    const sendMs: number[] = [];
    for (let run = 0; run < 3; run++) {
      if (run > 0) {
        await c.kill(1);
        await c.kill(2);
        await c.restart(1);
        await c.restart(2);
        await c.waitAllUp();
      }
      const [n1, n2] = [c.nodes[0]!, c.nodes[1]!];
      await capsOk([n1, n2]);
      if ((await contacts(n2)) !== 0) throw new Error("node 2 is not empty");
      const t0 = performance.now();
      const r = (await n1.mi("ul_bench_load", { count, prefix: "b" })) as { ms: number };
      const t1 = await until(n2, count);
      rates.push(count / ((t1 - t0) / 1000));
      sendMs.push(r.ms);
    }
    report(json, { name: "usrloc.api_replication", value: Math.round(median(rates)), unit: "contacts/s",
      note: `${count} API inserts on node 1 (1 contact per AoR: an AoR and a contact packet each) until all applied on node 2; median of 3 (${rates.map((x) => Math.round(x / 1000)).join("k, ")}k); insert+send on node 1 alone ${Math.round(median(sendMs))} ms; goal >= 100,000` });
  } finally {
    await c.stop();
  }
}

async function nodesBench(json: boolean, count: number, only: string | undefined): Promise<void> {
  const c = await LocalCluster.start({
    size: 3, logLevel: 2,
    extra: (id) => (id === 3 ? NO_STARTUP_SYNC : FULL_SHARING),
  });
  try {
    const [n1, n2, n3] = [c.nodes[0]!, c.nodes[1]!, c.nodes[2]!];
    // Node 3 stays down while the table is loaded (it syncs it later).
    await c.kill(3);
    await capsOk([n1, n2]);
    await n1.mi("ul_bench_load", { count, prefix: "b" });
    await until(n2, count);
    if (!only || only === "dump") await dumpTimes(json, n2, `http://127.0.0.1:${c.specs[1]!.httpPort}/mi`, `${count / 1000}k`);
    if (!only || only === "sync") {
      const runs: number[] = [];
      for (let run = 0; run < 3; run++) {
        // An empty node 3 (no startup sync) whose links are Up.
        await c.restart(3);
        await c.waitAllUp();
        if ((await contacts(n3)) !== 0) throw new Error("node 3 is not empty");
        const s0 = performance.now();
        await n3.mi("ul_cluster_sync");
        const s1 = await until(n3, count, 60_000);
        runs.push(s1 - s0);
        await c.kill(3);
      }
      report(json, { name: "usrloc.sync", value: Math.round(median(runs)), unit: "ms",
        note: `${count} contacts to an empty node (ul_cluster_sync until all applied), median of 3 (${runs.map(Math.round).join(", ")}); OpenSIPS 2,070 ms; goal <= 500` });
    }
  } finally {
    await c.stop();
  }
}

export async function run(opts: { json: boolean; args?: string[] }): Promise<void> {
  const args = opts.args ?? [];
  const count = arg(args, "count", 100_000);
  const miCount = arg(args, "mi-count", 20_000);
  const only = args.find((a) => a.startsWith("--only="))?.slice(7);
  try {
    if (!only || only === "memory") await memory(opts.json, count);
    if (!only || only === "mi") await miReplication(opts.json, miCount);
    if (!only || only === "dump") await dumpLinearity(opts.json, count);
    if (!only || only === "api") await apiReplication(opts.json, count);
    if (!only || ["dump", "sync"].includes(only)) await nodesBench(opts.json, count, only);
  } finally {
    await killAllNodes();
  }
}
