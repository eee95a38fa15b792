/**
 * From a parsed config to a load plan: resolve every `loadmodule`, import the modules
 * (in parallel: they are plain data until init), apply modparams, resolve dependencies.
 * Nothing is started here; `-c` stops after this step.
 */
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import type { AutoScalingProfile, AutoScalingSettings, AutoScalingUse, CfgFile, SocketDef, CfgValue, Statement } from "../cfg/ast.ts";
import { TsipsError } from "../errors.ts";
import type { TsipsModule } from "../module.ts";
import { byNameHint } from "./by-name.ts";
import { resolveDependencies } from "./graph.ts";
import { applyModparams, type LoadedModule } from "./params.ts";
import {
  BUILTIN_MODULES, DROPPED_MODULES, INTEGRATED_MODULES, closestName, knownModuleNames, resolveModule,
} from "./resolve.ts";

export interface LoadPlan {
  cfg: CfgFile;
  /** Loaded modules in cfg order. */
  modules: LoadedModule[];
  /** Init order (module names). */
  order: string[];
  params: Map<string, Record<string, unknown>>;
  /** Per module, the modparam statement that last set each parameter (operational errors point there). */
  paramLocations: Map<string, Map<string, import("../errors.ts").Location>>;
  bindings: Map<string, Map<string, string>>;
  sockets: SocketDef[];
  globals: Map<string, CfgValue>;
  autoScaling: AutoScalingSettings;
  errors: TsipsError[];
  warnings: { message: string; module?: string; loc?: import("../errors.ts").Location }[];
}

export interface LoadOptions {
  /** Extra module folders searched after the cfg's mpath entries (before the repo's modules/). */
  modulePaths?: readonly string[];
}

function isModule(x: unknown): x is TsipsModule {
  return typeof x === "object" && x !== null && (x as { __tsipsModule?: unknown }).__tsipsModule === true;
}

export async function planLoad(cfg: CfgFile, opts: LoadOptions = {}): Promise<LoadPlan> {
  const errors: TsipsError[] = [];
  const warnings: LoadPlan["warnings"] = [];
  const sockets: SocketDef[] = [];
  const globals = new Map<string, CfgValue>();
  const profiles: AutoScalingProfile[] = [];
  const uses: AutoScalingUse[] = [];
  const mpaths: string[] = [];
  const cfgDir = dirname(cfg.mainFile);
  type LoadStmt = Extract<Statement, { kind: "loadmodule" }>;
  const loads: { stmt: LoadStmt; order: number; name: string; file: string }[] = [];
  const modparams: { stmt: Extract<Statement, { kind: "modparam" }>; order: number }[] = [];
  const seen = new Set<string>();

  cfg.statements.forEach((stmt, order) => {
    switch (stmt.kind) {
      case "socket":
        sockets.push(stmt.socket);
        if (stmt.autoScaling) uses.push(stmt.autoScaling);
        break;
      case "global":
        globals.set(stmt.name, stmt.value);
        if (stmt.autoScaling) uses.push(stmt.autoScaling);
        break;
      case "autoScalingProfile":
        profiles.push(stmt.profile);
        break;
      case "mpath":
        mpaths.push(stmt.path);
        break;
      case "modparam":
        modparams.push({ stmt, order });
        break;
      case "loadmodule": {
        const res = resolveModule(stmt.path, [...mpaths, ...(opts.modulePaths ?? [])], cfgDir);
        if (BUILTIN_MODULES.has(res.name)) return; // built into the core, as in OpenSIPS
        // OpenSIPS 3.6.8 compares by prefix: the base name may be a prefix of the dropped name.
        const dropped = Object.keys(DROPPED_MODULES).find((d) => res.name.length > 0 && d.startsWith(res.name));
        if (dropped) {
          errors.push(new TsipsError("TSIPS_ERR_MOD_DROPPED",
            `'${dropped}' module has been dropped - please use '${DROPPED_MODULES[dropped]}' instead!`, { location: stmt.loc }));
          return;
        }
        const integrated = INTEGRATED_MODULES[res.name];
        if (integrated) {
          warnings.push({ message: integrated, loc: stmt.loc });
          return;
        }
        if (seen.has(res.name)) {
          warnings.push({ message: `attempting to load the same module twice (${res.name})`, loc: stmt.loc, module: res.name });
          return;
        }
        if (!res.file) {
          const near = closestName(res.name, knownModuleNames([...mpaths, ...(opts.modulePaths ?? [])], cfgDir));
          errors.push(new TsipsError("TSIPS_ERR_MOD_NOT_FOUND",
            `failed to load module '${stmt.path}' - not found${near ? ` (did you mean '${near}'?)` : ""}`,
            { location: stmt.loc, module: res.name, details: ["looked in:", ...res.tried.map((t) => `  ${t}`)] }));
          return;
        }
        seen.add(res.name);
        loads.push({ stmt, order, name: res.name, file: res.file });
        break;
      }
      case "route":
        break;
    }
  });

  const imported = await Promise.all(loads.map(async (l) => {
    try {
      const ns = (await import(pathToFileURL(l.file).href)) as { default?: unknown };
      if (!isModule(ns.default)) {
        throw new TsipsError("TSIPS_ERR_MOD_INVALID", `${l.file} does not default-export defineModule({...})`, { location: l.stmt.loc, module: l.name });
      }
      if (ns.default.name !== l.name) {
        throw new TsipsError("TSIPS_ERR_MOD_INVALID", `${l.file} declares module "${ns.default.name}" but is loaded as "${l.name}"`,
          { location: l.stmt.loc, module: l.name });
      }
      return { name: l.name, def: ns.default, order: l.order, loc: l.stmt.loc, file: l.file } satisfies LoadedModule;
    } catch (err) {
      const hint = byNameHint(err);
      errors.push(err instanceof TsipsError ? err
        : new TsipsError("TSIPS_ERR_MOD_INVALID", `failed to load module '${l.stmt.path}': ${(err as Error).message}`,
          { location: l.stmt.loc, module: l.name, cause: err, ...(hint ? { details: [hint] } : {}) }));
      return undefined;
    }
  }));
  const modules = imported.filter((m): m is LoadedModule => m !== undefined);

  const p = applyModparams(modules, modparams);
  errors.push(...p.errors);
  warnings.push(...p.warnings);
  const d = resolveDependencies(modules, p.values);
  errors.push(...d.errors);
  warnings.push(...d.warnings);

  errors.sort((a, b) => locKey(a) - locKey(b));
  return { cfg, modules, order: d.order, params: p.values, paramLocations: p.locations, bindings: d.bindings, sockets, globals,
    autoScaling: { profiles, uses }, errors, warnings };

  function locKey(e: TsipsError): number {
    if (!e.location) return Number.MAX_SAFE_INTEGER;
    const fileIdx = cfg.files.indexOf(e.location.file);
    return (fileIdx < 0 ? 999 : fileIdx) * 1e7 + e.location.line * 1e3 + e.location.col;
  }
}
