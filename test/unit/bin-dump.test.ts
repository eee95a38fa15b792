/**
 * scripts/bin-dump.ts: decodes the real captures completely, reassembles TCP by sequence
 * number (reordered, duplicated, overlapping segments), and reads every supported link type.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodePacket, dumpHex, dumpPcap, main, readPcap, summaryLine } from "../../scripts/bin-dump.ts";
import { BinPacket } from "../../core/bin/packet.ts";
import { loadVectorSequence, loadVectorSet, vectorPcapPath, VECTOR_SETS } from "../../core/bin/vectors.ts";
import { MessageRegistry, defineMessage, int, str } from "../../core/bin/schema.ts";

interface Rec { ts: number; us: number; frame: Buffer }

function records(pcap: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let off = 24; off < pcap.length;) {
    const incl = pcap.readUInt32LE(off + 8);
    out.push({ ts: pcap.readUInt32LE(off), us: pcap.readUInt32LE(off + 4), frame: pcap.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return out;
}

function writePcap(recs: Rec[], linktype: number): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [head];
  for (const r of recs) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(r.ts, 0);
    h.writeUInt32LE(r.us, 4);
    h.writeUInt32LE(r.frame.length, 8);
    h.writeUInt32LE(r.frame.length, 12);
    parts.push(h, r.frame);
  }
  return Buffer.concat(parts);
}

/** Ethernet/IPv4 frame → IPv6 packet carrying the same TCP segment (addresses mapped to ::1 / ::2). */
function toIpv6(frame: Buffer): Buffer | null {
  const ip = frame.subarray(14);
  if (frame.readUInt16BE(12) !== 0x0800 || ip[9] !== 6) return null;
  const ihl = (ip[0]! & 15) * 4;
  const tcp = ip.subarray(ihl, ip.readUInt16BE(2));
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(tcp.length, 4);
  h[6] = 6;
  h[7] = 64;
  h[23] = ip[15]!; // ::N from the last IPv4 byte
  h[39] = ip[19]!;
  return Buffer.concat([h, tcp]);
}

const main_pcap = readFileSync(vectorPcapPath("main"));

describe("bin-dump on the real captures", () => {
  it.each([
    ["main", 627, 8],
    ["idle", 50, 4],
    ["more", 296, 13],
  ] as const)("%s: every packet decoded, 0 bytes left over", (set, packets, streams) => {
    const r = dumpPcap(readFileSync(vectorPcapPath(set)));
    expect(summaryLine(r)).toBe(`${packets} packets, 0 bytes undecoded, ${streams} streams`);
    expect(r.problems).toEqual([]);
    const seq = loadVectorSequence(set).packets;
    const key = (c: string, t: number, l: number): string => `${c}/${t}/${l}`;
    expect(r.packets.map((p) => key(p.capability, p.type, p.length)).sort())
      .toEqual(seq.map((h) => key(h.capability, h.type, h.len)).sort());
    for (const p of r.packets) {
      if (p.capability === "clusterer-internal") {
        expect(p.cluster_id).toBe(1);
        expect(p.trailer).toBeUndefined();
      } else {
        expect(p.trailer?.cluster_id).toBe(1);
        expect(p.trailer?.dst_node).toBeGreaterThan(0);
      }
      if (p.message) expect(p.error, `#${p.n} ${p.message}`).toBeUndefined();
    }
    // the capture is in time order
    for (let i = 1; i < r.packets.length; i++) expect(r.packets[i]!.t!).toBeGreaterThanOrEqual(r.packets[i - 1]!.t!);
  });

  it.each(VECTOR_SETS)("decodes every %s vector from hex with its index.json ids", (set) => {
    const vs = loadVectorSet(set);
    const r = dumpHex(vs.map((v) => v.bytes.toString("hex")).join("\n"));
    expect(r.undecodedBytes).toBe(0);
    expect(r.packets.length).toBe(vs.length);
    r.packets.forEach((p, i) => {
      const v = vs[i]!;
      expect([p.capability, p.type, p.version, p.length]).toEqual([v.capability, v.packet_type, v.bin_version, v.total_length]);
      if (v.cluster_id !== undefined) expect([p.cluster_id, p.src_node]).toEqual([v.cluster_id, v.src_node_in_body]);
      else expect(p.trailer).toEqual({ cluster_id: v.trailer_cluster_id, src_node: v.trailer_src_node, dst_node: v.trailer_dst_node });
    });
  });
});

describe("TCP reassembly and link types", () => {
  const recs = records(main_pcap);
  const expected = dumpPcap(main_pcap);
  const sig = (r: ReturnType<typeof dumpPcap>): string[] => r.packets.map((p) => `${p.stream} ${p.capability} ${p.type} ${p.length} ${p.body_hex ?? ""}`).sort();

  it("reordered, duplicated and overlapping segments reassemble to the same packets", () => {
    // swap neighbours, duplicate every 5th frame, and split some data frames into two overlapping ones
    const shuffled: Rec[] = [];
    for (let i = 0; i < recs.length; i += 2) {
      if (recs[i + 1]) shuffled.push(recs[i + 1]!);
      shuffled.push(recs[i]!);
      if (i % 5 === 0) shuffled.push(recs[i]!);
    }
    const r = dumpPcap(writePcap(shuffled, 1));
    expect(summaryLine(r)).toBe("627 packets, 0 bytes undecoded, 8 streams");
    expect(sig(r)).toEqual(sig(expected));
  });

  it("a capture gap or a truncated end is reported as undecoded bytes", () => {
    const dataFrames = recs.map((r, i) => [r, i] as const).filter(([r]) => r.frame.length > 100);
    const dropAt = dataFrames[10]![1];
    const r = dumpPcap(writePcap(recs.filter((_, i) => i !== dropAt), 1));
    expect(r.undecodedBytes).toBeGreaterThan(0);
    expect(r.packets.length).toBeLessThan(627);
    expect(r.problems.join("\n")).toMatch(/gap|incomplete/);
    // the last data frame cut short (as with a small snaplen)
    const lastData = dataFrames.at(-1)![1];
    const cut = recs.map((x, i) => (i === lastData ? { ...x, frame: x.frame.subarray(0, x.frame.length - 10) } : x));
    const truncated = dumpPcap(writePcap(cut, 1));
    expect(truncated.packets.length).toBe(626);
    expect(truncated.undecodedBytes).toBe(recs[lastData]!.frame.length - 66 - 10);
    expect(truncated.problems.join("\n")).toMatch(/incomplete packet at the end/);
  });

  it.each([
    ["Linux SLL", 113, (f: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]), f.subarray(12)])],
    ["Linux SLL2", 276, (f: Buffer) => Buffer.concat([f.subarray(12, 14), Buffer.alloc(18), f.subarray(14)])],
    ["BSD loopback", 0, (f: Buffer) => Buffer.concat([Buffer.from([2, 0, 0, 0]), f.subarray(14)])],
    ["raw IP", 101, (f: Buffer) => f.subarray(14)],
    ["Ethernet with a VLAN tag", 1, (f: Buffer) => Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0, 0, 5]), f.subarray(12)])],
  ])("reads %s frames", (_name, linktype, conv) => {
    const r = dumpPcap(writePcap(recs.map((x) => ({ ...x, frame: conv(x.frame) })), linktype));
    expect(summaryLine(r)).toBe("627 packets, 0 bytes undecoded, 8 streams");
    expect(sig(r)).toEqual(sig(expected));
  });

  it("reads IPv6 (raw and over Ethernet)", () => {
    const v6 = recs.map((x) => ({ ...x, frame: toIpv6(x.frame)! })).filter((x) => x.frame);
    const r = dumpPcap(writePcap(v6, 229));
    expect(summaryLine(r)).toBe("627 packets, 0 bytes undecoded, 8 streams");
    expect(r.packets[0]!.stream).toMatch(/^\[::1\]:\d+ > \[::1\]:5602$/);
    const eth = dumpPcap(writePcap(v6.map((x) => ({ ...x, frame: Buffer.concat([Buffer.alloc(12), Buffer.from([0x86, 0xdd]), x.frame]) })), 1));
    expect(eth.packets.length).toBe(627);
  });

  it("rejects what is not a classic pcap", () => {
    expect(() => readPcap(Buffer.from("0a0d0d0a00000000000000000000000000000000000000000000", "hex"))).toThrow(/pcapng/);
    expect(() => readPcap(Buffer.alloc(30))).toThrow(/magic/);
  });
});

describe("packet decoding", () => {
  it("uses a declared message for named fields, with or without the clusterer ids in the declaration", () => {
    const reg = new MessageRegistry().add(
      defineMessage({ name: "HELLO", capability: "demo-cap", type: 1, version: 2, fields: [str("who"), int("n")] }),
    );
    const pkt = BinPacket.init("demo-cap", 1, 2).pushStr("alice").pushInt(5).pushInt(1).pushInt(3).pushInt(4);
    const d = decodePacket(pkt.bytes(), reg);
    expect(d).toMatchObject({ capability: "demo-cap", message: "HELLO", fields: { who: "alice", n: 5 }, trailer: { cluster_id: 1, src_node: 3, dst_node: 4 } });
    expect(d.body_hex).toBeUndefined();
    // an older version: still shown, flagged
    const old = BinPacket.init("demo-cap", 1, 1).pushStr("bob").pushInt(6).pushInt(1).pushInt(3).pushInt(4);
    expect(decodePacket(old.bytes(), reg).error).toMatch(/version 1 not accepted/);
    // no declaration: raw body without the trailer
    const raw = decodePacket(BinPacket.init("other", 7, 1).pushInt(0x01020304).pushInt(1).pushInt(2).pushInt(3).bytes(), reg);
    expect(raw.body_hex).toBe("04030201");
    // a bad header never throws
    expect(decodePacket(Buffer.from("P4CK\x05\x00\x00\x00"), reg).error).toMatch(/shorter|length/);
  });

  it("hex input: comments, spacing, several packets on a line, bad lines counted", () => {
    const a = BinPacket.init("x", 5, 2).pushStr(null).pushStr("").pushInt(-1).bytes().toString("hex");
    const r = dumpHex(`# example D twice\n${a.replace(/(..)/g, "$1 ")}\n0x${a}${a}\nzz\n`);
    expect(r.packets.length).toBe(3);
    expect(r.undecodedBytes).toBe(1);
    expect(r.problems).toEqual(["line 4: not an even number of hex digits"]);
  });

  it("main() prints one JSON object per packet and the summary", async () => {
    const lines: string[] = [];
    const code = await main(["--json", vectorPcapPath("idle")], (s) => void lines.push(s));
    expect(code).toBe(0);
    expect(lines.length).toBe(51);
    expect(JSON.parse(lines[0]!)).toMatchObject({ n: 1, capability: "clusterer-internal", type_name: "PING" });
    expect(JSON.parse(lines[50]!)).toEqual({ summary: { packets: 50, undecoded_bytes: 0, streams: 4 } });
    const text: string[] = [];
    expect(await main([vectorPcapPath("idle")], (s) => void text.push(s))).toBe(0);
    expect(text.at(-1)).toBe("50 packets, 0 bytes undecoded, 4 streams");
    expect(text[0]).toMatch(/^#1 t=\d+\.\d{6} 127\.0\.0\.1:\d+ > 127\.0\.0\.1:5602 {2}clusterer-internal PING \(type 0\) v1 len 46/);
  });
});

describe("bin-dump SYNC chunks", () => {
  it("decodes each chunk of a dialog and a usrloc SYNC with the module's sync record", () => {
    const hex = (f: string) => Buffer.from(readFileSync(new URL(`../vectors/opensips-3.6.8/${f}`, import.meta.url), "utf8").trim(), "hex");
    const dlg = decodePacket(hex("062-clusterer-extra-sync-dialog-n1-to-n2.hex"));
    const dchunks = (dlg.fields as { chunks: { record: string; callid: string }[] }).chunks;
    expect(dchunks.map((c) => [c.record, c.callid])).toEqual([["DLG_SYNC_CHUNK", "1-25523@127.0.0.1"]]);
    const ul = decodePacket(hex("061-clusterer-extra-sync-usrloc-n1-to-n2.hex"));
    const uchunks = (ul.fields as { chunks: { chunk: { kind: string; record: { aor: string } } }[] }).chunks;
    expect(uchunks.length).toBeGreaterThan(1);
    expect(uchunks[0]!.chunk).toMatchObject({ kind: "aor", record: { aor: "dave2" } });
  });
});
