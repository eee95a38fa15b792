/**
 * A node for MI tests: hooks, statistics, the MI registry with the core commands (against a
 * recording core host), and `start(module, params)` that runs one module through the
 * loader's lifecycle (typed param values, deps bound to modules already started).
 */
import { createHooks, type CoreHooks } from "../../core/hooks.ts";
import { silentLogger, type TsipsLogger } from "../../core/log.ts";
import { registerCoreCommands, type MiCoreHost } from "../../core/mi/core-commands.ts";
import { createMiHost } from "../../core/mi/host.ts";
import { MiRegistry } from "../../core/mi/registry.ts";
import type { MiHost } from "../../core/mi/types.ts";
import type { DepsSpec, ParamsSpec, TsipsModule } from "../../core/module.ts";
import { ModuleRuntime } from "../../core/loader/lifecycle.ts";
import { StatsRegistry } from "../../core/stats.ts";

export interface TestCoreHost extends MiCoreHost {
  logLevel: number;
  shutdowns: string[];
  collected: (readonly string[])[];
}

export interface MiTestNode {
  hooks: CoreHooks;
  stats: StatsRegistry;
  registry: MiRegistry;
  mi: MiHost;
  core: TestCoreHost;
  log: TsipsLogger;
  /** What modules reported through ctx.listening. */
  listeners: string[];
  /** Initialises a module with its defaults plus `params`; its MI commands are registered. Returns its API. */
  start<A>(mod: TsipsModule<ParamsSpec, DepsSpec, string, A>, params?: Record<string, unknown>): Promise<A>;
  /** Destroys the started modules in reverse order. */
  stop(): Promise<void>;
}

export function createMiTestNode(opts: { startedAt?: number; log?: TsipsLogger } = {}): MiTestNode {
  const hooks = createHooks();
  const stats = new StatsRegistry();
  const log = opts.log ?? silentLogger();
  const registry = new MiRegistry({ hooks, log });
  const mi = createMiHost(registry);
  const core: TestCoreHost = {
    version: "0.1.0",
    startedAt: opts.startedAt ?? Date.now(),
    logLevel: 2,
    shutdowns: [],
    collected: [],
    getLogLevel() {
      return this.logLevel;
    },
    setLogLevel(level) {
      this.logLevel = level;
    },
    shutdown(reason) {
      this.shutdowns.push(reason);
    },
    stats,
    collectStats(targets) {
      this.collected.push(targets);
      hooks.stats.collect.call({ targets });
    },
    log,
  };
  registerCoreCommands(registry, core);
  // The real loader lifecycle (ctx built as for any node), started one module at a time.
  const runtime = new ModuleRuntime({
    hooks, log, stats,
    mi: { ...mi, register: (m, n, d, a) => registry.register(m, n, d, a), unregisterModule: (m) => registry.unregisterModule(m) },
    info: { version: "0.1.0", cfgFile: "test.cfg", sockets: [], globals: new Map(), autoScaling: { profiles: [], uses: [] }, startedAt: core.startedAt },
  });
  let order = 0;

  return {
    hooks, stats, registry, mi, core, log, listeners: runtime.listeners,
    async start<A>(mod: TsipsModule<ParamsSpec, DepsSpec, string, A>, params: Record<string, unknown> = {}): Promise<A> {
      const values: Record<string, unknown> = {};
      for (const [k, spec] of Object.entries(mod.params ?? {})) values[k] = spec.default;
      Object.assign(values, params);
      const bindings = new Map<string, string>();
      for (const [key, dep] of Object.entries(mod.deps ?? {})) if (runtime.api(dep.module) !== undefined) bindings.set(key, dep.module);
      const loaded = { name: mod.name, def: mod as TsipsModule, order: order++, loc: { file: "test.cfg", line: 0, col: 0 }, file: "<test>" };
      await runtime.start([loaded], [mod.name], new Map([[mod.name, values]]), new Map([[mod.name, bindings]]));
      return runtime.api(mod.name) as A;
    },
    stop: () => runtime.stop("test node stopped"),
  };
}
