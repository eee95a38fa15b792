/**
 * `npm run cluster -- up [-n 2|3] | status | down` — the example cluster of
 * examples/cluster/node<N>.cfg as background processes.
 *
 * up      starts nodes 1..n (default 2) detached, each logging to `.tsips-run/cluster/node<N>.log`
 *         with its pid in `node<N>.pid`; waits until every started node sees every other Up,
 *         then prints the status table. Nodes already running are left alone.
 * status  one row per node: pid, each link's state, sharing tags, contacts, dialogs.
 * down    SIGTERM (then SIGKILL after 5 s) to exactly the processes `up` started — a pid is
 *         signalled only if it still runs tsips's core/main.ts with that node's config.
 *
 * Options: --run-dir DIR (default .tsips-run/cluster), --cfg-dir DIR (default examples/cluster),
 * --timeout SECONDS (up: how long to wait for the links, default 30), --json (status as JSON).
 */
import { spawn, execFileSync } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MAIN = join(REPO, "core/main.ts");

interface PidFile {
  pid: number;
  node: number;
  cfg: string;
  log: string;
  startedAt: string;
}

interface NodeCfgInfo {
  node: number;
  cfg: string;
  miUrl: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const USAGE = `usage: npm run cluster -- <up [-n 2|3] | status | down> [--run-dir DIR] [--cfg-dir DIR] [--timeout S] [--json]\n`;

function fail(msg: string, code = 1): never {
  process.stderr.write(`cluster: ${msg}\n`);
  process.exit(code);
}

/** The node's config file and the MI URL read from its httpd modparams. */
export function readNodeCfg(cfgDir: string, node: number): NodeCfgInfo {
  const cfg = join(cfgDir, `node${node}.cfg`);
  if (!existsSync(cfg)) fail(`no config ${cfg}`);
  const text = readFileSync(cfg, "utf8");
  const port = /modparam\(\s*"httpd"\s*,\s*"port"\s*,\s*(\d+)\s*\)/.exec(text)?.[1];
  const ip = /modparam\(\s*"httpd"\s*,\s*"ip"\s*,\s*"([^"]+)"\s*\)/.exec(text)?.[1] ?? "127.0.0.1";
  if (!port) fail(`${cfg}: no modparam("httpd", "port", …): cannot reach its MI`);
  return { node, cfg, miUrl: `http://${ip}:${port}/mi` };
}

/** The command line of a running process, or undefined if there is none. */
function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    try {
      return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8" }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** True if `pid` is alive and is the tsips node started with `cfg`. */
export function isOurNode(p: PidFile): boolean {
  const cmd = cmdlineOf(p.pid);
  return cmd !== undefined && cmd.includes(MAIN) && cmd.includes(p.cfg);
}

function readPid(runDir: string, node: number): PidFile | undefined {
  const f = join(runDir, `node${node}.pid`);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, "utf8")) as PidFile;
  } catch {
    return undefined;
  }
}

async function mi(url: string, method: string, params?: Json): Promise<Json> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params !== undefined ? { params } : {}) });
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(5_000) });
  const j = (await res.json()) as { result?: Json; error?: { code: number; message: string } };
  if (j.error) throw new Error(`${method}: ${j.error.message} (${j.error.code})`);
  return j.result ?? null;
}

function tail(file: string, lines = 15): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, "r");
    const len = Math.min(size, 16_384);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    closeSync(fd);
    return buf.toString("utf8").split("\n").filter(Boolean).slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface NodeStatus {
  node: number;
  pid: number | null;
  state: "running" | "not running" | "no MI";
  links: Record<string, string>;
  shtags: Record<string, string>;
  contacts: number | null;
  dialogs: number | null;
}

/** Queries one node's MI for the status row. */
export async function nodeStatus(info: NodeCfgInfo, pidf: PidFile | undefined): Promise<NodeStatus> {
  const row: NodeStatus = { node: info.node, pid: pidf?.pid ?? null, state: "not running", links: {}, shtags: {}, contacts: null, dialogs: null };
  if (pidf && !isOurNode(pidf)) row.pid = null;
  let list: Json;
  try {
    list = await mi(info.miUrl, "clusterer_list");
  } catch {
    if (row.pid !== null) row.state = "no MI";
    return row;
  }
  row.state = "running";
  for (const c of (list as { Clusters?: { Nodes?: { node_id: number; link_state: string }[] }[] }).Clusters ?? []) {
    for (const n of c.Nodes ?? []) row.links[String(n.node_id)] = n.link_state;
  }
  try {
    const tags = (await mi(info.miUrl, "clusterer_list_shtags")) as { Tag: string; Cluster: number; State: string }[];
    for (const t of tags ?? []) row.shtags[`${t.Tag}/${t.Cluster}`] = t.State;
  } catch { /* clusterer without tags */ }
  try {
    const st = (await mi(info.miUrl, "get_statistics", { statistics: ["usrloc:", "dialog:"] })) as Record<string, number>;
    let contacts: number | null = null;
    for (const [k, v] of Object.entries(st)) if (/^usrloc:.*-contacts$/.test(k)) contacts = (contacts ?? 0) + v;
    row.contacts = contacts;
    row.dialogs = st["dialog:active_dialogs"] ?? null;
  } catch { /* modules not loaded */ }
  return row;
}

/** The status rows as an aligned text table. */
export function formatStatus(rows: NodeStatus[]): string {
  const header = ["node", "pid", "state", "links", "sharing tags", "contacts", "dialogs"];
  const body = rows.map((r) => [
    String(r.node), r.pid === null ? "-" : String(r.pid), r.state,
    Object.entries(r.links).map(([id, s]) => `${id}:${s}`).join(" ") || "-",
    Object.entries(r.shtags).map(([t, s]) => `${t}=${s}`).join(" ") || "-",
    r.contacts === null ? "-" : String(r.contacts), r.dialogs === null ? "-" : String(r.dialogs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

function nodesIn(cfgDir: string): number[] {
  const out: number[] = [];
  for (let i = 1; existsSync(join(cfgDir, `node${i}.cfg`)); i++) out.push(i);
  return out;
}

async function status(cfgDir: string, runDir: string, json: boolean): Promise<NodeStatus[]> {
  const rows = await Promise.all(nodesIn(cfgDir).map((n) => nodeStatus(readNodeCfg(cfgDir, n), readPid(runDir, n))));
  process.stdout.write(json ? `${JSON.stringify(rows)}\n` : `${formatStatus(rows)}\n`);
  return rows;
}

async function up(cfgDir: string, runDir: string, n: number, timeoutS: number, json: boolean): Promise<void> {
  const all = nodesIn(cfgDir);
  if (n < 1 || n > all.length) fail(`-n must be between 1 and ${all.length} (configs in ${cfgDir})`);
  mkdirSync(runDir, { recursive: true });
  const wanted = all.slice(0, n);
  for (const id of wanted) {
    const info = readNodeCfg(cfgDir, id);
    const old = readPid(runDir, id);
    if (old && isOurNode(old)) {
      process.stdout.write(`node ${id}: already running (pid ${old.pid})\n`);
      continue;
    }
    const log = join(runDir, `node${id}.log`);
    appendFileSync(log, `--- npm run cluster -- up: node ${id} starting at ${new Date().toISOString()} ---\n`);
    const fd = openSync(log, "a");
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), MAIN, "-f", info.cfg], {
      cwd: REPO, detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, FORCE_COLOR: "0" },
    });
    closeSync(fd);
    if (child.pid === undefined) fail(`node ${id}: spawn failed`);
    child.unref();
    const pf: PidFile = { pid: child.pid, node: id, cfg: info.cfg, log, startedAt: new Date().toISOString() };
    writeFileSync(join(runDir, `node${id}.pid`), `${JSON.stringify(pf)}\n`);
    process.stdout.write(`node ${id}: started pid ${child.pid}, log ${log}\n`);
  }
  const deadline = Date.now() + timeoutS * 1000;
  process.stdout.write(`waiting until nodes ${wanted.join(", ")} see each other Up…\n`);
  for (;;) {
    const rows = await Promise.all(wanted.map((id) => nodeStatus(readNodeCfg(cfgDir, id), readPid(runDir, id))));
    const dead = rows.filter((r) => r.pid === null);
    if (dead.length) {
      for (const r of dead) process.stderr.write(`node ${r.node} is not running; its log ends with:\n${tail(join(runDir, `node${r.node}.log`))}\n`);
      fail("a node died during start-up (the others keep running: npm run cluster -- down)");
    }
    const allUp = rows.every((r) => r.state === "running" && wanted.every((o) => o === r.node || r.links[String(o)] === "Up"));
    if (allUp) break;
    if (Date.now() > deadline) {
      process.stderr.write(`${formatStatus(rows)}\n`);
      fail(`the links did not all come Up within ${timeoutS} s (logs in ${runDir})`);
    }
    await sleep(100);
  }
  await status(cfgDir, runDir, json);
}

async function down(cfgDir: string, runDir: string): Promise<void> {
  let stopped = 0;
  for (const id of nodesIn(cfgDir)) {
    const pf = readPid(runDir, id);
    if (!pf) continue;
    const pidFile = join(runDir, `node${id}.pid`);
    if (!isOurNode(pf)) {
      process.stdout.write(`node ${id}: pid ${pf.pid} is not running this node any more — pid file removed, nothing signalled\n`);
      rmSync(pidFile, { force: true });
      continue;
    }
    process.kill(pf.pid, "SIGTERM");
    const deadline = Date.now() + 5_000;
    while (isOurNode(pf) && Date.now() < deadline) await sleep(50);
    if (isOurNode(pf)) {
      process.kill(pf.pid, "SIGKILL");
      process.stdout.write(`node ${id}: pid ${pf.pid} did not stop within 5 s, killed\n`);
    } else {
      process.stdout.write(`node ${id}: pid ${pf.pid} stopped\n`);
    }
    rmSync(pidFile, { force: true });
    stopped++;
  }
  if (!stopped) process.stdout.write("no running node was started by `npm run cluster -- up`\n");
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        n: { type: "string", short: "n" },
        "run-dir": { type: "string" },
        "cfg-dir": { type: "string" },
        timeout: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    process.stdout.write(USAGE);
    return;
  }
  const cfgDir = resolve(o["cfg-dir"] ?? join(REPO, "examples/cluster"));
  const runDir = resolve(o["run-dir"] ?? join(REPO, ".tsips-run/cluster"));
  const cmd = positionals[0];
  switch (cmd) {
    case "up": {
      const n = Number(o.n ?? 2);
      if (!Number.isInteger(n)) fail(`-n takes a number, got "${o.n}"`);
      await up(cfgDir, runDir, n, Number(o.timeout ?? 30), o.json ?? false);
      return;
    }
    case "status":
      await status(cfgDir, runDir, o.json ?? false);
      return;
    case "down":
      await down(cfgDir, runDir);
      return;
    default:
      fail(`unknown command ${cmd === undefined ? "(none)" : `"${cmd}"`}\n${USAGE}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => fail((err as Error).stack ?? String(err)));
}
