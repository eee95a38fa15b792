/**
 * The module contract: `defineModule({...})`, typed parameters and dependencies.
 * A module is plain data (name, version, params, deps, MI, stats) plus `init`/`destroy`,
 * so the core can validate a config against it without running any module code
 * (OpenSIPS's `struct module_exports`, sr_module.h).
 */
import type { AutoScalingSettings, SocketDef, CfgValue } from "./cfg/ast.ts";
import type { BinApi } from "./bin/dispatch.ts";
import type { BinMessage, FieldDef, V110Message } from "./bin/schema.ts";
import type { CoreHooks } from "./hooks.ts";
import type { ModuleEvents } from "./events/types.ts";
import type { SrGroup } from "./status/registry.ts";
import type { TapView } from "./hook-ownership.ts";
import type { TsipsLogger } from "./log.ts";
import type { MiCommandDecl, JsonValue, MiResult, MiHost } from "./mi/types.ts";
import type { ModuleStats, StatDecl, StatsRegistry } from "./stats.ts";
import type { Location } from "./errors.ts";

// ── parameters ──────────────────────────────────────────────────────────

/** How a modparam value is checked and turned into the module's typed value. */
export interface ParamSpec<T> {
  /** The cfg value kind it takes: an unquoted number or a quoted string. */
  readonly type: "int" | "str";
  readonly doc: string;
  readonly default: T;
  /** Several modparam lines accumulate (values collected in cfg order). */
  readonly repeatable: boolean;
  /**
   * Turns one raw cfg value into the typed value, or returns `{ error }` naming why the
   * value is rejected (TSIPS_ERR_PARAM_VALUE at the modparam's location).
   */
  readonly accept: (raw: number | string) => { value: unknown } | { error: string };
  /** Not implemented by tsips: accepted with one warning (OpenSIPS param kept for config compatibility). */
  readonly ignored?: string;
}

interface IntOpts {
  default?: number;
  min?: number;
  max?: number;
  doc: string;
  ignored?: string;
}

/** An integer modparam (OpenSIPS INT_PARAM). */
export function int(opts: IntOpts): ParamSpec<number> {
  return {
    type: "int", doc: opts.doc, default: opts.default ?? 0, repeatable: false, ...(opts.ignored ? { ignored: opts.ignored } : {}),
    accept: (raw) => {
      const v = raw as number;
      if (opts.min !== undefined && v < opts.min) return { error: `must be at least ${opts.min}, got ${v}` };
      if (opts.max !== undefined && v > opts.max) return { error: `must be at most ${opts.max}, got ${v}` };
      return { value: v };
    },
  };
}

interface StrOpts<T> {
  default?: T;
  doc: string;
  /** Allowed values (case-sensitive). */
  choices?: readonly string[];
  /** Custom parsing; throw or return `{ error }` to reject. */
  parse?: (s: string) => T;
  ignored?: string;
}

/** A string modparam (OpenSIPS STR_PARAM), optionally with choices or a custom parser. */
export function str<T = string>(opts: StrOpts<T>): ParamSpec<T> {
  return {
    type: "str", doc: opts.doc, default: (opts.default ?? "") as T, repeatable: false, ...(opts.ignored ? { ignored: opts.ignored } : {}),
    accept: (raw) => acceptStr(raw as string, opts),
  };
}

/** A string modparam that may be set several times (OpenSIPS `STR_PARAM|USE_FUNC_PARAM`, e.g. neighbor_node_info). */
export function strList<T = string>(opts: Omit<StrOpts<T>, "default">): ParamSpec<T[]> {
  return {
    type: "str", doc: opts.doc, default: [], repeatable: true, ...(opts.ignored ? { ignored: opts.ignored } : {}),
    accept: (raw) => acceptStr(raw as string, opts),
  };
}

function acceptStr<T>(s: string, opts: StrOpts<T>): { value: unknown } | { error: string } {
  if (opts.choices && !opts.choices.includes(s)) return { error: `must be one of ${opts.choices.map((c) => `"${c}"`).join(", ")}, got "${s}"` };
  if (!opts.parse) return { value: s };
  try {
    return { value: opts.parse(s) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export type ParamsSpec = Record<string, ParamSpec<unknown>>;
/** The typed parameter values a module's init sees. */
export type ParamValues<P extends ParamsSpec> = { readonly [K in keyof P]: P[K] extends ParamSpec<infer T> ? T : never };

// ── dependencies ────────────────────────────────────────────────────────

/** What happens when a needed module is not loaded (OpenSIPS DEP_ABORT / DEP_WARN / DEP_SILENT). */
export type MissingPolicy = "abort" | "warn" | "ignore";

export interface DepSpec<A, Optional extends boolean> {
  readonly module: string;
  readonly missing: MissingPolicy;
  /** Only needed when this returns true for the module's params (e.g. a replication cluster is set). */
  readonly when?: (params: Record<string, unknown>) => boolean;
  /** Phantom: the provider's API type. */
  readonly __api?: A;
  readonly __optional?: Optional;
}

/**
 * Declares that this module needs `module` initialised first and receives its API.
 * Without `when` and with `missing: "abort"` (default) the API is always there; otherwise
 * it may be `undefined`.
 */
export function need<A>(module: string): DepSpec<A, false>;
export function need<A>(module: string, opts: { missing?: MissingPolicy; when?: (params: Record<string, unknown>) => boolean }): DepSpec<A, true>;
export function need<A>(module: string, opts: { missing?: MissingPolicy; when?: (params: Record<string, unknown>) => boolean } = {}): DepSpec<A, boolean> {
  return { module, missing: opts.missing ?? "abort", ...(opts.when ? { when: opts.when } : {}) };
}

export type DepsSpec = Record<string, DepSpec<unknown, boolean>>;
export type DepValues<D extends DepsSpec> = {
  readonly [K in keyof D]: D[K] extends DepSpec<infer A, infer O> ? (O extends false ? A : A | undefined) : never;
};

// ── the context a module gets ───────────────────────────────────────────

/** What the core tells modules about the node. */
export interface CoreInfo {
  readonly version: string;
  readonly cfgFile: string;
  /** Every socket=/listen= line (transports pick their protocol's). */
  readonly sockets: readonly SocketDef[];
  /** Every other global assignment, by name (last one wins). */
  readonly globals: ReadonlyMap<string, CfgValue>;
  /** `auto_scaling_profile` definitions and the worker groups (`udp_workers = N use_auto_scaling_profile P`, sockets) using them. */
  readonly autoScaling: AutoScalingSettings;
  /** Process start (ms since epoch). */
  readonly startedAt: number;
}

/** Running MI commands from a module (the clusterer's cluster_send_mi runs them locally). */
export interface MiRunner {
  run(method: string, params?: JsonValue[] | Record<string, JsonValue>): Promise<JsonValue>;
}

export interface ModuleContext<P extends ParamsSpec, D extends DepsSpec, S extends string> {
  readonly name: string;
  readonly params: ParamValues<P>;
  readonly deps: DepValues<D>;
  /** Tap-only view of the core hooks; taps are named after the module and removed before destroy. */
  readonly hooks: TapView<CoreHooks>;
  readonly bin: BinApi;
  readonly log: TsipsLogger;
  readonly stats: ModuleStats<S>;
  /** The whole statistics registry (MI and prometheus read it). */
  readonly statsRegistry: StatsRegistry;
  readonly core: CoreInfo;
  /** Run MI commands locally, or hand a JSON-RPC body to the core (transports such as mi_http). */
  readonly mi: MiHost;
  /**
   * OpenSIPS-style events: `raise` runs the `events` hook taps and queues the event for every
   * subscriber (MI `event_subscribe`); `serveTransport` lets a transport module deliver them.
   */
  readonly events: ModuleEvents;
  /**
   * Status/report (OpenSIPS `sr_register_group`): `group()` is the module's own group (its
   * name), created on first use; add identifiers, set their status, add reports (MI sr_*).
   */
  readonly sr: { group(name?: string): SrGroup };
  /** Asks the core to fire `stats.collect` before statistics are read (prometheus, MI transports). */
  collectStats(targets: readonly string[]): void;
  /** Tells the core about a listener this module opened (named in the "ready" line), e.g. `bin:127.0.0.1:5555`. */
  listening(desc: string): void;
  /** True from init until the module's destroy starts. */
  readonly isRunning: () => boolean;
  /**
   * Where the config asked for something, for operational errors: the modparam that set the
   * first of `params` that was set, else the module's `loadmodule` line.
   */
  cfgLocation(...params: string[]): Location;
}

// ── the module definition ───────────────────────────────────────────────

export interface ModuleDef<P extends ParamsSpec, D extends DepsSpec, S extends string, A> {
  /** As in `loadmodule "<name>.so"`; snake_case like OpenSIPS. */
  name: string;
  version: string;
  /** One line, shown by -V and the README. */
  doc?: string;
  params?: P;
  deps?: D;
  stats?: Record<S, StatDecl>;
  /**
   * The BIN messages this module sends and receives, as declared data. Tools find them
   * through the loader (`bin-dump -m DIR` decodes a user module's packets by field name);
   * the core itself never imports a module to learn them.
   */
  messages?: readonly BinMessage<readonly FieldDef[]>[];
  /** The OpenSIPS 1.10 datagrams this module sends and receives (`bin_listen`), declared the same way. */
  v110Messages?: readonly V110Message<readonly FieldDef[]>[];
  /**
   * Events this module raises (`evi_publish_event`), published before its init so
   * `events_list` shows them and `event_subscribe` accepts them before the first raise.
   */
  events?: readonly string[];
  /**
   * MI commands; handlers receive what init returned. Write `mi` after `init`: TypeScript
   * infers the API type left to right, so handlers declared first would see `void`.
   */
  mi?: Record<string, MiCommandDecl<A>>;
  /**
   * Starts the module. What it returns is the module's API: dependents get it as
   * `ctx.deps.<name>` and MI handlers as their second argument.
   */
  init?(ctx: ModuleContext<P, D, S>): A | Promise<A>;
  /** Stops the module (timers, sockets). Its hook taps are already removed. */
  destroy?(ctx: ModuleContext<P, D, S>, api: NoInfer<A> | undefined): void | Promise<void>;
  /** Longest time init may take (default 10 s). */
  initTimeoutMs?: number;
}

/** A validated module definition, as the loader sees it. */
export interface TsipsModule<P extends ParamsSpec = ParamsSpec, D extends DepsSpec = DepsSpec, S extends string = string, A = unknown>
  extends ModuleDef<P, D, S, A> {
  readonly __tsipsModule: true;
}

/**
 * Declares a module. Everything the core needs before running code is plain data;
 * behaviour lives in `init`/`destroy`.
 */
export function defineModule<const P extends ParamsSpec = {}, const D extends DepsSpec = {}, S extends string = never, A = void>(
  def: ModuleDef<P, D, S, A>,
): TsipsModule<P, D, S, A> {
  if (!/^[a-z][a-z0-9_]*$/.test(def.name)) throw new Error(`module name "${def.name}" must be snake_case`);
  return Object.freeze({ ...def, __tsipsModule: true as const });
}

export type { MiCommandDecl, JsonValue, MiResult };
