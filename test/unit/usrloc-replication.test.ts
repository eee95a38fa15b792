/**
 * usrloc replication through an in-memory clusterer (real BIN bytes between in-process
 * nodes): the captured OpenSIPS scenario is reproduced byte for byte, the receive semantics
 * of spec §4 hold, bad packets are dropped and counted, sync rebuilds a node.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { findVector } from "../../core/bin/vectors.ts";
import { coreHash } from "../../core/hash.ts";
import { packContactId, unpackContactId } from "../../modules/usrloc/contact-id.ts";
import {
  UL_CAPABILITY, UcontactDelete, UcontactInsert, UcontactUpdate, UrecordInsert, type UcontactInsertRec,
} from "../../modules/usrloc/messages.ts";
import { FL_MEM } from "../../modules/usrloc/store.ts";
import { FakeBus, ulNode, type UlNode } from "./usrloc-helpers.ts";

const T0 = 1795363087;
let nodes: UlNode[] = [];

function setNow(sec: number): void {
  vi.setSystemTime(sec * 1000 + 400);
}
/** Makes the next random next_clabel of a fresh AoR equal `clabel`. */
function nextRandClabel(clabel: number): void {
  vi.spyOn(Math, "random").mockReturnValueOnce((clabel + 0.5) / 0x7fffffff);
}

async function node(bus: FakeBus, id: number, params: Record<string, string | number | string[]> = {}): Promise<UlNode> {
  const n = await ulNode(bus, id, params);
  nodes.push(n);
  return n;
}

function usrlocSent(bus: FakeBus): Buffer[] {
  return bus.sent.filter((p) => BinPacket.parse(p.bytes).capability === UL_CAPABILITY).map((p) => p.bytes);
}

function hexOf(file: string): Buffer {
  return findVector("main", file).bytes;
}

const ulAdd = (n: UlNode, aor: string, contact: string, expires: number, q: string) =>
  n.mi("ul_add", { table_name: "location", aor, contact, expires, q, flags: 0, cflags: 0, methods: 32767 });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  setNow(T0);
});
afterEach(async () => {
  for (const n of nodes) await n.stop();
  nodes = [];
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("usrloc: the captured OpenSIPS scenario, reproduced", () => {
  it("node 1 sends exactly the captured packets for ul_add, REGISTER-like API calls, ul_rm_contact and ul_rm", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    const n2 = await node(bus, 2);
    const files: string[] = [];

    // ul_add alice (new AoR): AoR insert + contact insert.
    nextRandClabel(4098);
    setNow(T0);
    expect(await ulAdd(n1, "alice", "sip:alice@127.0.0.1:5090", 3600, "0.5")).toBe("OK");
    files.push("021-usrloc-urecord-insert-n1-to-n2.hex", "022-usrloc-ucontact-insert-n1-to-n2.hex");
    // ul_add again: contact update (keeps CSeq 1 and the contact id).
    setNow(T0 + 1);
    await ulAdd(n1, "alice", "sip:alice@127.0.0.1:5090", 7200, "0.8");
    files.push("023-usrloc-ucontact-update-n1-to-n2.hex");
    setNow(T0 + 2);
    await ulAdd(n1, "alice", "sip:alice@127.0.0.1:5093", 3600, "0.5");
    files.push("024-usrloc-ucontact-insert-n1-to-n2.hex");

    // What registrar's save() does for REGISTER bob (CSeq 1, expires 300), re-REGISTER (CSeq 2,
    // expires 600) and de-REGISTER: the API with the registrar's "no match mode" (-1).
    nextRandClabel(880);
    setNow(T0 + 3);
    const bob = n1.ul.insert("location", "bob", "sip:bob@127.0.0.1:5091", {
      expires: n1.ul.now() + 300, callid: "reg-bob-1@peer", cseq: 1, userAgent: "peer-vector-ua/1.0", socket: "udp:sipnet",
    });
    files.push("025-usrloc-urecord-insert-n1-to-n2.hex", "026-usrloc-ucontact-insert-n1-to-n2.hex");
    setNow(T0 + 4);
    n1.ul.update("location", "bob", bob, { expires: n1.ul.now() + 600, cseq: 2 });
    files.push("027-usrloc-ucontact-update-n1-to-n2.hex");
    setNow(T0 + 5);
    expect(n1.ul.delete("location", "bob", bob, { mode: -1, params: [] })).toBe(true);
    files.push("028-usrloc-ucontact-delete-n1-to-n2.hex", "029-usrloc-urecord-delete-n1-to-n2.hex");

    // MI ul_rm_contact: contact delete with match mode 1; alice keeps a contact, so no AoR delete.
    expect(await n1.mi("ul_rm_contact", { table_name: "location", aor: "alice", contact: "sip:alice@127.0.0.1:5093" })).toBe("OK");
    files.push("030-usrloc-ucontact-delete-n1-to-n2.hex");

    // ul_add carol on node 2, replicated to node 1.
    const carolExpires = UcontactInsert.decode(BinPacket.parse(hexOf("032-usrloc-ucontact-insert-n2-to-n1.hex"))).expires;
    nextRandClabel(3428);
    setNow(carolExpires - 3600);
    await ulAdd(n2, "carol", "sip:carol@127.0.0.1:5094", 3600, "0.5");
    files.push("031-usrloc-urecord-insert-n2-to-n1.hex", "032-usrloc-ucontact-insert-n2-to-n1.hex");

    // ul_rm carol on node 1: one contact delete (mode 1), then the AoR delete twice.
    expect(await n1.mi("ul_rm", { table_name: "location", aor: "carol" })).toBe("OK");
    files.push("033-usrloc-ucontact-delete-n1-to-n2.hex", "034-usrloc-urecord-delete-n1-to-n2.hex", "034-usrloc-urecord-delete-n1-to-n2.hex");

    const sent = usrlocSent(bus);
    expect(sent.map((b) => b.toString("hex"))).toEqual(files.map((f) => hexOf(f).toString("hex")));

    // Both nodes hold the same table (same contact ids too: received labels were free).
    const d1 = await n1.mi("ul_dump");
    expect(await n2.mi("ul_dump")).toEqual(d1);
    expect(d1).toMatchObject({ Domains: [{ name: "location", hash_size: 512, AORs: [{ AOR: "alice" }] }] });
  });

  it("a node fed the captured SYNC 061 donates exactly the captured SYNC 076", async () => {
    const bus = new FakeBus();
    const n2 = await node(bus, 2);
    n2.cl.receive(hexOf("061-clusterer-extra-sync-usrloc-n1-to-n2.hex"), 1);
    expect(n2.ul.count()).toEqual({ users: 5, contacts: 5 });
    const packets = n2.cl.serveSync(UL_CAPABILITY, 1);
    expect(packets.length).toBe(1);
    expect(n2.cl.withTrailer(packets[0]!, 1).toString("hex")).toBe(hexOf("076-clusterer-extra-sync-usrloc-n2-to-n1.hex").toString("hex"));
  });

  it("more/118: node 1's view after carol came from node 3 donates the captured sync", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    const alice = UcontactInsert.decode(BinPacket.parse(findVector("more", "054-usrloc-ucontact-insert-n1-to-n2.hex").bytes));
    // Node 1's own alice (label 0, next_clabel 8989) and carol received from node 3.
    nextRandClabel(unpackContactId(alice.contactId).clabel);
    setNow(alice.expires - 3600);
    await ulAdd(n1, "alice", "sip:alice@127.0.0.1:5090", 3600, "0.5");
    n1.cl.receive(findVector("more", "057-usrloc-urecord-insert-n3-to-n2.hex").bytes, 3);
    n1.cl.receive(findVector("more", "059-usrloc-ucontact-insert-n3-to-n2.hex").bytes, 3);
    const packets = n1.cl.serveSync(UL_CAPABILITY, 3);
    // 118 was routed through node 2; its trailer says node 1 -> node 3.
    expect(n1.cl.withTrailer(packets[0]!, 3).toString("hex")).toBe(findVector("more", "118-clusterer-extra-sync-usrloc-n1-to-n2.hex").bytes.toString("hex"));
  });
});

describe("usrloc: receive semantics (spec §4)", () => {
  function base(over: Partial<UcontactInsertRec> = {}): UcontactInsertRec {
    return {
      domain: "location", aor: "dan", contact: "sip:dan@10.0.0.1", contactId: packContactId(coreHash("dan"), 7, 100),
      callid: "c1", userAgent: "ua", path: "", attr: "", received: "", instance: "", expires: T0 + 600, q: -1,
      socket: "", cseq: 5, flags: 0, cflags: "", cflagsBits: 0, methods: -1, lastModified: T0 - 100, kv: "",
      match: { mode: -1, params: [] }, ...over,
    };
  }
  const deliver = (n: UlNode, pkt: BinPacket, from = 9) => n.cl.receive(n.cl.withTrailer(pkt, n.cl.id), from);

  it("an update for an unknown AoR creates it and inserts the contact with the received id", async () => {
    const n = await node(new FakeBus(), 2);
    deliver(n, UcontactUpdate.encode(base()));
    const r = n.ul.get("location", "dan")!;
    expect(r.label).toBe(7);
    expect(r.nextClabel).toBe(101);
    const c = r.contacts!;
    expect(c.contactId).toBe(packContactId(coreHash("dan"), 7, 100));
    expect(c).toMatchObject({ uri: "sip:dan@10.0.0.1", cseq: 5, callid: "c1", expires: T0 + 600 });
  });

  it("an update for an unknown contact of a known AoR inserts it; a newer one updates; the same CSeq inside cseq_delay is ignored", async () => {
    const n = await node(new FakeBus(), 2);
    deliver(n, UrecordInsert.encode({ domain: "location", aor: "dan", label: 3, nextClabel: 50, kv: "" }));
    deliver(n, UcontactUpdate.encode(base({ contactId: packContactId(coreHash("dan"), 3, 60) })));
    const r = n.ul.get("location", "dan")!;
    expect(r.contactList().length).toBe(1);
    expect(r.nextClabel).toBe(61);
    // Update with the same CSeq: matched with CSeq+1 → counts as newer.
    deliver(n, UcontactUpdate.encode(base({ contactId: packContactId(coreHash("dan"), 3, 60), expires: T0 + 900 })));
    expect(r.contacts!.expires).toBe(T0 + 900);
    // Insert with the same CSeq and last_modified within cseq_delay: "same" → ignored.
    deliver(n, UcontactInsert.encode(base({ expires: T0 + 1200, lastModified: T0 })));
    expect(r.contacts!.expires).toBe(T0 + 900);
    // Insert with an older CSeq: ignored.
    deliver(n, UcontactInsert.encode(base({ cseq: 4, expires: T0 + 1500 })));
    expect(r.contacts!.expires).toBe(T0 + 900);
    // Insert with a newer CSeq: updates in place, id rebuilt from the local label and the contact's clabel.
    deliver(n, UcontactInsert.encode(base({ cseq: 6, expires: T0 + 1800, contactId: packContactId(coreHash("dan"), 99, 5) })));
    expect(r.contacts!.expires).toBe(T0 + 1800);
    expect(r.contacts!.contactId).toBe(packContactId(coreHash("dan"), 3, 60));
    expect(r.contactList().length).toBe(1);
  });

  it("a contact insert takes the received clabel only when not below next_clabel", async () => {
    const n = await node(new FakeBus(), 2);
    deliver(n, UrecordInsert.encode({ domain: "location", aor: "dan", label: 0, nextClabel: 200, kv: "" }));
    deliver(n, UcontactInsert.encode(base({ contact: "sip:a@x", callid: "a", contactId: packContactId(coreHash("dan"), 0, 100) })));
    deliver(n, UcontactInsert.encode(base({ contact: "sip:b@x", callid: "b", contactId: packContactId(coreHash("dan"), 0, 300) })));
    const ids = n.ul.get("location", "dan")!.contactList().map((c) => [c.uri, unpackContactId(c.contactId).clabel]);
    expect(ids).toEqual([["sip:a@x", 200], ["sip:b@x", 300]]);
    expect(n.ul.get("location", "dan")!.nextClabel).toBe(301);
  });

  it("deletes: matched with CSeq+1; missing AoR or contact ignored; the AoR itself stays until its delete", async () => {
    const n = await node(new FakeBus(), 2);
    deliver(n, UcontactInsert.encode(base()));
    const del = (cseq: number, callid = "c1") =>
      deliver(n, UcontactDelete.encode({ domain: "location", aor: "dan", contact: "sip:dan@10.0.0.1", callid, cseq, match: { mode: 1, params: [] } }));
    del(4); // older than the stored CSeq 5: "DEL too old"
    expect(n.ul.count()).toEqual({ users: 1, contacts: 1 });
    del(5, "other-callid"); // mode 1: Call-ID differs → not found
    expect(n.ul.count().contacts).toBe(1);
    del(5); // the stored CSeq → deleted
    expect(n.ul.count()).toEqual({ users: 1, contacts: 0 });
    deliver(n, UcontactDelete.encode({ domain: "location", aor: "nobody", contact: "sip:x@y", callid: "c", cseq: 1, match: { mode: 1, params: [] } }));
    expect(n.host.stats.find("usrloc:repl_dropped")!.get()).toBe(0);
  });

  it("replicated changes are applied without being re-broadcast", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    const n2 = await node(bus, 2);
    const n3 = await node(bus, 3);
    await ulAdd(n1, "eve", "sip:eve@10.0.0.5", 60, "1");
    const sent = usrlocSent(bus).map((b) => BinPacket.parse(b).type);
    // AoR insert + contact insert, each to node 2 and node 3; nothing from nodes 2 and 3.
    expect(sent).toEqual([1, 1, 3, 3]);
    expect(bus.sent.every((p) => p.from === 1)).toBe(true);
    for (const n of [n2, n3]) expect(n.ul.lookup("location", "eve").map((c) => c.uri)).toEqual(["sip:eve@10.0.0.5"]);
  });

  it("cflags travel as branch flag names (v4+) or a bitmask (v2/v3); unknown names are dropped", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1, { branch_flag: ["A", "B"], nat_bflag: "NAT" });
    const n2 = await node(bus, 2, { branch_flag: ["NAT", "B"] });
    n1.ul.insert("location", "f", "sip:f@h", { expires: 0, callid: "x", cseq: 1, cflags: "NAT B A" });
    const [, ins] = usrlocSent(bus);
    expect(UcontactInsert.decode(BinPacket.parse(ins!)).cflags).toBe("A B NAT");
    // Node 2: NAT is bit 0, B bit 1, A unknown.
    expect(n2.ul.get("location", "f")!.contacts!.cflags).toBe(0b11);
    // A v3 packet carries the raw bitmask.
    const v3 = UcontactInsert.encode(base({ aor: "g", contact: "sip:g@h", contactId: packContactId(coreHash("g"), 0, 1), cflagsBits: 5, match: { mode: 1, params: [] } }), 3);
    deliver(n2, v3);
    expect(n2.ul.get("location", "g")!.contacts!.cflags).toBe(5);
  });

  it("skip_replicated_db_ops marks replicated contacts memory-only", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    const n2 = await node(bus, 2, { skip_replicated_db_ops: 1 });
    await ulAdd(n1, "m", "sip:m@h", 60, "0");
    expect(n2.ul.get("location", "m")!.contacts!.flags & FL_MEM).toBe(FL_MEM);
    expect(n1.ul.get("location", "m")!.contacts!.flags & FL_MEM).toBe(0);
  });

  it("the AoR kv store rides in _urec_kvs of a contact update and is restored on the peer", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    const n2 = await node(bus, 2);
    const c = n1.ul.insert("location", "k", "sip:k@h", { expires: 0, callid: "x", cseq: 1, kv: { b: 2, a: "x" } });
    expect(n2.ul.get("location", "k")!.contacts!.kvJson).toBe('{"a":"x","b":2}');
    n1.ul.putAorKey("location", "k", "plan", "gold");
    n1.ul.update("location", "k", c, { cseq: 2 });
    const upd = UcontactUpdate.decode(BinPacket.parse(usrlocSent(bus).at(-1)!));
    expect(upd.kv).toBe('{"_urec_kvs":"{\\"plan\\":\\"gold\\"}","a":"x","b":2}');
    expect(n2.ul.get("location", "k")!.kv).toEqual({ plan: "gold" });
  });
});

describe("usrloc: bad packets are dropped and counted", () => {
  const deliverRaw = (n: UlNode, bytes: Buffer) => n.cl.receive(bytes, 9);

  it("wrong version, truncated fields, bad raw lengths, unknown domain, empty AoR", async () => {
    const n = await node(new FakeBus(), 2);
    const dropped = () => n.host.stats.find("usrloc:repl_dropped")!.get();
    const good = Buffer.from(hexOf("022-usrloc-ucontact-insert-n1-to-n2.hex"));

    for (const v of [1, 6]) {
      const b = Buffer.from(good);
      b.writeInt16LE(v, 8);
      deliverRaw(n, b);
    }
    expect(dropped()).toBe(2);

    // Truncated: cut the body after the Call-ID, keep a trailer.
    const p = BinPacket.parse(Buffer.from(good));
    const cut = Buffer.concat([p.bytes().subarray(0, 0x60), good.subarray(good.length - 12)]);
    cut.writeUInt32LE(cut.length, 4);
    deliverRaw(n, cut);
    expect(dropped()).toBe(3);

    // The contact id str holding 7 bytes instead of 8.
    const rec = UcontactInsert.decode(BinPacket.parse(Buffer.from(good)));
    const bad = BinPacket.init(UL_CAPABILITY, 3, 5);
    bad.pushStr(rec.domain).pushStr(rec.aor).pushStr(rec.contact).pushStr(Buffer.alloc(7));
    deliverRaw(n, n.cl.withTrailer(bad, 2));
    expect(dropped()).toBe(4);

    deliverRaw(n, n.cl.withTrailer(UcontactInsert.encode({ ...rec, domain: "nosuchtable" }), 2));
    deliverRaw(n, n.cl.withTrailer(UrecordInsert.encode({ domain: "location", aor: "", label: 0, nextClabel: 0, kv: "" }), 2));
    const unknownType = BinPacket.init(UL_CAPABILITY, 9, 5);
    unknownType.pushStr("location");
    deliverRaw(n, n.cl.withTrailer(unknownType, 2));
    expect(dropped()).toBe(7);
    expect(n.ul.count()).toEqual({ users: 0, contacts: 0 });

    // The good packet still works afterwards.
    deliverRaw(n, good);
    expect(n.ul.count()).toEqual({ users: 1, contacts: 1 });
    expect(n.host.stats.find("usrloc:repl_received")!.get()).toBe(1);
  });

  it("a bad sync chunk is skipped, the others applied", async () => {
    const n = await node(new FakeBus(), 2);
    const sync = BinPacket.parse(Buffer.from(hexOf("061-clusterer-extra-sync-usrloc-n1-to-n2.hex")));
    const bytes = Buffer.from(sync.bytes());
    // Break the first AoR chunk's domain (unknown table).
    const at = bytes.indexOf(Buffer.from("location"));
    bytes.write("LOCATION", at);
    n.cl.receive(bytes, 1);
    expect(n.ul.count()).toEqual({ users: 5, contacts: 5 });
    // dave2's AoR chunk was dropped; its contact chunk created the AoR (label from the contact id).
    expect(n.host.stats.find("usrloc:repl_dropped")!.get()).toBe(1);
  });
});

describe("usrloc: sync and expiry", () => {
  it("a restarted node gets every AoR and contact from a donor at startup (full-sharing-cluster)", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    for (let i = 0; i < 300; i++) n1.ul.insert("location", `u${i % 100}`, `sip:u${i}@10.1.0.1`, { expires: T0 + 3600, callid: `c${i}`, cseq: 1 });
    const n2 = await node(bus, 2);
    expect(n2.cl.syncRequests).toBe(1);
    expect(n2.ul.count()).toEqual({ users: 100, contacts: 300 });
    // Same data; contact ids are rebuilt from the receiver's labels (as OpenSIPS does, see 061/076).
    const noIds = (d: unknown) => JSON.parse(JSON.stringify(d).replace(/"ContactID":"\d+",/g, ""));
    expect(noIds(await n2.mi("ul_dump"))).toEqual(noIds(await n1.mi("ul_dump")));
    // An empty AoR is synced too.
    const r = n1.ul.get("location", "u1")!;
    for (const c of r.contactList()) n1.ul.store.deleteContact(n1.ul.store.domain("location")!, r as never, c as never, null, "timer");
    const n3 = await node(bus, 3);
    expect(n3.ul.get("location", "u1")?.contacts).toBeNull();
    expect(await n3.mi("ul_cluster_sync")).toBe("OK");
    expect(n3.cl.syncRequests).toBe(2);
  });

  it("expiry runs on each node's own timer: contacts and empty AoRs go, nothing is sent", async () => {
    const bus = new FakeBus();
    const n1 = await node(bus, 1);
    const n2 = await node(bus, 2);
    await ulAdd(n1, "x", "sip:x@h", 30, "1");
    await ulAdd(n1, "y", "sip:y@h", 0, "1");
    const before = bus.sent.length;
    setNow(T0 + 31);
    expect(n1.ul.lookup("location", "x")).toEqual([]);
    for (const n of [n1, n2]) {
      expect(n.ul.store.expire()).toBe(1);
      expect(n.ul.count()).toEqual({ users: 1, contacts: 1 });
      expect(n.host.stats.find("usrloc:location-expires")!.get()).toBe(1);
    }
    expect(bus.sent.length).toBe(before);
  });
});
