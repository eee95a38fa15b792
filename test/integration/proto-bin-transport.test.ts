/**
 * proto_bin on loopback: two in-process nodes (real module, real core test host) and raw
 * TCP peers playing hostile or broken nodes.
 */
import { createServer, Socket, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../core/testing/ports.ts";
import { BinPacket } from "../../core/bin/packet.ts";
import { rawClient, startBinNode, stopAllBinNodes, testPacket, waitFor, TEST_CAP } from "../helpers/proto-bin-host.ts";

afterEach(async () => {
  await stopAllBinNodes();
});

describe("proto_bin listeners and lifecycle", () => {
  it("listens on port 0 and reports the real port; the default port comes from bin_port", async () => {
    const a = await startBinNode({ sockets: ["bin:127.0.0.1:0"] });
    expect(a.port).toBeGreaterThan(0);
    expect(a.api.listeners()).toEqual([{ host: "127.0.0.1", port: a.port, url: `bin:127.0.0.1:${a.port}` }]);
    expect(a.host.runtime.listeners).toEqual([`bin:127.0.0.1:${a.port}`]);
    const free = await freePort();
    const b = await startBinNode({ sockets: ["bin:127.0.0.1"], params: { bin_port: free } });
    expect(b.api.listeners()[0]!.port).toBe(free);
  });

  it("fails init with TSIPS_ERR_LISTEN when the port is taken", async () => {
    const a = await startBinNode();
    await expect(startBinNode({ sockets: [`bin:127.0.0.1:${a.port}`] })).rejects.toThrow(/listen|init/i);
  });

  it("destroy closes listeners and connections promptly", async () => {
    const a = await startBinNode();
    const b = await startBinNode();
    expect(a.probe.send(testPacket(1).bytes(), "127.0.0.1", b.port)).toBe("queued");
    await waitFor("delivery", () => b.probe.seqs.length === 1);
    const t0 = Date.now();
    await b.stop();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(1500);
    // the port is free again
    const c = await startBinNode({ sockets: [`bin:127.0.0.1:${b.port}`] });
    expect(c.port).toBe(b.port);
  });
});

describe("proto_bin data path", () => {
  it("exchanges 10k packets each way in order, nothing lost, one connection per direction", async () => {
    const a = await startBinNode();
    const b = await startBinNode();
    const N = 10_000;
    // B answers every packet on its own outbound connection to A's listener
    b.probe.onPacket = (pkt) => void b.probe.send(testPacket(-pkt.bytes().readInt32LE(pkt.bodyStart)), "127.0.0.1", a.port);
    // warm up both directions: a burst to a destination still connecting would hit
    // bin_async_max_postponed_chunks (1024), tested separately
    a.probe.send(testPacket(0).bytes(), "127.0.0.1", b.port);
    await waitFor("both connections", () => a.probe.seqs.length === 1);
    a.probe.seqs.length = b.probe.seqs.length = b.probe.sources.length = 0;
    for (let i = 1; i <= N; i++) {
      const st = a.probe.send(testPacket(i, i % 7 === 0 ? 900 : 20).bytes(), "127.0.0.1", b.port);
      expect(st === "sent" || st === "queued").toBe(true);
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await waitFor("10k packets at B", () => b.probe.seqs.length === N, 20_000);
    await waitFor("10k answers at A", () => a.probe.seqs.length === N, 20_000);
    expect(b.probe.seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(a.probe.seqs).toEqual(Array.from({ length: N }, (_, i) => -(i + 1)));
    expect(a.stat("packets_out")).toBe(N + 1);
    expect(b.stat("packets_in")).toBe(N + 1);
    expect(a.stat("drops") + b.stat("drops")).toBe(0);
    // A: outbound to B + inbound from B; same for B (spec §4.2: two connections between two nodes)
    expect(a.api.connections()).toBe(2);
    expect(b.api.connections()).toBe(2);
    expect(a.stat("connections_open")).toBe(2);
    const out = a.api.connectionList().find((c) => c.outbound)!;
    expect(out).toMatchObject({ host: "127.0.0.1", port: b.port, state: "open", packetsOut: N + 1 });
    // packets arrive from A's ephemeral port, which is not A's listening port
    expect(new Set(b.probe.sources.map((s) => `${s.host}:${s.port}`))).toEqual(new Set([`127.0.0.1:${out.localPort}`]));
    expect(out.localPort).not.toBe(a.port);
    expect(b.stat("bytes_in")).toBe(a.stat("bytes_out"));
  });

  it("replies to a packet's source port go back over the accepted connection", async () => {
    const a = await startBinNode();
    const b = await startBinNode();
    a.probe.send(testPacket(1).bytes(), "127.0.0.1", b.port);
    await waitFor("delivery", () => b.probe.seqs.length === 1);
    const src = b.probe.sources[0]!;
    expect(b.probe.send(testPacket(2).bytes(), src.host, src.port)).toBe("sent"); // like clusterer UNKNOWN_ID
    await waitFor("reply", () => a.probe.seqs.length === 1);
    expect(a.probe.seqs).toEqual([2]);
    expect(b.api.connectionList().every((c) => !c.outbound)).toBe(true); // no new connection from B
    expect(a.api.connections()).toBe(1);
  });

  it("binds outgoing connections to the first BIN listener's IP", async () => {
    const a = await startBinNode({ sockets: ["bin:127.0.0.3:0", "bin:127.0.0.4:0"] });
    const b = await startBinNode();
    a.probe.send(testPacket(1).bytes(), "127.0.0.1", b.port);
    await waitFor("delivery", () => b.probe.seqs.length === 1);
    expect(b.probe.sources[0]!.host).toBe("127.0.0.3");
    expect(a.api.connectionList()[0]!.localHost).toBe("127.0.0.3");
  });

  it("coalesces a burst: 1000 packets sent in one turn leave in one socket write", async () => {
    const a = await startBinNode();
    const b = await startBinNode();
    a.probe.send(testPacket(0).bytes(), "127.0.0.1", b.port);
    await waitFor("connected", () => b.probe.seqs.length === 1);
    const proto = Socket.prototype as unknown as { write: (...x: unknown[]) => boolean };
    const orig = proto.write;
    let writes = 0;
    proto.write = function (this: Socket, ...x: unknown[]) {
      if (this.remotePort === b.port) writes++;
      return orig.apply(this, x);
    };
    try {
      for (let i = 1; i <= 1000; i++) expect(a.probe.send(testPacket(i).bytes(), "127.0.0.1", b.port)).toBe("sent");
      await new Promise((r) => setImmediate(r));
    } finally {
      proto.write = orig;
    }
    expect(writes).toBe(1);
    await waitFor("burst delivered", () => b.probe.seqs.length === 1001);
    expect(b.probe.seqs.slice(1)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it("holds at most bin_async_max_postponed_chunks packets while connecting", async () => {
    const a = await startBinNode({ params: { bin_async_max_postponed_chunks: 5 } });
    const b = await startBinNode();
    const st = Array.from({ length: 8 }, (_, i) => a.probe.send(testPacket(i).bytes(), "127.0.0.1", b.port));
    expect(st).toEqual(["queued", "queued", "queued", "queued", "queued", "dropped", "dropped", "dropped"]);
    await waitFor("delivery", () => b.probe.seqs.length === 5);
    expect(a.stat("drops")).toBe(3);
    expect(a.probe.send(testPacket(9).bytes(), "127.0.0.1", b.port)).toBe("sent");
    await waitFor("delivery", () => b.probe.seqs.length === 6);
    expect(b.probe.seqs).toEqual([0, 1, 2, 3, 4, 9]);
  });

  it("copies what it queues: the caller may reuse its buffer right away", async () => {
    const a = await startBinNode();
    const b = await startBinNode();
    b.probe.keepBytes = true;
    const buf = Buffer.from(testPacket(7).bytes());
    a.probe.send(buf, "127.0.0.1", b.port); // queued while connecting
    buf.writeInt32LE(8, buf.length - 4);
    a.probe.send(buf, "127.0.0.1", b.port);
    await waitFor("connected", () => a.api.connectionList()[0]?.state === "open");
    buf.writeInt32LE(9, buf.length - 4);
    a.probe.send(buf, "127.0.0.1", b.port); // batched on an open connection
    buf.writeInt32LE(10, buf.length - 4);
    await waitFor("delivery", () => b.probe.seqs.length === 3);
    expect(b.probe.seqs).toEqual([7, 8, 9]);
  });

  it("frames many packets per read and packets split across reads", async () => {
    const b = await startBinNode();
    const s = await rawClient(b.port);
    const pk = [1, 2, 3, 4, 5].map((i) => Buffer.from(testPacket(i, 50).bytes()));
    const stream = Buffer.concat(pk);
    s.write(stream.subarray(0, 3 * pk[0]!.length + 5)); // 3 packets and 5 bytes of the 4th
    await waitFor("3 packets", () => b.probe.seqs.length === 3);
    await new Promise((r) => setTimeout(r, 20));
    s.write(stream.subarray(3 * pk[0]!.length + 5, 3 * pk[0]!.length + 30));
    await new Promise((r) => setTimeout(r, 20));
    s.write(stream.subarray(3 * pk[0]!.length + 30));
    await waitFor("5 packets", () => b.probe.seqs.length === 5);
    expect(b.probe.seqs).toEqual([1, 2, 3, 4, 5]);
    expect(b.stat("framing_errors")).toBe(0);
    s.destroy();
  });

  it("rejects sends that are not a BIN packet size", async () => {
    const a = await startBinNode();
    expect(a.probe.send(new Uint8Array(10), "127.0.0.1", a.port)).toBe("error");
    expect(a.probe.send(new Uint8Array(65536), "127.0.0.1", a.port)).toBe("error");
    expect(a.probe.send(testPacket(1).bytes(), "127.0.0.1", 0)).toBe("error");
  });
});

describe("proto_bin hostile and broken peers", () => {
  /** Keeps A sending to B until stopped; returns how many were sent. */
  function pump(a: Awaited<ReturnType<typeof startBinNode>>, port: number): { stop(): Promise<number> } {
    let i = 0, on = true;
    const done = (async () => {
      while (on) {
        for (let k = 0; k < 20; k++) a.probe.send(testPacket(i++).bytes(), "127.0.0.1", port);
        await new Promise((r) => setTimeout(r, 2));
      }
      return i;
    })();
    return { stop: async () => ((on = false), done) };
  }

  it.each([
    ["a bad marker", () => Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["a length below 17", () => { const b = Buffer.from(testPacket(1).bytes()); b.writeUInt32LE(16, 4); return b; }],
    ["a length above 65535", () => { const b = Buffer.from(testPacket(1).bytes()); b.writeUInt32LE(70000, 4); return b; }],
    ["a capability running past the packet", () => { const b = Buffer.from(testPacket(1).bytes()); b.writeUInt16LE(500, 10); return b; }],
  ])("closes only the connection that sends %s, counted; a healthy peer keeps delivering", async (_what, make) => {
    const a = await startBinNode();
    const b = await startBinNode();
    const p = pump(a, b.port);
    await waitFor("healthy traffic", () => b.probe.seqs.length > 50);
    const bad = await rawClient(b.port);
    const badPort = bad.localPort;
    bad.write(Buffer.concat([Buffer.from(testPacket(-1).bytes()), make()]));
    await bad.whenClosed; // B closed it
    const before = b.probe.seqs.length;
    await waitFor("more healthy traffic", () => b.probe.seqs.length > before + 100);
    const sent = await p.stop();
    await waitFor("all healthy packets", () => b.probe.seqs.filter((x) => x >= 0).length === sent);
    expect(b.probe.seqs.filter((x) => x >= 0)).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(b.probe.seqs.filter((x) => x < 0)).toEqual([-1]); // the good packet before the bad one
    expect(b.stat("framing_errors")).toBe(1);
    await waitFor("down event", () => b.probe.peer.some((e) => e.kind === "down" && !e.outbound && e.port === badPort));
    expect(b.probe.peer.find((e) => e.kind === "down")!.reason).toMatch(/framing|malformed/);
  });

  it("closes a connection whose packet stalls past the read timeout", async () => {
    const b = await startBinNode({ params: { bin_read_timeout: 150 } });
    const s = await rawClient(b.port);
    const pkt = Buffer.from(testPacket(1, 100).bytes());
    s.write(pkt.subarray(0, 40));
    const t0 = Date.now();
    await s.whenClosed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(120);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(b.stat("read_timeouts")).toBe(1);
    expect(b.probe.seqs).toEqual([]);
  });

  it("a slow but steady packet within the read timeout is fine; tcp_max_msg_time is the default", async () => {
    const b = await startBinNode({ globals: { tcp_max_msg_time: 1 } });
    const s = await rawClient(b.port);
    const pkt = Buffer.from(testPacket(1, 100).bytes());
    for (let i = 0; i < pkt.length; i += 30) {
      s.write(pkt.subarray(i, i + 30));
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor("delivery", () => b.probe.seqs.length === 1);
    s.write(pkt.subarray(0, 20)); // now stall
    const t0 = Date.now();
    await s.whenClosed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(b.stat("read_timeouts")).toBe(1);
  });

  it("closes after bin_max_msg_chunks reads of one packet", async () => {
    const b = await startBinNode({ params: { bin_max_msg_chunks: 3 } });
    const s = await rawClient(b.port);
    const pkt = Buffer.from(testPacket(1, 100).bytes());
    for (let i = 0; i < 3; i++) {
      s.write(pkt.subarray(i * 10, i * 10 + 10));
      await new Promise((r) => setTimeout(r, 30));
    }
    await s.whenClosed;
    expect(b.stat("framing_errors")).toBe(1);
  });

  it("a peer that dies mid-packet: nothing partial is delivered, down is reported", async () => {
    const b = await startBinNode();
    const s = await rawClient(b.port);
    const pkt = Buffer.from(testPacket(5, 200).bytes());
    s.write(Buffer.concat([Buffer.from(testPacket(4).bytes()), pkt.subarray(0, 100)]));
    await waitFor("first packet", () => b.probe.seqs.length === 1);
    s.destroy();
    await waitFor("down", () => b.probe.peer.some((e) => e.kind === "down"));
    expect(b.probe.seqs).toEqual([4]);
    expect(b.stat("framing_errors")).toBe(0);
    expect(b.api.connections()).toBe(0);
  });

  it("a peer that never reads: the queue bound is hit, drops are counted, others still flow", async () => {
    const srv: Server = createServer({ pauseOnConnect: true }, (_s: Socket) => {});
    const sockets: Socket[] = [];
    srv.on("connection", (s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const deadPort = (srv.address() as { port: number }).port;
    try {
      const a = await startBinNode({ params: { bin_queue_limit: 1 << 20 } });
      const b = await startBinNode();
      const big = testPacket(0, 60_000).bytes();
      const st: string[] = [];
      for (let i = 0; i < 400 && !st.includes("dropped"); i++) {
        st.push(a.probe.send(big, "127.0.0.1", deadPort));
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
      }
      expect(st).toContain("dropped");
      expect(a.stat("drops")).toBeGreaterThan(0);
      const q = a.api.connectionList().find((c) => c.port === deadPort)!;
      expect(q.queuedBytes).toBeLessThanOrEqual(1 << 20);
      // another destination is unaffected
      a.probe.send(testPacket(77).bytes(), "127.0.0.1", b.port);
      await waitFor("delivery to the healthy peer", () => b.probe.seqs.includes(77));
      await a.api.flush(50); // bounded even with a stuck peer
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it("bin_async=0: output stuck past bin_send_timeout closes the connection", async () => {
    const srv: Server = createServer({ pauseOnConnect: true }, () => {});
    const sockets: Socket[] = [];
    srv.on("connection", (s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const deadPort = (srv.address() as { port: number }).port;
    try {
      const a = await startBinNode({ params: { bin_async: 0, bin_send_timeout: 100 } });
      const big = testPacket(0, 60_000).bytes();
      for (let i = 0; i < 200; i++) {
        a.probe.send(big, "127.0.0.1", deadPort);
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
      }
      await waitFor("down (send timeout)", () => a.probe.peer.find((e) => e.kind === "down" && e.port === deadPort), 3000);
      expect(a.probe.peer.find((e) => e.kind === "down")!.reason).toBe("send timeout");
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it("reports connect-failed for a refused connect and reconnects after the peer restarts", async () => {
    const a = await startBinNode();
    let b = await startBinNode();
    const port = b.port;
    a.probe.send(testPacket(1).bytes(), "127.0.0.1", port);
    await waitFor("first delivery", () => b.probe.seqs.length === 1);
    expect(a.probe.peer.filter((e) => e.outbound).map((e) => e.kind)).toEqual(["up"]);
    await b.stop();
    await waitFor("down on A", () => a.probe.peer.some((e) => e.kind === "down" && e.outbound && e.port === port), 2000);
    expect(a.api.connections()).toBe(0);
    // peer is gone: the connect is refused
    expect(a.probe.send(testPacket(2).bytes(), "127.0.0.1", port)).toBe("queued");
    await waitFor("connect-failed", () => a.probe.peer.some((e) => e.kind === "connect-failed"), 2000);
    expect(a.probe.peer.find((e) => e.kind === "connect-failed")).toMatchObject({ host: "127.0.0.1", port, outbound: true });
    expect(a.probe.peer.find((e) => e.kind === "connect-failed")!.reason).toMatch(/ECONNREFUSED/);
    expect(a.stat("connects_failed")).toBe(1);
    expect(a.stat("packets_discarded")).toBe(1);
    // peer restarts on the same port: the next send reconnects
    b = await startBinNode({ sockets: [`bin:127.0.0.1:${port}`] });
    expect(a.probe.send(testPacket(3).bytes(), "127.0.0.1", port)).toBe("queued");
    await waitFor("delivery after restart", () => b.probe.seqs.length === 1);
    expect(b.probe.seqs).toEqual([3]);
    expect(a.probe.peer.filter((e) => e.outbound).map((e) => e.kind)).toEqual(["up", "down", "connect-failed", "up"]);
  });

  it("closes connections idle longer than tcp_connection_lifetime", async () => {
    const a = await startBinNode({ globals: { tcp_connection_lifetime: 1 } });
    const b = await startBinNode();
    a.probe.send(testPacket(1).bytes(), "127.0.0.1", b.port);
    await waitFor("delivery", () => b.probe.seqs.length === 1);
    await waitFor("idle close", () => a.probe.peer.some((e) => e.kind === "down"), 4000);
    expect(a.probe.peer.find((e) => e.kind === "down")!.reason).toMatch(/idle/);
  });

  it("version-agnostic: any capability reaches the core, unknown ones are dropped by it without closing", async () => {
    const b = await startBinNode();
    const s = await rawClient(b.port);
    s.write(Buffer.concat([Buffer.from(BinPacket.init("nobody-listens", 1, 1).pushInt(1).bytes()), Buffer.from(testPacket(9).bytes())]));
    await waitFor("delivery", () => b.probe.seqs.length === 1);
    expect(b.host.stats.find("bin:packets_unhandled")?.get()).toBe(1);
    expect(b.api.connections()).toBe(1);
    expect(TEST_CAP).toBe("tsips-test");
    s.destroy();
  });
});
