/**
 * `loadmodule` resolution (spec/cfg.md §5, adapted to TypeScript modules):
 * `loadmodule "x.so"` → `<D>/x/index.ts` for each mpath D in order, then the repo's
 * `modules/` (so real configs with an OpenSIPS mpath still find tsips modules);
 * an absolute path `/dir/x.so` → `/dir/x/index.ts` (or the file itself if it is .ts/.js,
 * or a folder holding index.ts), so users keep their own modules outside the repo.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repo's own modules folder, the last mpath entry. */
export const DEFAULT_MODULE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../modules");

/** Names OpenSIPS treats specially on loadmodule (cfg.md §3.3). */
export const BUILTIN_MODULES = new Set(["proto_udp", "proto_tcp"]);
export const DROPPED_MODULES: Record<string, string> = { rabbitmq: "event_rabbitmq" };
export const INTEGRATED_MODULES: Record<string, string> = {
  event_route: "'event_route' module has been integrated in core file. You no longer need to load the module.",
};

export interface Resolution {
  /** Module name: the file's base name without `.so`. */
  name: string;
  /** The file to import, or undefined when not found. */
  file: string | undefined;
  /** Every path tried, in order. */
  tried: string[];
}

/** `foo.so` / `/a/b/foo.so` / `/a/b/foo/index.ts` → `foo`. */
export function moduleNameOf(path: string): string {
  const base = basename(path);
  if (base === "index.ts" || base === "index.js") return basename(dirname(path));
  return base.replace(/\.(so|ts|js|mjs)$/, "");
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function candidatesIn(dir: string, written: string, name: string): string[] {
  const out = [join(dir, name, "index.ts"), join(dir, name, "index.js")];
  if (/\.(ts|js|mjs)$/.test(written)) out.unshift(join(dir, written));
  return out;
}

/**
 * Finds the file for `loadmodule "<written>"`. `mpaths` are the cfg's mpath entries in
 * order (relative ones tried against the working directory, then the config's folder).
 */
export function resolveModule(written: string, mpaths: readonly string[], cfgDir: string): Resolution {
  const name = moduleNameOf(written);
  const tried: string[] = [];
  const attempt = (p: string): string | undefined => {
    tried.push(p);
    return isFile(p) ? p : undefined;
  };
  if (isAbsolute(written)) {
    const dir = dirname(written);
    const list = /\.(ts|js|mjs)$/.test(written) && !/index\.(ts|js)$/.test(written)
      ? [written]
      : /index\.(ts|js)$/.test(written)
        ? [written]
        : [join(dir, name, "index.ts"), join(dir, name, "index.js"), join(written, "index.ts")];
    for (const p of list) {
      const f = attempt(p);
      if (f) return { name, file: f, tried };
    }
    return { name, file: undefined, tried };
  }
  const dirs: string[] = [];
  for (const m of mpaths) {
    if (isAbsolute(m)) dirs.push(m);
    else dirs.push(resolve(process.cwd(), m), resolve(cfgDir, m));
  }
  dirs.push(DEFAULT_MODULE_DIR);
  for (const d of [...new Set(dirs)]) {
    for (const p of candidatesIn(d, written, name)) {
      const f = attempt(p);
      if (f) return { name, file: f, tried };
    }
  }
  return { name, file: undefined, tried };
}

/** Module names available in the search folders (for "did you mean"). */
export function knownModuleNames(mpaths: readonly string[], cfgDir: string): string[] {
  const names = new Set<string>();
  for (const d of [...mpaths.map((m) => (isAbsolute(m) ? m : resolve(cfgDir, m))), DEFAULT_MODULE_DIR]) {
    if (!existsSync(d)) continue;
    try {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory() && existsSync(join(d, e.name, "index.ts"))) names.add(e.name);
      }
    } catch {
      // unreadable folder: nothing to suggest from it
    }
  }
  return [...names].sort();
}

/** Levenshtein distance, for suggesting the closest known name. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest name within a sensible distance, if any. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
