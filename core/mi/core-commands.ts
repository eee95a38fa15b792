/**
 * Core MI commands (module `core`, OpenSIPS mi/mi_core.c) and statistics commands (module
 * `statistics`, statistics.c), with the reply shapes of spec/mi.md §7–§8. They run against
 * an `MiCoreHost` that core/boot implements.
 */
import { getHeapStatistics } from "node:v8";
import type { TsipsLogger } from "../log.ts";
import { opensipsLevelToPino } from "../log.ts";
import type { Stat, StatsRegistry } from "../stats.ts";
import type { MiRegistry } from "./registry.ts";
import { MiError, type JsonValue, type MiCommandDecl } from "./types.ts";

/** One entry of `ps` (OpenSIPS process table; tsips has one process, possibly several roles). */
export interface MiProcess {
  /** OpenSIPS process number (0 = attendant). */
  id: number;
  pid: number;
  /** Description, e.g. `attendant`, `HTTPD 127.0.0.1:8888`. */
  type: string;
}

/** What the core commands need from the running node (core/boot implements it). */
export interface MiCoreHost {
  /** tsips version, e.g. `0.1.0`. */
  readonly version: string;
  /** Process start, ms since the epoch. */
  readonly startedAt: number;
  /** The OpenSIPS release tsips answers like (default `3.6.8`). */
  readonly opensipsVersion?: string;
  /** For `version` with `revision`: `{ type: "git", id: "<hash>" }`; default `unknown`/`unknown`. */
  readonly revision?: { readonly type: string; readonly id: string };
  /** Current global log level, OpenSIPS scale -3..4. */
  getLogLevel(): number;
  /** Sets the global log level at runtime (the host moves the pino root level). */
  setLogLevel(level: number): void;
  /** Starts an orderly shutdown (lifecycle.shutdown, destroy in reverse order, exit). */
  shutdown(reason: string): void;
  readonly stats: StatsRegistry;
  /** Fires `hooks.stats.collect` (only the core calls hooks) before statistics are read. */
  collectStats(targets: readonly string[]): void;
  /** Processes for `ps` / `log_level`; default one entry `{id: 0, pid: process.pid, type: "attendant"}`. */
  ps?(): MiProcess[];
  /** For `arg`; default `process.argv`. */
  readonly argv?: readonly string[];
  /** Where `mem_*_dump` write their report. */
  readonly log?: TsipsLogger;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** C `ctime()` without the newline, local time: `Www Mmm dd hh:mm:ss yyyy`, day space-padded. */
export function ctime(ms: number): string {
  const d = new Date(ms);
  const day = d.getDate();
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day < 10 ? ` ${day}` : day} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** `uname -m` style machine name for node's process.arch. */
function machine(arch: string): string {
  return ({ x64: "x86_64", arm64: "aarch64", ia32: "i386", arm: "arm", ppc64: "ppc64le" } as Record<string, string>)[arch] ?? arch;
}

/**
 * The `Server` text of `version`. OpenSIPS prints `OpenSIPS (3.6.8 (x86_64/linux))`; tsips
 * keeps that shape with its own name and version and names the release it answers like:
 * `tsips (0.1.0 (x86_64/linux)) OpenSIPS 3.6.8 compatible`.
 */
export function serverString(version: string, opensipsVersion = "3.6.8"): string {
  return `tsips (${version} (${machine(process.arch)}/${process.platform.toLowerCase()})) OpenSIPS ${opensipsVersion} compatible`;
}

const notFound = (msg: string): MiError => new MiError(404, msg);

/**
 * Statistics in OpenSIPS order: group by group (registration order), each group's
 * statistics in registration order.
 */
function allStats(stats: StatsRegistry): Stat[] {
  const out: Stat[] = [];
  for (const g of stats.groupNames()) out.push(...stats.group(g));
  return out;
}

/** `<group>:` with the group name matched case-insensitively. */
function groupStats(stats: StatsRegistry, group: string): Stat[] | undefined {
  const lower = group.toLowerCase();
  const name = stats.groupNames().find((g) => g.toLowerCase() === lower);
  return name === undefined ? undefined : stats.group(name);
}

/** A bare statistic name, case-insensitive, first group that has it (`group:name` is not resolved). */
function statByName(stats: StatsRegistry, name: string): Stat | undefined {
  const exact = name.includes(":") ? undefined : stats.find(name);
  if (exact) return exact;
  const lower = name.toLowerCase();
  for (const g of stats.groupNames()) for (const s of stats.group(g)) if (s.name.toLowerCase() === lower) return s;
  return undefined;
}

const isIncremental = (s: Stat): boolean => s.kind === "counter" && !s.compute;

/** Memory gauges under the OpenSIPS `shmem` group, from node's heap and RSS. */
export function registerMemoryStats(stats: StatsRegistry): void {
  if (stats.group("shmem").length > 0) return;
  const gauge = (name: string, doc: string, compute: () => number): void => {
    stats.register("shmem", name, { kind: "gauge", doc }).compute = compute;
  };
  gauge("total_size", "V8 heap size limit (bytes)", () => heapLimit());
  gauge("used_size", "V8 heap in use (bytes)", () => process.memoryUsage().heapUsed);
  gauge("real_used_size", "resident set size of the process (bytes)", () => process.memoryUsage.rss());
  gauge("max_used_size", "peak resident set size (bytes)", () => process.resourceUsage().maxRSS * 1024);
  gauge("free_size", "V8 heap size limit minus heap in use (bytes)", () => heapLimit() - process.memoryUsage().heapUsed);
}

let cachedHeapLimit = 0;
function heapLimit(): number {
  if (cachedHeapLimit === 0) cachedHeapLimit = getHeapStatistics().heap_size_limit;
  return cachedHeapLimit;
}

/** A memory report (shm_check / mem_*_dump). */
function memoryReport(): { [k: string]: JsonValue } {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heap_total: m.heapTotal,
    heap_used: m.heapUsed,
    heap_size_limit: heapLimit(),
    external: m.external,
    array_buffers: m.arrayBuffers,
    max_rss: process.resourceUsage().maxRSS * 1024,
  };
}

/** Registers the `core` and `statistics` commands (and the `shmem` memory gauges). */
export function registerCoreCommands(registry: MiRegistry, host: MiCoreHost): void {
  const ps = (): MiProcess[] => host.ps?.() ?? [{ id: 0, pid: process.pid, type: "attendant" }];
  const dumpToLog = (level: number | undefined, what: string): void => {
    const log = host.log;
    if (!log) return;
    const pinoLevel = opensipsLevelToPino(level ?? 2) as "fatal" | "error" | "warn" | "notice" | "info" | "debug";
    log[pinoLevel]({ memory: memoryReport() }, `${what} memory dump`);
  };

  const core: Record<string, MiCommandDecl<undefined>> = {
    uptime: {
      help: "prints various time information about the node: when it started and for how long it runs",
      run: () => {
        const now = Date.now();
        return {
          Now: ctime(now),
          "Up since": ctime(host.startedAt),
          "Up time": `${Math.floor(now / 1000) - Math.floor(host.startedAt / 1000)} [sec]`,
        };
      },
    },
    version: {
      help: "prints the version string of the running node",
      params: [[], ["revision"]],
      run: (p) => {
        const out: { [k: string]: JsonValue } = { Server: serverString(host.version, host.opensipsVersion) };
        if (p.has("revision")) out[host.revision?.type ?? "unknown"] = host.revision?.id ?? "unknown";
        return out;
      },
    },
    pwd: {
      help: "prints the working directory of the node",
      run: () => ({ WD: process.cwd() }),
    },
    arg: {
      help: "returns the full list of arguments used at startup",
      run: () => [...(host.argv ?? process.argv)],
    },
    which: {
      help: "lists all available MI commands, or the parameter sets of one",
      params: [[], ["command"]],
      run: (p) => {
        const name = p.optStr("command");
        if (name === undefined) return registry.commands().map((c) => c.name);
        const cmd = registry.get(name);
        if (!cmd) throw notFound("unknown MI command");
        return cmd.recipes.map((r) => [...r]);
      },
    },
    ps: {
      help: "lists all processes of the node",
      run: () => ({ Processes: ps().map((x) => ({ ID: x.id, PID: x.pid, Type: x.type })) }),
    },
    kill: {
      help: "terminates the node (orderly shutdown)",
      run: () => {
        // Like OpenSIPS the shutdown starts right away; the reply is produced first so a
        // transport may still deliver it.
        setImmediate(() => host.shutdown("MI command kill"));
        return "OK";
      },
    },
    log_level: {
      help: "gets or sets the global (or one process's) log level",
      params: [[], ["level"], ["level", "pid"]],
      run: (p): JsonValue => {
        const level = p.optInt("level");
        if (level === undefined) {
          return { Processes: ps().map((x) => ({ PID: x.pid, "Log level": host.getLogLevel(), Type: x.type })) };
        }
        const pid = p.optInt("pid");
        if (pid === undefined) {
          host.setLogLevel(level);
          return { "New global log level": level };
        }
        if (!ps().some((x) => x.pid === pid)) throw new MiError(-32602, "Invalid params", "Bad PID");
        // One process: its level is the global level.
        host.setLogLevel(level);
        return { "Log level": level };
      },
    },
    shm_check: {
      help: "reports the memory use of the node (tsips: node heap and RSS in bytes)",
      run: () => memoryReport(),
    },
    help: {
      help: "prints information about MI commands usage",
      params: [[], ["mi_cmd"]],
      run: (p) => {
        const name = p.optStr("mi_cmd");
        if (name === undefined) return "Usage: help mi_cmd - returns information about 'mi_cmd'";
        const cmd = registry.get(name);
        if (!cmd) throw notFound("unknown MI command");
        return { Help: cmd.help ?? "not available for this command", "Exported by": cmd.module };
      },
    },
    mem_pkg_dump: {
      help: "writes the memory report of a process to the log",
      params: [["pid"], ["pid", "log_level"]],
      run: (p) => {
        const pid = p.int("pid");
        if (!ps().some((x) => x.pid === pid)) throw notFound("Process not found");
        dumpToLog(p.optInt("log_level"), "pkg");
        return "OK";
      },
    },
    mem_shm_dump: {
      help: "writes the memory report of the node to the log",
      params: [[], ["log_level"]],
      run: (p) => {
        dumpToLog(p.optInt("log_level"), "shm");
        return "OK";
      },
    },
  };

  const statistics: Record<string, MiCommandDecl<undefined>> = {
    get_statistics: {
      help: "prints the statistics (all, group or one) realtime values",
      params: [["statistics"]],
      run: (p) => {
        const items = p.strArray("statistics");
        host.collectStats(items);
        const out: { [k: string]: JsonValue } = {};
        let found = false;
        const add = (s: Stat): void => {
          out[s.fullName] = s.get();
        };
        for (const item of items) {
          if (item === "all") {
            for (const s of allStats(host.stats)) add(s);
            found = true;
          } else if (item.length > 1 && item.endsWith(":")) {
            const g = groupStats(host.stats, item.slice(0, -1));
            if (!g) continue;
            for (const s of g) add(s);
            found = true;
          } else {
            const s = statByName(host.stats, item);
            if (!s) continue;
            add(s);
            found = true;
          }
        }
        if (!found) throw notFound("Statistics Not Found");
        return out;
      },
    },
    list_statistics: {
      help: "lists the registered statistics and their types",
      params: [[], ["statistics"]],
      run: (p) => {
        const out: { [k: string]: JsonValue } = {};
        const type = (s: Stat): string => (isIncremental(s) ? "incremental" : "non-incremental");
        if (!p.has("statistics")) {
          for (const s of allStats(host.stats)) out[s.fullName] = type(s);
          return out;
        }
        let found = false;
        for (const item of p.strArray("statistics")) {
          if (item.length > 1 && item.endsWith(":")) {
            const g = groupStats(host.stats, item.slice(0, -1));
            if (!g) continue;
            for (const s of g) out[s.fullName] = type(s);
            found = true;
          } else {
            const s = statByName(host.stats, item);
            if (!s) continue;
            out[s.name] = type(s);
            found = true;
          }
        }
        if (!found) throw notFound("Statistics Not Found");
        return out;
      },
    },
    reset_statistics: {
      help: "resets the value of statistics (bare names)",
      params: [["statistics"]],
      run: (p) => {
        let found = false;
        for (const item of p.strArray("statistics")) {
          const s = statByName(host.stats, item);
          if (!s) continue;
          s.reset();
          found = true;
        }
        if (!found) throw notFound("Statistics Not Found");
        return "OK";
      },
    },
    reset_all_statistics: {
      help: "resets the value of all resettable statistics",
      run: () => {
        for (const s of host.stats.all()) s.reset();
        return "OK";
      },
    },
  };

  registerMemoryStats(host.stats);
  registry.registerAll("core", core, undefined);
  registry.registerAll("statistics", statistics, undefined);
}
