/**
 * `npm run bench -- dialog [--json] [--count=N] [--only=inproc|nodes]`: dialog replication.
 *
 * - inproc: two dialog engines in this process joined by a minimal clusterer that moves real
 *   bytes (encode → parse → trailer → decode → apply): creates/s applied on node 2, sync of N
 *   dialogs to a fresh engine, heap per 10k dialogs.
 * - nodes: two real node processes (core/testing): MI `dlg_bench_create count=N` on node 1 until
 *   node 2 has applied them all (creates/s), a restarted node 2 syncing N dialogs (ready →
 *   synced), and node 1's RSS growth per 10k dialogs.
 * Goals: ≥ 50,000 dialogs/s created on node 1 and applied on node 2; sync of 50k ≤ 0.5 s.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { BinPacket } from "../../core/bin/packet.ts";
import { silentLogger } from "../../core/log.ts";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes } from "../../core/testing/node-process.ts";
import { waitFor } from "../../core/testing/wait.ts";
import type { SocketDef } from "../../core/cfg/ast.ts";
import type { CapabilityRegistration, ClustererApi } from "../../modules/clusterer/api.ts";
import { DialogEngine, type DialogEngineParams } from "../../modules/dialog/engine.ts";
import { dialogParams } from "../../modules/dialog/params.ts";
import { median, report } from "./report.ts";

const MARKER = 101010101;

const sock = (port: number): SocketDef => ({ proto: "udp", host: "127.0.0.1", port, tag: "sipnet", raw: `udp:127.0.0.1:${port}`, loc: { file: "bench", line: 1, col: 1 } });

function params(): DialogEngineParams {
  const d = Object.fromEntries(Object.entries(dialogParams).map(([k, s]) => [k, s.default])) as unknown as DialogEngineParams;
  return { ...d, dialog_replication_cluster: 1 };
}

/** The smallest ClustererApi that joins engines: bytes out of one, parsed into the other. */
class Wire {
  readonly regs = new Map<number, CapabilityRegistration>();
  /** Start of the next sync chunk of each delivered sync packet (shared by every node's api). */
  readonly next = new WeakMap<BinPacket, number>();
  bytes = 0;
  packets = 0;

  api(self: number): ClustererApi {
    const wire = this;
    let building: BinPacket[] | undefined;
    let lenAt = -1;
    const next = wire.next;
    const close = () => {
      const p = building?.at(-1);
      if (p && lenAt >= 0) p.setIntAt(lenAt, p.length - lenAt - 8);
      lenAt = -1;
    };
    const deliver = (to: number, pkt: BinPacket, type?: number): void => {
      const reg = wire.regs.get(to);
      if (!reg) return;
      const b = Buffer.allocUnsafe(pkt.length + 12);
      pkt.bytes().copy(b);
      b.writeInt32LE(1, pkt.length);
      b.writeInt32LE(self, pkt.length + 4);
      b.writeInt32LE(to, pkt.length + 8);
      b.writeUInt32LE(b.length, 4);
      wire.bytes += b.length;
      wire.packets++;
      const rx = BinPacket.parse(b);
      rx.popBackInt(); rx.popBackInt(); rx.popBackInt();
      if (type === 101) {
        rx.popStr();
        rx.version = rx.popInt();
        next.set(rx, rx.position);
      }
      reg.onPacket(rx, type ?? rx.type, self);
    };
    return {
      myNodeId: () => self,
      registerCapability: (reg) => {
        if (reg.capability === "dialog-dlg-repl") wire.regs.set(self, reg);
      },
      sendTo: (pkt, _c, node) => (deliver(node, pkt), 0),
      sendAll: (pkt) => {
        for (const id of wire.regs.keys()) if (id !== self) deliver(id, pkt);
        return 0;
      },
      sendAllHavingCapability: () => 0,
      requestSync: (cap) => {
        const donor = [...wire.regs.keys()].find((id) => id !== self);
        if (donor === undefined) return 0;
        const d = wire.regs.get(donor)!;
        wire.serve = () => {
          (wire.apis.get(donor) as ClustererApi & { serveTo(n: number): void }).serveTo(self);
          void cap;
          void d;
        };
        return 0;
      },
      syncChunkStart: (cap, _c, _n, dv) => {
        close();
        let p = building!.at(-1);
        if (!p || p.length > 32768) {
          p = BinPacket.init("clusterer-extra", 11, 3, 40000).pushStr(cap).pushInt(dv);
          building!.push(p);
        }
        lenAt = p.length;
        p.pushInt(0).pushInt(MARKER);
        return p;
      },
      syncChunkIter: (pkt) => {
        const at = next.get(pkt);
        if (at === undefined || at >= pkt.length) return false;
        pkt.position = at;
        const len = pkt.popInt();
        if (pkt.popInt() !== MARKER) return false;
        next.set(pkt, pkt.position + len);
        return true;
      },
      syncStatus: () => undefined,
      getNodes: () => [],
      nodesWithCapability: () => [],
      getMyIndex: () => ({ index: 0, count: 1 }),
      shtagGet: () => "active",
      shtagActivate: () => {},
      shtagGetAllActive: () => [],
      shtagOnChange: () => () => {},
      sendReq: () => ({ rc: -2 as const, tag: "" }),
      sendRpl: () => -2 as const,
      broadcastReq: () => ({ rc: -2 as const, tag: "" }),
      serveTo(n: number) {
        building = [];
        wire.regs.get(self)!.onEvent?.({ kind: "sync-request", nodeId: n });
        close();
        const pkts = building;
        building = undefined;
        for (const p of pkts) deliver(n, p, 101);
        wire.regs.get(n)!.onEvent?.({ kind: "sync-done", nodeId: self, chunks: 0 });
      },
    } as ClustererApi & { serveTo(n: number): void };
  }

  readonly apis = new Map<number, ClustererApi>();
  serve: (() => void) | undefined;

  engine(id: number): DialogEngine {
    const api = this.api(id);
    this.apis.set(id, api);
    const e = new DialogEngine({ params: params(), clusterer: api, log: silentLogger(), sockets: [sock(5060 + id)], timers: false });
    e.start();
    return e;
  }
}

export function inprocCreates(count: number): { ms: number; applied: number; bytes: number } {
  const w = new Wire();
  const a = w.engine(1);
  const b = w.engine(2);
  const t0 = performance.now();
  a.benchCreate(count, "b");
  const ms = performance.now() - t0;
  return { ms, applied: b.counts().active, bytes: w.bytes };
}

export function inprocSync(count: number): { ms: number; applied: number; packets: number } {
  const w = new Wire();
  const a = w.engine(1);
  a.benchCreate(count, "s");
  const before = w.packets;
  const b = w.engine(2);
  const t0 = performance.now();
  w.serve!();
  const ms = performance.now() - t0;
  return { ms, applied: b.counts().active, packets: w.packets - before };
}

/** `gc()` without --expose-gc (flag set at run time, function fetched from a fresh context). */
function gcFn(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** Heap bytes per 10k replicated dialogs (each keeps its encoded record), after full GCs. */
function heapPer10k(count: number): number {
  const gc = gcFn();
  const w = new Wire();
  const e = w.engine(1); // no peer: sends go nowhere, but every dialog is encoded once as usual
  gc();
  const h0 = process.memoryUsage().heapUsed;
  e.benchCreate(count, "m");
  gc();
  const h1 = process.memoryUsage().heapUsed;
  if (e.counts().total !== count) throw new Error("heap run lost dialogs");
  return ((h1 - h0) / count) * 10_000 / 1_048_576;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

const dialogCfg = (id: number): string => `
socket = udp:127.0.0.1:${25060 + id} tag sipnet
loadmodule "dialog.so"
modparam("dialog", "dialog_replication_cluster", 1)
modparam("dialog", "profiles_no_value", "bench")
`;

async function stat(c: LocalCluster, id: number, name: string): Promise<number> {
  const r = (await c.mi(id, "get_statistics", { statistics: ["dialog:"] })) as Record<string, number>;
  return r[`dialog:${name}`] ?? NaN;
}

interface NodeFigures { rates: number[]; deletes: number[]; syncReady: number[]; syncTransfer: number[]; rss1: number; rss2: number }

async function nodes(count: number, runs: number): Promise<NodeFigures> {
  const c = await LocalCluster.start({ size: 2, logLevel: 2, extra: dialogCfg, clusterer: { seed_fallback_interval: 1 } });
  const f: NodeFigures = { rates: [], deletes: [], syncReady: [], syncTransfer: [], rss1: NaN, rss2: NaN };
  try {
    for (let r = 0; r < runs; r++) {
      const rss1 = rssOf(c.node(1).pid!);
      const rss2 = rssOf(c.node(2).pid!);
      const t0 = performance.now();
      await c.mi(1, "dlg_bench_create", { count, profiles: "bench" });
      await waitFor(`node 2 to apply ${count} dialogs`, async () => (await stat(c, 2, "active_dialogs")) === count, 120_000, 5);
      f.rates.push(count / ((performance.now() - t0) / 1000));
      if (r === 0) {
        await new Promise((res) => setTimeout(res, 1000)); // let both nodes settle
        f.rss1 = ((rssOf(c.node(1).pid!) - rss1) / count) * 10_000 / 1_048_576;
        f.rss2 = ((rssOf(c.node(2).pid!) - rss2) / count) * 10_000 / 1_048_576;
      }
      if (r === runs - 1) break; // keep the last batch for the sync runs
      const t1 = performance.now();
      await c.mi(1, "profile_end_dlgs", { profile: "bench" });
      await waitFor("node 2 to apply the deletions", async () => (await stat(c, 2, "active_dialogs")) === 0, 120_000, 5);
      f.deletes.push(count / ((performance.now() - t1) / 1000));
    }
    for (let r = 0; r < runs; r++) {
      await c.kill(2);
      const mark = c.node(2).logs.length;
      await c.restart(2);
      const n = c.node(2);
      const ready = await n.waitForLog((l) => l.msg.startsWith("ready"), 30_000, mark);
      const synced = await n.waitForLog((l) => l["event"] === "synced" && l["capability"] === "dialog-dlg-repl", 60_000, mark);
      const have = await stat(c, 2, "active_dialogs");
      if (have !== count) throw new Error(`node 2 has ${have} dialogs after the sync, expected ${count}`);
      f.syncReady.push((synced.time as number) - (ready.time as number));
      f.syncTransfer.push(synced["ms"] as number);
    }
  } finally {
    await c.stop();
    await killAllNodes();
  }
  return f;
}

const spread = (xs: number[]): string => `${xs.length} runs, ${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;

export async function run({ json, args = [] }: { json: boolean; args?: string[] }): Promise<void> {
  const arg = (k: string): string | undefined => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const count = Number(arg("count") ?? 50_000);
  const only = arg("only");
  if (!only || only === "inproc") {
    const cr: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = inprocCreates(count);
      if (r.applied !== count) throw new Error(`in-process: node 2 applied ${r.applied} of ${count}`);
      cr.push(count / (r.ms / 1000));
    }
    report(json, { name: "dialog.inproc.create_apply_per_s", value: Math.round(median(cr)), unit: "dialogs/s", note: `${spread(cr)}; ${count} creates encoded, parsed and applied on a 2nd engine; goal >= 50,000/s` });
    const sy: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = inprocSync(count);
      if (r.applied !== count) throw new Error(`in-process sync: ${r.applied} of ${count}`);
      sy.push(r.ms);
    }
    report(json, { name: "dialog.inproc.sync_ms", value: Math.round(median(sy)), unit: "ms", note: `${spread(sy)}; ${count} dialogs: donor chunks + receiver apply; goal <= 500 ms` });
    report(json, { name: "dialog.inproc.heap_per_10k_mb", value: Math.round(heapPer10k(count) * 100) / 100, unit: "MB", note: "V8 heap per 10k replicated dialogs after full GCs (objects, strings, encoded record)" });
  }
  if (!only || only === "nodes") {
    const r = await nodes(count, 3);
    report(json, { name: "dialog.nodes.create_apply_per_s", value: Math.round(median(r.rates)), unit: "dialogs/s", note: `${spread(r.rates)}; MI dlg_bench_create count=${count} on node 1 until node 2 has them all; goal >= 50,000/s` });
    report(json, { name: "dialog.nodes.end_apply_per_s", value: Math.round(median(r.deletes)), unit: "dialogs/s", note: `${spread(r.deletes)}; MI profile_end_dlgs on node 1 until node 2 has none` });
    report(json, { name: "dialog.nodes.sync_ready_to_synced_ms", value: Math.round(median(r.syncReady)), unit: "ms", note: `${spread(r.syncReady)}; restarted node 2 gets ${count} dialogs; goal <= 500 ms` });
    report(json, { name: "dialog.nodes.sync_transfer_ms", value: Math.round(median(r.syncTransfer)), unit: "ms", note: `${spread(r.syncTransfer)}; first SYNC packet to complete (clusterer's figure)` });
    report(json, { name: "dialog.nodes.rss_per_10k_mb.node1", value: Math.round(r.rss1 * 10) / 10, unit: "MB", note: `creating node: RSS growth over its first ${count} dialogs, per 10k (V8 heap headroom included, no GC forced)` });
    report(json, { name: "dialog.nodes.rss_per_10k_mb.node2", value: Math.round(r.rss2 * 10) / 10, unit: "MB", note: `receiving node: same, for the ${count} replicated dialogs` });
  }
}
