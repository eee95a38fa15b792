/**
 * usrloc building blocks: core_hash and contact-id packing, kv store JSON, URI matching,
 * q rendering, branch flag names, contact ordering, the module API and its callbacks.
 */
import { coreHash } from "../../core/hash.ts";
import { describe, expect, it } from "vitest";
import { BranchFlags } from "../../modules/usrloc/flags.ts";
import {
  idDecimal, idFromHalves, idHalves, packContactId, packIdHi, packIdLo, unpackContactId,
} from "../../modules/usrloc/contact-id.ts";
import { kvCanonical, kvParse, kvPut, kvSerialize } from "../../modules/usrloc/kv.ts";
import { q2str, str2q } from "../../modules/usrloc/mi.ts";
import { UsrlocService } from "../../modules/usrloc/service.ts";
import { SocketTable } from "../../modules/usrloc/sockets.ts";
import { LocationStore, type ReplicationSink } from "../../modules/usrloc/store.ts";
import { urisMatch } from "../../modules/usrloc/uri.ts";
import type { UlChange } from "../../modules/usrloc/api.ts";

let clock = 1_000_000;
function makeStore(over: Partial<ConstructorParameters<typeof LocationStore>[0]> = {}) {
  const store = new LocationStore({
    hashSlots: 512, useDomain: false, descTimeOrder: false, matchingMode: 0, cseqDelay: 20,
    now: () => clock, rand: () => 1234, flags: new BranchFlags(), sockets: new SocketTable([]), ...over,
  });
  store.registerDomain("location");
  const svc = new UsrlocService(store, { useDomain: false, miDumpKvStore: false, clusterId: 0, pinging: "cooperation", clusterer: undefined });
  return { store, svc };
}

describe("core_hash and contact ids", () => {
  it("matches the aorhash bits OpenSIPS put in captured contact ids", () => {
    // From vectors 022/026/032/048 (top 16 bits of the contact id).
    expect(coreHash("alice") & 0xffff).toBe(0xf7dd);
    expect(coreHash("bob") & 0xffff).toBe(Number(0x0cf0c00000000370n >> 46n));
    expect(coreHash("carol") & 0xffff).toBe(46966);
    expect(coreHash("dave1") & 0xffff).toBe(48838);
  });

  it("hashes bytes as signed chars (non-ASCII AoRs)", () => {
    expect(coreHash("é")).toBe(coreHash(Buffer.from("é")));
    // Signed-char semantics differ from unsigned for bytes >= 0x80.
    const b = Buffer.from([0xc3, 0xa9, 0x41, 0x42, 0x43]);
    expect(coreHash(b)).toBe(coreHash("éABC"));
    expect(coreHash("")).toBe(0);
    expect(coreHash("abcd")).not.toBe(coreHash("abce"));
  });

  it("packs contact ids as clabel | rlabel<<14 | aorhash16<<46", () => {
    const id = packContactId(0xabcd1234, 0xfedcba98, 0x3fff);
    expect(id).toBe(0x3fffn + (0xfedcba98n << 14n) + (0x1234n << 46n));
    expect(unpackContactId(id)).toEqual({ clabel: 0x3fff, rlabel: 0xfedcba98, aorhash16: 0x1234 });
    expect(idFromHalves(packIdHi(0xabcd1234, 0xfedcba98), packIdLo(0xfedcba98, 0x3fff))).toBe(id);
    expect(idHalves(id)).toEqual([packIdHi(0xabcd1234, 0xfedcba98), packIdLo(0xfedcba98, 0x3fff)]);
    expect(idDecimal(...idHalves(id))).toBe(id.toString());
    expect(idDecimal(0, 5)).toBe("5");
    expect(packContactId(0, 0, 0x4000)).toBe(0n);
  });
});

describe("kv store", () => {
  it("serializes compact JSON with keys in map (byte) order, ints and strings", () => {
    expect(kvSerialize({})).toBe("");
    expect(kvSerialize({ b: 1, a: "x", _st: "vip", ab: -3 })).toBe('{"_st":"vip","a":"x","ab":-3,"b":1}');
    expect(kvSerialize({ q: 'he said "hi"\n\u0001/é' })).toBe('{"q":"he said \\"hi\\"\\n\\u0001/é"}');
    expect(kvSerialize({ n: 2.9 })).toBe('{"n":2}');
  });

  it("parses one object from the start; non-objects are rejected", () => {
    expect(kvParse('{"a":1,"b":"x","c":true,"d":null}')).toEqual({ a: 1, b: "x" });
    expect(kvParse('{"a":1}trailing')).toEqual({ a: 1 });
    expect(kvParse("")).toBeUndefined();
    expect(kvParse("[1]")).toBeUndefined();
    expect(kvParse("not json")).toBeUndefined();
    expect(kvCanonical('{ "b" : 1, "a" : 2 }')).toBe('{"a":2,"b":1}');
    expect(kvPut('{"a":1}', "a", undefined)).toBe("");
    expect(kvPut("", "z", "y")).toBe('{"z":"y"}');
  });
});

describe("URI matching (contact matching)", () => {
  it("follows RFC 3261 comparison", () => {
    expect(urisMatch("sip:a@h", "sip:a@h")).toBe(true);
    expect(urisMatch("sip:a@H.example", "SIP:a@h.EXAMPLE")).toBe(true);
    expect(urisMatch("sip:A@h", "sip:a@h")).toBe(false);
    expect(urisMatch("sip:a@h", "sip:a@h:5060")).toBe(false);
    expect(urisMatch("sip:a@h;transport=udp", "sip:a@h")).toBe(false);
    expect(urisMatch("sip:a@h;transport=UDP", "sip:a@h;transport=udp")).toBe(true);
    expect(urisMatch("sip:a@h;foo=1", "sip:a@h")).toBe(true);
    expect(urisMatch("sip:a@h;foo=1", "sip:a@h;foo=2")).toBe(false);
    expect(urisMatch("sip:a@[::1]:5060", "sip:a@[::1]:5060;ob")).toBe(true);
    expect(urisMatch("sips:a@h", "sip:a@h")).toBe(false);
    expect(urisMatch("garbage", "sip:a@h")).toBe(false);
  });
});

describe("q values", () => {
  it("q2str / str2q as OpenSIPS", () => {
    expect([-1, 0, 1000, 1200, 500, 250, 125, 800, 5].map(q2str)).toEqual(["", "0", "1", "1", "0.5", "0.25", "0.125", "0.8", "0.005"]);
    expect(["0", "1", "0.5", "0.25", " 0.125 ", "1.0", "1.000", "0.05"].map(str2q)).toEqual([0, 1000, 500, 250, 125, 1000, 1000, 50]);
    for (const bad of ["", "2", "0.1234", "1.5", "abc", "-1", "."]) expect(str2q(bad), bad).toBeUndefined();
  });
});

describe("branch flag names", () => {
  it("maps names to bits in declaration order; unknown names dropped", () => {
    const f = new BranchFlags();
    expect(f.declare("NAT")).toBe(0);
    expect(f.declare("PUSH")).toBe(1);
    expect(f.declare("NAT")).toBe(0);
    expect(f.toNames(0b11)).toBe("NAT PUSH");
    expect(f.toNames(0b100)).toBe("");
    expect(f.toMask("PUSH NAT OTHER")).toBe(0b11);
    expect(f.toMask("")).toBe(0);
  });
});

describe("store and API", () => {
  it("orders contacts by q (equal q: older first), or newest first with desc_time_order", () => {
    const { svc } = makeStore();
    const ins = (u: string, q: number) => svc.insert("location", "a", u, { expires: 0, callid: u, cseq: 1, q });
    ins("sip:1@h", 500);
    ins("sip:2@h", 1000);
    ins("sip:3@h", 500);
    ins("sip:4@h", -1);
    expect(svc.get("location", "a")!.contactList().map((c) => c.uri)).toEqual(["sip:2@h", "sip:1@h", "sip:3@h", "sip:4@h"]);
    const c4 = svc.get("location", "a")!.contactList()[3]!;
    svc.update("location", "a", c4, { q: 700 });
    expect(svc.get("location", "a")!.contactList().map((c) => c.uri)).toEqual(["sip:2@h", "sip:4@h", "sip:1@h", "sip:3@h"]);
    const { svc: t } = makeStore({ descTimeOrder: true });
    for (const [u, q] of [["sip:x@h", 1000], ["sip:y@h", 0]] as const) t.insert("location", "a", u, { expires: 0, callid: u, cseq: 1, q });
    expect(t.get("location", "a")!.contactList().map((c) => c.uri)).toEqual(["sip:y@h", "sip:x@h"]);
  });

  it("allocates contact ids from the AoR's label and next_clabel; AoR labels per slot", () => {
    const { svc, store } = makeStore();
    const c1 = svc.insert("location", "alice", "sip:1@h", { expires: 0, callid: "x", cseq: 1 });
    const c2 = svc.insert("location", "alice", "sip:2@h", { expires: 0, callid: "x", cseq: 1 });
    expect(unpackContactId(c1.contactId)).toEqual({ clabel: 1234, rlabel: 0, aorhash16: coreHash("alice") & 0xffff });
    expect(unpackContactId(c2.contactId).clabel).toBe(1235);
    // A second AoR in the same slot gets the next label.
    const d = store.domain("location")!;
    const slot = coreHash("alice") & 511;
    let other = "";
    for (let i = 0; !other; i++) if ((coreHash(`u${i}`) & 511) === slot) other = `u${i}`;
    svc.insert("location", other, "sip:o@h", { expires: 0, callid: "y", cseq: 1 });
    expect(svc.get("location", other)!.label).toBe(1);
    expect(d.nextLabel[slot]).toBe(2);
    // Slot records come out in byte order of the AoR.
    expect(d.slotRecords(slot).map((r) => r.aor)).toEqual([other, "alice"].sort());
  });

  it("save(): inserts, updates newer, ignores older/same; match modes", () => {
    const { svc } = makeStore();
    const info = { expires: clock + 60, callid: "cid", cseq: 5 };
    expect(svc.save("location", "a", "sip:a@h", info).result).toBe("inserted");
    expect(svc.save("location", "a", "sip:a@h", { ...info, cseq: 4 }).result).toBe("ignored");
    expect(svc.save("location", "a", "sip:a@h", info).result).toBe("ignored"); // same CSeq, last change just now
    expect(svc.match("location", "a", "sip:a@h", "cid", 5).status).toBe("same");
    clock += 30;
    expect(svc.match("location", "a", "sip:a@h", "cid", 5).status).toBe("older");
    expect(svc.save("location", "a", "sip:a@h", { ...info, cseq: 6, expires: clock + 90 }).result).toBe("updated");
    // Different Call-ID: contact-only mode updates without a CSeq check; contact+callid mode inserts.
    expect(svc.save("location", "a", "sip:a@h", { ...info, callid: "other", cseq: 1 }).result).toBe("updated");
    expect(svc.save("location", "a", "sip:a@h", { ...info, callid: "third", cseq: 1 }, { mode: 1, params: [] }).result).toBe("inserted");
    expect(svc.lookup("location", "a").length).toBe(2);
    // Mode 2: URI parameters.
    svc.insert("location", "p", "sip:p@1.1.1.1;ob;pn-tok=A", { expires: 0, callid: "p1", cseq: 1 });
    expect(svc.match("location", "p", "sip:p@9.9.9.9;pn-tok=A", "zz", 9, { mode: 2, params: ["pn-tok"] }).status).toBe("found");
    expect(svc.match("location", "p", "sip:p@9.9.9.9;pn-tok=B", "zz", 9, { mode: 2, params: ["pn-tok"] }).status).toBe("not-found");
  });

  it("onChange: every change with its origin; undo stops the callbacks; delete releases the AoR", () => {
    const { svc, store } = makeStore();
    const seen: string[] = [];
    const undo = svc.onChange((e: UlChange) => seen.push(`${e.type}:${e.aor}:${e.contact?.uri ?? "-"}:${e.origin}`));
    const c = svc.insert("location", "a", "sip:a@h", { expires: clock + 10, callid: "x", cseq: 1 });
    svc.update("location", "a", c, { cseq: 2 });
    svc.insert("location", "a", "sip:b@h", { expires: clock + 100, callid: "y", cseq: 1 });
    clock += 11;
    store.expire();
    expect(svc.delete("location", "a", svc.lookup("location", "a")[0]!)).toBe(true);
    expect(svc.get("location", "a")).toBeUndefined();
    undo();
    svc.insert("location", "z", "sip:z@h", { expires: 0, callid: "x", cseq: 1 });
    expect(seen).toEqual([
      "aor-insert:a:-:local", "contact-insert:a:sip:a@h:local", "contact-update:a:sip:a@h:local",
      "contact-insert:a:sip:b@h:local", "contact-expire:a:sip:a@h:timer", "contact-delete:a:sip:b@h:local", "aor-delete:a:-:local",
    ]);
  });

  it("local changes go to the replication sink; the socket must be local", () => {
    const calls: string[] = [];
    const sink: ReplicationSink = {
      aorInsert: (_d, r) => calls.push(`aorIns ${r.aor}`), aorDelete: (_d, r) => calls.push(`aorDel ${r.aor}`),
      contactInsert: (_d, _r, c, m) => calls.push(`ctIns ${c.uri} ${m.mode}`), contactUpdate: (_d, _r, c, m) => calls.push(`ctUpd ${c.uri} ${m.mode}`),
      contactDelete: (_d, _r, c, m) => calls.push(`ctDel ${c.uri} ${m.mode}`),
    };
    const { svc, store } = makeStore({ sockets: new SocketTable([{ proto: "udp", host: "127.0.0.1", port: 5061, tag: "pub", raw: "", loc: { file: "", line: 1, col: 1 } }]) });
    store.repl = sink;
    const c = svc.insert("location", "a", "sip:a@h", { expires: 0, callid: "x", cseq: 1, socket: "udp:127.0.0.1:5061" });
    expect(c.socket).toBe("udp:pub");
    expect(svc.insert("location", "a", "sip:b@h", { expires: 0, callid: "x", cseq: 1, socket: "udp:8.8.8.8:5060" }).socket).toBe("");
    svc.update("location", "a", c, { expires: 5 }, { mode: 1, params: [] });
    svc.deleteAor("location", "a");
    expect(calls).toEqual(["aorIns a", "ctIns sip:a@h -1", "ctIns sip:b@h -1", "ctUpd sip:a@h 1", "ctDel sip:a@h 1", "ctDel sip:b@h 1", "aorDel a", "aorDel a"]);
    expect(svc.count()).toEqual({ users: 0, contacts: 0 });
  });
});
