import { afterAll, beforeAll, describe, expect, it } from "vitest";
import httpd from "../../modules/httpd/index.ts";
import type { HttpdServer } from "../../modules/httpd/server.ts";
import miHttp from "../../modules/mi_http/index.ts";
import prometheus from "../../modules/prometheus/index.ts";
import { createMiTestNode, type MiTestNode } from "../helpers/mi-host.ts";
import { RawHttpConnection } from "../helpers/mi-raw-http.ts";

let node: MiTestNode;
let port: number;

beforeAll(async () => {
  node = createMiTestNode();
  node.stats.register("core", "rcv_requests").inc(11);
  node.stats.register("dialog", "active_dialogs", { kind: "gauge" }).set(3);
  const h = (await node.start(httpd, { port: 0 })) as HttpdServer;
  await node.start(miHttp);
  await node.start(prometheus, { statistics: ["core: active_dialogs"], group_mode: 2 });
  port = h.address().port;
});

afterAll(async () => {
  await node.stop();
});

describe("prometheus over httpd", () => {
  it("serves GET /metrics beside /mi, with live values", async () => {
    const c = await RawHttpConnection.connect(port);
    const r = await c.request("GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(r.body).toBe('# TYPE opensips_rcv_requests counter\nopensips_rcv_requests{group="core"} 11\n' +
      '# TYPE opensips_active_dialogs gauge\nopensips_active_dialogs{group="dialog"} 3\n\n');
    node.stats.find("rcv_requests")!.inc();
    expect((await c.request("GET", "/metrics")).body).toContain('opensips_rcv_requests{group="core"} 12\n');
    const mi = await c.post("/mi", '{"jsonrpc":"2.0","method":"get_statistics","params":[["rcv_requests"]],"id":1}');
    expect(mi.body).toBe('{"jsonrpc":"2.0","result":{"core:rcv_requests":12},"id":1}');
    c.destroy();
  });

  it("answers other methods with 405", async () => {
    const c = await RawHttpConnection.connect(port);
    const r = await c.request("POST", "/metrics", { body: "" });
    expect([r.status, r.headers["allow"]]).toEqual([405, "GET"]);
    c.destroy();
  });
});
