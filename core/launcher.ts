/**
 * A node dies with its launcher.
 *
 * `tsx core/main.ts` is two processes: the tsx CLI (the pid a shell's `$!` names) and the
 * node process it spawns with inherited stdio and no IPC channel. tsx relays SIGINT and
 * SIGTERM, so those reach the node's orderly shutdown; SIGKILL cannot be relayed, and the
 * node used to keep running as an orphan that held its ports and still looked Up to its
 * peers. There is no event for "parent died" in Node (no IPC channel to 'disconnect', no
 * PR_SET_PDEATHSIG), so the node watches its parent pid: once it is reparented, the
 * launcher is gone and the node SIGKILLs itself — no destroy, no goodbye packets, exactly
 * what its peers see when a node is killed.
 *
 * Only under the tsx CLI: `node --import tsx core/main.ts` (what `npm run cluster`,
 * `npm run failover` and the test harness use) has no launcher to die with, and a detached
 * node must outlive whoever started it.
 */
import { sep } from "node:path";

/** How often the parent pid is read (one getppid syscall per tick). */
export const LAUNCHER_POLL_MS = 5;

/** True when this process was spawned by the tsx CLI (it preloads its `preflight.cjs`). */
export function spawnedByTsxCli(execArgv: readonly string[] = process.execArgv): boolean {
  const preflight = `${sep}tsx${sep}dist${sep}preflight.cjs`;
  return execArgv.some((a) => a.endsWith(preflight));
}

/**
 * SIGKILLs this process as soon as its parent (the launcher) is gone. Returns the undo.
 * The timer is unref'd: it never keeps a process alive.
 */
export function dieWithParent(pollMs = LAUNCHER_POLL_MS): () => void {
  const launcher = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== launcher) process.kill(process.pid, "SIGKILL");
  }, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** In `main`: a node started by the tsx CLI dies with it. */
export function dieWithTsxLauncher(): void {
  if (spawnedByTsxCli()) dieWithParent();
}
