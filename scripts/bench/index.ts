/**
 * `npm run bench -- <name> [--json]`: runs scripts/bench/<name>.ts, which exports
 * `run({ json })` and prints its figures (with --json, one JSON object per line:
 * {"name":…,"value":…,"unit":…}). `npm run bench -- list` shows what exists.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !["index.ts", "report.ts"].includes(f) && !f.includes("-"))
  .map((f) => f.slice(0, -3))
  .sort();

const args = process.argv.slice(2);
const json = args.includes("--json");
const names = args.filter((a) => !a.startsWith("--"));

if (names.length === 0 || names[0] === "list") {
  process.stdout.write(`usage: npm run bench -- <${available.join("|")}> [--json]\n`);
  process.exit(names.length === 0 ? 1 : 0);
}
for (const name of names) {
  if (!available.includes(name)) {
    process.stderr.write(`unknown benchmark "${name}"; available: ${available.join(", ")}\n`);
    process.exit(1);
  }
}
for (const name of names) {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { run(o: { json: boolean; args: string[] }): Promise<void> };
  await mod.run({ json, args });
}
process.exit(0);
