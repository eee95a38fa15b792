/**
 * Recipe selection and parameter typing (spec/mi.md §2 steps 5–6 and §3; OpenSIPS
 * mi/mi.c `get_cmd_recipe`, mi/item.c `get_mi_*_param`).
 */
import { printNumber } from "./json.ts";
import { MiError, type JsonValue, type MiParams } from "./types.ts";

/** Call parameters as a request carries them; `undefined` = none (absent, `[]` or `{}`). */
export type RawParams = JsonValue[] | { [k: string]: JsonValue } | undefined;

export const INVALID_PARAMS = -32602;
export const SERVER_ERROR = -32000;

const invalid = (data: string): MiError => new MiError(INVALID_PARAMS, "Invalid params", data);

/** Normalises `[]` / `{}` to "no params" (spec §2.3). */
export function normaliseParams(p: RawParams | null): RawParams {
  if (p === undefined || p === null) return undefined;
  if (Array.isArray(p)) return p.length === 0 ? undefined : p;
  for (const k in p) if (Object.prototype.hasOwnProperty.call(p, k)) return p;
  return undefined;
}

/**
 * Picks the recipe a call matches and binds its parameters, or throws MiError -32602 with
 * OpenSIPS's `data` text.
 */
export function bindParams(recipes: readonly (readonly string[])[], namedOnly: boolean, raw: RawParams): MiParams {
  const params = normaliseParams(raw);
  if (params === undefined) {
    const r = recipes.find((x) => x.length === 0);
    if (!r) throw invalid("Too few or too many parameters");
    return new BoundParams(r, () => undefined);
  }
  if (Array.isArray(params)) {
    if (namedOnly) throw invalid("Command only supports named parameters");
    let match: readonly string[] | undefined;
    for (const r of recipes) {
      if (r.length !== params.length) continue;
      if (match) throw invalid("Ambiguous call, use named parameters instead");
      match = r;
    }
    if (!match) throw invalid("Too few or too many parameters");
    const names = match;
    return new BoundParams(names, (name) => {
      let i = names.indexOf(name);
      if (i < 0) {
        const lower = name.toLowerCase();
        i = names.findIndex((n) => n.toLowerCase() === lower);
      }
      return i < 0 ? undefined : params[i];
    });
  }
  const members = Object.keys(params);
  let sameCount = false;
  for (const r of recipes) {
    if (r.length !== members.length) continue;
    sameCount = true;
    if (r.every((n) => Object.prototype.hasOwnProperty.call(params, n))) {
      return new BoundParams(r, (name) => {
        if (Object.prototype.hasOwnProperty.call(params, name)) return params[name];
        const lower = name.toLowerCase();
        const k = members.find((m) => m.toLowerCase() === lower);
        return k === undefined ? undefined : params[k];
      });
    }
  }
  throw invalid(sameCount ? "Named parameters do not match" : "Too few or too many parameters");
}

/** Builds MiParams directly (module unit tests: `decl.run(miParams(["aor"], { aor: "x" }), api)`). */
export function miParams(recipe: readonly string[], values: Record<string, JsonValue>): MiParams {
  return new BoundParams(recipe, (name) => {
    if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
    const lower = name.toLowerCase();
    const k = Object.keys(values).find((m) => m.toLowerCase() === lower);
    return k === undefined ? undefined : values[k];
  });
}

const INT_TEXT = /^[+-]?[0-9]+$/;

/** The integer text cJSON gives a number read as a string (its integer part). */
function intText(n: number): string {
  return printNumber(Math.trunc(n));
}

class BoundParams implements MiParams {
  constructor(
    readonly recipe: readonly string[],
    private readonly lookup: (name: string) => JsonValue | undefined,
  ) {}

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  raw(name: string): JsonValue | undefined {
    return this.lookup(name);
  }

  private need(name: string): JsonValue {
    const v = this.lookup(name);
    if (v === undefined) throw new MiError(SERVER_ERROR, "Server error", "Failed to handle parameter");
    return v;
  }

  str(name: string): string {
    return this.asStr(name, this.need(name));
  }

  int(name: string): number {
    return this.asInt(name, this.need(name));
  }

  optStr(name: string): string | undefined {
    const v = this.lookup(name);
    return v === undefined ? undefined : this.asStr(name, v);
  }

  optInt(name: string): number | undefined {
    const v = this.lookup(name);
    return v === undefined ? undefined : this.asInt(name, v);
  }

  array(name: string): JsonValue[] {
    const v = this.need(name);
    if (!Array.isArray(v)) throw invalid(`Bad type for parameter '${name}'`);
    if (v.length === 0) throw invalid(`Empty array in parameter '${name}'`);
    return v;
  }

  strArray(name: string): string[] {
    return this.array(name).map((item) => {
      if (typeof item === "string") return item;
      if (typeof item === "number" && Number.isFinite(item)) return intText(item);
      throw invalid(`Bad type for array item in parameter '${name}'`);
    });
  }

  private asStr(name: string, v: JsonValue): string {
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isFinite(v)) return intText(v);
    throw invalid(`Bad type for parameter '${name}'`);
  }

  private asInt(name: string, v: JsonValue): number {
    if (typeof v === "number" && Number.isFinite(v)) return Math.trunc(v);
    if (typeof v === "string" && INT_TEXT.test(v)) return Number.parseInt(v, 10);
    throw invalid(`Bad type for parameter '${name}'`);
  }
}
