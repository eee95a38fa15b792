/**
 * The fault-injection kit of core/testing: a cluster whose links run through TcpProxy
 * (cut = refused like a crash, drop = silent partition, delay), JSON-RPC batches, and
 * log-line waits — what module authors use to test their replication under failures.
 */
import { createServer, connect, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { killAllNodes, LocalCluster, MiCallError, TcpProxy } from "../../core/testing/index.ts";

afterAll(killAllNodes);

describe("TcpProxy", () => {
  it("forwards, delays, drops and cuts", async () => {
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    const port = (echo.address() as { port: number }).port;
    const proxy = await TcpProxy.start(port);
    const roundTrip = (text: string, timeoutMs = 1_000): Promise<{ reply: string; ms: number } | "timeout" | "refused"> =>
      new Promise((resolve) => {
        const t0 = performance.now();
        const s = connect(proxy.port, "127.0.0.1");
        const timer = setTimeout(() => {
          s.destroy();
          resolve("timeout");
        }, timeoutMs);
        s.once("error", () => {
          clearTimeout(timer);
          resolve("refused");
        });
        s.once("data", (d) => {
          clearTimeout(timer);
          s.destroy();
          resolve({ reply: d.toString(), ms: performance.now() - t0 });
        });
        s.write(text);
      });
    try {
      expect(await roundTrip("a")).toMatchObject({ reply: "a" });
      proxy.delay(150);
      const slow = await roundTrip("b");
      expect(slow).toMatchObject({ reply: "b" });
      expect((slow as { ms: number }).ms).toBeGreaterThanOrEqual(290); // 150 ms each way
      await proxy.heal();
      proxy.drop();
      expect(await roundTrip("c", 300)).toBe("timeout");
      expect(proxy.droppedBytes).toBeGreaterThan(0);
      proxy.cut();
      expect(await roundTrip("d")).toBe("refused");
      await proxy.heal();
      expect(await roundTrip("e")).toMatchObject({ reply: "e" });
      expect(proxy.forwardedBytes).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      echo.close();
    }
  });
});

describe("LocalCluster with proxied links", () => {
  it("partitions two nodes (cut, then silent drop), heals them, and batches MI calls", async () => {
    const c = await LocalCluster.start({
      size: 2, proxied: true,
      // node_timeout 1: a Down node is probed again after 1 s (OpenSIPS default 60 s).
      clusterer: { ping_interval: 1, ping_timeout: 200, node_timeout: 1 },
    });
    try {
      expect(c.cfg(1)).toContain(`url=bin:127.0.0.1:${c.proxy(1, 2).port}`);
      const mark = c.node(2).mark();
      c.partition(1, 2, "cut");
      await c.waitLink(1, 2, "Down", 5_000);
      await c.waitLink(2, 1, "Down", 5_000);
      const down = await c.node(2).waitForLog((l) => l.event === "node-down" && l.node === 1, 1_000, mark);
      expect(down.module).toBe("clusterer");
      await c.heal(1, 2);
      await c.waitAllUp(10_000);

      // Silent partition: connections stay open, only missed pongs tell.
      c.partition(1, 2, "drop");
      await c.waitLink(1, 2, "Down", 10_000);
      await c.waitLink(2, 1, "Down", 10_000);
      expect(c.proxy(1, 2).droppedBytes + c.proxy(2, 1).droppedBytes).toBeGreaterThan(0);
      await c.heal(1, 2);
      await c.waitAllUp(10_000);

      const res = await c.node(1).miBatch([{ method: "version" }, { method: "no_such_command" }, { method: "clusterer_list" }]);
      expect(res[0]).toMatchObject({ Server: expect.stringContaining("tsips") });
      expect(res[1]).toBeInstanceOf(MiCallError);
      expect((res[1] as MiCallError).code).toBe(-32601);
      expect(res[2]).toMatchObject({ Clusters: [{ cluster_id: 1 }] });
    } finally {
      await c.stop();
    }
  }, 60_000);
});
