/**
 * The event interface: MI event_subscribe / events_list / subscribers_list / raise_event with
 * OpenSIPS's shapes and errors, event_datagram (UDP) and event_stream (TCP JSON-RPC)
 * delivery, expiry, and a subscriber that stops reading: its queue is bounded, drops are
 * counted and raising never waits on it.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineModule, type ModuleEvents } from "../../core/index.ts";
import { createTestHost, type TestHost } from "../../core/testing/host.ts";
import { waitFor } from "../../core/testing/wait.ts";
import { jsonObjectEnd } from "../../core/json-scan.ts";
import eventDatagram from "../../modules/event_datagram/index.ts";
import eventStream from "../../modules/event_stream/index.ts";

/** A module that publishes E_TEST and hands its events API to the test. */
let raiser: ModuleEvents | undefined;
const evSource = defineModule({
  name: "ev_source", version: "1.0.0", events: ["E_TEST", "E_OTHER"],
  init(ctx) {
    raiser = ctx.events;
  },
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function host(): Promise<TestHost> {
  const h = await createTestHost({ modules: [{ def: eventDatagram }, { def: eventStream, params: { timeout: 500 } }, { def: evSource }] });
  cleanups.push(() => h.stop());
  return h;
}

async function udpListener(): Promise<{ sock: UdpSocket; port: number; got: string[] }> {
  const sock = createSocket("udp4");
  const got: string[] = [];
  sock.on("message", (b) => got.push(b.toString("utf8")));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  cleanups.push(() => sock.close());
  return { sock, port: sock.address().port, got };
}

async function tcpListener(opts: { read: boolean }): Promise<{ server: Server; port: number; got: unknown[]; conns: Socket[] }> {
  const got: unknown[] = [];
  const conns: Socket[] = [];
  const server = createServer((c) => {
    conns.push(c);
    if (!opts.read) {
      c.pause();
      return;
    }
    let buf = "";
    c.on("data", (d) => {
      buf += d.toString("utf8");
      for (let end = jsonObjectEnd(buf); end > 0; end = jsonObjectEnd(buf)) {
        got.push(JSON.parse(buf.slice(0, end)));
        buf = buf.slice(end);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of conns) c.destroy();
    server.close(() => r());
  }));
  return { server, port: (server.address() as { port: number }).port, got, conns };
}

describe("event interface", () => {
  it("lists published events and subscribers with OpenSIPS's shapes", async () => {
    const h = await host();
    expect(await h.mi.run("events_list")).toEqual({ Events: [
      { name: "E_CORE_SR_STATUS_CHANGED", id: 0 }, { name: "E_TEST", id: 1 }, { name: "E_OTHER", id: 2 },
    ] });
    expect(await h.mi.run("subscribers_list")).toEqual({ Events: [] });
    expect(await h.mi.run("event_subscribe", ["E_TEST", "udp:127.0.0.1:9"])).toBe("OK");
    expect(await h.mi.run("event_subscribe", ["E_TEST", "tcp:127.0.0.1:9/notify", "60"])).toBe("OK");
    expect(await h.mi.run("subscribers_list")).toEqual({ Events: [{ name: "E_TEST", id: 1, Subscribers: [
      { socket: "tcp:127.0.0.1:9/notify", expire: 60 }, { socket: "udp:127.0.0.1:9", expire: 3600 },
    ] }] });
    expect(await h.mi.run("subscribers_list", ["E_TEST", "udp:127.0.0.1:9"])).toEqual({ Event: { name: "E_TEST", id: 1, Subscriber: { socket: "udp:127.0.0.1:9", expire: 3600 } } });
    expect(await h.mi.run("subscribers_list", ["E_OTHER"])).toEqual({ Event: {} });
    // resubscribing refreshes, expire 0 removes
    expect(await h.mi.run("event_subscribe", ["E_TEST", "udp:127.0.0.1:9", "30"])).toBe("OK");
    expect(await h.mi.run("subscribers_list", ["E_TEST", "udp:127.0.0.1:9"])).toMatchObject({ Event: { Subscriber: { expire: 30 } } });
    expect(await h.mi.run("event_subscribe", ["E_TEST", "udp:127.0.0.1:9", "0"])).toBe("OK");
    await expect(h.mi.run("subscribers_list", ["E_TEST", "udp:127.0.0.1:9"])).rejects.toMatchObject({ code: 404, message: "Subscriber does not exist" });
    expect(h.stats.find("evi:subscribers")!.get()).toBe(1);
  });

  it("refuses what OpenSIPS refuses", async () => {
    const h = await host();
    const bad = { code: 400, message: "Bad parameter value" };
    await expect(h.mi.run("event_subscribe", ["E_NOPE", "udp:127.0.0.1:9"])).rejects.toMatchObject(bad);
    await expect(h.mi.run("event_subscribe", ["E_TEST", "sctp:127.0.0.1:9"])).rejects.toMatchObject(bad);
    await expect(h.mi.run("event_subscribe", ["E_TEST", "udp:127.0.0.1"])).rejects.toMatchObject(bad);
    await expect(h.mi.run("event_subscribe", ["E_TEST", "unix:/tmp/ev.sock"])).rejects.toMatchObject(bad);
    await expect(h.mi.run("event_subscribe", ["E_TEST", "udp:127.0.0.1:9", "-1"])).rejects.toMatchObject({ code: -32602, data: "Negative expire value" });
    await expect(h.mi.run("subscribers_list", ["E_NOPE"])).rejects.toMatchObject({ code: 404, message: "Event not published" });
    await expect(h.mi.run("raise_event", ["E_NOPE"])).rejects.toMatchObject({ code: 404, message: "Event not registered" });
    await expect(h.mi.run("raise_event", ["E_TEST"])).rejects.toMatchObject({ code: 480, message: "Temporarily Unavailable" });
  });

  it("delivers JSON-RPC notifications by UDP and TCP, and raise_event sends one", async () => {
    const h = await host();
    const udp = await udpListener();
    const tcp = await tcpListener({ read: true });
    await h.mi.run("event_subscribe", ["E_TEST", `udp:127.0.0.1:${udp.port}`]);
    await h.mi.run("event_subscribe", ["E_TEST", `tcp:127.0.0.1:${tcp.port}`]);
    raiser!.raise("E_TEST", { cluster_id: 1, node_id: 2, new_state: 0 });
    await h.mi.run("raise_event", ["E_TEST", '{"who":"mi","n":7}']);
    const note = { jsonrpc: "2.0", method: "E_TEST", params: { cluster_id: 1, node_id: 2, new_state: 0 } };
    await waitFor("udp events", () => udp.got.length === 2, 2000);
    expect(udp.got[0]).toBe(JSON.stringify(note));
    expect(JSON.parse(udp.got[1]!)).toEqual({ jsonrpc: "2.0", method: "E_TEST", params: { who: "mi", n: 7 } });
    await waitFor("tcp events", () => tcp.got.length === 2, 2000);
    expect(tcp.got[0]).toEqual(note);
    expect(h.stats.find("evi:events_raised")!.get()).toBe(2);
  });

  it("a tcp subscriber with its own method gets the event name in event_param", async () => {
    const h = await createTestHost({ modules: [{ def: eventStream, params: { event_param: "event" } }, { def: evSource }] });
    cleanups.push(() => h.stop());
    const tcp = await tcpListener({ read: true });
    await h.mi.run("event_subscribe", ["E_OTHER", `tcp:127.0.0.1:${tcp.port}/on_event`]);
    raiser!.raise("E_OTHER", { x: "y" });
    await waitFor("tcp event", () => tcp.got.length === 1, 2000);
    expect(tcp.got[0]).toEqual({ jsonrpc: "2.0", method: "on_event", params: { event: "E_OTHER", x: "y" } });
  });

  it("subscriptions expire as in OpenSIPS (subscription time + expire < now)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const h = await host();
    const udp = await udpListener();
    await h.mi.run("event_subscribe", ["E_TEST", `udp:127.0.0.1:${udp.port}`, "10"]);
    vi.setSystemTime(Date.now() + 10_000);
    raiser!.raise("E_TEST", { n: 1 }); // still live at exactly +10 s
    vi.setSystemTime(Date.now() + 1_500);
    raiser!.raise("E_TEST", { n: 2 }); // expired: removed, not sent
    await waitFor("first event", () => udp.got.length === 1, 2000);
    expect(await h.mi.run("subscribers_list")).toEqual({ Events: [] });
    await new Promise((r) => setTimeout(r, 50));
    expect(udp.got.map((g) => (JSON.parse(g) as { params: { n: number } }).params.n)).toEqual([1]);
  });

  it("a subscriber that stops reading is dropped from, never waited on", async () => {
    const h = await host();
    const stuck = await tcpListener({ read: false });
    const udp = await udpListener();
    await h.mi.run("event_subscribe", ["E_TEST", `tcp:127.0.0.1:${stuck.port}`]);
    await h.mi.run("event_subscribe", ["E_TEST", `udp:127.0.0.1:${udp.port}`]);
    const big = "x".repeat(2000);
    const t0 = performance.now();
    let worst = 0;
    for (let i = 0; i < 5000; i++) {
      const t = performance.now();
      raiser!.raise("E_TEST", { i, big });
      worst = Math.max(worst, performance.now() - t);
      if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // let sockets drain what they can
    }
    const total = performance.now() - t0;
    const dropped = h.stats.find("evi:events_dropped")!.get();
    // The TCP peer's window filled long before 5000 × 2 kB: everything past its 1024-payload queue is dropped.
    expect(dropped).toBeGreaterThan(1000);
    // Raising is synchronous queueing: generous bounds so a loaded 2-core machine holds them.
    expect(worst).toBeLessThan(1000);
    expect(total).toBeLessThan(20_000);
    // the UDP subscriber keeps getting events
    await waitFor("udp subscriber served", () => udp.got.length > 100, 5000);
    const list = (await h.mi.run("subscribers_list", ["E_TEST", `tcp:127.0.0.1:${stuck.port}`])) as { Event: { Subscriber: object } };
    expect(list.Event.Subscriber).toEqual({ socket: `tcp:127.0.0.1:${stuck.port}`, expire: 3600 });
  });
});
