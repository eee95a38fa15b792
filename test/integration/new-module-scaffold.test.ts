/**
 * `npm run new-module`: a module scaffolded outside the repo compiles where it is, loads
 * through an absolute `loadmodule` path and replicates between two real nodes (changes,
 * sharing-tag ownership, sync of a restarted node); one scaffolded inside the repo gets
 * relative imports and its own generated tests pass as generated.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { killAllNodes, LocalCluster, MiCallError, waitFor } from "../../core/testing/index.ts";
import { scaffoldModule } from "../../scripts/new-module.ts";

const REPO = resolve(import.meta.dirname, "../..");
const TSX = import.meta.resolve("tsx");
const outside = mkdtempSync(join(tmpdir(), "tsips-new-module-"));
// Inside the repo but outside every tsconfig/vitest include (.tsips-run is gitignored).
const inside = join(REPO, ".tsips-run", `new-module-test-${process.pid}`);

afterAll(async () => {
  await killAllNodes();
  rmSync(outside, { recursive: true, force: true });
  rmSync(inside, { recursive: true, force: true });
});

/** Type-checks a scaffolded folder with its tsconfig.json (outside) or the repo's options. */
function typecheck(dir: string): string[] {
  const cfgFile = ts.findConfigFile(dir, (p) => ts.sys.fileExists(p), "tsconfig.json")!;
  const cfg = ts.readConfigFile(cfgFile, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, resolve(cfgFile, ".."));
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => join(dir, f));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("npm run new-module", () => {
  it("outside the repo: absolute imports, compiles, loads by absolute path, replicates and syncs", async () => {
    const r = spawnSync(process.execPath, ["--import", TSX, "scripts/new-module.ts", "geo_fence", "--dir", outside], { cwd: REPO, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const dir = join(outside, "geo_fence");
    expect(r.stdout).toContain(`loadmodule "${join(outside, "geo_fence.so")}"`);
    expect(readdirSync(dir).sort()).toEqual(["README.md", "api.ts", "geo_fence.test.ts", "index.ts", "messages.ts", "package.json", "tsconfig.json"]);
    const index = readFileSync(join(dir, "index.ts"), "utf8");
    expect(index).toContain(`from "${join(REPO, "core/index.ts")}"`);
    // built on the replication helper: the core is the only import, no other module's file
    expect(index).not.toContain("modules/clusterer");
    expect(typecheck(dir)).toEqual([]);

    const c = await LocalCluster.start({
      size: 2,
      clusterer: { ping_interval: 1, ping_timeout: 200, seed_fallback_interval: 1 },
      sharingTags: (id) => [`zone=${id === 1 ? "active" : "backup"}`],
      extra: `loadmodule "${join(outside, "geo_fence.so")}"\nmodparam("geo_fence", "cluster_id", 1)`,
    });
    try {
      const get = async (node: number, key: string): Promise<string | undefined> => {
        try {
          return ((await c.mi(node, "geo_fence_get", { key })) as { value: string }).value;
        } catch (err) {
          if (err instanceof MiCallError && err.code === 404) return undefined;
          throw err;
        }
      };
      expect(c.node(1).logs.some((l) => l.module === "geo_fence" && l.msg === "module geo_fence 0.1.0 loaded")).toBe(true);
      await c.mi(1, "geo_fence_set", { key: "paris", value: "48.85,2.35" });
      await c.mi(2, "geo_fence_set", { key: "rome", value: "41.90,12.50" });
      await waitFor("both entries on both nodes", async () =>
        (await get(2, "paris")) === "48.85,2.35" && (await get(1, "rome")) === "41.90,12.50", 5_000);
      await c.mi(2, "geo_fence_delete", { key: "rome" });
      await waitFor("the delete on node 1", async () => (await get(1, "rome")) === undefined, 5_000);

      // Ownership: an entry of tag "zone" changes only where zone is active (node 1).
      await c.mi(1, "geo_fence_set", { key: "hq", value: "1", sharing_tag: "zone" });
      await waitFor("hq on node 2", async () => (await get(2, "hq")) === "1", 5_000);
      await expect(c.mi(2, "geo_fence_delete", { key: "hq" })).rejects.toMatchObject({ code: 403, message: expect.stringMatching(/^Node is backup for this entry/) });

      // Node 2 restarts empty and is synced by node 1.
      await c.kill(2);
      await c.mi(1, "geo_fence_set", { key: "berlin", value: "52.52,13.40" });
      await c.restart(2);
      await waitFor("node 2 synced", async () => (await get(2, "berlin")) !== undefined && (await get(2, "hq")) === "1", 15_000);
      expect(await c.mi(2, "geo_fence_list")).toMatchObject({ count: 3 });
      const st = (await c.mi(2, "get_statistics", { statistics: ["geo_fence:"] })) as Record<string, number>;
      expect(st["geo_fence:repl_received"]).toBe(3); // the 3 sync chunks
      expect(st["geo_fence:keys"]).toBe(3);
    } finally {
      await c.stop();
    }
  }, 60_000);

  it("inside the repo: relative imports, and the generated tests pass as generated", () => {
    mkdirSync(inside, { recursive: true });
    const r = scaffoldModule({ name: "rate_card", dir: inside });
    expect(r.insideRepo).toBe(true);
    const dir = join(inside, "rate_card");
    expect(readdirSync(dir).sort()).toEqual(["README.md", "api.ts", "index.ts", "messages.ts", "rate_card.test.ts"]);
    expect(readFileSync(join(dir, "index.ts"), "utf8")).toContain(`from "../../../core/index.ts"`);
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
