/**
 * Operational errors on one located line, as OpenSIPS prints them: a real node process whose
 * listener cannot open, or whose certificate is missing, exits non-zero with exactly one
 * `ERROR: file:line:col: module: message [CODE]` line and no stack; at debug level (-L 4) the
 * stack is in the debug log.
 */
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeProcess, killAllNodes, type LogLine } from "../../core/testing/node-process.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/modules");
let holder: Server;
let taken: number;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
  taken = (holder.address() as { port: number }).port;
});

afterAll(async () => {
  await killAllNodes();
  await new Promise<void>((r) => holder.close(() => r()));
});

const hasStack = (s: string): boolean => /\n\s+at /.test(s) || /^\s+at /.test(s);

/** Starts a node expected to fail; returns its exit, plain-text lines and JSON log lines. */
async function failing(cfg: string, name: string, logLevel = 3): Promise<{ code: number | null; text: string[]; logs: LogLine[]; cfgFile: string }> {
  const n = await NodeProcess.start({ cfg, name, logLevel, noWait: true });
  const exit = await n.exited;
  return { code: exit.code, text: n.text, logs: n.logs, cfgFile: n.cfgFile };
}

describe("operational errors", () => {
  it("a BIN socket on a taken port: exit 255, one line at the socket= statement, no stack", async () => {
    const r = await failing(`log_level = 3\nsocket = bin:127.0.0.1:${taken}\nloadmodule "proto_bin.so"\n`, "bin-taken");
    expect(r.code).toBe(255);
    expect(r.text).toEqual([
      `ERROR: ${r.cfgFile}:2:1: proto_bin: cannot listen on bin:127.0.0.1:${taken}: address already in use [TSIPS_ERR_LISTEN]`,
    ]);
    expect(r.logs.filter((l) => l.level >= 50)).toEqual([]);
    for (const l of r.logs) expect(hasStack(JSON.stringify(l))).toBe(false);
  }, 20_000);

  it("at debug level the same failure shows its stack in the debug log, still with one ERROR line", async () => {
    const r = await failing(`socket = bin:127.0.0.1:${taken}\nloadmodule "proto_bin.so"\n`, "bin-taken-debug", 4);
    expect(r.code).toBe(255);
    expect(r.text.filter((t) => t.startsWith("ERROR:"))).toEqual([
      `ERROR: ${r.cfgFile}:1:1: proto_bin: cannot listen on bin:127.0.0.1:${taken}: address already in use [TSIPS_ERR_LISTEN]`,
    ]);
    const debug = r.logs.find((l) => l.level === 20 && l.module === "proto_bin" && typeof (l.err as { stack?: unknown })?.stack === "string");
    const stack = (debug?.err as { stack: string }).stack;
    expect(stack).toMatch(/^TsipsError: cannot listen on bin:127\.0\.0\.1:\d+: address already in use\n\s+at /);
    expect(stack).toContain("EADDRINUSE");
  }, 20_000);

  it("a clusterer whose own URL matches no BIN socket points at the my_node_info modparam", async () => {
    const r = await failing(`log_level = 3\nsocket = bin:127.0.0.1:${taken + 1}\nloadmodule "proto_bin.so"\nloadmodule "clusterer.so"\n`
      + `modparam("clusterer", "my_node_id", 1)\nmodparam("clusterer", "my_node_info", "cluster_id=1, url=bin:127.0.0.1:${taken + 2}")\n`, "clusterer-url");
    expect(r.code).toBe(255);
    expect(r.text).toEqual([
      `ERROR: ${r.cfgFile}:6:1: clusterer: cluster 1: my_node_info url bin:127.0.0.1:${taken + 2} matches no bin socket (bin:127.0.0.1:${taken + 1}) [TSIPS_ERR_CLUSTER_CONFIG]`,
    ]);
  }, 20_000);

  it("an HTTP port in use points at the port modparam", async () => {
    const r = await failing(`loadmodule "httpd.so"\nmodparam("httpd", "ip", "127.0.0.1")\nmodparam("httpd", "port", ${taken})\nloadmodule "mi_http.so"\n`, "http-taken");
    expect(r.code).toBe(255);
    expect(r.text).toEqual([
      `ERROR: ${r.cfgFile}:3:1: httpd: cannot listen on http:127.0.0.1:${taken}: address already in use [TSIPS_ERR_LISTEN]`,
    ]);
  }, 20_000);

  it("a missing certificate points at its modparam (TSIPS_ERR_FILE)", async () => {
    const r = await failing(`loadmodule "httpd.so"\nmodparam("httpd", "port", 0)\nmodparam("httpd", "tls_cert_file", "/nonexistent/cert.pem")\n` +
      `modparam("httpd", "tls_key_file", "/nonexistent/key.pem")\n`, "cert-missing");
    expect(r.code).toBe(255);
    expect(r.text).toEqual([
      `ERROR: ${r.cfgFile}:3:1: httpd: cannot read tls_cert_file "/nonexistent/cert.pem": no such file or directory [TSIPS_ERR_FILE]`,
    ]);
  }, 20_000);

  it("a FIFO in a folder that does not exist points at fifo_name", async () => {
    const r = await failing(`loadmodule "mi_fifo.so"\nmodparam("mi_fifo", "fifo_name", "/nonexistent/tsips_fifo")\n`, "fifo-dir");
    expect(r.code).toBe(255);
    expect(r.text).toEqual([
      `ERROR: ${r.cfgFile}:2:1: mi_fifo: cannot listen on fifo:/nonexistent/tsips_fifo: no such file or directory [TSIPS_ERR_LISTEN]`,
    ]);
  }, 20_000);

  it("a module whose init throws: one line at its loadmodule, wrapped as TSIPS_ERR_MOD_INIT", async () => {
    const r = await failing(`mpath = "${FIXTURES}"\nloadmodule "fx_base.so"\nloadmodule "fx_fail.so"\n`, "init-throws");
    expect(r.code).toBe(255);
    expect(r.text).toEqual([
      `ERROR: ${r.cfgFile}:3:1: fx_fail: module fx_fail failed to initialise: fx_fail: boom [TSIPS_ERR_MOD_INIT]`,
    ]);
    expect(r.logs.filter((l) => l.level >= 50)).toEqual([]);
  }, 20_000);

  it("a config file that cannot be read: one line, exit 255", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "core/main.ts", "-f", "/nonexistent/node1.cfg"],
      { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(255);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("ERROR: cannot read config file /nonexistent/node1.cfg: no such file or directory [TSIPS_ERR_CFG_READ]\n");
  }, 20_000);
});
