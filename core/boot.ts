/**
 * Boot: config → load plan → running node, and orderly shutdown. `checkConfig` is the
 * `-c` path: parse, load, validate params, resolve deps — start nothing, bind nothing.
 */
import { resolve } from "node:path";
import { parseCfgFile } from "./cfg/index.ts";
import type { CfgDiagnostic } from "./cfg/ast.ts";
import { TsipsAggregateError, TsipsError } from "./errors.ts";
import { createHooks, type CoreHooks } from "./hooks.ts";
import { BinUdpListener, parseBinListen } from "./bin/v110/udp-listener.ts";
import { createRootLogger, opensipsLevelToPino, pinoLevelToOpensips, type TsipsLogger } from "./log.ts";
import { ModuleRuntime } from "./loader/lifecycle.ts";
import { createMiHost } from "./mi/host.ts";
import { planLoad, type LoadPlan } from "./loader/load.ts";
import { registerCoreCommands } from "./mi/core-commands.ts";
import { registerEventCommands } from "./events/mi.ts";
import { registerStatusReportCommands } from "./status/mi.ts";
import { MiRegistry } from "./mi/registry.ts";
import { StatsRegistry } from "./stats.ts";
import { TSIPS_VERSION } from "./version.ts";

export interface LoadedConfig {
  plan: LoadPlan | undefined;
  /** Parse and load errors, in file order. */
  errors: TsipsError[];
  warnings: { message: string; loc?: import("./errors.ts").Location; module?: string }[];
}

export interface ConfigOptions {
  /** Extra module folders (searched after the cfg's mpath). */
  modulePaths?: string[];
}

/** Parses the config and plans the load (imports modules, applies params, orders deps). */
export async function loadConfig(cfgPath: string, opts: ConfigOptions = {}): Promise<LoadedConfig> {
  const file = resolve(cfgPath);
  const parsed = parseCfgFile(file);
  const warnings: LoadedConfig["warnings"] = parsed.warnings.map((w: CfgDiagnostic) => ({ message: w.message, loc: w.loc }));
  if (parsed.errors.length > 0) return { plan: undefined, errors: parsed.errors, warnings };
  const plan = await planLoad(parsed.cfg, { modulePaths: opts.modulePaths ?? [] });
  warnings.push(...plan.warnings);
  return { plan, errors: plan.errors, warnings };
}

/** `-c`: everything but starting. */
export async function checkConfig(cfgPath: string, opts: ConfigOptions = {}): Promise<{ ok: boolean; errors: TsipsError[]; plan?: LoadPlan }> {
  const r = await loadConfig(cfgPath, opts);
  return { ok: r.errors.length === 0, errors: r.errors, ...(r.plan ? { plan: r.plan } : {}) };
}

export interface BootOptions extends ConfigOptions {
  /** OpenSIPS log level override (-3..4); default: the cfg's log_level, else 2. */
  logLevel?: number;
  /** Use this logger instead of building one from the cfg. */
  logger?: TsipsLogger;
  initTimeoutMs?: number;
  /** Called with the hook table before anything fires (embedders and tests tap the lifecycle here). */
  onHooks?: (hooks: CoreHooks) => void;
  /** Called when an MI `kill` or similar asks the node to stop. */
  onShutdownRequest?: (reason: string) => void;
}

/** A running node. */
export interface TsipsNode {
  readonly hooks: CoreHooks;
  readonly stats: StatsRegistry;
  readonly mi: MiRegistry;
  readonly runtime: ModuleRuntime;
  readonly log: TsipsLogger;
  readonly plan: LoadPlan;
  readonly listeners: readonly string[];
  /** Orderly shutdown: `shutdown` hook, then modules destroyed in reverse order. Idempotent. */
  stop(reason?: string): Promise<void>;
}

function cfgInt(plan: LoadPlan, name: string): number | undefined {
  const v = plan.globals.get(name);
  return v?.kind === "int" ? v.value : undefined;
}

/** Builds the root logger the config asks for (log_level, stderror_enabled / log_stderror). */
export async function loggerForPlan(plan: LoadPlan | undefined, levelOverride?: number): Promise<TsipsLogger> {
  const level = levelOverride ?? (plan ? cfgInt(plan, "log_level") : undefined) ?? 2;
  const stderrOn = plan ? (cfgInt(plan, "stderror_enabled") ?? cfgInt(plan, "log_stderror") ?? 1) : 1;
  // stderror_enabled=no still logs — to stdout — instead of going silent (no syslog here).
  return createRootLogger({ level, toStderr: stderrOn !== 0 });
}

/** Loads the config and starts every module; a bad config throws TsipsAggregateError with every error. */
export async function bootNode(cfgPath: string, opts: BootOptions = {}): Promise<TsipsNode> {
  const startedAt = Date.now();
  const loaded = await loadConfig(cfgPath, opts);
  if (!loaded.plan || loaded.errors.length > 0) {
    throw new TsipsAggregateError(loaded.errors, `bad config file (${loaded.errors.length} errors)`);
  }
  const plan = loaded.plan;
  const log = opts.logger ?? (await loggerForPlan(plan, opts.logLevel));
  for (const w of loaded.warnings) {
    log.warn({ module: w.module, loc: w.loc ? `${w.loc.file}:${w.loc.line}:${w.loc.col}` : undefined }, w.message);
  }
  const hooks = createHooks();
  const stats = new StatsRegistry();
  const mi = new MiRegistry({ hooks, log });
  let stopping: Promise<void> | undefined;
  let logLevel: number | undefined = opts.logLevel ?? cfgInt(plan, "log_level");
  const runtime = new ModuleRuntime({
    hooks, log, stats,
    mi: { ...createMiHost(mi), register: (m, n, d, a) => mi.register(m, n, d, a), unregisterModule: (m) => mi.unregisterModule(m) },
    info: { version: TSIPS_VERSION, cfgFile: plan.cfg.mainFile, sockets: plan.sockets, globals: plan.globals, autoScaling: plan.autoScaling, startedAt },
    ...(opts.initTimeoutMs !== undefined ? { initTimeoutMs: opts.initTimeoutMs } : {}),
  });
  const v110 = await openBinListen(plan, runtime, hooks, log);
  const node: TsipsNode = {
    hooks, stats, mi, runtime, log, plan,
    get listeners() {
      return runtime.listeners;
    },
    stop(reason = "stop requested") {
      stopping ??= (async () => {
        log.notice({ reason }, "shutting down");
        runtime.coreStatus.setStatus(-2, "shutting down");
        runtime.coreStatus.report(`shutting down: ${reason}`);
        try {
          await hooks.lifecycle.shutdown.promise({ reason });
        } catch (err) {
          log.error({ err }, "a shutdown hook failed");
        }
        await runtime.stop(reason);
        await v110?.close();
        log.notice("stopped");
      })();
      return stopping;
    },
  };
  registerCoreCommands(mi, {
    version: TSIPS_VERSION,
    startedAt,
    log,
    // Keep the number as set: pino's levels are coarser than OpenSIPS's (-3 and -2 are both fatal).
    getLogLevel: () => logLevel ?? pinoLevelToOpensips(log.level),
    setLogLevel: (level: number) => {
      logLevel = level;
      log.level = opensipsLevelToPino(level);
    },
    shutdown: (reason: string) => (opts.onShutdownRequest ? opts.onShutdownRequest(reason) : void node.stop(reason)),
    stats,
    collectStats: (targets: string[]) => hooks.stats.collect.call({ targets }),
  });
  registerEventCommands(mi, runtime.events);
  registerStatusReportCommands(mi, runtime.sr);
  runtime.coreStatus.report("initializing");
  opts.onHooks?.(hooks);
  hooks.lifecycle.modulesLoaded.call({ modules: plan.order });
  hooks.lifecycle.paramsReady.call({ modules: plan.order, params: plan.params });
  try {
    await runtime.start(plan.modules, plan.order, plan.params, plan.bindings, plan.paramLocations);
  } catch (err) {
    await v110?.close();
    throw err;
  }
  await hooks.lifecycle.initDone.promise({ modules: plan.order });
  hooks.lifecycle.ready.call({ modules: plan.order, listeners: runtime.listeners });
  runtime.coreStatus.setStatus(1, "running");
  runtime.coreStatus.report("running");
  const ms = Date.now() - startedAt;
  log.notice({ listeners: runtime.listeners, modules: plan.order.length, ms },
    `ready: ${runtime.listeners.length ? `listening on ${runtime.listeners.join(", ")}` : "no listeners"}`);
  return node;
}

/**
 * OpenSIPS 1.10 `bin_listen`: the core's UDP socket for the 1.10 BIN interface, bound before
 * the modules init (so their sends have a socket) and closed after they are destroyed.
 * `bin_children` is accepted as in 1.10; tsips reads the socket in its event loop.
 */
async function openBinListen(plan: LoadPlan, runtime: ModuleRuntime, hooks: CoreHooks, log: TsipsLogger): Promise<BinUdpListener | undefined> {
  const v = plan.globals.get("bin_listen");
  if (!v || v.kind === "int") return undefined;
  const listener = new BinUdpListener(runtime.bin.v110, hooks, log.child({ module: "core" }) as TsipsLogger);
  await listener.open(parseBinListen(v.value));
  const children = cfgInt(plan, "bin_children");
  if (children !== undefined && children <= 0) {
    log.warn(`bin_children = ${children}: 1.10 would start no BIN receiver; tsips reads the bin_listen socket in its event loop anyway`);
  }
  runtime.listeners.push(`${listener.sockStr} (bin_listen)`);
  return listener;
}
