/**
 * Prometheus text exposition (format 0.0.4) of tsips statistics, as OpenSIPS's prometheus
 * module writes it (modules/prometheus/prometheus.c): one `# TYPE` line per metric name,
 * `counter` for resettable counters and `gauge` for computed / non-resettable ones, the
 * value as an integer, and a final empty line. No `# HELP` lines (OpenSIPS writes none).
 *
 * Name: `<prefix><delimiter>[<group_prefix><group><delimiter>]<stat>` — the group part only
 * with group_mode 1; characters outside `[a-zA-Z0-9_:]` become `_`. group_mode 2 adds the
 * label `<group_label>="<group_prefix><group>"`. `labels` rules rename statistics of a
 * group and add labels (see parseLabelRule).
 */
import type { Stat, StatsRegistry } from "tsips";

export interface LabelRule {
  /** Statistics group the rule applies to. */
  group: string;
  /** Turns a statistic name into `name:labels`, or null when it does not match. */
  apply(statName: string): string | null;
}

export interface PromOptions {
  prefix: string;
  delimiter: string;
  groupPrefix: string;
  groupLabel: string;
  /** 0 no group, 1 group in the name, 2 group as a label. */
  groupMode: 0 | 1 | 2;
  /** What to export, parsed from the `statistics` param. */
  selection: StatSelection;
  labels: readonly LabelRule[];
}

export interface StatSelection {
  all: boolean;
  /** Group names (from `group:` items), in declaration order. */
  groups: string[];
  /** Statistic names (bare, or `group:name`), in declaration order. */
  names: string[];
}

/** Parses `statistics` values (each a space-separated list of `all`, `group:` and names). */
export function parseSelection(values: readonly string[]): StatSelection {
  const sel: StatSelection = { all: false, groups: [], names: [] };
  for (const v of values) {
    for (const item of v.split(/\s+/)) {
      if (item === "") continue;
      if (item === "all") sel.all = true;
      else if (item.endsWith(":") && item.length > 1) sel.groups.push(item.slice(0, -1));
      else sel.names.push(item);
    }
  }
  return sel;
}

/**
 * Parses a `labels` rule `group: /regex/substitution/flags` (OpenSIPS subst syntax: any
 * delimiter character, `\N` back-references, flags `i` and `g`). Throws on a bad rule.
 */
export function parseLabelRule(value: string): LabelRule {
  const s = value.trimStart();
  const colon = s.indexOf(":");
  if (colon <= 0) throw new Error(`labels rule "${value}" has no group (format "group: /regex/subst/flags")`);
  const group = s.slice(0, colon);
  const expr = s.slice(colon + 1).trim();
  if (expr.length < 3) throw new Error(`labels rule "${value}" has no substitution expression`);
  const delim = expr[0]!;
  const fields: string[] = [];
  let cur = "";
  for (let i = 1; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === "\\" && expr[i + 1] === delim) {
      cur += delim;
      i++;
    } else if (c === "\\" && i + 1 < expr.length) {
      cur += c + expr[i + 1];
      i++;
    } else if (c === delim) {
      fields.push(cur);
      cur = "";
    } else cur += c;
  }
  if (fields.length !== 2) throw new Error(`labels rule "${value}": expected /regex/substitution/flags`);
  const flags = cur;
  if (!/^[igs]*$/.test(flags)) throw new Error(`labels rule "${value}": unknown flags "${flags}"`);
  let re: RegExp;
  try {
    re = new RegExp(fields[0]!, `${flags.includes("i") ? "i" : ""}${flags.includes("g") ? "g" : ""}${flags.includes("s") ? "s" : ""}`);
  } catch (err) {
    throw new Error(`labels rule "${value}": bad regex: ${(err as Error).message}`);
  }
  const repl = fields[1]!;
  const substitute = (m: string, groups: (string | undefined)[]): string =>
    repl.replace(/\\(\\|[0-9])/g, (_x, g: string) => (g === "\\" ? "\\" : g === "0" ? m : (groups[Number(g) - 1] ?? "")));
  return {
    group,
    apply(name) {
      re.lastIndex = 0;
      if (!re.test(name)) return null;
      re.lastIndex = 0;
      return name.replace(re, (m: string, ...rest: unknown[]) => {
        // rest = groups..., offset, input[, named groups]
        const nGroups = rest.findIndex((x) => typeof x === "number");
        return substitute(m, rest.slice(0, nGroups) as (string | undefined)[]);
      });
    },
  };
}

const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_:]/g, "_");

/** A sample value: integers exactly, others as Prometheus floats. */
function value(v: number): string {
  if (Number.isInteger(v)) return Math.abs(v) <= Number.MAX_SAFE_INTEGER ? String(v) : BigInt(v).toString();
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const isGauge = (s: Stat): boolean => s.kind === "gauge" || s.compute !== undefined;

/** The `/metrics` page. */
export function renderMetrics(stats: StatsRegistry, o: PromOptions): string {
  const out: string[] = [];
  const done = new Set<Stat>();
  const labelled = new Map<string, { stat: Stat; labels: string }[]>();

  const print = (stat: Stat, statName: string, labels: string | undefined, withType: boolean): void => {
    let prefix = o.prefix;
    if (prefix === "" && o.delimiter === "" && o.groupMode === 0 && /^[0-9]/.test(statName)) prefix = "_";
    let name = prefix + o.delimiter;
    if (o.groupMode === 1) name += o.groupPrefix + stat.group + o.delimiter;
    name += sanitize(statName);
    if (withType) out.push(`# TYPE ${name} ${isGauge(stat) ? "gauge" : "counter"}\n`);
    const ls: string[] = [];
    if (labels) ls.push(labels);
    if (o.groupMode === 2) ls.push(`${o.groupLabel}="${o.groupPrefix}${stat.group}"`);
    out.push(`${name}${ls.length ? `{${ls.join(",")}}` : ""} ${value(stat.get())}\n`);
  };

  const push = (stat: Stat): void => {
    if (done.has(stat)) return;
    done.add(stat);
    for (const rule of o.labels) {
      if (rule.group !== stat.group) continue;
      const r = rule.apply(stat.name);
      if (r === null) continue;
      const c = r.indexOf(":");
      if (c <= 0 || c === r.length - 1) continue;
      const name = r.slice(0, c);
      let list = labelled.get(name);
      if (!list) labelled.set(name, (list = []));
      list.push({ stat, labels: r.slice(c + 1) });
      return;
    }
    print(stat, stat.name, undefined, true);
  };

  const sel = o.selection;
  if (sel.all) {
    for (const g of stats.groupNames()) for (const s of stats.group(g)) push(s);
  } else {
    for (const g of sel.groups) for (const s of stats.group(g)) push(s);
    for (const n of sel.names) {
      const s = stats.find(n) ?? findCaseInsensitive(stats, n);
      if (s) push(s);
    }
  }
  for (const [name, list] of labelled) list.forEach((x, i) => print(x.stat, name, x.labels, i === 0));
  out.push("\n");
  return out.join("");
}

function findCaseInsensitive(stats: StatsRegistry, name: string): Stat | undefined {
  const lower = name.toLowerCase();
  return stats.all().find((s) => s.name.toLowerCase() === lower || s.fullName.toLowerCase() === lower);
}
