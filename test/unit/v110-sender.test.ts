/**
 * tsips as the capture's node A: making the five captured calls through the dialog API (2xx →
 * create in state 3, ACK → state 4, INFO → callee CSeq 2, BYE / lifetime / MI end) emits the
 * same 20 datagrams, in the same order, as real OpenSIPS 1.10.5 did. Fields that must differ:
 * `hId` (each node draws its ids at random), `startTs` and `timeout` (wall-clock times) and
 * so the CRC. With those three copied from the capture, every datagram is byte-identical.
 */
import { describe, expect, it } from "vitest";
import { BinV110Packet } from "../../core/bin/v110/packet.ts";
import { dialogV110Messages } from "../../modules/dialog/v110-messages.ts";
import { FakeClock } from "./dialog-helpers.ts";
import { loadV110Sequence, loadV110Vectors, makeNodeA, makeNodeB, V110Wire } from "./v110-helpers.ts";

/** The fields a second node cannot reproduce. */
const MUST_DIFFER = ["hId", "startTs", "timeout"] as const;

const seq = loadV110Sequence();
const T0 = seq.events.find((e) => e.step === "start_b")!.t;
const vectors = new Map(loadV110Vectors().map((v) => [v.file, v]));
/** The captured record as index.json names it. */
interface CapturedRecord {
  caller_tag: string; callee_tag: string; from_uri: string; to_uri: string; start_ts: number; timeout_abs: number;
  caller_r_cseq: string; callee_r_cseq: string; caller_route_set: string; callee_route_set: string;
  caller_contact: string; callee_contact: string; user_flags: number; flags: number;
}

const msg = (type: number) => dialogV110Messages.find((m) => m.type === type)!;
const decode = (b: Buffer): Record<string, unknown> => {
  const p = BinV110Packet.parse(b);
  return msg(p.type).decode(p) as Record<string, unknown>;
};

describe("1.10 sender: tsips node A against the captured node A", () => {
  it("emits the 20 captured datagrams, differing only in hId, startTs, timeout (and the CRC)", () => {
    const clock = new FakeClock(Math.floor(T0 * 1000));
    const wire = new V110Wire();
    const a = makeNodeA(clock, wire);
    const b = makeNodeB(clock, wire);
    const calls = new Map<string, number>();
    const advance = (t: number): void => {
      const to = Math.floor((T0 + t) * 1000);
      while (clock.ms < to) {
        clock.ms = Math.min(clock.ms + 1000, to);
        a.engine.runTimers();
        b.engine.runTimers();
      }
    };
    for (const hop of seq.packets) {
      const f = vectors.get(hop.file)!.fields as unknown as CapturedRecord;
      // The timer-driven DELETE (call_short) comes from A's own lifetime, not from the API.
      advance(hop.t_s);
      const callid = hop.callid;
      const seen = calls.get(callid) ?? 0;
      calls.set(callid, seen + 1);
      if (hop.type === "REPLICATION_DLG_CREATED") {
        expect(a.engine.nowSec()).toBe(f.start_ts);
        a.engine.create({
          callid, fromTag: f.caller_tag, toTag: f.callee_tag, fromUri: f.from_uri, toUri: f.to_uri, state: 3,
          callerCseq: f.caller_r_cseq, calleeCseq: f.callee_r_cseq, callerRouteSet: f.caller_route_set, calleeRouteSet: f.callee_route_set,
          callerContact: f.caller_contact, calleeContact: f.callee_contact, userFlags: f.user_flags, flags: f.flags,
          timeout: f.timeout_abs - f.start_ts,
          values: { tag: "x|y#z\\w", user: "alice" }, profiles: [{ name: "calls" }, { name: "caller", value: "alice" }],
        });
      } else if (hop.type === "REPLICATION_DLG_UPDATED" && seen === 1) {
        a.engine.setState(callid, 4); // the ACK
      } else if (hop.type === "REPLICATION_DLG_UPDATED") {
        a.engine.setCseq(callid, "callee", "2"); // the INFO
      } else if (hop.step !== "call_short") {
        a.engine.end(callid); // BYE, or MI dlg_end_dlg
      }
    }
    advance(seq.packets.at(-1)!.t_s + 1);
    expect(wire.sent).toHaveLength(20);
    expect(wire.sent.every((d) => d.from === 46601 && d.to === 46602)).toBe(true);
    seq.packets.forEach((hop, i) => {
      const real = vectors.get(hop.file)!.bytes;
      const ours = wire.sent[i]!.bytes;
      const r = decode(real);
      const o = decode(ours);
      const differ = Object.keys(r).filter((k) => JSON.stringify(r[k]) !== JSON.stringify(o[k]));
      expect(differ.every((k) => (MUST_DIFFER as readonly string[]).includes(k)), `${hop.file}: ${differ.join(",")}`).toBe(true);
      for (const k of MUST_DIFFER) if (k in r) o[k] = r[k];
      const p = BinV110Packet.parse(ours);
      expect(msg(p.type).encode(o as never).bytes().equals(real), hop.file).toBe(true);
    });
    // What must differ does: each node draws its own ids.
    expect(decode(wire.sent[0]!.bytes)["hId"]).not.toBe(decode(vectors.get(seq.packets[0]!.file)!.bytes)["hId"]);
    expect({ create_sent: a.stats.create_sent.get(), update_sent: a.stats.update_sent.get(), delete_sent: a.stats.delete_sent.get() })
      .toEqual({ create_sent: 5, update_sent: 10, delete_sent: 5 });
    expect({ create_recv: b.stats.create_recv.get(), update_recv: b.stats.update_recv.get(), delete_recv: b.stats.delete_recv.get() })
      .toEqual({ create_recv: 5, update_recv: 10, delete_recv: 5 });
    expect(b.engine.counts().total).toBe(0);
  });

  it("a 3.6-configured node sends no 1.10 datagram and a 1.10-configured node no 3.6 packet", () => {
    const clock = new FakeClock();
    const wire = new V110Wire();
    const a = makeNodeA(clock, wire);
    a.engine.create({ callid: "x@h", fromUri: "sip:a@h", toUri: "sip:b@h" });
    expect(wire.sent).toHaveLength(1);
    expect(a.engine.dlgRepl).toBe(false);
    const only36 = makeNodeB(clock, new V110Wire(), 46700);
    expect(only36.engine.v110.sending).toBe(false);
  });
});
