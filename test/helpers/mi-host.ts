/**
 * A hand-built node for MI tests (until core/testing/host.ts lands): hooks, statistics,
 * the MI registry with the core commands, and `start(module, params)` that builds a
 * ModuleContext the way the loader does and runs the module's init.
 */
import { BinCore } from "../../core/bin/dispatch.ts";
import { tapView } from "../../core/hook-ownership.ts";
import { createHooks, type CoreHooks } from "../../core/hooks.ts";
import { silentLogger, type TsipsLogger } from "../../core/log.ts";
import { registerCoreCommands, type MiCoreHost } from "../../core/mi/core-commands.ts";
import { createMiHost } from "../../core/mi/host.ts";
import { MiRegistry } from "../../core/mi/registry.ts";
import type { MiCommandDecl, MiHost } from "../../core/mi/types.ts";
import type { DepsSpec, ModuleContext, ParamsSpec, TsipsModule } from "../../core/module.ts";
import { moduleStats, StatsRegistry, type StatDecl } from "../../core/stats.ts";

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
  const bin = new BinCore(hooks, log, stats);
  const listeners: string[] = [];
  const started: { name: string; mod: TsipsModule<ParamsSpec, DepsSpec, string, unknown>; ctx: ModuleContext<ParamsSpec, DepsSpec, string>; api: unknown; open: { v: boolean } }[] = [];

  return {
    hooks, stats, registry, mi, core, log, listeners,
    async start<A>(mod: TsipsModule<ParamsSpec, DepsSpec, string, A>, params: Record<string, unknown> = {}): Promise<A> {
      const values: Record<string, unknown> = {};
      for (const [k, spec] of Object.entries(mod.params ?? {})) values[k] = spec.default;
      Object.assign(values, params);
      const deps: Record<string, unknown> = {};
      for (const [key, dep] of Object.entries(mod.deps ?? {})) deps[key] = started.find((s) => s.name === dep.module)?.api;
      const open = { v: true };
      const ctx = {
        name: mod.name,
        params: values,
        deps,
        hooks: tapView(hooks, mod.name, () => open.v),
        bin: bin.forModule(mod.name, () => open.v),
        log: log.child({ module: mod.name }) as TsipsLogger,
        stats: moduleStats(stats, mod.name, (mod.stats ?? {}) as Record<string, StatDecl>),
        statsRegistry: stats,
        core: { version: "0.1.0", cfgFile: "test.cfg", sockets: [], globals: new Map(), startedAt: core.startedAt },
        mi,
        events: { raise: () => {} },
        listening: (desc: string) => void listeners.push(desc),
        isRunning: () => open.v,
      } as unknown as ModuleContext<ParamsSpec, DepsSpec, string>;
      const api = (await mod.init?.(ctx)) as A;
      registry.registerAll(mod.name, (mod.mi ?? {}) as Record<string, MiCommandDecl<A>>, api);
      started.push({ name: mod.name, mod: mod as TsipsModule<ParamsSpec, DepsSpec, string, unknown>, ctx, api, open });
      return api;
    },
    async stop() {
      while (started.length > 0) {
        const s = started.pop()!;
        s.open.v = false;
        registry.unregisterModule(s.name);
        await s.mod.destroy?.(s.ctx, s.api);
      }
    },
  };
}
