import { describe, expect, it } from "vitest";
import { BinPacket, readBinHeader, strWireLength } from "../../core/bin/packet.ts";
import { isTsipsError } from "../../core/errors.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isTsipsError(e) ? e.code : `non-tsips: ${String(e)}`;
  }
  return undefined;
};

describe("bin-wire.md §8 worked examples (builder, exact bytes)", () => {
  it("A: dialog-dlg-repl type 1 v3, str abc, int 7", () => {
    const p = BinPacket.init("dialog-dlg-repl", 1, 3).pushStr("abc").pushInt(7);
    expect(p.bytes().toString("hex")).toBe(hex(`
      50 34 43 4b 28 00 00 00 03 00 0f 00 64 69 61 6c
      6f 67 2d 64 6c 67 2d 72 65 70 6c 01 00 00 00 03
      00 61 62 63 07 00 00 00`).toString("hex"));
    expect(p.length).toBe(40);
    expect(p.lengthField).toBe(40);
  });

  it("B: example A with the clusterer trailer (cluster 1, src 1, dst 2)", () => {
    const p = BinPacket.init("dialog-dlg-repl", 1, 3).pushStr("abc").pushInt(7).pushInt(1).pushInt(1).pushInt(2);
    expect(p.bytes().toString("hex")).toBe(hex(`
      50 34 43 4b 34 00 00 00 03 00 0f 00 64 69 61 6c
      6f 67 2d 64 6c 67 2d 72 65 70 6c 01 00 00 00 03
      00 61 62 63 07 00 00 00 01 00 00 00 01 00 00 00
      02 00 00 00`).toString("hex"));
  });

  it("B: a broadcast placeholder (-1) overwritten per destination gives the same bytes", () => {
    const p = BinPacket.init("dialog-dlg-repl", 1, 3).pushStr("abc").pushInt(7).pushInt(1).pushInt(1).pushInt(-1);
    // OpenSIPS: remove 1 int, push the destination (remove k / push / skip k-1 with k = 1).
    p.removeIntBufferEnd(1).pushInt(2).skipIntPacketEnd(0);
    expect(p.length).toBe(52);
    expect(p.bytes()[48]).toBe(2);
    const q = BinPacket.init("dialog-dlg-repl", 1, 3).pushStr("abc").pushInt(7).pushInt(1).pushInt(1).pushInt(-1);
    q.setIntAt(48, 2);
    expect(q.bytes().equals(p.bytes())).toBe(true);
  });

  it("C: clusterer PING from node 2 in cluster 1 asking for the node list", () => {
    const p = BinPacket.init("clusterer-internal", 0, 1).pushInt(1).pushInt(2).pushInt(1);
    expect(p.bytes().toString("hex")).toBe(hex(`
      50 34 43 4b 2e 00 00 00 01 00 12 00 63 6c 75 73
      74 65 72 65 72 2d 69 6e 74 65 72 6e 61 6c 00 00
      00 00 01 00 00 00 02 00 00 00 01 00 00 00`).toString("hex"));
  });

  it("D: NULL and empty strs, a negative int; pops as the spec says", () => {
    const p = BinPacket.init("x", 5, 2).pushStr(null).pushStr("").pushInt(-1);
    const want = hex(`50 34 43 4b 19 00 00 00 02 00 01 00 78 05 00 00 00 00 00 00 00 ff ff ff ff`);
    expect(p.bytes().equals(want)).toBe(true);
    const r = BinPacket.parse(want);
    expect([r.capability, r.type, r.version, r.length]).toEqual(["x", 5, 2, 25]);
    expect(r.popBytes().length).toBe(0);
    expect(r.popStr()).toBe("");
    expect(r.popInt()).toBe(-1);
    expect(r.atEnd()).toBe(true);
    expect(r.tryPopInt()).toBeUndefined(); // OpenSIPS rc 1
    expect(r.tryPopStr()).toBeUndefined();
    expect(code(() => r.popInt())).toBe("TSIPS_ERR_BIN_SHORT");
  });
});

describe("builder", () => {
  it("rewrites the length field after every push, remove and skip", () => {
    const p = BinPacket.init("cap", 1, 1);
    expect(p.lengthField).toBe(19);
    p.pushInt(1).pushInt(2).pushInt(3);
    expect(p.lengthField).toBe(31);
    p.removeIntBufferEnd(2);
    expect([p.length, p.lengthField]).toEqual([23, 23]);
    p.skipIntPacketEnd(2); // brings back the hidden bytes
    expect([p.length, p.lengthField]).toEqual([31, 31]);
    expect(p.bytes().readInt32LE(27)).toBe(3);
  });

  it("remove k / push / skip k-1 rewrites an int in the middle", () => {
    const p = BinPacket.init("cap", 1, 1).pushInt(10).pushInt(20).pushInt(30);
    p.removeIntBufferEnd(2).pushInt(99).skipIntPacketEnd(1);
    const r = BinPacket.parse(p.bytes());
    expect([r.popInt(), r.popInt(), r.popInt()]).toEqual([10, 99, 30]);
  });

  it("refuses to grow past 65535 and leaves the packet unchanged", () => {
    const p = BinPacket.init("cap", 1, 1).pushStr("x".repeat(65000));
    const before = p.length;
    expect(code(() => p.pushStr("y".repeat(600)))).toBe("TSIPS_ERR_BIN_TOO_BIG");
    expect(code(() => p.pushInt(1).pushStr(Buffer.alloc(600)))).toBe("TSIPS_ERR_BIN_TOO_BIG");
    expect(p.length).toBe(before + 4);
    expect(p.lengthField).toBe(p.length);
    // exactly 65535 is allowed
    const q = BinPacket.init("c", 1, 1);
    q.pushStr(Buffer.alloc(65535 - 17 - 2));
    expect(q.length).toBe(65535);
    expect(code(() => q.pushStr(null))).toBe("TSIPS_ERR_BIN_TOO_BIG");
  });

  it("writes UTF-8 and wraps ints, versions and types like C", () => {
    const p = BinPacket.init("c", 0x1_0000_0005, 0x1_0002).pushStr("é€").pushInt(0xffffffff);
    expect(p.type).toBe(5);
    expect(p.version).toBe(2);
    const r = BinPacket.parse(p.bytes());
    expect(r.type).toBe(5);
    expect(r.popStr()).toBe("é€");
    expect(r.popInt()).toBe(-1);
    expect(strWireLength("é€")).toBe(2 + 5);
  });

  it("resetBackPointer drops the body and the next push rewrites the length", () => {
    const p = BinPacket.init("cap", 1, 1).pushInt(1).pushInt(2);
    p.resetBackPointer();
    expect(p.lengthField).toBe(27); // not rewritten yet (as OpenSIPS)
    p.pushInt(3);
    expect(p.lengthField).toBe(23);
  });

  it("version can be read and set at offset 8", () => {
    const p = BinPacket.init("cap", 1, 3);
    p.version = -2;
    expect(p.bytes().readInt16LE(8)).toBe(-2);
  });
});

describe("reader", () => {
  it("pops in push order; popBackInt strips a trailer without touching the length field", () => {
    const p = BinPacket.init("usrloc-contact-repl", 3, 5).pushStr("location").pushStr("alice").pushInt(42);
    p.pushInt(1).pushInt(1).pushInt(2);
    const wire = Buffer.from(p.bytes());
    const r = BinPacket.parse(wire);
    expect(r.popBackInt()).toBe(2);
    expect(r.popBackInt()).toBe(1);
    expect(r.popBackInt()).toBe(1);
    expect(r.lengthField).toBe(wire.length);
    expect(r.popStr()).toBe("location");
    expect(r.popStr()).toBe("alice");
    expect(r.popInt()).toBe(42);
    expect(r.atEnd()).toBe(true); // the trailer is out of reach from the front
    // pushing the trailer back re-forwards byte for byte
    r.pushInt(1).pushInt(1).pushInt(2);
    expect(r.bytes().equals(wire)).toBe(true);
  });

  it("popBackInt fails below 21 bytes", () => {
    const r = BinPacket.parse(BinPacket.init("c", 1, 1).pushInt(5).bytes());
    expect(r.length).toBe(21);
    expect(r.popBackInt()).toBe(5);
    expect(code(() => r.popBackInt())).toBe("TSIPS_ERR_BIN_SHORT");
  });

  it("a str running past the end fails after the 2-byte length (as bin_pop_str)", () => {
    const p = BinPacket.init("c", 1, 1).pushInt(0);
    const b = Buffer.from(p.bytes());
    b.writeUInt16LE(9, 17); // claims 9 bytes, 2 remain
    const r = BinPacket.parse(b);
    expect(code(() => r.popStr())).toBe("TSIPS_ERR_BIN_SHORT");
    expect(r.position).toBe(19);
  });

  it("1-3 bytes left is an error, exactly 0 is end of data", () => {
    const b = Buffer.from(BinPacket.init("c", 1, 1).pushStr("ab").bytes()); // body = 4 bytes
    const r = BinPacket.parse(b);
    r.skipStr(0);
    expect(r.remaining()).toBe(4);
    r.position = r.bodyStart + 2;
    expect(code(() => r.popInt())).toBe("TSIPS_ERR_BIN_SHORT");
    expect(code(() => r.skipInt(1))).toBe("TSIPS_ERR_BIN_SHORT");
    expect(r.atEnd()).toBe(true);
  });

  it("readBinHeader rejects bad marker, bad lengths and a cap running past the packet", () => {
    const good = Buffer.from(BinPacket.init("cap", 7, 2).pushInt(1).bytes());
    expect(readBinHeader(good)).toEqual({ length: 23, version: 2, capability: "cap", type: 7, bodyOffset: 19 });
    const bad = (mut: (b: Buffer) => void): string | undefined => {
      const b = Buffer.from(good);
      mut(b);
      return code(() => BinPacket.parse(b));
    };
    expect(bad((b) => (b[0] = 0x51))).toBe("TSIPS_ERR_BIN_MALFORMED");
    expect(bad((b) => b.writeUInt32LE(15, 4))).toBe("TSIPS_ERR_BIN_MALFORMED");
    expect(bad((b) => b.writeUInt32LE(70000, 4))).toBe("TSIPS_ERR_BIN_MALFORMED");
    expect(bad((b) => b.writeUInt32LE(24, 4))).toBe("TSIPS_ERR_BIN_MALFORMED"); // more than given
    expect(bad((b) => b.writeUInt16LE(8, 10))).toBe("TSIPS_ERR_BIN_MALFORMED");
    expect(code(() => BinPacket.parse(good.subarray(0, 15)))).toBe("TSIPS_ERR_BIN_MALFORMED");
  });

  it("parse reads only [0, length) even when more bytes follow", () => {
    const one = BinPacket.init("c", 1, 1).pushInt(7).bytes();
    const two = Buffer.concat([one, Buffer.from("P4CKgarbage")]);
    const r = BinPacket.parse(two);
    expect(r.length).toBe(21);
    expect(r.popInt()).toBe(7);
    expect(r.tryPopInt()).toBeUndefined();
    expect(r.contentStart().length).toBe(4);
  });

  it("clone is independent and keeps the stale length field", () => {
    const wire = Buffer.from(BinPacket.init("c", 1, 1).pushInt(1).pushInt(2).pushInt(3).bytes());
    const r = BinPacket.parse(wire);
    r.popBackInt();
    const c = r.clone();
    expect(c.length).toBe(25);
    expect(c.lengthField).toBe(29);
    c.pushInt(9);
    expect(wire.readInt32LE(25)).toBe(3);
    expect(c.bytes().readInt32LE(25)).toBe(9);
  });
});

describe("length field bookkeeping", () => {
  it("popBackInt on a packet being built keeps the field from before the pop", () => {
    const p = BinPacket.init("c", 1, 1).pushInt(1).pushInt(2);
    expect(p.popBackInt()).toBe(2);
    expect(p.lengthField).toBe(25);
    expect(p.bytes().readUInt32LE(4)).toBe(25);
    p.pushInt(3);
    expect(p.bytes().readUInt32LE(4)).toBe(25);
    expect(p.bytes().readInt32LE(21)).toBe(3);
  });
});
