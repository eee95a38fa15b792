import { describe, expect, it } from "vitest";
import { BinPacket } from "../../core/bin/packet.ts";
import { bytes, custom, defineMessage, int, intList, str } from "../../core/bin/schema.ts";

const Msg = defineMessage({
  name: "TEST", capability: "test-cap", type: 3, version: 2, accepts: [1, 2],
  fields: [
    str("name"),
    int("count", { when: (v) => v >= 2 }),
    intList("ids"),
    bytes("raw"),
    custom<"pair", [number, string]>("pair", "int + str", {
      push: (p, [a, b]) => void p.pushInt(a).pushStr(b),
      pop: (p) => [p.popInt(), p.popStr()],
      absent: [0, ""],
    }),
  ] as const,
});

describe("declared messages", () => {
  it("encode and decode from one declaration, keys in field order", () => {
    const pkt = Msg.encode({ name: "a", count: -5, ids: [1, 2], raw: Uint8Array.of(0, 255), pair: [7, "x"] });
    expect(pkt.bytes().toString("hex")).toBe(
      "5034434b360000000200080074657374" + "2d636170030000000100" + "61fbffffff02000000010000000200000002" + "0000ff0700000001007" + "8");
    const back = Msg.decode(BinPacket.parse(pkt.bytes()));
    expect({ ...back, raw: [...back.raw] }).toEqual({ name: "a", count: -5, ids: [1, 2], raw: [0, 255], pair: [7, "x"] });
    expect(Object.keys(back)).toEqual(["name", "count", "ids", "raw", "pair"]);
  });

  it("leaves out a field whose version condition is false, on both sides", () => {
    const v1 = Msg.encode({ name: "a", count: 9, ids: [], raw: new Uint8Array(0), pair: [1, ""] }, 1);
    const v2 = Msg.encode({ name: "a", count: 9, ids: [], raw: new Uint8Array(0), pair: [1, ""] }, 2);
    expect(v2.length - v1.length).toBe(4);
    expect(Msg.decode(BinPacket.parse(v1.bytes())).count).toBe(0);
  });

  it("rejects a version it does not accept and a packet that ends early", () => {
    const v3 = Msg.encode({ name: "a", count: 1, ids: [], raw: new Uint8Array(0), pair: [1, ""] }, 3);
    expect(() => Msg.decode(BinPacket.parse(v3.bytes()))).toThrow(expect.objectContaining({ code: "TSIPS_ERR_BIN_VERSION" }));
    const short = BinPacket.init("test-cap", 3, 2).pushStr("a").pushInt(1);
    expect(() => Msg.decode(BinPacket.parse(short.bytes()))).toThrow(expect.objectContaining({ code: "TSIPS_ERR_BIN_SHORT" }));
  });
});
