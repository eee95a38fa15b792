/**
 * mi: MI round trips per second for `uptime` over mi_http.
 *
 * The server is a real tsips node in a child process (core/main.ts with httpd + mi_http
 * on a free loopback port); the clients run in this process on raw sockets (a prebuilt
 * request, responses framed by Content-Length) so the client costs little next to the
 * server. Scenarios: 1 and 4 concurrent keep-alive connections, and a new TCP connection
 * per request (`Connection: close`; the client closes once the reply is complete, as ab
 * does) with 1 client — the way real OpenSIPS 3.6.8 was measured (5,314/s) — and 4. Each scenario warms up, then counts completed 200 replies for a
 * fixed time (`--duration=MS`, default 3000).
 */
import { connect, type Socket } from "node:net";
import { NodeProcess, killAllNodes } from "../../core/testing/node-process.ts";
import { freePorts } from "../../core/testing/ports.ts";
import { report } from "./report.ts";

const BODY = '{"jsonrpc":"2.0","method":"uptime","id":1}';
const HEAD = "POST /mi HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
const KEEP_ALIVE_REQ = Buffer.from(`${HEAD}Content-Length: ${BODY.length}\r\n\r\n${BODY}`);
const CLOSE_REQ = Buffer.from(`${HEAD}Connection: close\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", noDelay: true });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** Sequential requests on one keep-alive connection until `until`; resolves the number of 200 replies. */
async function keepAliveClient(port: number, until: number): Promise<number> {
  const s = await open(port);
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let ok = 0;
    s.on("error", reject);
    s.on("data", (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const m = /content-length:\s*(\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        if (head.startsWith("HTTP/1.1 200")) ok++;
        else return reject(new Error(`unexpected reply: ${head.split("\r\n")[0]}`));
        buf = buf.subarray(end + 4 + len);
        if (performance.now() < until) s.write(KEEP_ALIVE_REQ);
        else {
          s.destroy();
          resolve(ok);
          return;
        }
      }
    });
    s.write(KEEP_ALIVE_REQ);
  });
}

/** A complete response in `buf` (headers + Content-Length body): its status line, else undefined. */
function complete(buf: Buffer): string | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString("latin1");
  const m = /content-length:\s*(\d+)/i.exec(head);
  return buf.length >= end + 4 + (m ? Number(m[1]) : 0) ? head.slice(0, head.indexOf("\r\n")) : undefined;
}

/**
 * One request per TCP connection until `until`: connect, send, read the whole reply (by
 * Content-Length, as ab does), close.
 */
async function newConnectionClient(port: number, until: number): Promise<number> {
  let ok = 0;
  while (performance.now() < until) {
    const status = await new Promise<string>((resolve, reject) => {
      const s = connect({ port, host: "127.0.0.1", noDelay: true });
      let buf: Buffer = Buffer.alloc(0);
      s.once("connect", () => s.write(CLOSE_REQ));
      s.on("data", (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        const st = complete(buf);
        if (st !== undefined) {
          s.destroy();
          resolve(st);
        }
      });
      s.on("error", reject);
      s.on("close", () => resolve(complete(buf) ?? "closed early"));
    });
    if (!status.startsWith("HTTP/1.1 200")) throw new Error(`unexpected reply: ${status}`);
    ok++;
  }
  return ok;
}

async function measure(clients: number, ms: number, one: (until: number) => Promise<number>): Promise<number> {
  await Promise.all(Array.from({ length: clients }, () => one(performance.now() + Math.min(500, ms / 4)))); // warm-up
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: clients }, () => one(t0 + ms)));
  const elapsed = (performance.now() - t0) / 1000;
  return Math.round(counts.reduce((a, b) => a + b, 0) / elapsed);
}

export async function run({ json, args = [] }: { json: boolean; args?: string[] }): Promise<void> {
  const durArg = args.find((a) => a.startsWith("--duration="));
  const ms = durArg ? Math.max(500, Number(durArg.slice(11))) : 3000;
  const [port] = await freePorts(1);
  const cfg = [
    "log_level = 2",
    'loadmodule "httpd.so"',
    'modparam("httpd", "ip", "127.0.0.1")',
    `modparam("httpd", "port", ${port})`,
    'loadmodule "mi_http.so"',
    "",
  ].join("\n");
  const node = await NodeProcess.start({ cfg, name: "bench-mi", logLevel: 2 });
  try {
    const note = "server: tsips child process; client: raw sockets in the bench process";
    const ka1 = await measure(1, ms, (u) => keepAliveClient(port!, u));
    report(json, { name: "mi.uptime_keepalive_1_client", value: ka1, unit: "req/s", note: `${note}; goal ≥ 10,000/s` });
    const ka4 = await measure(4, ms, (u) => keepAliveClient(port!, u));
    report(json, { name: "mi.uptime_keepalive_4_clients", value: ka4, unit: "req/s", note });
    const nc1 = await measure(1, ms, (u) => newConnectionClient(port!, u));
    report(json, { name: "mi.uptime_new_connection_1_client", value: nc1, unit: "req/s", note: `${note}; OpenSIPS 3.6.8: 5,314/s` });
    const nc4 = await measure(4, ms, (u) => newConnectionClient(port!, u));
    report(json, { name: "mi.uptime_new_connection_4_clients", value: nc4, unit: "req/s", note });
  } finally {
    await node.stop();
    await killAllNodes();
  }
}
