/**
 * The MI command registry (OpenSIPS mi/mi.c): commands by exact, case-sensitive name, in
 * registration order, each remembering the module that exported it. `run` selects the
 * recipe, binds the parameters and calls the handler with the module's API.
 */
import { TsipsError } from "../errors.ts";
import type { CoreHooks } from "../hooks.ts";
import type { TsipsLogger } from "../log.ts";
import { bindParams, SERVER_ERROR, type RawParams } from "./params.ts";
import { isMiError, MiError, type MiCommandDecl, type MiCommandInfo, type MiResult, type MiParams } from "./types.ts";

/** JSON-RPC 2.0 "Method not found". */
export const METHOD_NOT_FOUND = -32601;

/** OpenSIPS limits (mi/mi.h MAX_MI_RECIPES / MAX_MI_PARAMS). */
const MAX_RECIPES = 48;
const MAX_PARAMS = 10;

interface Entry extends MiCommandInfo {
  readonly call: (params: MiParams) => MiResult | Promise<MiResult> | undefined;
}

export interface MiRegistryOptions {
  /** Fires `mi.commandAdded` for every registration. */
  hooks?: CoreHooks;
  /** Where handler crashes are logged. */
  log?: TsipsLogger;
}

export class MiRegistry {
  private readonly byName = new Map<string, Entry>();

  constructor(private readonly opts: MiRegistryOptions = {}) {}

  /**
   * Registers one command. A name already taken → TSIPS_ERR_MI_DUPLICATE (OpenSIPS refuses
   * duplicates too); more than 48 recipes or 10 names in one → TSIPS_ERR_MI_COMMAND.
   */
  register<A>(module: string, name: string, decl: MiCommandDecl<A>, api: A): void {
    const existing = this.byName.get(name);
    if (existing) {
      throw new TsipsError("TSIPS_ERR_MI_DUPLICATE",
        `MI command "${name}" of module ${module} is already registered by module ${existing.module}`, { module });
    }
    const recipes = (decl.params ?? [[]]).map((r) => Object.freeze([...r]));
    if (recipes.length === 0 || recipes.length > MAX_RECIPES || recipes.some((r) => r.length > MAX_PARAMS)) {
      throw new TsipsError("TSIPS_ERR_MI_COMMAND",
        `MI command "${name}" of module ${module}: 1 to ${MAX_RECIPES} recipes of at most ${MAX_PARAMS} names each`, { module });
    }
    const run = decl.run;
    this.byName.set(name, Object.freeze({
      name,
      module,
      help: decl.help,
      recipes: Object.freeze(recipes),
      namedOnly: decl.namedOnly === true,
      call: (p: MiParams) => run.call(decl, p, api),
    }));
    this.opts.hooks?.mi.commandAdded.call({ module, name });
  }

  /** Registers every command of a module's `mi` table. */
  registerAll<A>(module: string, table: Record<string, MiCommandDecl<A>> | undefined, api: A): void {
    for (const [name, decl] of Object.entries(table ?? {})) this.register(module, name, decl, api);
  }

  /** Removes a module's commands (module destroyed). */
  unregisterModule(module: string): void {
    for (const [name, e] of this.byName) if (e.module === module) this.byName.delete(name);
  }

  /** Every command, in registration order. */
  commands(): MiCommandInfo[] {
    return [...this.byName.values()].map(({ name, module, help, recipes, namedOnly }) => ({ name, module, help, recipes, namedOnly }));
  }

  get(name: string): MiCommandInfo | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Runs a command. Throws MiError: -32601 unknown method, -32602 parameter mismatch or bad
   * parameter, -32000 handler returned nothing or crashed, or the handler's own code.
   */
  async run(method: string, params?: RawParams): Promise<MiResult> {
    const e = this.byName.get(method);
    if (!e) throw new MiError(METHOD_NOT_FOUND, "Method not found");
    const bound = bindParams(e.recipes, e.namedOnly, params);
    let result: MiResult | undefined;
    try {
      result = await e.call(bound);
    } catch (err) {
      if (isMiError(err)) throw err;
      this.opts.log?.error({ err, module: e.module, command: method }, `MI command ${method} failed`);
      throw new MiError(SERVER_ERROR, "Server error", err instanceof Error ? err.message : String(err));
    }
    if (result === undefined) throw new MiError(SERVER_ERROR, "Server error", "Command handler returned null");
    return result;
  }
}
