/**
 * Finds every module's declared BIN messages the way a node finds modules: the folders a
 * config names with `mpath`, the extra folders given with `-m DIR`, then the repo's
 * `modules/`. Each `<dir>/<name>/index.ts` is imported (a module is plain data until its
 * init runs) and its `defineModule({ messages })` is added to one registry. The core never
 * imports a module by path to learn its messages, so a user's module decodes in `bin-dump`
 * exactly like a bundled one.
 */
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageRegistry, V110MessageRegistry } from "../bin/schema.ts";
import { parseCfgFile } from "../cfg/index.ts";
import type { TsipsModule } from "../module.ts";
import { DEFAULT_MODULE_DIR } from "./resolve.ts";

export interface MessageDiscoveryOptions {
  /** Extra module folders (`-m DIR`), searched before the repo's modules/. */
  modulePaths?: readonly string[];
  /** A config whose `mpath` lines are searched first (relative ones against its folder). */
  cfgFile?: string;
}

export interface DiscoveredMessages {
  registry: MessageRegistry;
  /** The OpenSIPS 1.10 datagrams the same modules declare (`v110Messages`). */
  v110Registry: V110MessageRegistry;
  /** Modules that declared messages: name, file and how many. */
  modules: { name: string; file: string; messages: number }[];
  /** Folders or modules that could not be read or imported (the rest still load). */
  problems: string[];
}

function isModule(x: unknown): x is TsipsModule {
  return typeof x === "object" && x !== null && (x as { __tsipsModule?: unknown }).__tsipsModule === true;
}

/** The folders searched, in order, without duplicates. */
export function messageSearchDirs(opts: MessageDiscoveryOptions = {}): { dirs: string[]; problems: string[] } {
  const dirs: string[] = [];
  const problems: string[] = [];
  if (opts.cfgFile) {
    const parsed = parseCfgFile(opts.cfgFile);
    for (const e of parsed.errors) problems.push(e.message);
    const cfgDir = resolve(opts.cfgFile, "..");
    for (const s of parsed.cfg.statements) {
      if (s.kind === "mpath") dirs.push(isAbsolute(s.path) ? s.path : resolve(cfgDir, s.path));
    }
  }
  for (const m of opts.modulePaths ?? []) dirs.push(resolve(m));
  dirs.push(DEFAULT_MODULE_DIR);
  return { dirs: [...new Set(dirs)], problems };
}

/**
 * Imports every module found in the search folders and collects their declared messages.
 * A module name found twice is taken from the first folder (as `loadmodule` would).
 */
export async function discoverMessages(opts: MessageDiscoveryOptions = {}): Promise<DiscoveredMessages> {
  const { dirs, problems } = messageSearchDirs(opts);
  const registry = new MessageRegistry();
  const v110Registry = new V110MessageRegistry();
  const modules: DiscoveredMessages["modules"] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      problems.push(`${dir}: no such folder`);
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (e) {
      problems.push(`${dir}: ${(e as Error).message}`);
      continue;
    }
    for (const name of names) {
      const file = join(dir, name, "index.ts");
      if (seen.has(name) || !existsSync(file)) continue;
      seen.add(name);
      try {
        const ns = (await import(pathToFileURL(file).href)) as { default?: unknown };
        if (!isModule(ns.default)) continue;
        const { messages = [], v110Messages = [] } = ns.default;
        if (messages.length + v110Messages.length === 0) continue;
        registry.add(...messages);
        v110Registry.add(...v110Messages);
        modules.push({ name, file, messages: messages.length + v110Messages.length });
      } catch (e) {
        problems.push(`${file}: ${(e as Error).message}`);
      }
    }
  }
  return { registry, v110Registry, modules, problems };
}
