/**
 * Golden tests: every packet captured from real OpenSIPS 3.6.8 (main, idle and more sets)
 * parses, and header, clusterer ids and trailer match index.json.
 */
import { describe, expect, it } from "vitest";
import { BinFramer } from "../../core/bin/framer.ts";
import { BinPacket, readBinHeader } from "../../core/bin/packet.ts";
import { loadVectorSequence, loadVectorSet, VECTOR_SETS, type VectorEntry } from "../../core/bin/vectors.ts";

describe.each(VECTOR_SETS)("vector set %s", (set) => {
  const entries = loadVectorSet(set);

  it("has entries, each a single complete packet", () => {
    expect(entries.length).toBeGreaterThan(30);
    for (const v of entries) expect(v.bytes.length, v.file).toBe(v.total_length);
  });

  it.each(entries.map((v) => [v.file, v] as [string, VectorEntry]))("%s", (_file, v) => {
    const b = v.bytes;
    expect(b.subarray(0, 4).toString("latin1")).toBe("P4CK");
    const h = readBinHeader(b);
    expect(h.length).toBe(v.total_length);
    expect(h.version).toBe(v.bin_version);
    expect(h.capability).toBe(v.capability);
    expect(h.type).toBe(v.packet_type);

    const p = BinPacket.parse(b);
    expect([p.capability, p.type, p.version, p.length]).toEqual([v.capability, v.packet_type, v.bin_version, v.total_length]);
    if (v.capability === "clusterer-internal") {
      // body starts with cluster_id and the source node; no trailer
      expect(p.popInt()).toBe(v.cluster_id);
      expect(p.popInt()).toBe(v.src_node_in_body);
      expect(v.trailer_cluster_id).toBeUndefined();
    } else {
      // 12-byte trailer, popped from the back in reverse order (as the clusterer does)
      expect(p.popBackInt()).toBe(v.trailer_dst_node);
      expect(p.popBackInt()).toBe(v.trailer_src_node);
      expect(p.popBackInt()).toBe(v.trailer_cluster_id);
      expect(p.lengthField).toBe(v.total_length);
      expect(p.length).toBe(v.total_length - 12);
      // re-forwarding: pushing the trailer back gives the received bytes
      p.pushInt(v.trailer_cluster_id!).pushInt(v.trailer_src_node!).pushInt(v.trailer_dst_node!);
      expect(Buffer.compare(p.bytes(), b)).toBe(0);
    }
    if (v.sync_capability !== undefined) {
      // clusterer-extra SYNC_REQ/SYNC/SYNC_END: the body starts with the synced capability
      const q = BinPacket.parse(b);
      expect(q.popStr()).toBe(v.sync_capability);
    }
  });

  it("the whole sequence, concatenated, frames back into the same packets", () => {
    const seq = loadVectorSequence(set);
    const byFile = new Map(entries.map((e) => [e.file, e.bytes]));
    const stream = Buffer.concat(seq.packets.map((h) => byFile.get(h.file)!));
    expect(stream.length).toBe(seq.packets.reduce((a, h) => a + h.len, 0));
    const got: Uint8Array[] = [];
    const f = new BinFramer({ onPacket: (pkt) => void got.push(pkt) });
    // feed it in awkward chunk sizes (1..97 bytes) to exercise every split point
    for (let off = 0, i = 0; off < stream.length; i++) {
      const n = 1 + ((i * 37) % 97);
      f.push(stream.subarray(off, off + n));
      off += n;
      if (!f.partial) i = 0; // keep the per-packet chunk count low (bin_max_msg_chunks)
    }
    expect(f.partial).toBe(false);
    expect(got.length).toBe(seq.packets.length);
    got.forEach((pkt, i) => expect(Buffer.from(pkt).equals(byFile.get(seq.packets[i]!.file)!)).toBe(true));
  });
});
