/** core/bin: version guard, dispatch order, framer basics. */
import { describe, expect, it } from "vitest";
import { BinCore } from "../../core/bin/dispatch.ts";
import { BinFramer } from "../../core/bin/framer.ts";
import { BinPacket } from "../../core/bin/packet.ts";
import { defineMessage, int, str } from "../../core/bin/schema.ts";
import { createVersionGuard } from "../../core/bin/version-guard.ts";
import { createHooks } from "../../core/hooks.ts";
import { silentLogger } from "../../core/log.ts";
import { StatsRegistry } from "../../core/stats.ts";

const Msg = defineMessage({ name: "DEMO", capability: "demo-repl", type: 1, version: 5, accepts: [4, 5], fields: [str("a"), int("b")] });

describe("version guard", () => {
  it("passes accepted versions, drops others: counted every time, logged once per (capability, version)", () => {
    const warnings: unknown[][] = [];
    const log = { warn: (...a: unknown[]) => void warnings.push(a) };
    const stats = new StatsRegistry();
    const stat = stats.register("demo", "version_drops");
    const guard = createVersionGuard(log as never, stat);
    const mk = (v: number): BinPacket => BinPacket.parse(Msg.encode({ a: "x", b: 1 }, v).bytes());
    expect(guard.check(mk(5), Msg)).toBe(true);
    expect(guard.check(mk(4), Msg)).toBe(true);
    for (let i = 0; i < 5; i++) expect(guard.check(mk(6), Msg)).toBe(false);
    expect(guard.check(mk(3), Msg)).toBe(false);
    expect(guard.check(mk(6), Msg)).toBe(false);
    expect(stat.get()).toBe(7);
    expect(guard.dropped).toBe(7);
    expect(warnings.length).toBe(2);
    expect(String(warnings[0]![1])).toMatch(/demo-repl packets of version 6 .*accepts 4, 5/);
    expect(guard.logged()).toEqual([{ capability: "demo-repl", version: 6 }, { capability: "demo-repl", version: 3 }]);
    // decode agrees with the guard
    expect(() => Msg.decode(mk(6))).toThrow(/version 6 not accepted/);
  });

  it("works without a stat and with an explicit version (sync chunks carry the sync's)", () => {
    const guard = createVersionGuard(silentLogger());
    const pkt = BinPacket.parse(Msg.encode({ a: "x", b: 1 }).bytes());
    expect(guard.check(pkt, Msg, 2)).toBe(false);
    expect(guard.check(pkt, Msg)).toBe(true);
  });
});

describe("dispatch", () => {
  it("the most recent registration of a capability wins (bin_register_cb inserts at the head)", () => {
    const hooks = createHooks();
    const core = new BinCore(hooks, silentLogger(), new StatsRegistry());
    const calls: string[] = [];
    core.forModule("first", () => true).registerCb("cap-x", () => void calls.push("first"));
    core.forModule("second", () => true).registerCb("cap-x", () => void calls.push("second"));
    core.deliver(BinPacket.init("cap-x", 1, 1).pushInt(1).bytes(), { proto: "bin", host: "127.0.0.1", port: 1 });
    expect(calls).toEqual(["second"]);
  });

  it("deliver throws TSIPS_ERR_BIN_MALFORMED on a bad header and counts it", () => {
    const stats = new StatsRegistry();
    const core = new BinCore(createHooks(), silentLogger(), stats);
    const b = Buffer.from(BinPacket.init("cap-x", 1, 1).pushInt(1).bytes());
    b.writeUInt16LE(300, 10);
    expect(() => core.deliver(b, { proto: "bin", host: "h", port: 1 })).toThrow(expect.objectContaining({ code: "TSIPS_ERR_BIN_MALFORMED" }));
    expect(stats.find("bin:packets_malformed")?.get()).toBe(1);
  });
});

describe("framer", () => {
  it("hands over zero-copy views for whole packets and fresh buffers for split ones", () => {
    const one = Buffer.from(BinPacket.init("c", 1, 1).pushInt(1).bytes());
    const chunk = Buffer.concat([one, one, one.subarray(0, 5)]);
    const got: Uint8Array[] = [];
    const f = new BinFramer({ onPacket: (p) => void got.push(p) });
    f.push(chunk);
    expect(got.length).toBe(2);
    expect(got[0]!.buffer).toBe(chunk.buffer);
    expect(got[1]!.byteOffset).toBe(chunk.byteOffset + one.length);
    expect(f.partial).toBe(true);
    expect(f.buffered).toBe(5);
    f.push(one.subarray(5));
    expect(got.length).toBe(3);
    chunk.fill(0); // the assembled packet is a copy
    expect(Buffer.from(got[2]!).equals(one)).toBe(true);
    expect(f.partial).toBe(false);
    expect(f.packets).toBe(3);
  });

  it("stops at once when the handler returns false", () => {
    const one = Buffer.from(BinPacket.init("c", 1, 1).pushInt(1).bytes());
    let n = 0;
    const f = new BinFramer({ onPacket: () => (++n, false) });
    f.push(Buffer.concat([one, one, one]));
    expect(n).toBe(1);
    expect(f.failed).toBe(true);
    expect(() => f.push(one)).toThrow(expect.objectContaining({ code: "TSIPS_ERR_BIN_MALFORMED" }));
  });
});
