/**
 * Statistics registry: counters and gauges grouped per module, named as OpenSIPS names
 * them (`group:name`, e.g. `usrloc:location-contacts`). Read by the MI statistics
 * commands and the prometheus module.
 */

export type StatKind = "counter" | "gauge";

export interface StatDecl {
  /** One line for `list_statistics`, Prometheus HELP and the module README. */
  doc?: string;
  /** counter: only goes up, reset by `reset_statistics`; gauge: a level (never reset). */
  kind?: StatKind;
}

/** One statistic. Counters are plain numbers so the hot path costs one add. */
export class Stat {
  value = 0;
  /** A gauge computed on read (e.g. number of entries in a table). */
  compute: (() => number) | undefined;
  constructor(
    readonly group: string,
    readonly name: string,
    readonly kind: StatKind,
    readonly doc: string,
  ) {}
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
  set(v: number): void {
    this.value = v;
  }
  get(): number {
    return this.compute ? this.compute() : this.value;
  }
  reset(): void {
    if (this.kind === "counter" && !this.compute) this.value = 0;
  }
  get fullName(): string {
    return `${this.group}:${this.name}`;
  }
}

export class StatsRegistry {
  private readonly byName = new Map<string, Stat>();
  private readonly groups = new Map<string, Map<string, Stat>>();

  /** Registers (or returns the existing) statistic `group:name`. */
  register(group: string, name: string, decl: StatDecl = {}): Stat {
    const key = `${group}:${name}`;
    const existing = this.byName.get(key);
    if (existing) return existing;
    const s = new Stat(group, name, decl.kind ?? "counter", decl.doc ?? "");
    this.byName.set(key, s);
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    g.set(name, s);
    return s;
  }

  /** A statistic by bare name (first group that has it) or `group:name`. */
  find(name: string): Stat | undefined {
    if (name.includes(":")) return this.byName.get(name);
    for (const g of this.groups.values()) {
      const s = g.get(name);
      if (s) return s;
    }
    return undefined;
  }

  group(group: string): Stat[] {
    return [...(this.groups.get(group)?.values() ?? [])];
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  all(): Stat[] {
    return [...this.byName.values()];
  }

  /** Removes a module's statistics (module destroyed). */
  dropGroup(group: string): void {
    const g = this.groups.get(group);
    if (!g) return;
    for (const s of g.values()) this.byName.delete(s.fullName);
    this.groups.delete(group);
  }
}

/** The per-module view handed to a module: statistics of its own group, typed by name. */
export interface ModuleStats<K extends string> {
  /** The statistic object (keep it: `inc()` on it is the cheapest path). */
  get(name: K): Stat;
  inc(name: K, n?: number): void;
  set(name: K, v: number): void;
  /** Makes a gauge computed on every read. */
  gauge(name: K, compute: () => number): void;
}

export function moduleStats<K extends string>(reg: StatsRegistry, group: string, decls: Record<K, StatDecl>): ModuleStats<K> {
  const table = new Map<string, Stat>();
  for (const [name, decl] of Object.entries(decls) as [K, StatDecl][]) table.set(name, reg.register(group, name, decl));
  const get = (name: K): Stat => {
    const s = table.get(name);
    if (!s) throw new Error(`statistic ${group}:${name} is not declared in the module's stats`);
    return s;
  };
  return {
    get,
    inc: (name, n = 1) => get(name).inc(n),
    set: (name, v) => get(name).set(v),
    gauge: (name, compute) => {
      get(name).compute = compute;
    },
  };
}
