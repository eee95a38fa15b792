/**
 * examples/cluster: each config passes `-c`, and `npm run cluster -- up | status | down`
 * runs them as background processes (on copies of the configs moved to free ports, so the
 * test never collides with a cluster a developer has running on the example ports).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts } from "../../core/testing/index.ts";

const REPO = resolve(import.meta.dirname, "../..");
const EXAMPLES = join(REPO, "examples/cluster");
const TSX = import.meta.resolve("tsx");
const tmp = mkdtempSync(join(tmpdir(), "tsips-cluster-cli-"));
const runDir = join(tmp, "run");

function tsx(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", TSX, ...args], { cwd: REPO, encoding: "utf8", timeout, env: { ...process.env, FORCE_COLOR: "0" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** True while `pid` is a live process (a zombie waiting for its reaper has no cmdline). */
function runs(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").length > 0;
  } catch {
    return false;
  }
}

afterAll(() => {
  // Whatever happened, stop what `up` started (down only signals pids it verifies).
  if (existsSync(runDir)) tsx(["scripts/cluster.ts", "down", "--cfg-dir", tmp, "--run-dir", runDir]);
  rmSync(tmp, { recursive: true, force: true });
});

describe("examples/cluster", () => {
  for (const n of [1, 2, 3]) {
    it(`node${n}.cfg passes -c`, () => {
      const r = tsx(["core/main.ts", "-c", "-f", join(EXAMPLES, `node${n}.cfg`)]);
      expect(r.stderr + r.stdout).toContain("config file ok");
      expect(r.status).toBe(0);
    });
  }

  it("npm run cluster: up -n 2 waits for the links, status shows them, down stops exactly those pids", async () => {
    // Copies of node1/node2.cfg on free ports (BIN, SIP, HTTP of each node).
    const ports = await freePorts(6);
    const map = new Map<string, string>();
    for (const i of [1, 2, 3]) {
      map.set(`560${i}`, String(ports[(i - 1) * 2] ?? 1)); // node 3 is listed but not started
      map.set(`888${i}`, String(ports[(i - 1) * 2 + 1] ?? 2));
    }
    for (const i of [1, 2]) {
      const text = readFileSync(join(EXAMPLES, `node${i}.cfg`), "utf8").replace(/\b(560[1-3]|888[1-3])\b/g, (p) => map.get(p)!);
      writeFileSync(join(tmp, `node${i}.cfg`), text);
    }
    const up = tsx(["scripts/cluster.ts", "up", "-n", "2", "--cfg-dir", tmp, "--run-dir", runDir]);
    expect(up.stderr).toBe("");
    expect(up.status).toBe(0);
    expect(up.stdout).toMatch(/^1\s+\d+\s+running\s+2:Up\s+3:(?:Down|Probe)\s+vip\/1=active\s+0\s+0$/m);
    expect(up.stdout).toMatch(/^2\s+\d+\s+running\s+1:Up\s+3:(?:Down|Probe)\s+vip\/1=backup\s+0\s+0$/m);

    const st = tsx(["scripts/cluster.ts", "status", "--json", "--cfg-dir", tmp, "--run-dir", runDir]);
    const rows = JSON.parse(st.stdout) as { node: number; pid: number; state: string; links: Record<string, string> }[];
    expect(rows.map((r) => [r.node, r.state, r.links["1"] ?? r.links["2"]])).toEqual([[1, "running", "Up"], [2, "running", "Up"]]);
    const pids = rows.map((r) => r.pid);
    for (const pid of pids) expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("core/main.ts");

    // A pid file pointing at a process that is not this node is never signalled.
    writeFileSync(join(runDir, "node3.pid"), JSON.stringify({ pid: process.pid, node: 3, cfg: join(tmp, "node3.cfg"), log: "", startedAt: "" }));
    writeFileSync(join(tmp, "node3.cfg"), "# placeholder\n");
    const down = tsx(["scripts/cluster.ts", "down", "--cfg-dir", tmp, "--run-dir", runDir]);
    expect(down.status).toBe(0);
    expect(down.stdout).toContain(`node 1: pid ${pids[0]} stopped`);
    expect(down.stdout).toContain(`node 2: pid ${pids[1]} stopped`);
    expect(down.stdout).toContain(`node 3: pid ${process.pid} is not running this node any more — pid file removed, nothing signalled`);
    for (const pid of pids) expect(runs(pid)).toBe(false);
    expect(existsSync(join(runDir, "node1.pid"))).toBe(false);
    expect(readFileSync(join(runDir, "node1.log"), "utf8")).toMatch(/"msg":"ready/);
  }, 60_000);
});
