/**
 * Data sync (clusterer.md §9): chunk packing with chunk_len and the 101010101 marker,
 * iteration, honest completion against SYNC_END, buffering, timeout, seed fallback, and a
 * donor that dies mid-sync.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import type { CapabilityRegistration } from "../../modules/clusterer/api.ts";
import { Sync, SyncEnd, SYNC_CHUNK_START_MARKER } from "../../modules/clusterer/messages.ts";
import { FakeNet, mesh, type FakeNode } from "./clusterer-helpers.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** Registers capability `cap` with a data set; records what it receives. */
function withData(n: FakeNode, data: string[], opts: Partial<CapabilityRegistration> = {}) {
  const got: string[] = [];
  const regular: string[] = [];
  const events: string[] = [];
  n.api.registerCapability({
    capability: "dialog-dlg-repl", clusterId: 1, startupSync: true,
    onPacket(p, type) {
      if (type === 101) {
        while (n.api.syncChunkIter(p)) got.push(p.popStr());
      } else regular.push(`${type}:${p.popStr()}`);
    },
    onEvent(ev) {
      events.push(ev.kind);
      if (ev.kind === "sync-request") for (const d of data) n.api.syncChunkStart("dialog-dlg-repl", 1, ev.nodeId, 4).pushStr(d);
    },
    ...opts,
  });
  return { got, regular, events };
}

describe("sync packing (donor side)", () => {
  it("builds the §14 worked example: one chunk 'abc', then SYNC_END with 1 chunk", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { seed: [1] });
    withData(a!, ["abc"]);
    b!.api.registerCapability({ capability: "dialog-dlg-repl", clusterId: 1, startupSync: true, onPacket: () => {} });
    net.advance(1000);
    const mark = net.log.length;
    a!.engine.sync.reply(a!.engine.cluster(1)!, a!.engine.cluster(1)!.localCap("dialog-dlg-repl")!, 2);
    const sent = net.log.slice(mark).map((r) => r.bytes);
    expect(sent[0]).toEqual(hex(`50 34 43 4b 4d 00 00 00 03 00 0f 00 63 6c 75 73 74 65 72 65 72 2d 65 78 74 72 61 0b 00 00 00 0f
      00 64 69 61 6c 6f 67 2d 64 6c 67 2d 72 65 70 6c 04 00 00 00 05 00 00 00 b5 4a 05 06 03 00 61 62 63 01 00 00 00 01 00 00 00 02 00 00 00`));
    expect(sent[1]).toEqual(hex(`50 34 43 4b 40 00 00 00 03 00 0f 00 63 6c 75 73 74 65 72 65 72 2d 65 78 74 72 61 0c 00 00 00 0f
      00 64 69 61 6c 6f 67 2d 64 6c 67 2d 72 65 70 6c 01 00 00 00 01 00 00 00 01 00 00 00 02 00 00 00`));
  });

  it("starts a new packet when length + previous chunk size would exceed sync_packet_size", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { seed: [1], timers: { sync_packet_size: 200 } });
    const data = Array.from({ length: 20 }, (_, i) => `record-${String(i).padStart(3, "0")}-${"x".repeat(i % 7)}`);
    withData(a!, data);
    a!.engine.cluster(1)!.localCap("dialog-dlg-repl")!.ok = true;
    const rb = withData(b!, []);
    b!.api.requestSync("dialog-dlg-repl", 1);
    net.advance(1000);
    const syncs = net.log.filter((r) => r.from === 1 && r.bytes.readInt32LE(27) === 11).map((r) => Sync.decode(BinPacket.parse(r.bytes)));
    expect(syncs.length).toBeGreaterThan(2);
    // every chunk is exactly one record and chunk_len matches it
    expect(syncs.flatMap((s) => s.chunks.map((c) => BinPacket.init("x", 0, 1).appendBuffer(c.data)))).toHaveLength(20);
    for (const s of syncs) {
      const bytes = Sync.encode(s).bytes();
      // OpenSIPS's rule: a packet is closed before it would pass the size with one more chunk of the previous size
      const last = s.chunks.at(-1)!.data.length + 8;
      expect(bytes.length - 12 - last).toBeLessThanOrEqual(200);
      for (const c of s.chunks) expect(Buffer.from(c.data).readUInt16LE(0)).toBe(c.data.length - 2);
    }
    const end = net.log.filter((r) => r.from === 1 && r.bytes.readInt32LE(27) === 12).map((r) => SyncEnd.decode(BinPacket.parse(r.bytes)));
    expect(end.map((e) => e.total_chunks)).toEqual([20]);
    expect(rb.got).toEqual(data);
    expect(b!.api.syncStatus("dialog-dlg-repl", 1)).toMatchObject({ state: "synced", chunksReceived: 20, chunksExpected: 20, donor: 1 });
    expect(rb.events).toContain("sync-done");
  });

  it("refuses syncChunkStart outside a sync-request event", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2]);
    expect(() => a!.api.syncChunkStart("nope", 1, 2, 1)).toThrow(/outside the sync-request/);
  });
});

describe("sync receiving", () => {
  /** A SYNC packet built by hand: chunks as raw data. */
  function syncPkt(chunks: Buffer[], marker = SYNC_CHUNK_START_MARKER): Buffer {
    const p = BinPacket.init("clusterer-extra", 11, 3).pushStr("dialog-dlg-repl").pushInt(4);
    for (const c of chunks) p.pushInt(c.length).pushInt(marker).appendBuffer(c);
    p.pushInt(1).pushInt(1).pushInt(2);
    return Buffer.from(p.bytes());
  }
  const strChunk = (s: string, junk = 0) => Buffer.concat([Buffer.from(BinPacket.init("x", 0, 1).pushStr(s).bytes().subarray(17)), Buffer.alloc(junk, 0xee)]);
  const endPkt = (total: number) => Buffer.from(SyncEnd.encode({ capability: "dialog-dlg-repl", total_chunks: total, cluster_id: 1, src_node_id: 1, dst_node_id: 2 }).bytes());

  function setup() {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2]);
    net.advance(1000);
    const r = withData(b!, []);
    const src = { proto: "bin" as const, host: "127.0.0.1", port: 40001 };
    return { net, a: a!, b: b!, r, send: (bytes: Buffer) => b!.deliver(bytes, src) };
  }

  it("skips what the module left unread and stops at a bad marker", () => {
    const { b, r, send } = setup();
    send(syncPkt([strChunk("one", 5), strChunk("two")]));
    expect(r.got).toEqual(["one", "two"]);
    send(syncPkt([strChunk("bad")], 42));
    expect(r.got).toEqual(["one", "two"]);
    expect(b.api.syncStatus("dialog-dlg-repl", 1)!.chunksReceived).toBe(2);
  });

  it("reports synced only when the SYNC_END count has arrived, even if SYNC_END comes first", () => {
    const { b, r, send } = setup();
    send(syncPkt([strChunk("a")]));
    send(endPkt(3));
    expect(b.api.syncStatus("dialog-dlg-repl", 1)!.state).toBe("sync in progress");
    expect(r.events).not.toContain("sync-done");
    send(syncPkt([strChunk("b"), strChunk("c")]));
    expect(b.api.syncStatus("dialog-dlg-repl", 1)).toMatchObject({ state: "synced", chunksReceived: 3, chunksExpected: 3 });
  });

  it("buffers regular packets during a sync and delivers them after it, in order", () => {
    const { b, r, send } = setup();
    send(syncPkt([strChunk("a")]));
    const reg = (s: string) => {
      const p = BinPacket.init("dialog-dlg-repl", 1, 4).pushStr(s).pushInt(1).pushInt(1).pushInt(2);
      return Buffer.from(p.bytes());
    };
    send(reg("r1"));
    send(reg("r2"));
    expect(r.regular).toEqual([]);
    expect(b.stat("packets_buffered")).toBe(2);
    send(endPkt(1));
    expect(r.regular).toEqual(["1:r1", "1:r2"]);
  });

  it("times out after sync_timeout without data: not synced, buffered packets delivered", () => {
    const { net, b, send } = setup();
    send(syncPkt([strChunk("a")]));
    send(endPkt(5));
    net.advance(16_000);
    expect(b.api.syncStatus("dialog-dlg-repl", 1)!.state).toBe("not synced");
    expect(b.stat("sync_timeouts")).toBe(1);
  });

  it("drops SYNC packets of a version other than 3", () => {
    const { b, r, send } = setup();
    const p = syncPkt([strChunk("a")]);
    p.writeInt16LE(1, 8);
    send(p);
    expect(r.got).toEqual([]);
    expect(b.stat("dropped_bad_version")).toBe(1);
  });
});

describe("donor choice, seed fallback and retry", () => {
  it("a seed with no donor becomes synced after seed_fallback_interval and advertises it", () => {
    const net = new FakeNet();
    const [a, b] = mesh(net, [1, 2], { seed: [1] });
    withData(a!, []);
    withData(b!, []);
    a!.api.requestSync("dialog-dlg-repl", 1);
    b!.api.requestSync("dialog-dlg-repl", 1);
    net.advance(4000);
    expect(a!.api.syncStatus("dialog-dlg-repl", 1)!.state).toBe("sync pending");
    net.advance(2000);
    expect(a!.api.syncStatus("dialog-dlg-repl", 1)!.state).toBe("synced");
    // node 2 (not a seed) then synced from node 1 as soon as node 1 advertised OK
    expect(b!.api.syncStatus("dialog-dlg-repl", 1)).toMatchObject({ state: "synced", donor: 1 });
  });

  it("asks the donor as soon as its capability is known OK (no heartbeat wait)", () => {
    const net = new FakeNet();
    const [a] = mesh(net, [1, 2], { seed: [1] });
    withData(a!, ["x", "y"]);
    a!.engine.cluster(1)!.localCap("dialog-dlg-repl")!.ok = true;
    net.nodes.get("127.0.0.1:5602")!.up = false;
    const b = net.nodes.get("127.0.0.1:5602")!;
    const rb = withData(b, []);
    b.api.requestSync("dialog-dlg-repl", 1);
    b.up = true;
    // first heartbeat: ping/pong, capability exchange, SYNC_REQ, data: all at once
    net.advance(1000);
    expect(rb.got).toEqual(["x", "y"]);
    expect(b.api.syncStatus("dialog-dlg-repl", 1)!.state).toBe("synced");
  });

  it("a donor that goes down mid-sync: the requester asks another donor", () => {
    const net = new FakeNet();
    const [n1, n2, n3] = mesh(net, [1, 2, 3], { seed: [1] });
    const data = ["a", "b", "c", "d"];
    withData(n1!, data);
    withData(n2!, data);
    for (const n of [n1!, n2!]) n.engine.cluster(1)!.localCap("dialog-dlg-repl")!.ok = true;
    net.advance(1000);
    // node 3 restarts its sync; the donor (first reachable node of its list) dies after the first packet
    const r3 = withData(n3!, []);
    const c3 = n3!.engine.cluster(1)!;
    const first = c3.nodes.find((n) => n.findCap("dialog-dlg-repl")?.ok)!.nodeId;
    const donor = first === 1 ? n1! : n2!;
    const other = first === 1 ? 2 : 1;
    // deliver only the first SYNC packet from the donor, then crash it
    const origDeliver = n3!.deliver.bind(n3);
    let syncPackets = 0;
    n3!.deliver = (bytes, source) => {
      if (source.port === donor.ephemeralPort && Buffer.from(bytes).includes(Buffer.from("clusterer-extra")) && Buffer.from(bytes).readInt32LE(27) >= 11) {
        if (syncPackets++ >= 1) return;
      }
      origDeliver(bytes, source);
    };
    n3!.api.requestSync("dialog-dlg-repl", 1);
    net.flush();
    expect(n3!.api.syncStatus("dialog-dlg-repl", 1)!.state).toBe("sync in progress");
    n3!.deliver = origDeliver;
    donor.crash();
    net.flush();
    expect(n3!.stat("sync_retries")).toBe(1);
    expect(n3!.api.syncStatus("dialog-dlg-repl", 1)).toMatchObject({ state: "synced", donor: other, chunksReceived: 4, chunksExpected: 4 });
    expect(r3.got.slice(-4)).toEqual(data);
  });
});
