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
 *     tsconfig.json     only outside the repo: type-checks against this checkout
 *     package.json      only outside the repo: "type": "module"
 *
 * Inside the repo the generated imports are relative (`../../core/index.ts`); outside, they
 * are absolute paths into this checkout, so the module loads with
 * `loadmodule "/abs/PATH/<name>.so"` and compiles where it is.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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
  /** How to run the module's tests. */
  testCommand: string;
  insideRepo: boolean;
}

const camel = (snake: string): string => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (snake: string): string => camel(snake).replace(/^[a-z]/, (c) => c.toUpperCase());
/** A path usable in an import specifier (forward slashes, `./` when relative and bare). */
const spec = (p: string): string => {
  const s = p.split(sep).join("/");
  return isAbsolute(p) || s.startsWith(".") ? s : `./${s}`;
};

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
  const core = insideRepo ? spec(relative(target, join(REPO, "core"))) : join(REPO, "core");
  const modules = insideRepo ? spec(relative(target, join(REPO, "modules"))) : join(REPO, "modules");
  const soPath = join(parent, `${o.name}.so`);
  const loadmodule = insideRepo && parent === join(REPO, "modules") ? `${o.name}.so` : soPath;
  const testCommand = insideRepo
    ? `npx vitest run ${relative(REPO, join(target, `${o.name}.test.ts`)).split(sep).join("/")}`
    : `cd ${REPO} && npx vitest run --root ${target}`;
  const vars: Record<string, string> = {
    __NAME__: o.name,
    __PASCAL__: pascal(o.name),
    __CAMEL__: camel(o.name),
    __CAP__: `${o.name.replace(/_/g, "-")}-repl`,
    __CORE__: core.split(sep).join("/"),
    __MODULES__: modules.split(sep).join("/"),
    __REPO__: REPO.split(sep).join("/"),
    __LOADMODULE__: loadmodule,
    __RUN_TESTS__: testCommand,
  };
  const render = (text: string): string => text.replace(/__(NAME|PASCAL|CAMEL|CAP|CORE|MODULES|REPO|LOADMODULE|RUN_TESTS)__/g, (m) => vars[m]!);
  mkdirSync(target, { recursive: true });
  const files: string[] = [];
  for (const tpl of readdirSync(TEMPLATES).filter((f) => f.endsWith(".tpl")).sort()) {
    // Outside the repo only: the repo's package.json ("type": "module") and tsconfig cover modules/.
    if ((tpl === "tsconfig.json.tpl" || tpl === "package.json.tpl") && insideRepo) continue;
    const out = join(target, render(tpl.slice(0, -".tpl".length)));
    writeFileSync(out, render(readFileSync(join(TEMPLATES, tpl), "utf8")));
    files.push(out);
  }
  return { target, files, loadmodule, testCommand, insideRepo };
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
    r = scaffoldModule({ name: positionals[0]!, ...(values.dir ? { dir: values.dir } : {}), ...(values.force ? { force: true } : {}) });
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
    "run its tests:",
    `  ${r.testCommand}`,
    "",
    "guide: docs/writing-modules.md",
    "",
  ].join("\n"));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
