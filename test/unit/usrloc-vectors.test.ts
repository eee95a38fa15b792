/**
 * Golden tests: every usrloc packet captured from real OpenSIPS 3.6.8 (main, idle and more
 * sets) decodes to the record it carries and re-encodes to the identical bytes; the usrloc
 * SYNC packets' chunks decode to the AoRs and contacts that were synced.
 */
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { discoverMessages } from "../../core/loader/messages.ts";
import { loadVectorSet, VECTOR_SETS, type VectorEntry } from "../../core/bin/vectors.ts";
import { Sync, SyncEnd, SyncReq } from "../../modules/clusterer/messages.ts";
import { coreHash } from "../../core/hash.ts";
import { unpackContactId } from "../../modules/usrloc/contact-id.ts";
import {
  UL_CAPABILITY, messageForType, syncChunkFor, UcontactInsert, UcontactUpdate, UcontactDelete, UrecordInsert,
  UrecordDelete, UlMessages, SyncChunksByVersion, type SyncChunk,
} from "../../modules/usrloc/messages.ts";

/** Every declared message, found through the loader as bin-dump finds them. */
const knownMessages = (await discoverMessages()).registry;

const all: VectorEntry[] = VECTOR_SETS.flatMap((s) => loadVectorSet(s));
const modulePackets = all.filter((v) => v.capability === UL_CAPABILITY);
const syncPackets = all.filter((v) => v.type_name === "SYNC" && v.sync_capability === UL_CAPABILITY);
const syncEnds = all.filter((v) => v.type_name === "SYNC_END" && v.sync_capability === UL_CAPABILITY);
const syncReqs = all.filter((v) => v.type_name === "SYNC_REQ" && v.sync_capability === UL_CAPABILITY);

/** Decodes a module packet: body by its declaration, then the 12-byte clusterer trailer. */
function decodeModule(v: VectorEntry) {
  const p = BinPacket.parse(v.bytes);
  const trailer = { dst: p.popBackInt(), src: p.popBackInt(), cluster: p.popBackInt() };
  const m = messageForType(p.type)!;
  const rec = m.decode(p) as Record<string, unknown>;
  expect(p.remaining()).toBe(0);
  const out = m.encode(rec as never);
  out.pushInt(trailer.cluster).pushInt(trailer.src).pushInt(trailer.dst);
  return { rec, trailer, out: out.bytes(), type: p.type };
}

function byFile(set: string, prefix: string): VectorEntry {
  const v = all.find((e) => e.set === set && e.file.startsWith(prefix));
  if (!v) throw new Error(`no vector ${set}/${prefix}`);
  return v;
}

/** Decodes the chunks of a usrloc SYNC packet (envelope by the clusterer's declaration). */
function syncChunks(v: VectorEntry): { dataVersion: number; chunks: SyncChunk[]; reencoded: Buffer[]; raw: Uint8Array[] } {
  const env = Sync.decode(BinPacket.parse(v.bytes));
  expect(env.capability).toBe(UL_CAPABILITY);
  const decl = syncChunkFor(env.data_version)!;
  const fast = SyncChunksByVersion.get(env.data_version)!;
  const chunks: SyncChunk[] = [];
  const reencoded: Buffer[] = [];
  for (const c of env.chunks) {
    // The module sees the chunk data with the packet version set to data_version.
    const p = BinPacket.init(UL_CAPABILITY, 101, env.data_version);
    p.appendBuffer(c.data);
    const { chunk } = decl.popFields(p, env.data_version);
    expect(p.remaining()).toBe(0);
    const p2 = BinPacket.init(UL_CAPABILITY, 101, env.data_version);
    p2.appendBuffer(c.data);
    expect(fast.popFields(p2, env.data_version)).toEqual({ chunk });
    chunks.push(chunk);
    const q = BinPacket.init(UL_CAPABILITY, 101, env.data_version);
    decl.pushFields(q, { chunk });
    reencoded.push(Buffer.from(q.contentStart()));
  }
  return { dataVersion: env.data_version, chunks, reencoded, raw: env.chunks.map((c) => c.data) };
}

describe("usrloc vectors: module packets (types 1-5)", () => {
  it("the three sets hold the expected usrloc packets", () => {
    expect(modulePackets.filter((v) => v.set === "main").length).toBe(20);
    expect(modulePackets.filter((v) => v.set === "more").length).toBe(8);
    expect(syncPackets.map((v) => `${v.set}/${v.file.slice(0, 3)}`)).toEqual(["main/061", "main/076", "more/118"]);
    expect(new Set(modulePackets.map((v) => v.packet_type))).toEqual(new Set([1, 2, 3, 4, 5]));
  });

  it.each(modulePackets.map((v) => [`${v.set}/${v.file}`, v] as const))("%s decodes and re-encodes byte for byte", (_n, v) => {
    const { rec, trailer, out, type } = decodeModule(v);
    expect(type).toBe(v.packet_type);
    expect(v.bin_version).toBe(5);
    expect(Buffer.compare(out, v.bytes)).toBe(0);
    expect(trailer).toEqual({ cluster: v.trailer_cluster_id, src: v.trailer_src_node, dst: v.trailer_dst_node });
    // Every printable run the capture tool saw is one of the decoded text fields.
    const texts = new Set(Object.values(rec).filter((x): x is string => typeof x === "string"));
    for (const s of v.strings) expect(texts.has(s), `${s} in ${v.file}`).toBe(true);
    expect(rec["domain"]).toBe("location");
  });

  it.each(modulePackets.map((v) => [`${v.set}/${v.file}`, v] as const))("%s: decodes with the declared field order and re-encodes", (_n, v) => {
    const fast = Object.values(UlMessages).find((m) => m.type === v.packet_type)!;
    const p = BinPacket.parse(v.bytes);
    const trailer = [p.popBackInt(), p.popBackInt(), p.popBackInt()].reverse();
    const rec = fast.decode(p);
    expect(rec).toEqual(messageForType(v.packet_type)!.decode(BinPacket.parse(v.bytes)));
    expect(Object.keys(rec)).toEqual(fast.fields.map((f) => f.name));
    const out = fast.encode(rec as never);
    for (const t of trailer) out.pushInt(t);
    expect(Buffer.compare(out.bytes(), v.bytes)).toBe(0);
  });

  it("the bin-dump registry knows every usrloc declaration", () => {
    for (const t of [1, 2, 3, 4, 5]) expect(knownMessages.find(UL_CAPABILITY, t, 5)?.type).toBe(t);
    for (const dv of [2, 3, 4, 5]) expect(knownMessages.find(UL_CAPABILITY, 101, dv)?.version).toBe(dv);
  });

  it("pins decoded values of the main scenario (ul_add, REGISTER, ul_rm)", () => {
    const aorIns = UrecordInsert.decode(BinPacket.parse(byFile("main", "021").bytes));
    expect(aorIns).toEqual({ domain: "location", aor: "alice", label: 0, nextClabel: 4098, kv: "" });

    const ins = UcontactInsert.decode(BinPacket.parse(byFile("main", "022").bytes));
    expect(ins).toMatchObject({
      aor: "alice", contact: "sip:alice@127.0.0.1:5090", callid: "dfjrewr12386fd6-343@opensips.mi",
      userAgent: "OpenSIPS MI Server", path: "", attr: "", received: "", instance: "", socket: "",
      expires: 1795366687, q: 500, cseq: 1, flags: 0, cflags: "", methods: 32767, lastModified: 0, kv: "",
      match: { mode: 1, params: [] },
    });
    // Contact id: clabel = the AoR's next_clabel, rlabel = its label, top bits = core_hash("alice").
    expect(ins.contactId).toBe(0x3df7400000001002n);
    expect(unpackContactId(ins.contactId)).toEqual({ clabel: 4098, rlabel: 0, aorhash16: coreHash("alice") & 0xffff });

    const upd = UcontactUpdate.decode(BinPacket.parse(byFile("main", "023").bytes));
    expect(upd).toMatchObject({ contact: "sip:alice@127.0.0.1:5090", expires: 1795370288, q: 800, cseq: 1, contactId: 0x3df7400000001002n });

    const bob = UcontactInsert.decode(BinPacket.parse(byFile("main", "026").bytes));
    expect(bob).toMatchObject({
      aor: "bob", contact: "sip:bob@127.0.0.1:5091", callid: "reg-bob-1@peer", userAgent: "peer-vector-ua/1.0",
      socket: "udp:sipnet", q: -1, cseq: 1, methods: -1, expires: 1795363390, lastModified: 1795363090,
      match: { mode: -1, params: [] },
    });
    expect(unpackContactId(bob.contactId)).toEqual({ clabel: 880, rlabel: 0, aorhash16: coreHash("bob") & 0xffff });
    const bobUpd = UcontactUpdate.decode(BinPacket.parse(byFile("main", "027").bytes));
    expect(bobUpd).toMatchObject({ cseq: 2, expires: 1795363691, lastModified: 1795363091, contactId: bob.contactId });
    // The delete carries the CSeq stored with the contact (2), not the de-REGISTER's (3).
    expect(UcontactDelete.decode(BinPacket.parse(byFile("main", "028").bytes))).toEqual({
      domain: "location", aor: "bob", contact: "sip:bob@127.0.0.1:5091", callid: "reg-bob-1@peer", cseq: 2, match: { mode: -1, params: [] },
    });
    expect(UrecordDelete.decode(BinPacket.parse(byFile("main", "029").bytes))).toEqual({ domain: "location", aor: "bob" });
    expect(UcontactDelete.decode(BinPacket.parse(byFile("main", "033").bytes)).match.mode).toBe(1);
  });

  it("decodes older versions through the same declarations (v2 without match block, v3 int cflags, v4 without AoR kv)", () => {
    const v5 = UcontactInsert.decode(BinPacket.parse(byFile("main", "022").bytes));
    for (const version of [2, 3, 4]) {
      const p = UcontactInsert.encode({ ...v5, cflagsBits: 6 }, version);
      const back = UcontactInsert.decode(BinPacket.parse(Buffer.from(p.bytes())));
      expect(back.contactId).toBe(v5.contactId);
      expect(back.cflagsBits).toBe(version <= 3 ? 6 : 0);
      expect(back.match).toEqual(version === 2 ? { mode: 1, params: [] } : v5.match);
      const a = UrecordInsert.encode({ domain: "location", aor: "x", label: 1, nextClabel: 2, kv: '{"a":1}' }, version);
      expect(UrecordInsert.decode(BinPacket.parse(Buffer.from(a.bytes()))).kv).toBe("");
    }
    // A v2 contact insert is 2+4 bytes shorter than v3 (no match int), v3 has an int cflags.
    expect(UcontactInsert.encode(v5, 2).length).toBe(UcontactInsert.encode(v5, 3).length - 4);
  });
});

describe("usrloc vectors: sync data inside clusterer SYNC packets", () => {
  it.each(syncPackets.map((v) => [`${v.set}/${v.file}`, v] as const))("%s: chunks decode and re-encode byte for byte", (_n, v) => {
    const { dataVersion, chunks, reencoded, raw } = syncChunks(v);
    expect(dataVersion).toBe(5);
    for (let i = 0; i < raw.length; i++) expect(Buffer.compare(reencoded[i]!, Buffer.from(raw[i]!))).toBe(0);
    // Each AoR chunk is followed by its contact chunks; contacts carry match mode 1.
    let aor = "";
    for (const c of chunks) {
      if (c.kind === "aor") aor = c.record.aor;
      else {
        expect(c.record.aor).toBe(aor);
        expect(c.record.match).toEqual({ mode: 1, params: [] });
        expect(unpackContactId(c.record.contactId).aorhash16).toBe(coreHash(c.record.aor) & 0xffff);
      }
    }
    // The capture tool's strings are the decoded texts.
    const texts = new Set(chunks.flatMap((c) => Object.values(c.record).filter((x): x is string => typeof x === "string")));
    for (const s of v.strings.filter((s) => s !== UL_CAPABILITY)) expect(texts.has(s)).toBe(true);
  });

  it("main/061 carries the 5 AoRs of node 1 (erin added while node 2 was down) slot by slot", () => {
    const { chunks } = syncChunks(byFile("main", "061"));
    expect(chunks.map((c) => `${c.kind}:${c.record.aor}`)).toEqual([
      "aor:dave2", "contact:dave2", "aor:dave3", "contact:dave3", "aor:dave1", "contact:dave1",
      "aor:erin", "contact:erin", "aor:alice", "contact:alice",
    ]);
    const slots = chunks.filter((c) => c.kind === "aor").map((c) => coreHash(c.record.aor) & 511);
    expect([...slots].sort((a, b) => a - b)).toEqual(slots);
    const alice = chunks.find((c) => c.kind === "contact" && c.record.aor === "alice")!;
    expect(alice.kind === "contact" && alice.record).toMatchObject({
      contact: "sip:alice@127.0.0.1:5090", q: 800, expires: 1795370288, cseq: 1, lastModified: 0,
    });
    const erinAor = chunks.find((c) => c.kind === "aor" && c.record.aor === "erin")!;
    expect(erinAor.record).toEqual({ domain: "location", aor: "erin", label: 0, nextClabel: 16356, kv: "" });
  });

  it("main/076 (node 2 as donor) holds what node 2 rebuilt from 061: same data, its own contact labels", () => {
    const a = syncChunks(byFile("main", "061")).chunks;
    const b = syncChunks(byFile("main", "076")).chunks;
    expect(b.map((c) => c.record.aor)).toEqual(a.map((c) => c.record.aor));
    // Receive rule (§4): a received clabel below the AoR's next_clabel is replaced by next_clabel,
    // which then moves on by one.
    let next = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x.kind === "aor") next = x.record.nextClabel;
      if (x.kind === "contact" && y.kind === "contact") {
        const { contactId: ia, ...ra } = x.record;
        const { contactId: ib, ...rb } = y.record;
        expect(rb).toEqual(ra);
        const cl = unpackContactId(ia).clabel;
        const used = cl >= next ? cl : next;
        expect(unpackContactId(ib).clabel).toBe(used);
        next = used + 1;
        const aorY = b[i - 1]!;
        expect(aorY.kind === "aor" && aorY.record.nextClabel).toBe(next);
      }
    }
  });

  it("SYNC_REQ / SYNC_END for usrloc name the capability; SYNC_END totals match the chunks sent", () => {
    expect(syncReqs.length).toBeGreaterThan(0);
    for (const v of syncReqs) expect(SyncReq.decode(BinPacket.parse(v.bytes)).capability).toBe(UL_CAPABILITY);
    const totals = Object.fromEntries(syncEnds.map((v) => [`${v.set}/${v.file.slice(0, 3)}`, SyncEnd.decode(BinPacket.parse(v.bytes)).total_chunks]));
    expect(totals["main/064"]).toBe(10);
    expect(totals["main/077"]).toBe(10);
    expect(totals["more/119"]).toBe(4);
    expect(totals["main/017"]).toBe(0);
    expect(totals["idle/015"]).toBe(0);
  });
});
