/**
 * Module lifecycle: init in dependency order (each bounded by a timeout that names the
 * module), a failed init aborts boot with the original error as cause after destroying
 * what had started, and destroy runs in reverse order — each module's hook taps removed
 * first, then its `destroy`.
 */
import { BinCore } from "../bin/dispatch.ts";
import type { CfgValue, SocketDef } from "../cfg/ast.ts";
import { TsipsError, type Location } from "../errors.ts";
import { EventInterface } from "../events/interface.ts";
import { CORE_STATE, StatusReports, type SrIdentifier } from "../status/registry.ts";
import { TapOwnership, tapView } from "../hook-ownership.ts";
import type { CoreHooks } from "../hooks.ts";
import type { TsipsLogger } from "../log.ts";
import type { MiCommandDecl, MiHost } from "../mi/types.ts";
import type { CoreInfo, ModuleContext, ParamsSpec, DepsSpec, TsipsModule } from "../module.ts";
import { moduleStats, type StatDecl, type StatsRegistry } from "../stats.ts";
import type { LoadedModule } from "./params.ts";

const DEFAULT_INIT_TIMEOUT_MS = 10_000;

/** Where module MI commands go (core/mi's registry). */
export interface MiSink {
  register(module: string, name: string, decl: MiCommandDecl<unknown>, api: unknown): void;
  unregisterModule(module: string): void;
}

export interface RuntimeDeps {
  hooks: CoreHooks;
  log: TsipsLogger;
  stats: StatsRegistry;
  mi: MiSink & MiHost;
  info: CoreInfo;
  /** Overrides the default init timeout (tests). */
  initTimeoutMs?: number;
  /** The event interface modules raise into (default: a new one on this runtime's stats). */
  events?: EventInterface;
}

interface Running {
  mod: LoadedModule;
  ctx: ModuleContext<ParamsSpec, DepsSpec, string>;
  api: unknown;
  open: boolean;
}

export class ModuleRuntime {
  readonly ownership: TapOwnership;
  readonly bin: BinCore;
  private readonly running: Running[] = [];
  private readonly apis = new Map<string, unknown>();
  readonly listeners: string[] = [];
  /** Published events, subscribers and event transports (MI event_subscribe & co.). */
  readonly events: EventInterface;
  /** Status/report groups (MI sr_*); the core's own is `core`/`main`. */
  readonly sr: StatusReports;
  /** The core's status identifier (`core`/`main`, 10 reports kept). */
  readonly coreStatus: SrIdentifier;

  constructor(private readonly deps: RuntimeDeps) {
    this.events = deps.events ?? new EventInterface({
      log: deps.log.child({ module: "core" }) as TsipsLogger, stats: deps.stats,
      onRaise: (name, params, module) => deps.hooks.events.get(name)?.call({ name, module, params }),
    });
    this.events.publish("E_CORE_SR_STATUS_CHANGED", "core");
    this.sr = new StatusReports((c) => this.events.raise("E_CORE_SR_STATUS_CHANGED", { ...c }, "core"));
    this.coreStatus = this.sr.group("core").identifier("main", { status: CORE_STATE.initializing, details: "initializing", maxReports: 10 });
    this.ownership = new TapOwnership(deps.hooks);
    this.bin = new BinCore(deps.hooks, deps.log.child({ module: "core" }) as TsipsLogger, deps.stats);
  }

  /** Names of the running modules, in init order. */
  moduleNames(): string[] {
    return this.running.map((r) => r.mod.name);
  }

  modules(): { name: string; version: string }[] {
    return this.running.map((r) => ({ name: r.mod.name, version: r.mod.def.version }));
  }

  /** The API a running module's init returned. */
  api(name: string): unknown {
    return this.apis.get(name);
  }

  /**
   * Initialises the modules in `order`. On the first failure, destroys those already
   * started (reverse order) and throws TSIPS_ERR_MOD_INIT / _INIT_TIMEOUT with the cause.
   */
  async start(modules: readonly LoadedModule[], order: readonly string[], params: Map<string, Record<string, unknown>>,
    bindings: Map<string, Map<string, string>>, paramLocations?: ReadonlyMap<string, ReadonlyMap<string, Location>>): Promise<void> {
    const byName = new Map(modules.map((m) => [m.name, m]));
    for (const name of order) {
      const mod = byName.get(name)!;
      const depsObj: Record<string, unknown> = {};
      for (const [key, provider] of bindings.get(name) ?? []) depsObj[key] = this.apis.get(provider);
      const entry: Running = { mod, ctx: undefined as never, api: undefined, open: true };
      for (const ev of mod.def.events ?? []) this.events.publish(ev, name);
      entry.ctx = this.makeContext(mod, params.get(name) ?? {}, depsObj, () => entry.open, paramLocations?.get(name));
      const log = entry.ctx.log;
      const t0 = performance.now();
      try {
        entry.api = await this.withTimeout(mod, Promise.resolve().then(() => mod.def.init?.(entry.ctx)));
      } catch (err) {
        entry.open = false;
        this.ownership.removeAll(name);
        const wrapped = err instanceof TsipsError && (err.code === "TSIPS_ERR_MOD_INIT_TIMEOUT")
          ? err
          : new TsipsError("TSIPS_ERR_MOD_INIT", `module ${name} failed to initialise: ${(err as Error)?.message ?? String(err)}`,
            { module: name, cause: err, location: mod.loc });
        // The caller reports the failure (the CLI on one located line); the stack is for debugging.
        log.debug({ err: wrapped.cause ?? wrapped }, wrapped.message);
        await this.stop("init failure");
        throw wrapped;
      }
      this.running.push(entry);
      this.apis.set(name, entry.api);
      for (const [cmd, decl] of Object.entries(mod.def.mi ?? {})) {
        this.deps.mi.register(name, cmd, decl as MiCommandDecl<unknown>, entry.api);
      }
      log.notice({ version: mod.def.version, ms: +(performance.now() - t0).toFixed(1) }, `module ${name} ${mod.def.version} loaded`);
    }
  }

  private withTimeout<T>(mod: LoadedModule, p: Promise<T>): Promise<T> {
    const ms = mod.def.initTimeoutMs ?? this.deps.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TsipsError("TSIPS_ERR_MOD_INIT_TIMEOUT",
        `module ${mod.name}: init did not settle within ${ms} ms`, { module: mod.name, location: mod.loc })), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /** Destroys every running module in reverse init order: taps removed, then `destroy`. */
  async stop(reason: string): Promise<void> {
    while (this.running.length > 0) {
      const entry = this.running.pop()!;
      const { mod, ctx } = entry;
      entry.open = false;
      this.ownership.removeAll(mod.name);
      this.deps.mi.unregisterModule(mod.name);
      this.events.removeTransports(mod.name);
      try {
        await mod.def.destroy?.(ctx, entry.api);
      } catch (err) {
        const e = new TsipsError("TSIPS_ERR_MOD_DESTROY", `module ${mod.name} failed while being destroyed (${reason})`,
          { module: mod.name, cause: err });
        ctx.log.error({ err }, e.message);
      }
      this.apis.delete(mod.name);
    }
  }

  private makeContext(mod: LoadedModule, params: Record<string, unknown>, deps: Record<string, unknown>, isOpen: () => boolean,
    paramLocations?: ReadonlyMap<string, Location>) {
    const { hooks, stats, mi, info } = this.deps;
    const log = this.deps.log.child({ module: mod.name }) as TsipsLogger;
    const core: CoreInfo = { ...info };
    const def = mod.def as TsipsModule;
    const ctx: ModuleContext<ParamsSpec, DepsSpec, string> = {
      name: mod.name,
      params: Object.freeze({ ...params }) as never,
      deps: Object.freeze({ ...deps }) as never,
      hooks: tapView(hooks, mod.name, isOpen),
      bin: this.bin.forModule(mod.name, isOpen),
      log,
      stats: moduleStats(stats, mod.name, (def.stats ?? {}) as Record<string, StatDecl>),
      statsRegistry: stats,
      core,
      mi,
      events: {
        raise: (name, p) => this.events.raise(name, p, mod.name),
        wanted: (name) => this.events.hasSubscribers(name) || (hooks.events.get(name)?.isUsed() ?? false),
        serveTransport: (t) => {
          if (!isOpen()) throw new TsipsError("TSIPS_ERR_MOD_INVALID", `module ${mod.name}: serveTransport after destroy`, { module: mod.name });
          this.events.serveTransport(mod.name, t);
        },
      },
      sr: {
        group: (name = mod.name) => this.sr.find(name) ?? this.sr.group(name),
      },
      collectStats: (targets) => hooks.stats.collect.call({ targets }),
      listening: (desc) => {
        this.listeners.push(desc);
      },
      isRunning: isOpen,
      cfgLocation: (...names) => {
        for (const n of names) {
          const loc = paramLocations?.get(n);
          if (loc) return loc;
        }
        return mod.loc;
      },
    };
    return ctx;
  }
}
