import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../core/testing/host.ts";
import miFifo from "../../modules/mi_fifo/index.ts";
import { takeRequests } from "../../modules/mi_fifo/framing.ts";

describe("mi_fifo framing", () => {
  it("splits several requests, keeps an incomplete one for later", () => {
    const { requests, rest } = takeRequests(' :r1:{"a":"}{"}\n::{"b":[1,{"c":2}]}:r2:{"x"');
    expect(requests).toEqual([{ replyName: "r1", body: '{"a":"}{"}' }, { replyName: "", body: '{"b":[1,{"c":2}]}' }]);
    expect(rest).toBe(':r2:{"x"');
  });

  it("rejects reply names with path characters and garbage lines, then carries on", () => {
    const { requests } = takeRequests(':../x:{"a":1}\nhello\n:ok:{"b":2}');
    expect(requests).toEqual([
      { error: "reply name \"../x\" must not contain '.', '/' or '\\'" },
      { error: 'request must start with \':<reply-name>:\', got "hello\\n:ok:{\\"b\\":2}"' },
      { replyName: "ok", body: '{"b":2}' },
    ]);
  });
});

describe("mi_fifo module", () => {
  let host: TestHost;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsips-fifo-"));
    host = await createTestHost({ modules: [{ def: miFifo, params: { fifo_name: join(dir, "opensips_fifo"), reply_dir: dir } }] });
    host.registry.register("test", "echo", { params: [["text"]], run: (p) => p.str("text") }, undefined);
  });
  afterAll(async () => {
    await host?.stop();
  });

  it("answers a JSON-RPC request on the reply FIFO the client created", async () => {
    const reply = join(dir, "reply_1");
    execFileSync("mkfifo", [reply]);
    // Opening the reply FIFO for reading blocks until a writer comes: do it on the threadpool.
    const read = readFile(reply, "utf8");
    writeFileSync(join(dir, "opensips_fifo"), ':reply_1:{"jsonrpc":"2.0","method":"echo","params":["hi"],"id":7}\n');
    expect(JSON.parse(await read)).toEqual({ jsonrpc: "2.0", result: "hi", id: 7 });
  });
});
