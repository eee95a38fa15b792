/**
 * Node B of the 1.10.5 capture, replayed: every datagram node A sent (sequence.json) goes
 * into a tsips dialog engine configured like `cfg/nodeB.cfg` at the moment it arrived, and at
 * each moment the real B answered MI (live/mi.txt) tsips holds the same dialogs, states,
 * CSeqs, sockets, values, profiles and statistics. Then the 15 crafted datagrams of
 * live/probes.json have the effect they had on the real B.
 */
import { describe, expect, it } from "vitest";
import type { Dialog } from "../../modules/dialog/store.ts";
import { FakeClock } from "./dialog-helpers.ts";
import {
  loadMiSections, loadV110Probes, loadV110Sequence, loadV110Vectors, makeNodeB, parseMiDialogs, parseMiStats, V110Wire,
  type MiDialog, type V110TestNode,
} from "./v110-helpers.ts";

const seq = loadV110Sequence();
const T0 = seq.events.find((e) => e.step === "start_b")!.t;
const vectors = new Map(loadV110Vectors().map((v) => [v.file, v]));
/** Each "### MI node B" section of live/mi.txt, in order, and when (seconds after B started) it was taken. */
const B_MOMENTS = [12, 12, 12, 12, 12, 18.5, 18.5, 21.5, 26.5, 33, 36, 36];

/** What the real B printed for one dialog, against tsips's dialog (labels crossed as 1.10 prints them). */
function expectSameDialog(mi: MiDialog, d: Dialog, senderHId?: number): void {
  const a = mi.attrs;
  expect(d.hEntry).toBe(mi.hEntry);
  if (senderHId !== undefined) expect(d.hId).not.toBe(senderHId);
  expect({
    state: String(d.state), user_flags: String(d.userFlags), timestart: String(d.startTs), callid: d.callid,
    from_uri: d.fromUri, to_uri: d.toUri, caller_tag: d.callerTag, caller_contact: d.callerContact,
    callee_cseq: d.callerCseq, caller_route_set: d.callerRouteSet, caller_bind_addr: d.callerSock?.realName,
    callee_tag: d.calleeTag, callee_contact: d.calleeContact, caller_cseq: d.calleeCseq,
    callee_route_set: d.calleeRouteSet, callee_bind_addr: d.calleeSock?.realName,
  }).toEqual({
    state: a["state"], user_flags: a["user_flags"], timestart: a["timestart"], callid: a["callid"], from_uri: a["from_uri"],
    to_uri: a["to_uri"], caller_tag: a["caller_tag"], caller_contact: a["caller_contact"], callee_cseq: a["callee_cseq"],
    caller_route_set: a["caller_route_set"], caller_bind_addr: a["caller_bind_addr"], callee_tag: a["callee_tag"],
    callee_contact: a["callee_contact"], caller_cseq: a["caller_cseq"], callee_route_set: a["callee_route_set"],
    callee_bind_addr: a["callee_bind_addr"],
  });
  // 1.10 prints the remaining lifetime from its tick counter: the absolute value may be 1 s off.
  expect(Math.abs(d.expiresAt - Number(a["timeout"]))).toBeLessThanOrEqual(1);
  if (mi.values.length || mi.profiles.length) {
    expect([...(d.vals ?? [])].reverse().map(([k, v]) => [k, String(v)])).toEqual(mi.values);
    expect((d.links ?? []).map((l) => [l.profile.name, l.value])).toEqual(mi.profiles);
  }
}

function live(node: V110TestNode): Dialog[] {
  return [...node.engine.table].filter((d) => d.state !== 5);
}

/** Replays node A's datagrams into a fresh node B, stopping at each MI moment to call `check`. */
function replay(check: (b: V110TestNode, section: { cmd: string; text: string }, index: number) => void, until = Infinity): { b: V110TestNode; clock: FakeClock } {
  const clock = new FakeClock(Math.floor(T0 * 1000));
  const wire = new V110Wire();
  const b = makeNodeB(clock, wire);
  const sections = loadMiSections().filter((s) => s.node === "B");
  const moments = B_MOMENTS.map((t, i) => ({ t, run: () => check(b, sections[i]!, i) }));
  const tick = (toS: number): void => {
    // B's timer runs every second, as 1.10's.
    while (clock.ms < Math.floor((T0 + toS) * 1000)) {
      clock.ms = Math.min(clock.ms + 1000, Math.floor((T0 + toS) * 1000));
      b.engine.runTimers();
    }
  };
  const hops = seq.packets.map((p) => ({ t: p.t_s, run: () => b.core.deliver(vectors.get(p.file)!.bytes, { proto: "udp", host: "127.0.0.1", port: 46601 }) }));
  for (const ev of [...hops, ...moments].sort((x, y) => x.t - y.t)) {
    if (ev.t > until) break;
    tick(ev.t);
    ev.run();
  }
  return { b, clock };
}

describe("1.10 replay: tsips as the capture's node B", () => {
  it("has one MI moment per node-B section of live/mi.txt", () => {
    expect(loadMiSections().filter((s) => s.node === "B").map((s) => s.cmd)).toEqual([
      "dlg_list", "dlg_list_ctx", "profile_get_size caller alice", "profile_get_size calls", "get_statistics dialog:",
      "dlg_list", "get_statistics dialog:", "dlg_list", "dlg_list", "dlg_list", "dlg_list", "get_statistics dialog:",
    ]);
  });

  it("holds, at every moment B answered MI, the dialogs, states, values, profiles and statistics B showed", () => {
    const senderIds = new Map<string, number>();
    for (const v of vectors.values()) if (v.packet_type === 1) senderIds.set(String(v.fields["callid"]), Number(v.fields["h_id"]));
    let checked = 0;
    replay((b, s) => {
      checked++;
      if (s.cmd.startsWith("dlg_list")) {
        const { code, dialogs } = parseMiDialogs(s.text);
        expect(code).toBe(200);
        const ours = live(b);
        expect(ours.map((d) => d.callid).sort()).toEqual(dialogs.map((d) => d.attrs["callid"]).sort());
        for (const mi of dialogs) expectSameDialog(mi, ours.find((d) => d.callid === mi.attrs["callid"])!, senderIds.get(mi.attrs["callid"]!));
      } else if (s.cmd.startsWith("profile_get_size")) {
        const [, name, value] = s.cmd.split(" ");
        const m = /count=(\d+)/.exec(s.text)!;
        expect(b.engine.profileSize(name!, value)).toBe(Number(m[1]));
      } else {
        const real = parseMiStats(s.text);
        const c = b.engine.counts();
        const ours: Record<string, number> = { active_dialogs: c.active, early_dialogs: c.early };
        for (const [k, st] of Object.entries(b.stats)) if (!(k in ours)) ours[k] = st.get();
        for (const [k, v] of Object.entries(real)) expect(ours[k], k).toBe(v);
      }
    });
    expect(checked).toBe(B_MOMENTS.length);
  });
});

describe("1.10 probes: crafted datagrams have the real receiver's effect", () => {
  it("each of the 15 probes, then B's final statistics", () => {
    const { b, clock } = replay(() => {});
    const probes = loadV110Probes();
    const core = b.core;
    const before = (): Record<string, number> => ({
      dropped: core.stats.dropped.get(), unhandled: core.stats.unhandled.get(), dispatched: core.stats.dispatched.get(),
      create_recv: b.stats.create_recv.get(), update_recv: b.stats.update_recv.get(), delete_recv: b.stats.delete_recv.get(),
      dialogs: live(b).length,
    });
    const seen: string[] = [];
    for (const p of probes) {
      clock.ms = Math.floor(p.t * 1000);
      b.engine.runTimers();
      if (p.probe === "final_stats") {
        const real = parseMiStats(p.mi!["get_statistics dialog:"]!);
        const c = b.engine.counts();
        const ours: Record<string, number> = { active_dialogs: c.active, early_dialogs: c.early };
        for (const [k, st] of Object.entries(b.stats)) if (!(k in ours)) ours[k] = st.get();
        for (const [k, v] of Object.entries(real)) expect(ours[k], k).toBe(v);
        continue;
      }
      const was = before();
      core.deliver(Buffer.from(p.hex!, "hex"), { proto: "udp", host: "127.0.0.1", port: 55555 });
      const now = before();
      const delta = Object.fromEntries(Object.keys(now).map((k) => [k, now[k]! - was[k]!]));
      seen.push(p.probe);
      switch (p.probe) {
        case "short_10_bytes":
        case "bad_marker":
        case "bad_crc":
        case "crc_with_final_xor":
          expect(delta).toMatchObject({ dropped: 1, dispatched: 0, create_recv: 0, update_recv: 0, delete_recv: 0, dialogs: 0 });
          break;
        case "unknown_module":
          expect(delta).toMatchObject({ dropped: 0, unhandled: 1, dispatched: 0 });
          break;
        case "dialog_type_9":
          expect(delta).toMatchObject({ dropped: 0, dispatched: 1, create_recv: 0, update_recv: 0, delete_recv: 0, dialogs: 0 });
          break;
        case "delete_unknown":
        case "delete_again":
        case "trailing_garbage_delete":
          expect(delta).toMatchObject({ delete_recv: 1, dialogs: 0, dropped: 0 });
          break;
        case "created_nonlocal_socket":
        case "created_empty_callee_socket":
          expect(delta).toMatchObject({ create_recv: 1, dialogs: 0 });
          break;
        case "delete_swapped_tags":
          expect(delta).toMatchObject({ delete_recv: 1, dialogs: -1 });
          break;
        case "update_unknown_creates":
          expect(delta).toMatchObject({ update_recv: 1, dialogs: 1 });
          break;
        case "created_duplicate":
          expect(delta).toMatchObject({ create_recv: 1, dialogs: 0 });
          break;
        case "update_known":
          expect(delta).toMatchObject({ update_recv: 1, dialogs: 0 });
          break;
        default:
          throw new Error(`probe ${p.probe} has no expectation here`);
      }
      for (const [cmd, text] of Object.entries(p.mi ?? {})) {
        const callid = cmd.split(" ")[1]!;
        const { code, dialogs } = parseMiDialogs(text);
        const d = b.engine.lookup(callid) as Dialog | undefined;
        if (code === 404) expect(d).toBeUndefined();
        else expectSameDialog(dialogs[0]!, d!, 7);
      }
    }
    expect(seen).toHaveLength(15);
  });
});
