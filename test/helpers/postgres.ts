/**
 * A real PostgreSQL server for tests: initdb in a temporary folder, a free port on
 * 127.0.0.1, the unix socket in the same folder, stopped and removed in teardown.
 * PostgreSQL refuses to run as root: as root, the folder is given to the `postgres` user
 * (created by Debian's postgresql package, which .ci/run installs) and initdb/postgres run
 * as that user through `runuser`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../../core/testing/ports.ts";

export interface PgServer {
  readonly dir: string;
  readonly port: number;
  /** URL of a fresh database `name` (created on first call). */
  url(name?: string): Promise<string>;
  /** Stops the server (fast shutdown); `start` brings it back on the same folder and port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes the folder. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  if (versions.length === 0) {
    throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install the Debian package `postgresql` (.ci/run does)");
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0]!, "bin");
}

const asRoot = process.getuid?.() === 0;

function pgUser(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as (install the `postgresql` package)");
  return { uid, gid: id("-g") };
}

function cmd(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

export async function startPostgres(): Promise<PgServer> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "tsips-pg-"));
  if (asRoot) {
    const { uid, gid } = pgUser();
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const [c, a] = cmd(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "tsips", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const init = spawnSync(c, a, { encoding: "utf8" });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  const created = new Set<string>();

  const start = async (): Promise<void> => {
    const [pc, pa] = cmd(join(bin, "postgres"), ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
    const p = spawn(pc, pa, { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    p.stderr!.on("data", (b: Buffer) => {
      log += b.toString();
      if (log.length > 20_000) log = log.slice(-10_000);
    });
    child = p;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`postgres exited (${p.exitCode}): ${log}`);
      const cl = new pg.Client({ host: dir, port, user: "tsips", database: "postgres" });
      try {
        await cl.connect();
        await cl.end();
        return;
      } catch {
        await cl.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections in 30 s: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  // The postmaster's own pid (runuser forks, so the child we spawned is not the server).
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  const stop = async (): Promise<void> => {
    const p = child;
    child = null;
    const pid = postmasterPid();
    if (pid !== undefined && alive(pid)) {
      process.kill(pid, "SIGINT"); // fast shutdown: clients are disconnected at once
      const deadline = Date.now() + 10_000;
      while (alive(pid)) {
        if (Date.now() > deadline) process.kill(pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once("exit", () => r()));
      p.kill("SIGKILL");
      await exited;
    }
  };

  await start();
  return {
    dir,
    port,
    async url(name = "tsips") {
      if (!created.has(name)) {
        const cl = new pg.Client({ host: dir, port, user: "tsips", database: "postgres" });
        await cl.connect();
        await cl.query(`CREATE DATABASE ${name}`);
        await cl.end();
        created.add(name);
      }
      return `postgres://tsips@unix(${dir}):${port}/${name}`;
    },
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
