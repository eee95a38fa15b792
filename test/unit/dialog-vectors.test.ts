/**
 * Golden tests: every dialog and dialog-profile packet captured from real OpenSIPS 3.6.8
 * nodes (sets main, idle, more) decodes with the declarations of modules/dialog/messages.ts
 * and re-encodes to the identical bytes; decoded values are pinned; the h_entry of every
 * captured Call-ID equals core_hash(callid) & (hash_size - 1), checked against the `did`
 * that OpenSIPS itself put in the Record-Route of the same calls (pcap/sip.pcap).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { discoverMessages } from "../../core/loader/messages.ts";
import { VECTOR_SETS, findVector, loadVectorSet, vectorSetDir, type VectorEntry, type VectorSetName } from "../../core/bin/vectors.ts";
import { coreHash } from "../../core/hash.ts";
import { formatDid, parseDid } from "../../modules/dialog/did.ts";
import {
  DLG_REPL_CAP, DlgCreated, DlgCseq, DlgDeleted, DlgProfile, DlgSyncChunk, DlgUpdated, DlgValue, PROF_REPL_CAP,
} from "../../modules/dialog/messages.ts";
import { popDlgRecord } from "../../modules/dialog/messages.ts";
import { parseProfiles, parseValues, serializeProfiles, serializeValues } from "../../modules/dialog/vals.ts";

/** Every declared message, found through the loader as bin-dump finds them. */
const knownMessages = (await discoverMessages()).registry;

const SYNC_MARKER = 101010101;

/** Pops the 12-byte clusterer trailer (cluster, src, dst) the module never sees. */
function popTrailer(p: BinPacket): [number, number, number] {
  const dst = p.popBackInt();
  const src = p.popBackInt();
  const cluster = p.popBackInt();
  return [cluster, src, dst];
}

function withTrailer(p: BinPacket, t: [number, number, number]): Buffer {
  p.pushInt(t[0]).pushInt(t[1]).pushInt(t[2]);
  return Buffer.from(p.bytes());
}

function moduleVectors(set: VectorSetName): VectorEntry[] {
  return loadVectorSet(set).filter((v) => v.capability === DLG_REPL_CAP || v.capability === PROF_REPL_CAP);
}

function syncVectors(set: VectorSetName, type: number): VectorEntry[] {
  return loadVectorSet(set).filter((v) => v.capability === "clusterer-extra" && v.packet_type === type && v.sync_capability === DLG_REPL_CAP);
}

/** Decodes one captured module packet with the registry and re-encodes it. */
function roundTrip(v: VectorEntry): { values: Record<string, unknown>; again: Buffer } {
  const p = BinPacket.parse(v.bytes);
  const trailer = popTrailer(p);
  const msg = knownMessages.find(p.capability, p.type, p.version);
  if (!msg) throw new Error(`no declaration for ${p.capability} type ${p.type}`);
  const values = (msg.capability === PROF_REPL_CAP ? msg.popFields(p, p.version) : msg.decode(p)) as Record<string, unknown>;
  expect(p.atEnd(), `${v.file}: every body byte consumed`).toBe(true);
  const again = withTrailer(msg.encode(values as never, p.version), trailer);
  return { values, again };
}

describe("dialog golden vectors", () => {
  for (const set of VECTOR_SETS) {
    describe(`set ${set}`, () => {
      const mods = moduleVectors(set);
      if (set === "idle") {
        it("has no dialog module packets (profile replication off, no calls) but syncs the dialog capability", () => {
          expect(mods).toEqual([]);
          const reqs = syncVectors(set, 10);
          const ends = syncVectors(set, 12);
          expect(reqs.length).toBe(2);
          expect(ends.length).toBe(2);
          for (const v of [...reqs, ...ends]) {
            const p = BinPacket.parse(v.bytes);
            expect(p.popStr()).toBe(DLG_REPL_CAP);
            if (v.packet_type === 12) expect(p.popInt()).toBe(0); // nothing to sync
          }
        });
        return;
      }
      it(`decodes and re-encodes every dialog/profile packet byte for byte (${mods.length})`, () => {
        expect(mods.length).toBe(set === "main" ? 15 : 28);
        for (const v of mods) {
          const { again } = roundTrip(v);
          expect(again.toString("hex"), v.file).toBe(v.bytes.toString("hex"));
        }
      });
      it("decodes every dialog sync chunk and re-encodes the SYNC packet byte for byte", () => {
        for (const v of syncVectors(set, 11)) {
          const p = BinPacket.parse(v.bytes);
          const trailer = popTrailer(p);
          const cap = p.popStr();
          const dataVersion = p.popInt();
          const out = BinPacket.init(p.capability, p.type, p.version).pushStr(cap).pushInt(dataVersion);
          let chunks = 0;
          while (!p.atEnd()) {
            const len = p.popInt();
            expect(p.popInt()).toBe(SYNC_MARKER);
            const start = p.position;
            const rec = DlgSyncChunk.popFields(p, dataVersion);
            expect(p.position - start).toBe(len);
            out.pushInt(len).pushInt(SYNC_MARKER);
            DlgSyncChunk.pushFields(out, rec, dataVersion);
            chunks++;
          }
          expect(chunks).toBeGreaterThan(0);
          expect(withTrailer(out, trailer).toString("hex"), v.file).toBe(v.bytes.toString("hex"));
        }
      });
    });
  }

  it("pins decoded CREATED / UPDATED records (main 035, 036)", () => {
    const c = DlgCreated.decode(parseNoTrailer(findVector("main", "035-dialog-dlg-created-n1-to-n2.hex")));
    expect(c).toMatchObject({
      callid: "1-25469@127.0.0.1", callerTag: "25469SIPpTag001", calleeTag: "25269SIPpTag011",
      fromUri: "sip:sipp@127.0.0.1:5080", toUri: "sip:bob@127.0.0.1:5061", hId: 1800017772, startTs: 1795363096, state: 3,
      callerSocket: "udp:sipnet", calleeSocket: "udp:sipnet", callerCseq: "0", calleeCseq: "1",
      callerContact: "sip:sipp@127.0.0.1:5080", calleeContact: "sip:127.0.0.1:5070;transport=UDP",
      callerOutSdp: "", calleeOutSdp: "", vars: "", profiles: "caller/b#1#sipp|calls/b#1#|",
      userFlags: 0, modFlags: 0, flags: 0x6010, expiresAt: 1795363096 + 43200, callerLastGenCseq: 0, calleeLastGenCseq: 0,
    });
    expect(c.callerInSdp).toMatch(/^v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n.*m=audio 6004 RTP\/AVP 0/s);
    expect(c.calleeInSdp).toMatch(/m=audio 6000 RTP\/AVP 0/);
    const u = DlgUpdated.decode(parseNoTrailer(findVector("main", "036-dialog-dlg-updated-n1-to-n2.hex")));
    expect(u).toMatchObject({ callid: "1-25469@127.0.0.1", hId: 1800017772, state: 4 });
    expect(parseProfiles(c.profiles)).toEqual([{ name: "caller/b", value: "sipp" }, { name: "calls/b", value: "" }]);
  });

  it("pins the tagged call of vectors/more: CREATED values, VALUE, CSEQ and DELETED packets", () => {
    const c = DlgCreated.decode(parseNoTrailer(findVector("more", "071-dialog-dlg-created-n1-to-n2.hex")));
    expect(c).toMatchObject({ callid: "shtag-call-1@127.0.0.1", callerTag: "fta793576f", calleeTag: "uasg-call-1", hId: 988971999, state: 3,
      fromUri: "sip:alice@127.0.0.1:5080", toUri: "sip:bob@127.0.0.1:5061" });
    expect(parseValues(c.vars)).toEqual([["dlgX_shtag", "vip"], ["plan", "gold"]]);
    const u = DlgUpdated.decode(parseNoTrailer(findVector("more", "085-dialog-dlg-updated-n1-to-n2.hex")));
    expect(parseValues(u.vars)).toEqual([["note", "pushed-by-mi"], ["info_count", 1], ["last_info", "1"], ["dlgX_shtag", "vip"], ["plan", "gold"]]);
    const val = (f: string) => DlgValue.decode(parseNoTrailer(findVector("more", f)));
    expect(val("073-dialog-dlg-value-n1-to-n2.hex")).toEqual({ callid: "shtag-call-1@127.0.0.1", hId: 988971999, name: "dlgX_shtag", value: { type: 1, value: "vip" } });
    expect(val("081-dialog-dlg-value-n1-to-n2.hex").value).toEqual({ type: 2, value: 1 });
    expect(val("093-dialog-dlg-value-n1-to-n2.hex").value).toEqual({ type: 2, value: 2 });
    expect(val("095-dialog-dlg-value-n1-to-n2.hex")).toMatchObject({ name: "plan", value: { type: 0 } });
    const cs = DlgCseq.decode(parseNoTrailer(findVector("more", "087-dialog-dlg-cseq-n1-to-n2.hex")));
    expect(cs).toEqual({ callid: "shtag-call-1@127.0.0.1", fromTag: "fta793576f", toTag: "uasg-call-1", hId: 988971999, cseq: 3 });
    expect(DlgCseq.decode(parseNoTrailer(findVector("more", "089-dialog-dlg-cseq-n1-to-n2.hex"))).cseq).toBe(4);
    const d = DlgDeleted.decode(parseNoTrailer(findVector("more", "100-dialog-dlg-deleted-n2-to-n1.hex")));
    expect(d).toEqual({ callid: "shtag-call-1@127.0.0.1", callerTag: "fta793576f", calleeTag: "uasg-call-1", hId: 988971999 });
  });

  it("pins profile broadcasts (main 006, 038, 040)", () => {
    const recs = (f: string) => DlgProfile.popFields(parseNoTrailer(findVector("main", f)), 4).records;
    expect(recs("006-dlgprof-dlg-profile-n1-to-n2.hex")).toEqual([{ name: "calls", value: undefined, count: 0 }]);
    expect(recs("038-dlgprof-dlg-profile-n1-to-n2.hex")).toEqual([
      { name: "calls", value: undefined, count: 1 }, { name: "caller", value: "sipp", count: 1 }]);
    expect(recs("040-dlgprof-dlg-profile-n1-to-n2.hex")).toEqual([
      { name: "calls", value: undefined, count: 0 }, { name: "caller", value: "sipp", count: 0 }]);
  });

  it("decodes a V3 DELETED / CSEQ without h_id (the only layout difference of V3)", () => {
    const pkt = DlgDeleted.encode({ callid: "a@b", callerTag: "f", calleeTag: "t", hId: 77 }, 3);
    expect(pkt.version).toBe(3);
    const back = DlgDeleted.decode(BinPacket.parse(pkt.bytes()));
    expect(back).toEqual({ callid: "a@b", callerTag: "f", calleeTag: "t", hId: 0 });
    expect(() => DlgValue.decode(BinPacket.parse(DlgValue.encode({ callid: "a", hId: 1, name: "n", value: { type: 0 } }, 3).bytes())))
      .toThrow(/version 3 not accepted/);
  });

  describe("dialog identity: core_hash and the did OpenSIPS wrote in Record-Route", () => {
    const dids = new Map<string, string>([...sipDids("main"), ...sipDids("more")]);

    it("found the dids of the 4 captured calls", () => {
      expect([...dids.keys()].sort()).toEqual(["1-25469@127.0.0.1", "1-25520@127.0.0.1", "1-25523@127.0.0.1", "shtag-call-1@127.0.0.1"]);
    });

    it("h_entry = core_hash(callid) & 4095 and h_id as carried by the vectors", () => {
      // The record carries callid + h_id; h_entry is never sent, each node computes it.
      const records = [
        ...["035-dialog-dlg-created-n1-to-n2.hex", "042-dialog-dlg-created-n2-to-n1.hex", "053-dialog-dlg-created-n1-to-n2.hex"]
          .map((f) => DlgCreated.decode(parseNoTrailer(findVector("main", f)))),
        DlgCreated.decode(parseNoTrailer(findVector("more", "071-dialog-dlg-created-n1-to-n2.hex"))),
      ];
      for (const r of records) {
        const did = dids.get(r.callid);
        expect(did, r.callid).toBeDefined();
        expect(formatDid(coreHash(r.callid, 4096), r.hId)).toBe(did);
      }
      // Pinned values (spec §2 example: 1-25520@127.0.0.1 → 0xf30 → "03f").
      expect(coreHash("1-25469@127.0.0.1", 4096)).toBe(963);
      expect(coreHash("1-25520@127.0.0.1", 4096)).toBe(3888);
      expect(coreHash("1-25523@127.0.0.1", 4096)).toBe(3600);
      expect(coreHash("shtag-call-1@127.0.0.1", 4096)).toBe(769);
      expect(parseDid("03f.5715ff82")).toEqual({ hEntry: 0xf30, hId: 687821173 });
    });

    it("matches the C algorithm on non-ASCII bytes (signed chars) and short tails", () => {
      // Reference values computed with the algorithm of spec §2.1 on signed chars.
      expect(coreHash("", 0)).toBe(0);
      expect(coreHash("a", 0)).toBe(reference(Buffer.from("a")));
      expect(coreHash("abcdé€xyz", 0)).toBe(reference(Buffer.from("abcdé€xyz")));
      expect(coreHash(Buffer.from([0xff, 0x80, 0x7f, 0x00, 0xc3]), 0)).toBe(reference(Buffer.from([0xff, 0x80, 0x7f, 0x00, 0xc3])));
      expect(coreHash("abcdé€xyz", 4096)).toBe(reference(Buffer.from("abcdé€xyz")) & 4095);
    });
  });
});

function parseNoTrailer(v: VectorEntry): BinPacket {
  const p = BinPacket.parse(v.bytes);
  popTrailer(p);
  return p;
}

/** (Call-ID, did) pairs from the SIP capture of a set (Record-Route `did=` written by OpenSIPS). */
function sipDids(set: VectorSetName): Map<string, string> {
  const b = readFileSync(join(vectorSetDir(set), "pcap", "sip.pcap"));
  const out = new Map<string, string>();
  let p = 24;
  while (p + 16 <= b.length) {
    const caplen = b.readUInt32LE(p + 8);
    const frame = b.subarray(p + 16, p + 16 + caplen).toString("latin1");
    p += 16 + caplen;
    const ci = /\r\nCall-ID: ([^\r]+)/i.exec(frame);
    const did = /did=([0-9a-f]+\.[0-9a-f]+)/.exec(frame);
    if (ci && did) out.set(ci[1]!, did[1]!);
  }
  return out;
}

/** An independent BigInt transcription of spec §2.1, to cross-check the fast version. */
function reference(bytes: Buffer): number {
  const M = 0xffffffffn;
  const sb = (x: number) => BigInt(x > 127 ? x - 256 : x);
  let h = 0n;
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4) {
    const v = ((sb(bytes[i]!) << 24n) + (sb(bytes[i + 1]!) << 16n) + (sb(bytes[i + 2]!) << 8n) + sb(bytes[i + 3]!)) & M;
    h = (h + (v ^ (v >> 3n))) & M;
  }
  let v = 0n;
  for (; i < bytes.length; i++) v = ((v << 8n) + sb(bytes[i]!)) & M;
  h = (h + (v ^ (v >> 3n))) & M;
  h = (h + (h >> 11n) + ((h >> 13n) + (h >> 23n))) & M;
  return Number(h);
}

// Serialisers are exercised against the captured strings too.
describe("value/profile text of the vectors", () => {
  it("re-serialises field 25 and 26 of every captured record identically", () => {
    for (const set of ["main", "more"] as const) {
      for (const v of moduleVectors(set).filter((x) => x.capability === DLG_REPL_CAP && (x.packet_type === 1 || x.packet_type === 2))) {
        const r = DlgCreated.popFields(parseNoTrailer(v), 4);
        // parse gives string order (newest first); a Map built oldest-first re-serialises it.
        const m = new Map(parseValues(r.vars).reverse());
        expect(serializeValues(m), v.file).toBe(r.vars);
        expect(serializeProfiles(parseProfiles(r.profiles)), v.file).toBe(r.profiles);
      }
    }
  });
});

describe("the record decoder", () => {
  it("gives the declaration's fields in order for every captured record", () => {
    for (const set of ["main", "more"] as const) {
      for (const v of moduleVectors(set).filter((x) => x.capability === DLG_REPL_CAP && (x.packet_type === 1 || x.packet_type === 2))) {
        const a = parseNoTrailer(v);
        const b = parseNoTrailer(v);
        const fast = popDlgRecord(a);
        expect(fast, v.file).toEqual(DlgCreated.popFields(b, 4));
        expect(Object.keys(fast)).toEqual(DlgCreated.fields.map((f) => f.name));
        expect(a.position).toBe(b.position);
      }
    }
  });
});
