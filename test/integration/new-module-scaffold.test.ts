/**
 * `npm run new-module`: a module scaffolded outside the checkout imports the core by name
 * only, so it type-checks (`npm run typecheck-module`), loads by an absolute `loadmodule`
 * and replicates between two real nodes (its generated tests, `npm run test-module`) — and
 * still does after the checkout folder is renamed. One scaffolded inside the repo passes its
 * own generated tests as generated.
 *
 * The checkout is a copy of this one (its files as `git ls-files` lists them, node_modules
 * linked), so renaming it is harmless.
 */
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killAllNodes } from "../../core/testing/index.ts";
import { scaffoldModule } from "../../scripts/new-module.ts";

const REPO = resolve(import.meta.dirname, "../..");
const TSX = import.meta.resolve("tsx");
const work = mkdtempSync(join(tmpdir(), "tsips-new-module-"));
const outside = join(work, "mods");
// Inside the repo but outside every tsconfig/vitest include (.tsips-run is gitignored).
const inside = join(REPO, ".tsips-run", `new-module-test-${process.pid}`);

afterAll(async () => {
  await killAllNodes();
  rmSync(work, { recursive: true, force: true });
  rmSync(inside, { recursive: true, force: true });
});

/** A copy of this checkout at `to`: the files git knows (tracked or not ignored), node_modules linked. */
function copyCheckout(to: string): void {
  const ls = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO, encoding: "utf8" });
  expect(ls.status).toBe(0);
  for (const f of ls.stdout.split("\0").filter(Boolean)) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    try {
      cpSync(join(REPO, f), join(to, f));
    } catch { /* listed but deleted in the working tree */ }
  }
  symlinkSync(join(REPO, "node_modules"), join(to, "node_modules"));
}

/** `node --import tsx <script> ...args` in the checkout; resolves with its status and output. */
function run(checkout: string, args: string[], timeout = 120_000): Promise<{ status: number | null; out: string }> {
  return new Promise((res) => {
    const child = execFile(process.execPath, ["--import", TSX, ...args], {
      cwd: checkout, encoding: "utf8", timeout, env: { ...process.env, FORCE_COLOR: "0", CI: "1", INIT_CWD: checkout },
    }, (_err, stdout, stderr) => res({ status: child.exitCode, out: `${stdout}${stderr}`.replace(/\u001b\[[0-9;]*m/g, "") }));
  });
}

describe("npm run new-module", () => {
  it("outside the checkout: imports by name, type-checks, loads by absolute path and replicates, also after the checkout is renamed", async () => {
    const before = join(work, "tsips");
    copyCheckout(before);
    const r = await run(before, ["scripts/new-module.ts", "geo_fence", "--dir", outside]);
    expect(r.status).toBe(0);
    const dir = join(outside, "geo_fence");
    expect(r.out).toContain(`loadmodule "${join(outside, "geo_fence.so")}"`);
    expect(r.out).toContain(`npm run typecheck-module -- ${dir}`);
    expect(readdirSync(dir).sort()).toEqual(["README.md", "api.ts", "geo_fence.test.ts", "index.ts", "messages.ts", "package.json"]);
    const index = readFileSync(join(dir, "index.ts"), "utf8");
    expect(index).toContain(`from "tsips"`);
    // built on the replication helper: the core is the only import, no other module's file
    expect(index).not.toContain("modules/clusterer");
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(text, f).not.toContain(before);
      expect(text, f).not.toContain(REPO);
    }

    writeFileSync(join(work, "load.cfg"), `loadmodule "${join(outside, "geo_fence.so")}"\n`);
    const check = await run(before, ["core/main.ts", "-c", "-f", join(work, "load.cfg")]);
    expect(check.out).toMatch(/config file ok, exiting\.\.\. \(1 modules, init order: geo_fence\)/);

    // Move the checkout: nothing in the module names it, so nothing needs regenerating.
    const after = join(work, "tsips-renamed");
    renameSync(before, after);
    // Type-check, and the generated tests: in one process, then two real nodes of the renamed
    // checkout that load it by `loadmodule "<mods>/geo_fence.so"`, replicate, honour sharing
    // tags and sync (both at once: the type-check is CPU, the tests mostly wait).
    const [tc, t] = await Promise.all([run(after, ["scripts/typecheck-module.ts", dir]), run(after, ["scripts/test-module.ts", dir], 150_000)]);
    expect(tc.out).toBe(`${dir}: 4 files, no type errors\n`);
    expect(tc.status).toBe(0);
    expect(t.out).toMatch(/Tests\s+4 passed \(4\)/);
    expect(t.status).toBe(0);
  }, 240_000);

  it("inside the repo: relative imports, and the generated tests pass as generated", () => {
    mkdirSync(inside, { recursive: true });
    const r = scaffoldModule({ name: "rate_card", dir: inside });
    expect(r.insideRepo).toBe(true);
    const dir = join(inside, "rate_card");
    expect(readdirSync(dir).sort()).toEqual(["README.md", "api.ts", "index.ts", "messages.ts", "rate_card.test.ts"]);
    expect(readFileSync(join(dir, "index.ts"), "utf8")).toContain(`from "tsips"`);
    expect(() => scaffoldModule({ name: "rate_card", dir: inside })).toThrow(/not empty/);
    expect(() => scaffoldModule({ name: "Bad-Name" })).toThrow(/snake_case/);
    // The generated test file itself (in-process + two nodes), run by vitest as a user would.
    // The repo's vitest config (found upward from the folder) includes only test/ and
    // modules/, so point vitest at a plain one.
    const cfg = join(inside, "vitest.config.mjs");
    writeFileSync(cfg, "export default { test: { include: ['**/*.test.ts'] } };\n");
    const t = spawnSync(process.execPath, [join(REPO, "node_modules/vitest/vitest.mjs"), "run", "--root", dir, "--config", cfg], {
      cwd: REPO, encoding: "utf8", timeout: 90_000, env: { ...process.env, FORCE_COLOR: "0", CI: "1" },
    });
    expect((t.stdout + t.stderr).replace(/\u001b\[[0-9;]*m/g, "")).toMatch(/Tests\s+4 passed \(4\)/);
    expect(t.status).toBe(0);
  }, 100_000);
});
