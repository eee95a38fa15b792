/**
 * Golden round-trip: every clusterer-internal and clusterer-extra packet captured from
 * real OpenSIPS 3.6.8 nodes (main, idle and more/ sets) decodes with the declarations in
 * modules/clusterer/messages.ts and re-encodes to the identical bytes.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { loadVectorSet, VECTOR_SETS } from "../../core/bin/vectors.ts";
import { discoverMessages } from "../../core/loader/messages.ts";
import {
  CAP_EXTRA, CAP_INTERNAL, clustererMessages, FullTopUpdate, MsgType, Sync, SyncEnd, CapUpdate,
} from "../../modules/clusterer/messages.ts";

/** Every declared message, found through the loader as bin-dump finds them. */
const knownMessages = (await discoverMessages()).registry;

const vectors = VECTOR_SETS.flatMap((s) => loadVectorSet(s)).filter((v) => v.capability === CAP_INTERNAL || v.capability === CAP_EXTRA);

describe("clusterer golden vectors", () => {
  it("covers every one of the 14 message types", () => {
    const types = new Set(vectors.map((v) => v.packet_type));
    expect([...types].sort((a, b) => a - b)).toEqual(Object.values(MsgType).sort((a, b) => a - b));
    expect(vectors.length).toBeGreaterThanOrEqual(200);
  });

  for (const v of vectors) {
    it(`${v.set}/${v.file} round-trips`, () => {
      const msg = knownMessages.find(v.capability, v.packet_type, v.bin_version);
      expect(msg, "declared").toBeDefined();
      expect(clustererMessages).toContain(msg);
      const pkt = BinPacket.parse(v.bytes);
      const values = msg!.decode(pkt);
      expect(pkt.atEnd(), "every byte consumed").toBe(true);
      const again = msg!.encode(values, pkt.version);
      expect(Buffer.from(again.bytes()).toString("hex")).toBe(v.bytes.toString("hex"));
      // the decoded header fields agree with index.json
      const rec = values as Record<string, unknown>;
      if (v.capability === CAP_INTERNAL) {
        expect(rec["cluster_id"]).toBe(v.cluster_id);
        expect(rec["src_node_id"]).toBe(v.src_node_in_body);
      } else {
        expect(rec["cluster_id"]).toBe(v.trailer_cluster_id);
        expect(rec["src_node_id"]).toBe(v.trailer_src_node);
        expect(rec["dst_node_id"]).toBe(v.trailer_dst_node);
      }
    });
  }

  it("decodes field values (spot checks)", () => {
    const main = loadVectorSet("main");
    const ftu = FullTopUpdate.decode(BinPacket.parse(main.find((v) => v.file.startsWith("003-"))!.bytes));
    expect(ftu.nodes).toEqual([{ node_id: 1, description: null, ls_seq_no: -1, ls_timestamp: 0, neighbours: [2] }]);
    expect(ftu.path).toEqual([1]);
    const cap = CapUpdate.decode(BinPacket.parse(main.find((v) => v.file.startsWith("004-"))!.bytes));
    expect(cap.nodes[0]!.caps.map((c) => c.name)).toEqual(["usrloc-contact-repl", "dialog-dlg-repl", "dialog-prof-repl"]);
    expect(cap.require_reply).toBe(1);
    const sync = Sync.decode(BinPacket.parse(main.find((v) => v.file.startsWith("061-"))!.bytes));
    expect(sync.capability).toBe("usrloc-contact-repl");
    expect(sync.data_version).toBe(5);
    expect(sync.chunks.length).toBeGreaterThan(1);
    const end = SyncEnd.decode(BinPacket.parse(main.find((v) => v.file.startsWith("064-"))!.bytes));
    expect(end.total_chunks).toBe(sync.chunks.length);
    const more = loadVectorSet("more");
    const described = FullTopUpdate.decode(BinPacket.parse(more.find((v) => v.file.startsWith("128-"))!.bytes));
    expect(described.nodes.find((n) => n.node_id === 1)!.description).toEqual({ url: "bin:127.0.0.1:5601", sip_addr: "", priority: 3, no_ping_retries: 3 });
  });
});
