/**
 * `npm run typecheck-module -- DIR...` — type-checks a module that lives outside this
 * checkout (every .ts file under DIR, node_modules excepted) with the repo's compiler options.
 *
 * The module's files name no path of the checkout: "tsips" and "tsips/*" resolve from this
 * checkout (its package.json `exports`, as the node does at run time, core/loader/by-name.ts),
 * and so do "vitest" (the test kit) and the Node types. Every other import resolves from the
 * module's own folder as usual. Move or rename either folder and it still checks.
 *
 * Prints `file:line:col - error TSnnnn: message` per problem and exits 1, or prints
 * `DIR: N files, no type errors` and exits 0. A relative DIR is taken from where npm was run.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Bare names a module outside the checkout resolves as if it lived in it. */
const FROM_CHECKOUT = /^(tsips|vitest)(\/|$)/;
/** Resolving from a file here makes "tsips" a package self-reference. */
const CHECKOUT_FILE = join(REPO, "package.json");

export interface TypecheckResult {
  files: string[];
  /** `file:line:col - error TSnnnn: message`, paths relative to the working directory. */
  diagnostics: string[];
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    if (e === "node_modules" || e.startsWith(".")) return [];
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : /\.m?ts$/.test(e) && !e.endsWith(".d.ts") ? [p] : [];
  });
}

export function typecheckModule(dirs: readonly string[], cwd = process.cwd()): TypecheckResult {
  const files = dirs.flatMap((d) => tsFiles(resolve(cwd, d)));
  const cfg = ts.readConfigFile(join(REPO, "tsconfig.json"), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(cfg.config, ts.sys, REPO);
  const opts: ts.CompilerOptions = { ...options, noEmit: true, typeRoots: [join(REPO, "node_modules/@types")] };
  const host = ts.createCompilerHost(opts);
  const cache = ts.createModuleResolutionCache(REPO, (f) => f, opts);
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, o, sourceFile) => literals.map((lit) => {
    const mode = ts.getModeForUsageLocation(sourceFile, lit, o);
    const from = FROM_CHECKOUT.test(lit.text) ? CHECKOUT_FILE : containingFile;
    return ts.resolveModuleName(lit.text, from, o, host, cache, redirected, mode);
  });
  const program = ts.createProgram({ rootNames: files, options: opts, host });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = `error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    if (!d.file || d.start === undefined) return msg;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${relative(cwd, d.file.fileName) || d.file.fileName}:${line + 1}:${character + 1} - ${msg}`;
  });
  return { files, diagnostics };
}

function main(): void {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0 || dirs.some((d) => d.startsWith("-"))) {
    process.stderr.write("usage: npm run typecheck-module -- DIR...   (the folder of a module, e.g. ~/mods/my_cache)\n");
    process.exit(1);
  }
  // npm runs scripts from the checkout; a relative DIR means where the user typed it.
  const cwd = process.env["INIT_CWD"] ?? process.cwd();
  for (const d of dirs) {
    try {
      if (!statSync(resolve(cwd, d)).isDirectory()) throw new Error("not a folder");
    } catch (err) {
      process.stderr.write(`typecheck-module: ${d}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  const r = typecheckModule(dirs, cwd);
  for (const line of r.diagnostics) process.stdout.write(`${line}\n`);
  if (r.diagnostics.length) {
    process.stdout.write(`${r.diagnostics.length} type error${r.diagnostics.length === 1 ? "" : "s"} in ${dirs.join(", ")}\n`);
    process.exit(1);
  }
  process.stdout.write(`${dirs.join(", ")}: ${r.files.length} files, no type errors\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
