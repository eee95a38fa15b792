/**
 * Large MI replies (a 100k-contact dump, ~30 MB of JSON) stream through mi_http without
 * holding the event loop: other MI requests are answered while the dump is on the wire,
 * and a client that leaves or stops reading releases the producer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { miStream } from "../../core/mi/types.ts";
import httpd from "../../modules/httpd/index.ts";
import type { HttpdServer } from "../../modules/httpd/server.ts";
import miHttp from "../../modules/mi_http/index.ts";
import { createMiTestNode, type MiTestNode } from "../helpers/mi-host.ts";
import { RawHttpConnection } from "../helpers/mi-raw-http.ts";

const CONTACTS = 100_000;
const rpc = (method: string, id: unknown = 1): string => JSON.stringify({ jsonrpc: "2.0", method, id });

let node: MiTestNode;
let server: HttpdServer;
let port: number;
const producer = { started: 0, finished: 0, closedEarly: 0, yielded: 0 };

/** One contact like ul_dump prints it (~300 bytes). */
function contact(i: number): string {
  return JSON.stringify({
    Contact: `sip:user${i}@198.51.100.${i % 250}:5060;transport=udp`,
    ContactID: 3_000_000_000 + i,
    Expires: 3600,
    Q: "",
    "Call-ID": `call-${i}-a84b4c76e66710@pc33.atlanta.example.com`,
    CSeq: i,
    "User-agent": "tsips test agent 1.0",
    State: "CS_SYNC",
    Flags: 0,
    "Cflags": "",
    Methods: 4294967295,
  });
}

beforeAll(async () => {
  node = createMiTestNode();
  server = (await node.start(httpd, { port: 0, conn_timeout: 1 })) as HttpdServer;
  await node.start(miHttp);
  port = server.address().port;
  node.registry.register("test", "big_dump", {
    help: "a synthetic 100k-contact dump",
    run: () => {
      producer.started++;
      return miStream((async function* () {
        let done = false;
        try {
          yield `{"Domain":"location","AORs":[`;
          for (let i = 0; i < CONTACTS; i++) {
            producer.yielded++;
            yield `${i > 0 ? "," : ""}{"AOR":"user${i}","Contacts":[${contact(i)}]}`;
          }
          yield "]}";
          done = true;
        } finally {
          if (done) producer.finished++;
          else producer.closedEarly++;
        }
      })());
    },
  }, undefined);
});

afterAll(async () => {
  await node.stop();
});

describe("large MI replies", () => {
  it("streams a ~30 MB dump while uptime requests keep being answered", async () => {
    const big = await RawHttpConnection.connect(port);
    const other = await RawHttpConnection.connect(port);
    let bigDone = false;
    const firstByte = new Promise<void>((resolve) => big.socket.once("data", () => resolve()));
    const t0 = performance.now();
    const bigReply = big.post("/mi", rpc("big_dump", 7)).then((r) => {
      bigDone = true;
      return { r, ms: performance.now() - t0 };
    });

    // Event-loop gaps while the dump is written.
    let maxGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 2);

    await firstByte;
    let answeredDuring = 0;
    while (!bigDone) {
      const u = await other.post("/mi", rpc("uptime", answeredDuring));
      expect(u.status).toBe(200);
      if (!bigDone) answeredDuring++;
    }
    const { r, ms } = await bigReply;
    clearInterval(ticker);

    expect(r.status).toBe(200);
    expect(r.headers["transfer-encoding"]).toBe("chunked");
    expect(r.body.length).toBeGreaterThan(25_000_000);
    expect(answeredDuring).toBeGreaterThanOrEqual(3);
    const parsed = JSON.parse(r.body) as { jsonrpc: string; id: number; result: { Domain: string; AORs: { AOR: string; Contacts: { CSeq: number }[] }[] } };
    expect(parsed.jsonrpc).toBe("2.0");
    expect(parsed.id).toBe(7);
    expect(parsed.result.AORs).toHaveLength(CONTACTS);
    expect(parsed.result.AORs[CONTACTS - 1]).toMatchObject({ AOR: `user${CONTACTS - 1}`, Contacts: [{ CSeq: CONTACTS - 1 }] });
    // Generous bounds for a shared 2-core machine: linear production, no long stalls.
    expect(ms).toBeLessThan(20_000);
    expect(maxGap).toBeLessThan(500);
    expect(producer.finished).toBe(1);
    big.destroy();
    other.destroy();
  }, 60_000);

  it("answers pipelined requests in order, two large replies included", async () => {
    const c = await RawHttpConnection.connect(port);
    const req = (m: string, id: number): string => {
      const b = rpc(m, id);
      return `POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
    };
    c.write(req("big_dump", 1) + req("uptime", 2) + req("big_dump", 3) + req("uptime", 4));
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await c.response(30_000);
      expect(r.status).toBe(200);
      ids.push((JSON.parse(r.body) as { id: number }).id);
    }
    expect(ids).toEqual([1, 2, 3, 4]);
    c.destroy();
  }, 60_000);

  it("stops the producer when the client goes away mid-reply", async () => {
    const before = { ...producer };
    const c = await RawHttpConnection.connect(port);
    const gotData = new Promise<void>((resolve) => c.socket.once("data", () => resolve()));
    c.write(`POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${rpc("big_dump").length}\r\n\r\n${rpc("big_dump")}`);
    await gotData;
    c.destroy();
    await waitFor(() => producer.closedEarly === before.closedEarly + 1);
    expect(producer.finished).toBe(before.finished);
    expect(producer.yielded - before.yielded).toBeLessThan(CONTACTS);
    const d = await RawHttpConnection.connect(port);
    expect((await d.post("/mi", rpc("uptime"))).status).toBe(200);
    d.destroy();
  }, 30_000);

  it("releases queued pipelined producers too when the client leaves", async () => {
    const before = { ...producer };
    const c = await RawHttpConnection.connect(port);
    const b = rpc("big_dump");
    const one = `POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
    const gotData = new Promise<void>((resolve) => c.socket.once("data", () => resolve()));
    c.write(one + one);
    await gotData;
    await waitFor(() => producer.started === before.started + 2);
    c.destroy();
    await waitFor(() => producer.closedEarly + producer.finished === before.closedEarly + before.finished + 2);
    expect(producer.closedEarly).toBeGreaterThanOrEqual(before.closedEarly + 1);
  }, 30_000);

  it("cuts a client that stops reading after conn_timeout and releases the producer", async () => {
    const before = { ...producer };
    const c = await RawHttpConnection.connect(port);
    c.write(`POST /mi HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${rpc("big_dump").length}\r\n\r\n${rpc("big_dump")}`);
    await new Promise<void>((resolve) => c.socket.once("data", () => resolve()));
    c.socket.pause();
    const t0 = Date.now();
    await waitFor(() => producer.closedEarly === before.closedEarly + 1, 10_000);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(producer.yielded - before.yielded).toBeLessThan(CONTACTS);
    c.destroy();
    await waitFor(async () => (await server.connectionCount()) === 0);
  }, 30_000);
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
