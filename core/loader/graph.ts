/**
 * Module dependencies: which declared deps apply (a `when` may depend on params), what a
 * missing one means (abort / warn / ignore), and the init order — topological, ties
 * broken by cfg order, cycles reported with their path.
 */
import { TsipsError } from "../errors.ts";
import type { LoadedModule } from "./params.ts";

export interface DepOutcome {
  /** Module names in init order. */
  order: string[];
  /** For each module: dep key → provider module name (absent: not needed or missing). */
  bindings: Map<string, Map<string, string>>;
  errors: TsipsError[];
  warnings: { module: string; message: string }[];
}

export function resolveDependencies(modules: readonly LoadedModule[], params: Map<string, Record<string, unknown>>): DepOutcome {
  const byName = new Map(modules.map((m) => [m.name, m]));
  const edges = new Map<string, Set<string>>(); // module → providers it must follow
  const bindings = new Map<string, Map<string, string>>();
  const errors: TsipsError[] = [];
  const warnings: DepOutcome["warnings"] = [];

  for (const m of modules) {
    const after = new Set<string>();
    const bound = new Map<string, string>();
    for (const [key, dep] of Object.entries(m.def.deps ?? {})) {
      const needed = dep.when ? dep.when(params.get(m.name) ?? {}) : true;
      const provider = byName.get(dep.module);
      if (provider) {
        // Present providers always init first, even when not strictly needed, so that
        // behaviour does not change with a param value.
        after.add(provider.name);
        if (needed) bound.set(key, provider.name);
        continue;
      }
      if (!needed || dep.missing === "ignore") continue;
      const msg = `module "${m.name}" needs module "${dep.module}", which is not loaded (add loadmodule "${dep.module}.so")`;
      if (dep.missing === "warn") warnings.push({ module: m.name, message: msg });
      else errors.push(new TsipsError("TSIPS_ERR_DEP_MISSING", msg, { module: m.name, location: m.loc }));
    }
    edges.set(m.name, after);
    bindings.set(m.name, bound);
  }

  // Kahn's algorithm; among ready modules the one loaded first goes first.
  const order: string[] = [];
  const remaining = new Map([...edges].map(([k, v]) => [k, new Set(v)]));
  const cfgOrder = (n: string): number => byName.get(n)!.order;
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, deps]) => deps.size === 0).map(([n]) => n);
    if (ready.length === 0) {
      const cycle = findCycle(remaining);
      errors.push(new TsipsError("TSIPS_ERR_DEP_CYCLE", `module dependency cycle: ${cycle.join(" -> ")}`,
        { module: cycle[0], location: byName.get(cycle[0]!)?.loc }));
      break;
    }
    ready.sort((a, b) => cfgOrder(a) - cfgOrder(b));
    const next = ready[0]!;
    order.push(next);
    remaining.delete(next);
    for (const deps of remaining.values()) deps.delete(next);
  }
  return { order, bindings, errors, warnings };
}

/** A cycle among the given edges, as a path that starts and ends at the same module. */
function findCycle(edges: Map<string, Set<string>>): string[] {
  const state = new Map<string, 1 | 2>(); // 1 visiting, 2 done
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const d of [...(edges.get(n) ?? [])].sort()) {
      if (!edges.has(d)) continue;
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of [...edges.keys()].sort()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return [...edges.keys()];
}
