/**
 * An in-process host for module unit tests: runs real modules through the real loader
 * lifecycle (params validated by their specs, deps resolved, init in order, destroy in
 * reverse) without a config file or a child process.
 *
 * ```ts
 * const host = await createTestHost({ modules: [{ def: protoBin, params: { ... } }, { def: myModule }],
 *   sockets: ["bin:127.0.0.1:0"] });
 * await host.mi.run("my_cmd", { key: "x" });
 * await host.stop();
 * ```
 */
import { parseCfgText } from "../cfg/index.ts";
import type { SocketDef, CfgValue } from "../cfg/ast.ts";
import { TsipsError } from "../errors.ts";
import { createHooks, type CoreHooks } from "../hooks.ts";
import { BinUdpListener, parseBinListen } from "../bin/v110/udp-listener.ts";
import { ModuleRuntime } from "../loader/lifecycle.ts";
import { resolveDependencies } from "../loader/graph.ts";
import type { LoadedModule } from "../loader/params.ts";
import { silentLogger, type TsipsLogger } from "../log.ts";
import { createMiHost } from "../mi/host.ts";
import { MiRegistry } from "../mi/registry.ts";
import type { MiHost } from "../mi/types.ts";
import type { TsipsModule } from "../module.ts";
import { StatsRegistry } from "../stats.ts";
import { registerEventCommands } from "../events/mi.ts";
import { registerStatusReportCommands } from "../status/mi.ts";

type RawParam = number | string;

export interface TestHostOptions {
  /** Modules in "cfg order", each with raw modparam values (arrays for repeatable params). */
  modules: { def: TsipsModule<never, never, never, unknown> | TsipsModule; params?: Record<string, RawParam | RawParam[]> }[];
  /** `proto:host:port` strings, as after `socket=`. */
  sockets?: string[];
  globals?: Record<string, number | string>;
  log?: TsipsLogger;
  initTimeoutMs?: number;
}

export interface TestHost {
  hooks: CoreHooks;
  stats: StatsRegistry;
  mi: MiHost;
  registry: MiRegistry;
  runtime: ModuleRuntime;
  /** The API a module's init returned. */
  api<A>(module: string): A;
  /** `udp:IP:PORT` of the 1.10 `bin_listen` socket, when `globals.bin_listen` asked for one. */
  binListen: string | undefined;
  stop(): Promise<void>;
}

/** A `proto:host:port` string parsed exactly as a `socket=` line would be. */
function parseSocket(text: string): SocketDef {
  const r = parseCfgText(`socket = ${text}\n`, "<test-host>");
  const st = r.cfg.statements[0];
  if (r.errors.length || st?.kind !== "socket") throw r.errors[0] ?? new Error(`bad socket "${text}"`);
  return st.socket;
}

export async function createTestHost(o: TestHostOptions): Promise<TestHost> {
  const loc = { file: "<test-host>", line: 0, col: 0 };
  const modules: LoadedModule[] = o.modules.map((m, i) => ({ name: m.def.name, def: m.def as TsipsModule, order: i, loc, file: "<in-process>" }));
  const values = new Map<string, Record<string, unknown>>();
  for (const [i, m] of o.modules.entries()) {
    const def = m.def as TsipsModule;
    const v: Record<string, unknown> = {};
    for (const [k, spec] of Object.entries(def.params ?? {})) v[k] = spec.repeatable ? [] : spec.default;
    for (const [k, raw] of Object.entries(m.params ?? {})) {
      const spec = def.params?.[k];
      if (!spec) throw new TsipsError("TSIPS_ERR_PARAM_UNKNOWN", `parameter "${k}" not found in module "${def.name}"`, { module: def.name });
      for (const one of Array.isArray(raw) ? raw : [raw]) {
        if (typeof one !== (spec.type === "int" ? "number" : "string")) {
          throw new TsipsError("TSIPS_ERR_PARAM_TYPE", `type mismatch for parameter "${k}" in module "${def.name}"`, { module: def.name });
        }
        const r = spec.accept(one);
        if ("error" in r) throw new TsipsError("TSIPS_ERR_PARAM_VALUE", `bad value for "${k}" of "${def.name}": ${r.error}`, { module: def.name });
        if (spec.repeatable) (v[k] as unknown[]).push(r.value);
        else v[k] = r.value;
      }
    }
    values.set(modules[i]!.name, v);
  }
  const deps = resolveDependencies(modules, values);
  if (deps.errors.length) throw deps.errors[0]!;
  const hooks = createHooks();
  const stats = new StatsRegistry();
  const log = o.log ?? silentLogger();
  const registry = new MiRegistry({ hooks, log });
  const miHost = createMiHost(registry);
  const sockets: SocketDef[] = (o.sockets ?? []).map((s) => parseSocket(s));
  const globals = new Map<string, CfgValue>(Object.entries(o.globals ?? {}).map(([k, v]) =>
    [k, typeof v === "number" ? { kind: "int", value: v } : { kind: "str", value: v }]));
  const runtime = new ModuleRuntime({
    hooks, log, stats,
    mi: { ...miHost, register: (m, n, d, a) => registry.register(m, n, d, a), unregisterModule: (m) => registry.unregisterModule(m) },
    info: { version: "test", cfgFile: "<test-host>", sockets, globals, autoScaling: { profiles: [], uses: [] }, startedAt: Date.now() },
    ...(o.initTimeoutMs !== undefined ? { initTimeoutMs: o.initTimeoutMs } : {}),
  });
  registerEventCommands(registry, runtime.events);
  registerStatusReportCommands(registry, runtime.sr);
  // `globals: { bin_listen: "127.0.0.1:0" }` opens the 1.10 UDP socket as boot does (port 0: any free port).
  const binListen = globals.get("bin_listen");
  let v110: BinUdpListener | undefined;
  if (binListen && binListen.kind !== "int") {
    v110 = new BinUdpListener(runtime.bin.v110, hooks, log);
    await v110.open(parseBinListen(binListen.value));
  }
  try {
    await runtime.start(modules, deps.order, values, deps.bindings);
  } catch (err) {
    await v110?.close();
    throw err;
  }
  hooks.lifecycle.ready.call({ modules: deps.order, listeners: runtime.listeners });
  runtime.coreStatus.setStatus(1, "running");
  return {
    hooks, stats, mi: miHost, registry, runtime,
    api: <A>(module: string) => runtime.api(module) as A,
    binListen: v110?.sockStr,
    stop: async () => {
      await runtime.stop("test host stopped");
      await v110?.close();
    },
  };
}
