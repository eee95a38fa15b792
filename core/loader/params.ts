/**
 * Applying `modparam(...)` lines (spec/cfg.md §3.4): the first argument is a
 * case-insensitive extended regex matched against the whole module name; every module it
 * matches must have the parameter with a compatible type. Validation happens where the
 * modparam stands, so each error names that line: unknown module, unknown parameter,
 * wrong type and rejected value are four distinct codes.
 */
import type { Statement } from "../cfg/ast.ts";
import { TsipsError } from "../errors.ts";
import type { ParamSpec, TsipsModule } from "../module.ts";

type ModparamStmt = Extract<Statement, { kind: "modparam" }>;

export interface LoadedModule {
  name: string;
  def: TsipsModule;
  /** Index of its loadmodule statement (cfg order). */
  order: number;
  loc: import("../errors.ts").Location;
  file: string;
}

export interface ParamOutcome {
  /** Typed values per module (defaults filled in). */
  values: Map<string, Record<string, unknown>>;
  /** Per module, where each parameter was last set (the modparam statement). */
  locations: Map<string, Map<string, import("../errors.ts").Location>>;
  errors: TsipsError[];
  warnings: { message: string; loc: import("../errors.ts").Location; module: string }[];
}

function moduleRegex(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`, "i");
  } catch {
    return undefined;
  }
}

/** Defaults for every module, then each modparam applied in cfg order. */
export function applyModparams(
  modules: readonly LoadedModule[],
  modparams: readonly { stmt: ModparamStmt; order: number }[],
): ParamOutcome {
  const values = new Map<string, Record<string, unknown>>();
  const locations = new Map<string, Map<string, import("../errors.ts").Location>>();
  const setOnce = new Map<string, Set<string>>();
  for (const m of modules) {
    const v: Record<string, unknown> = {};
    for (const [k, spec] of Object.entries(m.def.params ?? {})) v[k] = spec.repeatable ? [] : spec.default;
    values.set(m.name, v);
    locations.set(m.name, new Map());
    setOnce.set(m.name, new Set());
  }
  const errors: TsipsError[] = [];
  const warnings: ParamOutcome["warnings"] = [];
  const warnedIgnored = new Set<string>();

  for (const { stmt, order } of modparams) {
    const re = moduleRegex(stmt.module);
    if (!re) {
      errors.push(new TsipsError("TSIPS_ERR_PARAM_MODULE", `invalid module regex "${stmt.module}"`, { location: stmt.loc }));
      continue;
    }
    const matching = modules.filter((m) => re.test(m.name));
    const before = matching.filter((m) => m.order < order);
    if (before.length === 0) {
      const later = matching[0];
      errors.push(later
        ? new TsipsError("TSIPS_ERR_MODPARAM_ORDER",
          `modparam for module "${later.name}" before its loadmodule (${later.loc.file}:${later.loc.line}) - can't set "${stmt.param}"`,
          { location: stmt.loc, module: later.name })
        : new TsipsError("TSIPS_ERR_PARAM_MODULE", `no module matching "${stmt.module}" found - can't set "${stmt.param}"`, { location: stmt.loc }));
      continue;
    }
    for (const m of before) {
      const spec = (m.def.params ?? {})[stmt.param] as ParamSpec<unknown> | undefined;
      if (!spec) {
        const known = Object.keys(m.def.params ?? {});
        const hint = known.length ? ` (known: ${known.join(", ")})` : " (it takes no parameters)";
        errors.push(new TsipsError("TSIPS_ERR_PARAM_UNKNOWN", `parameter "${stmt.param}" not found in module "${m.name}"${hint}`,
          { location: stmt.loc, module: m.name }));
        break;
      }
      if (spec.type !== stmt.value.kind) {
        errors.push(new TsipsError("TSIPS_ERR_PARAM_TYPE",
          `type mismatch for parameter "${stmt.param}" in module "${m.name}": expects ${spec.type === "int" ? "an integer" : "a string"}, got ${stmt.value.kind === "int" ? "an integer" : "a string"}`,
          { location: stmt.valueLoc, module: m.name }));
        break;
      }
      const res = spec.accept(stmt.value.value);
      if ("error" in res) {
        errors.push(new TsipsError("TSIPS_ERR_PARAM_VALUE", `bad value for parameter "${stmt.param}" of module "${m.name}": ${res.error}`,
          { location: stmt.valueLoc, module: m.name }));
        break;
      }
      const vals = values.get(m.name)!;
      locations.get(m.name)!.set(stmt.param, stmt.loc);
      if (spec.repeatable) (vals[stmt.param] as unknown[]).push(res.value);
      else {
        const seen = setOnce.get(m.name)!;
        if (seen.has(stmt.param)) {
          warnings.push({ module: m.name, loc: stmt.loc, message: `parameter "${stmt.param}" of module "${m.name}" set again; the last value wins` });
        }
        seen.add(stmt.param);
        vals[stmt.param] = res.value;
      }
      if (spec.ignored && !warnedIgnored.has(`${m.name}.${stmt.param}`)) {
        warnedIgnored.add(`${m.name}.${stmt.param}`);
        warnings.push({ module: m.name, loc: stmt.loc, message: `parameter "${stmt.param}" of module "${m.name}" is accepted but has no effect in tsips: ${spec.ignored}` });
      }
    }
  }
  return { values, locations, errors, warnings };
}
