/**
 * httpd + mi_http over real loopback sockets: JSON-RPC replies and HTTP status codes,
 * keep-alive, and bad input (malformed, oversized, slow, aborted) — each gets the right
 * answer or a closed socket while the node keeps serving others.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import httpd from "../../modules/httpd/index.ts";
import type { HttpdServer } from "../../modules/httpd/server.ts";
import miHttp from "../../modules/mi_http/index.ts";
import { createMiTestNode, type MiTestNode } from "../helpers/mi-host.ts";
import { RawHttpConnection } from "../helpers/mi-raw-http.ts";

const rpc = (method: string, params?: unknown, id: unknown = 1): string =>
  JSON.stringify({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id });

let node: MiTestNode;
let server: HttpdServer;
let port: number;

async function fresh(): Promise<RawHttpConnection> {
  return RawHttpConnection.connect(port);
}

/** Waits until the server has `n` open connections (or fails after timeoutMs). */
async function connectionsSettle(n: number, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await server.connectionCount();
    if (c === n) return;
    if (Date.now() > deadline) throw new Error(`server still has ${c} connections, expected ${n}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  node = createMiTestNode();
  node.stats.register("core", "rcv_requests").inc(3);
  server = (await node.start(httpd, { port: 0, conn_timeout: 1, receive_buf_size: 64 * 1024 })) as HttpdServer;
  await node.start(miHttp);
  port = server.address().port;
});

afterAll(async () => {
  await node.stop();
});

describe("mi_http replies", () => {
  it("answers uptime with 200 application/json and the spec's shape", async () => {
    const c = await fresh();
    const r = await c.post("/mi", rpc("uptime"));
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.body).toMatch(/^\{"jsonrpc":"2\.0","result":\{"Now":"[^"]+","Up since":"[^"]+","Up time":"\d+ \[sec\]"\},"id":1\}$/);
    c.destroy();
  });

  it("serves the acceptance commands: version, which, get_statistics all, log_level", async () => {
    const c = await fresh();
    const version = JSON.parse((await c.post("/mi", rpc("version"))).body) as { result: { Server: string } };
    expect(version.result.Server).toMatch(/^tsips \(0\.1\.0 \(.+\/.+\)\) OpenSIPS 3\.6\.8 compatible$/);
    const which = JSON.parse((await c.post("/mi", rpc("which"))).body) as { result: string[] };
    expect(which.result).toEqual(expect.arrayContaining(["uptime", "version", "which", "get_statistics", "log_level"]));
    const stats = JSON.parse((await c.post("/mi", rpc("get_statistics", [["all"]]))).body) as { result: Record<string, number> };
    expect(stats.result["core:rcv_requests"]).toBe(3);
    expect((await c.post("/mi", rpc("log_level", { level: 3 }))).body).toBe('{"jsonrpc":"2.0","result":{"New global log level":3},"id":1}');
    expect((await c.post("/mi", rpc("log_level"))).body)
      .toBe(`{"jsonrpc":"2.0","result":{"Processes":[{"PID":${process.pid},"Log level":3,"Type":"attendant"}]},"id":1}`);
    c.destroy();
  });

  it("answers JSON-RPC errors with HTTP 200", async () => {
    const c = await fresh();
    const cases: [string, string][] = [
      ["{oops", '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}'],
      ['{"jsonrpc":"1.0","method":"uptime","id":2}', '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":2}'],
      [rpc("no_such_cmd"), '{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}'],
      [rpc("uptime", ["x"]), '{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"Too few or too many parameters"},"id":1}'],
      [rpc("get_statistics", ["all"]), '{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"Bad type for parameter \'statistics\'"},"id":1}'],
    ];
    for (const [body, reply] of cases) {
      const r = await c.post("/mi", body);
      expect([r.status, r.body]).toEqual([200, reply]);
    }
    c.destroy();
  });

  it("answers a notification with 202 and no body; batches with an array", async () => {
    const c = await fresh();
    const n = await c.post("/mi", '{"jsonrpc":"2.0","method":"uptime"}');
    expect([n.status, n.body]).toEqual([202, ""]);
    const b = await c.post("/mi", `[${rpc("version", undefined, 1)},{"jsonrpc":"2.0","method":"uptime"},${rpc("nope", undefined, 2)}]`);
    expect(b.status).toBe(200);
    const replies = JSON.parse(b.body) as { id: number; result?: unknown; error?: { code: number } }[];
    expect(replies.map((x) => [x.id, x.error?.code ?? "ok"])).toEqual([[1, "ok"], [2, -32601]]);
    const allNotes = await c.post("/mi", '[{"jsonrpc":"2.0","method":"uptime"},{"jsonrpc":"2.0","method":"ps"}]');
    expect([allNotes.status, allNotes.body]).toEqual([202, ""]);
    c.destroy();
  });

  it("answers HTTP-level faults with 4xx: method, content type, empty body, unknown path", async () => {
    const c = await fresh();
    const get = await c.request("GET", "/mi");
    expect([get.status, get.headers["allow"], get.body]).toEqual([405, "POST", ""]);
    const put = await c.request("PUT", "/mi", { body: "{}", headers: { "Content-Type": "application/json" } });
    expect(put.status).toBe(406);
    const text = await c.request("POST", "/mi", { body: rpc("uptime"), headers: { "Content-Type": "text/plain" } });
    expect(text.status).toBe(415);
    const none = await c.request("POST", "/mi", { body: rpc("uptime") });
    expect(none.status).toBe(415);
    const withCharset = await c.request("POST", "/mi", { body: rpc("uptime"), headers: { "Content-Type": "Application/JSON; charset=utf-8" } });
    expect(withCharset.status).toBe(200);
    const empty = await c.post("/mi", "");
    expect(empty.status).toBe(400);
    const other = await c.post("/mix", rpc("uptime"));
    expect([other.status, other.body]).toEqual([400, "<html><body>Unable to parse URL!</body></html>"]);
    const sub = await c.post("/mi/anything", rpc("uptime"));
    expect(sub.status).toBe(200);
    const query = await c.post("/mi?x=1", rpc("uptime"));
    expect(query.status).toBe(200);
    // All of that on one connection, which is still usable.
    expect((await c.post("/mi", rpc("ps"))).status).toBe(200);
    c.destroy();
  });

  it("keeps one connection alive for thousands of requests", async () => {
    const c = await fresh();
    const body = rpc("uptime");
    for (let i = 0; i < 3000; i++) {
      const r = await c.post("/mi", body);
      if (r.status !== 200) throw new Error(`request ${i}: HTTP ${r.status}`);
    }
    // Pipelined too: 50 requests written at once, 50 replies in order.
    c.write(Array.from({ length: 50 }, (_, i) => {
      const b = rpc("uptime", undefined, i);
      return `POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
    }).join(""));
    for (let i = 0; i < 50; i++) expect((JSON.parse((await c.response()).body) as { id: number }).id).toBe(i);
    expect(c.error).toBeUndefined();
    c.destroy();
  }, 30_000);

  it("refuses a 10 MB body with 413, closes that connection and keeps serving", async () => {
    const c = await fresh();
    c.write("POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n");
    const mb = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 10; i++) c.write(mb);
    const r = await c.response();
    expect(r.status).toBe(413);
    expect(r.headers["connection"]).toBe("close");
    await c.closed;
    const d = await fresh();
    expect((await d.post("/mi", rpc("uptime"))).status).toBe(200);
    d.destroy();
  }, 15_000);

  it("refuses an oversized chunked body (no Content-Length) with 413", async () => {
    const c = await fresh();
    c.write("POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = "x".repeat(16 * 1024);
    for (let i = 0; i < 8; i++) c.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const r = await c.response();
    expect(r.status).toBe(413);
    await c.closed;
  });

  it("closes a client that sends one byte a second (conn_timeout 1 s) while serving others", async () => {
    const slow = await fresh();
    const text = `POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n${rpc("uptime")}`;
    let i = 0;
    const t0 = Date.now();
    const timer = setInterval(() => {
      if (!slow.socket.destroyed && i < text.length) slow.write(text[i++]!);
    }, 1000);
    try {
      const other = await fresh();
      for (let k = 0; k < 5; k++) {
        expect((await other.post("/mi", rpc("uptime"))).status).toBe(200);
        await new Promise((r) => setTimeout(r, 100));
      }
      other.destroy();
      await slow.closed;
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(4000);
      expect(i).toBeLessThan(6);
    } finally {
      clearInterval(timer);
    }
    await connectionsSettle(0);
  }, 15_000);

  it("closes a client whose body trickles in after complete headers", async () => {
    const slow = await fresh();
    slow.write("POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    const timer = setInterval(() => void (slow.socket.destroyed || slow.write(" ")), 300);
    try {
      const t0 = Date.now();
      await slow.closed;
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      clearInterval(timer);
    }
  }, 15_000);

  it("closes an idle keep-alive connection after conn_timeout", async () => {
    const c = await fresh();
    expect((await c.post("/mi", rpc("uptime"))).status).toBe(200);
    const t0 = Date.now();
    await c.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    expect(Date.now() - t0).toBeLessThan(4000);
  }, 10_000);

  it("survives clients that disconnect mid-request, without leaking connections", async () => {
    for (let k = 0; k < 20; k++) {
      const c = await fresh();
      c.write(`POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"jsonrpc":"2.0",`);
      if (k % 2 === 0) await new Promise((r) => setTimeout(r, 5));
      c.destroy();
    }
    const half = await fresh();
    half.write("POST /mi HTTP/1.1\r\nHost: x\r\nContent-Ty");
    half.destroy();
    await connectionsSettle(0);
    const d = await fresh();
    expect((await d.post("/mi", rpc("uptime"))).status).toBe(200);
    d.destroy();
    await connectionsSettle(0);
  }, 10_000);

  it("answers garbage that is not HTTP with 400 and closes", async () => {
    const c = await fresh();
    c.write("HELLO THERE\r\n\r\n");
    const r = await c.response();
    expect(r.status).toBe(400);
    await c.closed;
  });
});

describe("mi_http parameters", () => {
  it("pretty_printing 1 indents replies like OpenSIPS; root moves the endpoint", async () => {
    const n = createMiTestNode();
    const h = await n.start(httpd, { port: 0 });
    await n.start(miHttp, { pretty_printing: 1, root: "/json/" });
    const c = await RawHttpConnection.connect(h.address().port);
    const r = await c.post("/json", rpc("log_level", [2], 5));
    expect(r.body).toBe('{\n\t"jsonrpc":\t"2.0",\n\t"result":\t{\n\t\t"New global log level":\t2\n\t},\n\t"id":\t5\n}');
    expect((await c.post("/mi", rpc("uptime"))).status).toBe(400);
    c.destroy();
    await n.stop();
  });
});

describe("httpd module", () => {
  it("reports its listener to the core", () => {
    expect(node.listeners).toEqual([`http:127.0.0.1:${port}`]);
  });

  it("refuses a second mount on the same root", () => {
    expect(() => server.mount("/mi/", () => {}, { module: "other" })).toThrow(/already mounted by mi_http/);
  });

  it("fails init with TSIPS_ERR_LISTEN (as the cause of TSIPS_ERR_MOD_INIT) when the port is taken", async () => {
    const n = createMiTestNode();
    await expect(n.start(httpd, { port })).rejects.toMatchObject({ code: "TSIPS_ERR_MOD_INIT", module: "httpd", cause: { code: "TSIPS_ERR_LISTEN" } });
  });

  it("serves HTTPS with tls_cert_file and tls_key_file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsips-httpd-"));
    try {
      writeFileSync(join(dir, "key.pem"), TEST_KEY);
      writeFileSync(join(dir, "cert.pem"), TEST_CERT);
      const n = createMiTestNode();
      const h = await n.start(httpd, { port: 0, tls_cert_file: join(dir, "cert.pem"), tls_key_file: join(dir, "key.pem") });
      await n.start(miHttp);
      expect(h.address().tls).toBe(true);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: "127.0.0.1", port: h.address().port, path: "/mi", method: "POST",
          // Self-signed and possibly "not yet valid" on a skewed clock: the test is about TLS serving, not PKI.
          rejectUnauthorized: false,
          headers: { "content-type": "application/json" } }, (res) => {
          let s = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (s += d));
          res.on("end", () => resolve(s));
        });
        req.on("error", reject);
        req.end(rpc("ps", undefined, 9));
      });
      expect(body).toBe(`{"jsonrpc":"2.0","result":{"Processes":[{"ID":0,"PID":${process.pid},"Type":"attendant"}]},"id":9}`);
      await n.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A throw-away self-signed P-256 certificate for 127.0.0.1, test use only.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0iQ3HeZciN5BydSK
TbsPMYA7XUVye3Zs51EAOm+wAlmhRANCAARgh5xkn3KHA2EitDsbSp0fekze1ctj
dy2hSwDHBOfyjuU8rt8BP6Sk6VJtGBlMkkTAEdaPHIK2tn08PVa8rFZR
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUT3yofsmdAQIKATGcEP2+wxWZpywwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMjE3MzI1N1oYDzIxMjYxMDI5
MTczMjU3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARgh5xkn3KHA2EitDsbSp0fekze1ctjdy2hSwDHBOfyjuU8rt8BP6Sk
6VJtGBlMkkTAEdaPHIK2tn08PVa8rFZRo2QwYjAdBgNVHQ4EFgQUuBXe2xd3xIbT
MqjCQzp8r/4jnrYwHwYDVR0jBBgwFoAUuBXe2xd3xIbTMqjCQzp8r/4jnrYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQDrzJmdx9LvPzWu5Q+pO8uSpyFuQGfkrT0krA7WHXB+ZgIgTUr0iqJYas6/Qwjm
tA86jdXTXlbTVSKuyIYSfq0XEgA=
-----END CERTIFICATE-----
`;
