/**
 * GENERIC_MSG through the clusterer API (cluster_send_req / _rpl / _broadcast_req): the bytes
 * match the spec's layout (§5.9 and the §16 example), the peer raises the events, tags look
 * like OpenSIPS's.
 */
import { describe, expect, it } from "vitest";
import { createTestHost } from "../../core/testing/host.ts";
import clusterer from "../../modules/clusterer/index.ts";
import { generateMsgTag } from "../../modules/clusterer/generic.ts";
import { FakeNet, mesh } from "./clusterer-helpers.ts";

/** clusterer.md §16: GENERIC_MSG req_like 1, tag `1-1-AbC`, msg `hi`, node 1 → node 2, cluster 1 (60 bytes). */
const SPEC_EXAMPLE = `
50 34 43 4b 3c 00 00 00 01 00 0f 00 63 6c 75 73
74 65 72 65 72 2d 65 78 74 72 61 07 00 00 00 01
00 00 00 07 00 31 2d 31 2d 41 62 43 02 00 68 69
01 00 00 00 01 00 00 00 02 00 00 00`.replace(/\s+/g, "");

describe("clusterer generic messages", () => {
  it("a request from node 1 is the spec's 60 bytes, raises E_CLUSTERER_REQ_RECEIVED on node 2, and the reply comes back", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { seed: [1] });
    net.advance(1000);
    const mark = net.log.length;
    expect(a!.api.sendReq(1, 2, "hi", "1-1-AbC")).toEqual({ rc: 0, tag: "1-1-AbC" });
    const sent = net.log.slice(mark).filter((r) => r.from === 1 && r.bytes.includes(Buffer.from("clusterer-extra")));
    expect(sent.map((r) => r.bytes.toString("hex"))).toEqual([SPEC_EXAMPLE]);
    net.flush();
    expect(b!.events.filter((e) => e.name.startsWith("E_CLUSTERER_R"))).toEqual([
      { name: "E_CLUSTERER_REQ_RECEIVED", params: { cluster_id: 1, src_id: 1, msg: "hi", tag: "1-1-AbC" } },
    ]);
    expect(b!.api.sendRpl(1, 1, "hello back", "1-1-AbC")).toBe(0);
    net.flush();
    expect(a!.events.filter((e) => e.name === "E_CLUSTERER_RPL_RECEIVED")).toEqual([
      { name: "E_CLUSTERER_RPL_RECEIVED", params: { cluster_id: 1, src_id: 2, msg: "hello back", tag: "1-1-AbC" } },
    ]);
  });

  it("broadcast reaches every node; include_self raises the event locally without a packet", () => {
    const net = new FakeNet();
    const [a, b, c] = mesh(net, [1, 2, 3], { seed: [1] });
    net.advance(1000);
    const r = a!.api.broadcastReq(1, "all", { includeSelf: true });
    expect(r.rc).toBe(0);
    net.flush();
    for (const n of [a!, b!, c!]) {
      expect(n.events.filter((e) => e.name === "E_CLUSTERER_REQ_RECEIVED")).toEqual([
        { name: "E_CLUSTERER_REQ_RECEIVED", params: { cluster_id: 1, src_id: 1, msg: "all", tag: r.tag } },
      ]);
    }
    expect(a!.api.sendReq(1, 9, "nobody").rc).toBe(-2);
  });

  it("generates tags as <cluster>-<node>-<24 of A..Z, 1..6, a..y>", () => {
    for (let i = 0; i < 50; i++) expect(generateMsgTag(3, 7)).toMatch(/^3-7-[A-Z1-6a-y]{24}$/);
    const codes = [0, 25 / 57, 26 / 57, 31 / 57, 32 / 57, 56.9 / 57];
    let k = 0;
    expect(generateMsgTag(1, 1, () => codes[k++ % codes.length]!).slice(4, 10)).toBe("AZ16ay");
  });

  it("MI cluster_send_req checks its parameters as cluster_send_mi does", async () => {
    const host = await createTestHost({ modules: [{ def: clusterer, params: { my_node_id: 1, my_node_info: "cluster_id=1, url=bin:127.0.0.1:5601", neighbor_node_info: "cluster_id=1, node_id=2, url=bin:127.0.0.1:5602" } }] });
    try {
      await expect(host.mi.run("cluster_send_req", [0, 2, "x"])).rejects.toMatchObject({ code: 400, message: "Bad value for 'cluster_id'" });
      await expect(host.mi.run("cluster_send_req", [1, 1, "x"])).rejects.toMatchObject({ code: 400, message: "Local node specified as destination" });
      await expect(host.mi.run("cluster_send_req", [1, 5, "x"])).rejects.toMatchObject({ code: 400, message: "Send error" });
      await expect(host.mi.run("cluster_send_rpl", [1, 2, "x"])).rejects.toMatchObject({ code: -32602 });
    } finally {
      await host.stop();
    }
  });
});
