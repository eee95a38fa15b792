/**
 * boot: median time from process start to the "ready" line for the top-level
 * opensips.cfg, over ≥ 10 runs (each a fresh `node --import tsx core/main.ts`).
 */
import { dirname, join, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NodeProcess, killAllNodes } from "../../core/testing/node-process.ts";
import { freePorts } from "../../core/testing/ports.ts";
import { median, report } from "./report.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export async function run({ json, args }: { json: boolean; args: string[] }): Promise<void> {
  const runsArg = args.find((a) => a.startsWith("--runs="));
  const runs = Math.max(10, runsArg ? Number(runsArg.slice(7)) : 10);
  const base = readFileSync(join(root, "opensips.cfg"), "utf8");
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Same config, but on free ports so the bench never collides with a running node.
    const [bin, http] = await freePorts(2);
    const cfg = base.replace(/(socket\s*=\s*bin:127\.0\.0\.1:)\d+/, `$1${bin}`).replace(/(modparam\("httpd",\s*"port",\s*)\d+/, `$1${http}`)
      .replace(/url=bin:127\.0\.0\.1:\d+/, `url=bin:127.0.0.1:${bin}`);
    const n = await NodeProcess.start({ cfg, name: `boot${i}`, logLevel: 2 });
    times.push(n.readyMs);
    await n.stop();
  }
  await killAllNodes();
  report(json, { name: "boot.ready_median", value: Math.round(median(times)), unit: "ms", note: `${runs} runs, min ${Math.min(...times)} max ${Math.max(...times)}; goal < 400 ms` });
}
