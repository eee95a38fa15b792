/**
 * `npm run test-module -- DIR [vitest filters...]` — runs the tests (`**\/*.test.ts`) of a
 * module that lives outside this checkout, with this checkout's vitest. "tsips" and
 * "tsips/*" resolve from the checkout (core/testing/vitest-plugin.ts), as they do in a
 * running node, so the module's files name no path of the checkout. A relative DIR is taken
 * from where npm was run. Exits with vitest's status.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { startVitest } from "vitest/node";
import { tsipsByName } from "../core/testing/vitest-plugin.ts";

const [dirArg, ...filters] = process.argv.slice(2);
if (!dirArg || dirArg.startsWith("-")) {
  process.stderr.write("usage: npm run test-module -- DIR [filters...]   (the folder of a module, e.g. ~/mods/my_cache)\n");
  process.exit(1);
}
const root = resolve(process.env["INIT_CWD"] ?? process.cwd(), dirArg);
try {
  if (!statSync(root).isDirectory()) throw new Error("not a folder");
} catch (err) {
  process.stderr.write(`test-module: ${dirArg}: ${(err as Error).message}\n`);
  process.exit(1);
}
const vitest = await startVitest("test", filters, {
  root, config: false, watch: false, include: ["**/*.test.ts"], testTimeout: 30_000, hookTimeout: 60_000,
}, { plugins: [tsipsByName()] });
await vitest.close();
process.exit(process.exitCode ?? 0);
