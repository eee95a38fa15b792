/**
 * Helpers for the OpenSIPS 1.10 tests: the captured 1.10.5 vectors, a parser for the 1.10
 * MI FIFO text in `live/mi.txt`, and dialog engines joined by an in-memory UDP wire that runs
 * every datagram through the real core 1.10 dispatch (parse, CRC, module-name hook).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { v110VectorsRoot } from "../../core/bin/vectors.ts";
import { BinV110Core } from "../../core/bin/v110/dispatch.ts";
import { createHooks } from "../../core/hooks.ts";
import { silentLogger } from "../../core/log.ts";
import { StatsRegistry, moduleStats, type Stat } from "../../core/stats.ts";
import type { SocketDef } from "../../core/cfg/ast.ts";
import { DIALOG_STAT_NAMES, DialogEngine, type DialogEngineParams, type DialogStatName } from "../../modules/dialog/engine.ts";
import type { V110Destination } from "../../modules/dialog/v110-replication.ts";
import { params, type FakeClock } from "./dialog-helpers.ts";

export interface V110IndexEntry {
  file: string;
  module: string;
  packet_type: number;
  type_name: string;
  total_length: number;
  crc: string;
  crc_ok: boolean;
  scenario_step: string;
  fields: Record<string, unknown>;
}

export interface V110Vector extends V110IndexEntry {
  bytes: Buffer;
}

export const V110_ROOT = v110VectorsRoot();

export function loadV110Vectors(): V110Vector[] {
  const index = JSON.parse(readFileSync(join(V110_ROOT, "index.json"), "utf8")) as V110IndexEntry[];
  return index.map((e) => ({ ...e, bytes: Buffer.from(readFileSync(join(V110_ROOT, e.file), "utf8").trim(), "hex") }));
}

export interface V110Hop {
  t_s: number;
  file: string;
  type: string;
  len: number;
  step: string;
  callid: string;
}

export function loadV110Sequence(): { packets: V110Hop[]; events: { t: number; t_s: number; step: string }[] } {
  return JSON.parse(readFileSync(join(V110_ROOT, "sequence.json"), "utf8")) as ReturnType<typeof loadV110Sequence>;
}

export interface V110Probe {
  t: number;
  probe: string;
  len?: number;
  hex?: string;
  expect?: string;
  mi?: Record<string, string>;
}

export function loadV110Probes(): V110Probe[] {
  return JSON.parse(readFileSync(join(V110_ROOT, "live", "probes.json"), "utf8")) as V110Probe[];
}

/** One `dialog::` node of a 1.10 `dlg_list` / `dlg_list_ctx` reply. */
export interface MiDialog {
  hEntry: number;
  hId: number;
  attrs: Record<string, string>;
  values: [string, string][];
  profiles: [string, string][];
}

/** Parses a 1.10 FIFO reply: code line, then `dialog::  hash=E:I`, `\tkey:: value`, `\t\tvalue:: k = v`. */
export function parseMiDialogs(text: string): { code: number; dialogs: MiDialog[] } {
  const lines = text.split("\n");
  const code = Number(lines[0]!.split(" ")[0]);
  const dialogs: MiDialog[] = [];
  let cur: MiDialog | undefined;
  for (const line of lines.slice(1)) {
    const m = /^dialog::\s+hash=(\d+):(\d+)$/.exec(line);
    if (m) {
      cur = { hEntry: Number(m[1]), hId: Number(m[2]), attrs: {}, values: [], profiles: [] };
      dialogs.push(cur);
      continue;
    }
    if (!cur) continue;
    const ctx = /^\t\t(value|profile):: (.*?) = (.*)$/.exec(line);
    if (ctx) {
      (ctx[1] === "value" ? cur.values : cur.profiles).push([ctx[2]!, ctx[3]!]);
      continue;
    }
    const kv = /^\t([a-z_]+):: ?(.*)$/.exec(line);
    if (kv && kv[1] !== "context") cur.attrs[kv[1]!] = kv[2]!;
  }
  return { code, dialogs };
}

/** `get_statistics dialog:` reply → name → value. */
export function parseMiStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^dialog:(\w+) = (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** The sections of live/mi.txt in file order: node, command, reply text. */
export function loadMiSections(): { node: "A" | "B"; cmd: string; text: string }[] {
  const raw = readFileSync(join(V110_ROOT, "live", "mi.txt"), "utf8");
  const out: { node: "A" | "B"; cmd: string; text: string }[] = [];
  for (const part of raw.split(/^### MI node /m).slice(1)) {
    const nl = part.indexOf("\n");
    const head = part.slice(0, nl);
    out.push({ node: head[0] as "A" | "B", cmd: head.slice(3), text: part.slice(nl + 1) });
  }
  return out;
}

export function sock(proto: string, host: string, port: number, as?: { host: string; port: number }): SocketDef {
  return { proto, host, port, ...(as ? { as } : {}), raw: `${proto}:${host}:${port}`, loc: { file: "test.cfg", line: 1, col: 1 } };
}

/** A datagram as the in-memory wire carried it. */
export interface WireDatagram {
  from: number;
  to: number;
  bytes: Buffer;
}

/** An in-memory UDP wire between 1.10 nodes, keyed by their bin_listen port. */
export class V110Wire {
  readonly nodes = new Map<number, BinV110Core>();
  readonly sent: WireDatagram[] = [];
  /** Deliver at once (default) or only on flush(). */
  immediate = true;
  private readonly queue: WireDatagram[] = [];

  deliver(d: WireDatagram): void {
    this.nodes.get(d.to)?.deliver(d.bytes, { proto: "udp", host: "127.0.0.1", port: d.from });
  }

  flush(): void {
    while (this.queue.length) this.deliver(this.queue.shift()!);
  }

  enqueue(d: WireDatagram): void {
    this.sent.push(d);
    if (this.immediate) this.deliver(d);
    else this.queue.push(d);
  }
}

export interface V110TestNode {
  engine: DialogEngine;
  stats: Record<DialogStatName, Stat>;
  core: BinV110Core;
  registry: StatsRegistry;
}

/** A dialog engine whose 1.10 side runs through a real `BinV110Core` on `wire` at `binPort`. */
export function makeV110Node(o: {
  clock: FakeClock;
  wire: V110Wire;
  binPort: number;
  params?: Partial<DialogEngineParams>;
  sockets: SocketDef[];
  destinations?: V110Destination[];
}): V110TestNode {
  const registry = new StatsRegistry();
  const hooks = createHooks();
  const core = new BinV110Core(hooks, silentLogger(), registry, o.clock.now);
  hooks.bin.sendV110.tap("wire", (req) => {
    o.wire.enqueue({ from: o.binPort, to: req.port, bytes: Buffer.from(req.bytes) });
    return "sent";
  });
  o.wire.nodes.set(o.binPort, core);
  const ms = moduleStats(registry, "dialog", Object.fromEntries(DIALOG_STAT_NAMES.map((n) => [n, {}])) as Record<DialogStatName, object>);
  const stats = Object.fromEntries(DIALOG_STAT_NAMES.map((n) => [n, ms.get(n)])) as Record<DialogStatName, Stat>;
  const engine = new DialogEngine({
    params: params(o.params),
    log: silentLogger(),
    stats,
    sockets: o.sockets,
    now: o.clock.now,
    timers: false,
    v110: { destinations: o.destinations ?? [], bin: core.forModule("dialog", () => true) },
  });
  engine.start();
  return { engine, stats, core, registry };
}

/** Node B of the capture: SIP socket advertising A's address, profiles caller/calls, accepting. */
export function makeNodeB(clock: FakeClock, wire: V110Wire, binPort = 46602): V110TestNode {
  return makeV110Node({
    clock, wire, binPort,
    params: { accept_replicated_dialogs: 1, profiles_with_value: "caller", profiles_no_value: "calls", hash_size: 4096 },
    sockets: [sock("udp", "127.0.0.1", 46062, { host: "127.0.0.1", port: 46061 })],
  });
}

/** Node A of the capture: replicates to B's bin_listen port. */
export function makeNodeA(clock: FakeClock, wire: V110Wire, toPort = 46602, binPort = 46601): V110TestNode {
  return makeV110Node({
    clock, wire, binPort,
    params: { profiles_with_value: "caller", profiles_no_value: "calls", hash_size: 4096, default_timeout: 300 },
    sockets: [sock("udp", "127.0.0.1", 46061)],
    destinations: [{ host: "127.0.0.1", port: toPort }],
  });
}
