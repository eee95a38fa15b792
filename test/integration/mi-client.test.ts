import { execFile } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import httpd from "../../modules/httpd/index.ts";
import type { HttpdServer } from "../../modules/httpd/server.ts";
import miHttp from "../../modules/mi_http/index.ts";
import { main } from "../../scripts/mi-client.ts";
import { createMiTestNode, type MiTestNode } from "../helpers/mi-host.ts";

let node: MiTestNode;
let url: string;

beforeAll(async () => {
  node = createMiTestNode();
  node.stats.register("core", "rcv_requests").inc(5);
  const h = (await node.start(httpd, { port: 0 })) as HttpdServer;
  await node.start(miHttp);
  url = `http://127.0.0.1:${h.address().port}/mi`;
});

afterAll(async () => {
  await node.stop();
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["-u", url, ...argv], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe("npm run mi", () => {
  it("prints results as indented JSON, or compact with --json", async () => {
    const v = await run("version");
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\{\n {2}"Server": "tsips \(0\.1\.0 .*\)\) OpenSIPS 3\.6\.8 compatible"\n\}\n$/);
    expect(await run("--json", "get_statistics", "core:")).toEqual({ code: 0, out: '{"core:rcv_requests":5}\n', err: "" });
    expect(await run("--json", "get_statistics", "all")).toMatchObject({ code: 0 });
    expect(JSON.parse((await run("uptime")).out)).toHaveProperty("Up time");
    expect(JSON.parse((await run("which")).out)).toContain("log_level");
    expect(await run("--json", "log_level", "3")).toEqual({ code: 0, out: '{"New global log level":3}\n', err: "" });
    expect(await run("--json", "help", "mi_cmd=ps")).toMatchObject({ code: 0, out: expect.stringContaining('"Exported by":"core"') });
  });

  it("exits 1 with the JSON-RPC error on stderr", async () => {
    expect(await run("nope")).toEqual({ code: 1, out: "", err: "error -32601: Method not found\n" });
    expect(await run("uptime", "x")).toEqual({ code: 1, out: "", err: "error -32602: Invalid params (Too few or too many parameters)\n" });
  });

  it("exits 2 on usage errors, HTTP errors and unreachable servers", async () => {
    expect((await run()).code).toBe(2);
    const wrongPath = await main(["-u", url.replace(/\/mi$/, "/nope"), "uptime"], { out: () => {}, err: () => {} });
    expect(wrongPath).toBe(2);
    // A port nobody listens on: bind an ephemeral one, then free it.
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
    const freePort = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    let err = "";
    const down = await main(["-u", `http://127.0.0.1:${freePort}/mi`, "uptime"], { out: () => {}, err: (s) => void (err += s) });
    expect(down).toBe(2);
    expect(err).toBe(`cannot reach http://127.0.0.1:${freePort}/mi: ECONNREFUSED\n`);
  });

  it("runs as a script with the exit status of the reply", async () => {
    const script = fileURLToPath(new URL("../../scripts/mi-client.ts", import.meta.url));
    const exec = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, ["--import", "tsx", script, "-u", url, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
      });
    });
    const [ok, bad] = await Promise.all([exec(["--json", "ps"]), exec(["no_such_command"])]);
    expect(ok).toEqual({ code: 0, stdout: `{"Processes":[{"ID":0,"PID":${process.pid},"Type":"attendant"}]}\n`, stderr: "" });
    expect(bad).toMatchObject({ code: 1, stdout: "", stderr: "error -32601: Method not found\n" });
  }, 30_000);
});
