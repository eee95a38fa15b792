/**
 * A tsips node as a real child process started from config text — the unit of the
 * multi-node tests, the cluster tooling and the benchmarks. Logs are JSON lines captured
 * from stderr/stdout; MI is reached over the node's mi_http. Every process started here is
 * tracked and SIGKILLed by `killAllNodes()` and at process exit, so a failing test never
 * leaves nodes behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonValue } from "../mi/types.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN = join(REPO_ROOT, "core/main.ts");
const TSX = import.meta.resolve("tsx");

/** One parsed log line (pino JSON), with the raw text. */
export interface LogLine {
  level: number;
  msg: string;
  module?: string;
  time?: number;
  [k: string]: unknown;
}

export interface NodeProcessOptions {
  /** The opensips.cfg text. */
  cfg: string;
  /** Label used in errors and file names. */
  name?: string;
  /** Folder for the cfg file (default: a fresh temp folder). */
  dir?: string;
  /** OpenSIPS log level (-L); default 3 (info) so module lines are visible. */
  logLevel?: number;
  modulePaths?: string[];
  env?: Record<string, string>;
  /** How long to wait for the "ready" line (default 15 s). */
  readyTimeoutMs?: number;
  /** MI URL; default: detected from the first `http:` listener + `/mi`. */
  miUrl?: string;
  /** Don't wait for "ready" (for configs expected to fail). */
  noWait?: boolean;
  /** Also append every output line (raw) to this file. */
  logFile?: string;
}

/** One call of a JSON-RPC batch (`NodeProcess.miBatch`). */
export interface MiCall {
  method: string;
  params?: JsonValue[] | Record<string, JsonValue>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** An MI call that came back with a JSON-RPC error. */
export class MiCallError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(`${message} (${code})${data !== undefined ? `: ${JSON.stringify(data)}` : ""}`);
  }
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** SIGKILLs every node process started by this process that is still running. */
export async function killAllNodes(): Promise<void> {
  const waits = [...live].map((c) => new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    c.once("exit", () => r());
    c.kill("SIGKILL");
  }));
  await Promise.all(waits);
}

export class NodeProcess {
  readonly name: string;
  readonly cfgFile: string;
  readonly logs: LogLine[] = [];
  /** Non-JSON output (cfg errors, usage). */
  readonly text: string[] = [];
  private child!: ChildProcess;
  private exitP!: Promise<ExitInfo>;
  private waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  miUrl: string | undefined;
  /** Wall-clock time the current process was spawned (ms). */
  spawnedAt = 0;
  /** Time the "ready" line arrived (ms since spawn). */
  readyMs = 0;
  /** Wall-clock time (ms) the last signal was sent by `kill`/`stop` (0 = never). */
  signalledAt = 0;
  /** Wall-clock time (ms) this process saw the node's last exit (0 = still running). */
  exitedAt = 0;

  private constructor(private readonly opts: NodeProcessOptions) {
    this.name = opts.name ?? "node";
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `tsips-${this.name}-`));
    this.cfgFile = join(dir, `${this.name}.cfg`);
    writeFileSync(this.cfgFile, opts.cfg);
    this.miUrl = opts.miUrl;
  }

  /** Starts a node and (unless `noWait`) waits for its "ready" line. */
  static async start(opts: NodeProcessOptions): Promise<NodeProcess> {
    const n = new NodeProcess(opts);
    await n.spawn();
    return n;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the current process exits. */
  get exited(): Promise<ExitInfo> {
    return this.exitP;
  }

  private async spawn(): Promise<void> {
    const args = ["--import", TSX, MAIN, "-f", this.cfgFile, "-L", String(this.opts.logLevel ?? 3)];
    for (const m of this.opts.modulePaths ?? []) args.push("-m", m);
    this.spawnedAt = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.opts.env, FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    live.add(child);
    this.exitedAt = 0;
    this.exitP = new Promise((res) => child.once("exit", (code, signal) => {
      this.exitedAt = Date.now();
      live.delete(child);
      res({ code, signal });
    }));
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
    }
    if (this.opts.noWait) return;
    const ready = this.waitForLog((l) => l.msg.startsWith("ready"), this.opts.readyTimeoutMs ?? 15_000, this.logs.length);
    const died = this.exitP.then((e) => {
      throw new Error(`${this.name} exited before ready (code ${e.code}, signal ${e.signal}):\n${this.text.slice(-20).join("\n")}`);
    });
    const line = await Promise.race([ready, died]);
    this.readyMs = Date.now() - this.spawnedAt;
    if (!this.miUrl) {
      const http = ((line.listeners as string[] | undefined) ?? []).find((l) => l.startsWith("http:"));
      if (http) this.miUrl = `http://${http.slice(5)}/mi`;
    }
  }

  private onLine(raw: string): void {
    if (this.opts.logFile) appendFileSync(this.opts.logFile, `${raw}\n`);
    if (!raw.startsWith("{")) {
      this.text.push(raw);
      return;
    }
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      this.text.push(raw);
      return;
    }
    if (typeof line.msg !== "string") line.msg = "";
    this.logs.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** Resolves with the first log line (already seen or future) matching `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 10_000, since = 0): Promise<LogLine> {
    const seen = this.logs.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms; last lines:\n${this.logs.slice(-10).map((l) => JSON.stringify(l)).join("\n")}\n${this.text.slice(-10).join("\n")}`));
      }, timeoutMs);
      const done = (l: LogLine): void => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** Calls an MI command over mi_http; throws MiCallError on a JSON-RPC error. */
  async mi(method: string, params?: JsonValue[] | Record<string, JsonValue>): Promise<JsonValue> {
    if (!this.miUrl) throw new Error(`${this.name}: no MI URL (load httpd + mi_http, or pass miUrl)`);
    const body = JSON.stringify({ jsonrpc: "2.0", method, id: 1, ...(params !== undefined ? { params } : {}) });
    const res = await fetch(this.miUrl, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(30_000) });
    const json = (await res.json()) as { result?: JsonValue; error?: { code: number; message: string; data?: unknown } };
    if (json.error) throw new MiCallError(json.error.code, json.error.message, json.error.data);
    return json.result ?? null;
  }

  /**
   * Sends several calls in one JSON-RPC batch request (mi_http accepts batches); returns
   * one entry per call, in order: the result, or the MiCallError of that call.
   */
  async miBatch(calls: readonly MiCall[]): Promise<(JsonValue | MiCallError)[]> {
    if (!this.miUrl) throw new Error(`${this.name}: no MI URL (load httpd + mi_http, or pass miUrl)`);
    if (calls.length === 0) return [];
    const body = JSON.stringify(calls.map((c, i) => ({ jsonrpc: "2.0", method: c.method, id: i, ...(c.params !== undefined ? { params: c.params } : {}) })));
    const res = await fetch(this.miUrl, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(60_000) });
    const json = (await res.json()) as unknown;
    if (!Array.isArray(json)) {
      const e = (json as { error?: { code: number; message: string; data?: unknown } }).error;
      throw e ? new MiCallError(e.code, e.message, e.data) : new Error(`${this.name}: batch reply is not an array`);
    }
    const out: (JsonValue | MiCallError)[] = new Array(calls.length).fill(null);
    for (const r of json as { id: number; result?: JsonValue; error?: { code: number; message: string; data?: unknown } }[]) {
      out[r.id] = r.error ? new MiCallError(r.error.code, r.error.message, r.error.data) : (r.result ?? null);
    }
    return out;
  }

  /** The number of log lines so far: pass it as `since` to `waitForLog` to see only later lines. */
  mark(): number {
    return this.logs.length;
  }

  /** Sends a signal and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<ExitInfo> {
    if (!this.running) return this.exitP;
    this.signalledAt = Date.now();
    this.child.kill(signal);
    return this.exitP;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<ExitInfo> {
    if (!this.running) return this.exitP;
    this.signalledAt = Date.now();
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const e = await this.exitP;
    clearTimeout(t);
    return e;
  }

  /** Starts the same config again (after a kill/stop). Logs are kept, marked by a restart line. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    this.logs.push({ level: 30, msg: "--- harness: restart ---" });
    await this.spawn();
  }
}
