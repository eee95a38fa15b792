/**
 * The OpenSIPS 1.10 BIN wire (spec/bin-1.10.md §2, §3, §5, §7): the CRC without final XOR,
 * the worked example, and every datagram captured from real 1.10.5 nodes decoded through the
 * declared messages (CRC correct, no byte left) and re-encoded to the same bytes.
 */
import { describe, expect, it } from "vitest";
import { crc32NoFinalXor } from "../../core/bin/v110/crc.ts";
import { BinV110Packet, V110DatagramError, readV110Header } from "../../core/bin/v110/packet.ts";
import { dialogV110Messages, V110DlgCreated, V110DlgDeleted } from "../../modules/dialog/v110-messages.ts";
import { parseV110Pairs, serializeV110Pairs } from "../../modules/dialog/v110-vals.ts";
import { loadV110Probes, loadV110Vectors } from "./v110-helpers.ts";

/** index.json's field names (the reference decoder's) → the declaration's. */
const INDEX_NAMES: Record<string, string> = {
  callid: "callid", caller_tag: "callerTag", callee_tag: "calleeTag", from_uri: "fromUri", to_uri: "toUri", h_id: "hId",
  start_ts: "startTs", state: "state", caller_sock: "callerSocket", callee_sock: "calleeSocket", caller_r_cseq: "callerCseq",
  callee_r_cseq: "calleeCseq", caller_route_set: "callerRouteSet", callee_route_set: "calleeRouteSet", caller_contact: "callerContact",
  callee_contact: "calleeContact", callee_mangled_from_uri: "calleeMangledFrom", callee_mangled_to_uri: "calleeMangledTo",
  vars: "vars", profiles: "profiles", user_flags: "userFlags", flags: "flags", timeout_abs: "timeout",
  caller_last_gen_cseq: "callerLastGenCseq", callee_last_gen_cseq: "calleeLastGenCseq",
};

const message = (type: number) => dialogV110Messages.find((m) => m.type === type)!;

describe("1.10 CRC", () => {
  it("is CRC-32 without the final XOR (check value 0x340BC6D9)", () => {
    expect(crc32NoFinalXor(Buffer.from("123456789"))).toBe(0x340bc6d9);
  });

  it("builds the spec's worked DELETED example byte for byte (§7)", () => {
    const pkt = V110DlgDeleted.encode({ callid: "abc", callerTag: "1", calleeTag: "2" });
    expect(pkt.bytes().toString("hex")).toBe("5034434b9f56d58e060000006469616c6f67030000000300000061626301000000310100000032");
  });
});

describe("captured 1.10.5 datagrams", () => {
  const vectors = loadV110Vectors();

  it("has the 20 datagrams of the capture", () => {
    expect(vectors).toHaveLength(20);
  });

  it.each(vectors.map((v) => [v.file, v] as const))("%s decodes (CRC ok, no byte left) and re-encodes to the same bytes", (_f, v) => {
    const h = readV110Header(v.bytes);
    expect(h.crc).toBe(Number(v.crc));
    expect(h.computedCrc).toBe(h.crc);
    const pkt = BinV110Packet.parse(v.bytes);
    expect(pkt.moduleName).toBe("dialog");
    expect(pkt.type).toBe(v.packet_type);
    const msg = message(pkt.type);
    expect(msg.name).toBe(v.type_name);
    const rec = msg.decode(pkt) as Record<string, unknown>;
    expect(pkt.atEnd()).toBe(true);
    expect(Object.keys(rec)).toHaveLength(pkt.type === 3 ? 3 : 25);
    for (const [indexName, ours] of Object.entries(INDEX_NAMES)) {
      if (indexName in v.fields) expect(rec[ours], indexName).toEqual(v.fields[indexName]);
    }
    expect(msg.encode(rec as never).bytes().equals(v.bytes)).toBe(true);
  });

  it("reads vars and profiles as the reference decoder did (escapes undone, newest first)", () => {
    const v = vectors[0]!;
    const rec = V110DlgCreated.decode(BinV110Packet.parse(v.bytes));
    expect(parseV110Pairs(rec.vars).map((p) => [p.name, p.value])).toEqual(v.fields["vars_parsed"]);
    expect(parseV110Pairs(rec.profiles).map((p) => [p.name, p.value])).toEqual(v.fields["profiles_parsed"]);
    expect(serializeV110Pairs(parseV110Pairs(rec.vars))).toBe(rec.vars);
  });
});

describe("datagrams a 1.10 receiver refuses", () => {
  const probes = new Map(loadV110Probes().map((p) => [p.probe, Buffer.from(p.hex ?? "", "hex")]));
  const reason = (b: Buffer): string | undefined => {
    try {
      BinV110Packet.parse(b);
      return undefined;
    } catch (err) {
      return err instanceof V110DatagramError ? err.reason : "other";
    }
  };

  it("drops short, bad-marker, bad-CRC and standard-CRC datagrams, each with its reason", () => {
    expect(reason(probes.get("short_10_bytes")!)).toBe("short");
    expect(reason(probes.get("bad_marker")!)).toBe("marker");
    expect(reason(probes.get("bad_crc")!)).toBe("crc");
    expect(reason(probes.get("crc_with_final_xor")!)).toBe("crc");
    expect(reason(probes.get("unknown_module")!)).toBeUndefined();
  });

  it("never reads past the datagram: an overlong name, a negative or overlong str length are truncated items", () => {
    const withCrc = (b: Buffer): Buffer => {
      b.writeUInt32LE(crc32NoFinalXor(b.subarray(8)), 4);
      return b;
    };
    const name = withCrc(Buffer.from("5034434b00000000ff0000006469616c6f6703000000", "hex"));
    expect(reason(name)).toBe("truncated");
    for (const len of ["ffffffff", "00010000"]) {
      const b = withCrc(Buffer.from(`5034434b00000000060000006469616c6f6703000000${len}6162`, "hex"));
      const pkt = BinV110Packet.parse(b);
      expect(() => V110DlgDeleted.decode(pkt)).toThrow(V110DatagramError);
    }
  });

  it("trailing bytes after the last item are left unread (1.10 ignores them)", () => {
    const b = probes.get("trailing_garbage_delete")!;
    const pkt = BinV110Packet.parse(b);
    expect(V110DlgDeleted.decode(pkt)).toMatchObject({ callid: "probe-x", callerTag: "a", calleeTag: "b" });
    expect(pkt.remaining()).toBe(4); // the i32 42 appended after the callee tag
  });
});
