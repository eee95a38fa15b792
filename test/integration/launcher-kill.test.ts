/**
 * `tsx core/main.ts -f node1.cfg & kill -9 $!` — the README's gesture for "kill a node":
 * `$!` is the tsx launcher, and the node process under it must die with it (core/launcher.ts),
 * without an orderly shutdown, so its peer sees a killed node. SIGTERM to the launcher keeps
 * the orderly path (tsx relays it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildNodeCfg, freePorts, killAllNodes, NodeProcess, waitFor, type ClusterNodeSpec, type LogLine } from "../../core/testing/index.ts";
import { spawnedByTsxCli } from "../../core/launcher.ts";

const REPO = resolve(import.meta.dirname, "../..");
const TSX_BIN = join(REPO, "node_modules/.bin/tsx");
const dir = mkdtempSync(join(tmpdir(), "tsips-launcher-"));
/** Every launcher and node started here, SIGKILLed in teardown if still running. */
const launchers = new Set<ChildProcess>();
const nodePids = new Set<number>();

afterAll(async () => {
  for (const l of launchers) if (l.exitCode === null && l.signalCode === null) l.kill("SIGKILL");
  // A node pid is signalled only while it still runs one of this test's configs.
  for (const pid of nodePids) {
    try {
      if (alive(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  await killAllNodes();
  rmSync(dir, { recursive: true, force: true });
});

/** Running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (existsSync("/proc/self/stat")) {
    try {
      return readFileSync(stat, "utf8").split(") ")[1]?.[0] !== "Z";
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `tsx core/main.ts -f <cfg>` as typed in a shell (the launcher is our child); resolves at the node's "ready". */
async function launch(cfg: string): Promise<{ launcher: ChildProcess; nodePid: number; logs: LogLine[]; exit: Promise<number | null> }> {
  const launcher = spawn(TSX_BIN, ["core/main.ts", "-f", cfg], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
  launchers.add(launcher);
  const exit = new Promise<number | null>((r) => launcher.once("exit", (code) => r(code)));
  const logs: LogLine[] = [];
  let text = "";
  for (const stream of [launcher.stdout!, launcher.stderr!]) {
    let buf = "";
    stream.setEncoding("utf8").on("data", (c: string) => {
      buf += c;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("{")) logs.push(JSON.parse(line) as LogLine);
        else text += `${line}\n`;
      }
    });
  }
  const ready = await waitFor("the node's ready line", () => logs.find((l) => l.msg.startsWith("ready")) ?? (launcher.exitCode !== null ? Promise.reject(new Error(`launcher exited: ${text}`)) : undefined), 20_000);
  const nodePid = ready["pid"] as number;
  nodePids.add(nodePid);
  return { launcher, nodePid, logs, exit };
}

describe("a node launched by the tsx CLI", () => {
  it("dies with its SIGKILLed launcher, at once and without a shutdown; its peer sees it go; SIGTERM stays orderly", async () => {
    const [bin1, http1, bin2, http2] = await freePorts(4);
    const n1: ClusterNodeSpec = { id: 1, binPort: bin1!, httpPort: http1!, seed: true };
    const n2: ClusterNodeSpec = { id: 2, binPort: bin2!, httpPort: http2! };
    const clusterer = { ping_interval: 1, ping_timeout: 200 };
    const cfg1 = join(dir, "node1.cfg");
    writeFileSync(cfg1, buildNodeCfg({ self: n1, neighbors: [n2], clusterer }));
    const peer = await NodeProcess.start({ name: "node2", cfg: buildNodeCfg({ self: n2, neighbors: [n1], clusterer }) });
    const linkTo1 = async (): Promise<string | undefined> => {
      const l = (await peer.mi("clusterer_list")) as { Clusters: { Nodes?: { node_id: number; link_state: string }[] }[] };
      return l.Clusters[0]?.Nodes?.find((n) => n.node_id === 1)?.link_state;
    };

    const a = await launch(cfg1);
    expect(a.nodePid).not.toBe(a.launcher.pid); // two processes: the launcher and the node
    await waitFor("node 1 Up on node 2", async () => (await linkTo1()) === "Up", 15_000);

    const t0 = Date.now();
    a.launcher.kill("SIGKILL");
    await waitFor("the node process gone", () => !alive(a.nodePid), 1_000, 1);
    const goneMs = Date.now() - t0;
    await waitFor("node 2 reports node 1 no longer Up", async () => (await linkTo1()) !== "Up", 1_000 - goneMs, 5);
    const seenMs = Date.now() - t0;
    expect(seenMs).toBeLessThan(1_000);
    expect(a.logs.filter((l) => l.msg === "shutting down" || l.msg === "stopped")).toEqual([]); // killed, not stopped
    await peer.waitForLog((l) => l.module === "clusterer" && /\bnode 1\b/.test(l.msg) && /down/i.test(l.msg), 2_000);
    console.log(`launcher SIGKILL → node process gone after ${goneMs} ms, node 2's MI shows the link not Up after ${seenMs} ms`);

    // SIGTERM to the launcher: relayed by tsx, the node stops in order and the launcher exits 0.
    const b = await launch(cfg1);
    await waitFor("node 1 Up again", async () => (await linkTo1()) === "Up", 15_000);
    b.launcher.kill("SIGTERM");
    expect(await b.exit).toBe(0);
    expect(b.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));
    expect(alive(b.nodePid)).toBe(false);
  }, 60_000);

  it("is recognised by the tsx CLI's preload; `node --import tsx` is not (its pid is the node)", () => {
    expect(spawnedByTsxCli(["--require", join(REPO, "node_modules/tsx/dist/preflight.cjs"), "--import", "file:///x/tsx/dist/loader.mjs"])).toBe(true);
    expect(spawnedByTsxCli(["--import", "tsx"])).toBe(false);
    expect(spawnedByTsxCli([])).toBe(false);
  });
});
