/**
 * `npm run new-module -- <name> [--dir PATH] [--force]` — scaffolds a replicated module from
 * scripts/templates/module/*.tpl:
 *
 *   modules/<name>/ (default) or <PATH>/<name>/ with --dir
 *     index.ts          defineModule on the replication helper (ReplicatedMap): expiry, sharing tags, MI, stats
 *     messages.ts       the replicated record, declared once (defineReplication)
 *     api.ts            the API type other modules `import type`
 *     README.md
 *     <name>.test.ts    in-process test (createTestHost) and a two-node test (LocalCluster)
 *     package.json      only outside the repo: "type": "module" (tsx compiles .ts as ESM)
 *
 * Wherever it goes, the module imports the core by name: "tsips", "tsips/testing",
 * "tsips/modules/clusterer/api.ts" — never a path of this checkout. Outside the repo it loads
 * with `loadmodule "/abs/PATH/<name>.so"` (the node resolves "tsips" from its own checkout,
 * core/loader/by-name.ts), type-checks with `npm run typecheck-module -- PATH/<name>` and
 * runs its tests with `npm run test-module -- PATH/<name>`; either folder may move.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TEMPLATES = join(REPO, "scripts/templates/module");

export interface ScaffoldOptions {
  /** snake_case module name, as in `loadmodule "<name>.so"`. */
  name: string;
  /** Parent folder (default: the repo's modules/). The module goes to `<dir>/<name>/`. */
  dir?: string;
  /** Write into an existing non-empty folder. */
  force?: boolean;
}

export interface ScaffoldResult {
  /** The module folder. */
  target: string;
  /** Files written (absolute). */
  files: string[];
  /** The loadmodule line to use. */
  loadmodule: string;
  /** How to run the module's tests (from the checkout). */
  testCommand: string;
  /** How to type-check it (from the checkout). */
  typecheckCommand: string;
  insideRepo: boolean;
}

/** A path as the user would type it: `~/…` under the home folder. */
const shown = (p: string): string => {
  const rel = relative(homedir(), p);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? `~/${rel.split(sep).join("/")}` : p;
};
const camel = (snake: string): string => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (snake: string): string => camel(snake).replace(/^[a-z]/, (c) => c.toUpperCase());
/** Names the loader would resolve elsewhere or that the repo already uses. */
function checkName(name: string): void {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`module name "${name}" must be snake_case: a-z first, then a-z, 0-9, _`);
  if (name.endsWith("_")) throw new Error(`module name "${name}" must not end with "_"`);
}

export function scaffoldModule(o: ScaffoldOptions): ScaffoldResult {
  checkName(o.name);
  const parent = resolve(o.dir ?? join(REPO, "modules"));
  const target = join(parent, o.name);
  const rel = relative(REPO, target);
  const insideRepo = !rel.startsWith("..") && !isAbsolute(rel);
  if (!o.dir && existsSync(target)) throw new Error(`modules/${o.name} already exists`);
  if (existsSync(target) && readdirSync(target).length > 0 && !o.force) {
    throw new Error(`${target} exists and is not empty (--force to write into it)`);
  }
  if (!insideRepo && existsSync(join(REPO, "modules", o.name))) {
    process.stderr.write(`note: the repo already has modules/${o.name}; loadmodule "${o.name}.so" would load that one — use the absolute path below\n`);
  }
  const soPath = join(parent, `${o.name}.so`);
  const loadmodule = insideRepo && parent === join(REPO, "modules") ? `${o.name}.so` : soPath;
  const testCommand = insideRepo
    ? `npx vitest run ${relative(REPO, join(target, `${o.name}.test.ts`)).split(sep).join("/")}`
    : `npm run test-module -- ${shown(target)}`;
  const typecheckCommand = insideRepo ? "npm run typecheck" : `npm run typecheck-module -- ${shown(target)}`;
  const vars: Record<string, string> = {
    __NAME__: o.name,
    __PASCAL__: pascal(o.name),
    __CAMEL__: camel(o.name),
    __CAP__: `${o.name.replace(/_/g, "-")}-repl`,
    __LOADMODULE__: loadmodule,
    __RUN_TESTS__: testCommand,
    __TYPECHECK__: typecheckCommand,
  };
  const render = (text: string): string => text.replace(/__(NAME|PASCAL|CAMEL|CAP|LOADMODULE|RUN_TESTS|TYPECHECK)__/g, (m) => vars[m]!);
  mkdirSync(target, { recursive: true });
  const files: string[] = [];
  for (const tpl of readdirSync(TEMPLATES).filter((f) => f.endsWith(".tpl")).sort()) {
    // Outside the repo only: inside, the repo's package.json says "type": "module".
    if (tpl === "package.json.tpl" && insideRepo) continue;
    const out = join(target, render(tpl.slice(0, -".tpl".length)));
    writeFileSync(out, render(readFileSync(join(TEMPLATES, tpl), "utf8")));
    files.push(out);
  }
  return { target, files, loadmodule, testCommand, typecheckCommand, insideRepo };
}

const USAGE = "usage: npm run new-module -- <name> [--dir PATH] [--force]\n";

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { dir: { type: "string" }, force: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    process.stderr.write(`new-module: ${(err as Error).message}\n${USAGE}`);
    process.exit(1);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length !== 1) {
    process.stderr.write(USAGE);
    process.exit(1);
  }
  let r: ScaffoldResult;
  try {
    // npm runs scripts from the checkout; a relative --dir means where the user typed it.
    const dir = values.dir ? resolve(process.env["INIT_CWD"] ?? process.cwd(), values.dir) : undefined;
    r = scaffoldModule({ name: positionals[0]!, ...(dir ? { dir } : {}), ...(values.force ? { force: true } : {}) });
  } catch (err) {
    process.stderr.write(`new-module: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const name = positionals[0]!;
  process.stdout.write([
    `created ${r.target}/`,
    ...r.files.map((f) => `  ${relative(r.target, f)}`),
    "",
    "load it in a config:",
    `  loadmodule "${r.loadmodule}"`,
    `  modparam("${name}", "cluster_id", 1)      # with the clusterer loaded; 0 = local only`,
    "",
    "type-check it and run its tests (from the tsips checkout):",
    `  ${r.typecheckCommand}`,
    `  ${r.testCommand}`,
    "",
    "guide: docs/writing-modules.md",
    "",
  ].join("\n"));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
