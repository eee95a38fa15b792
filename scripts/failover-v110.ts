/**
 * `npm run failover -- --v110 [--dialogs M] [--json]`: the OpenSIPS 1.10 failover scenario.
 *   1. start node B (accept_replicated_dialogs) and node A (replicate_dialogs_to B), each with
 *      its own bin_listen, on free loopback ports;
 *   2. make M dialogs on A (MI dlg_bench_create, plus one by dlg_create in state 3 → 4 with
 *      profiles), wait until B holds them all;
 *   3. kill A (SIGKILL);
 *   4. compare B's dialogs with what A held, Call-ID by Call-ID (state, tags, profiles).
 * Prints a report (one JSON object with --json); exits 1 if B misses a dialog.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { startV110Pair } from "../core/testing/index.ts";
import type { NodeProcess } from "../core/testing/index.ts";

export interface V110FailoverReport {
  dialogs: number;
  /** ms from the first create to B holding every dialog. */
  replicatedMs: number;
  onA: number;
  onB: number;
  missing: string[];
  mismatched: string[];
  /** B's counters after the kill. */
  bStats: Record<string, number>;
  ok: boolean;
}

type Dlg = { callid: string; state: number; caller_tag: string; CALLEES: { callee_tag: string }[] };

async function list(n: NodeProcess): Promise<Map<string, Dlg>> {
  const r = (await n.mi("dlg_list")) as { Dialogs: Dlg[] };
  return new Map(r.Dialogs.map((d) => [d.callid, d]));
}

async function active(n: NodeProcess): Promise<number> {
  const r = (await n.mi("get_statistics", { statistics: ["dialog:"] })) as Record<string, number>;
  return r["dialog:active_dialogs"] ?? -1;
}

export async function runV110Failover(o: { dialogs: number; progress?: boolean }): Promise<V110FailoverReport> {
  const pair = await startV110Pair({ logLevel: 2 });
  const say = (s: string): void => {
    if (o.progress !== false) process.stderr.write(`${s}\n`);
  };
  try {
    const { a, b } = pair;
    say(`nodes up: A bin_listen 127.0.0.1:${pair.ports.binA} → B bin_listen 127.0.0.1:${pair.ports.binB}`);
    const t0 = performance.now();
    const made = (await a.mi("dlg_create", { callid: "failover-v110@h", from_uri: "sip:alice@h", to_uri: "sip:bob@h", state: 3,
      profiles: "calls;caller=alice" })) as { ID: string };
    await a.mi("dlg_set_state", { dialog_id: made.ID, state: 4 });
    for (let done = 0; done < o.dialogs;) {
      const n = Math.min(1000, o.dialogs - done);
      await a.mi("dlg_bench_create", { count: n });
      done += n;
      // Paced so a burst never overflows B's socket buffer: UDP has no retransmission.
      for (let i = 0; i < 500 && (await active(b)) < done + 1; i++) await sleep(10);
      say(`  ${done}/${o.dialogs} dialogs made on A`);
    }
    const total = o.dialogs + 1;
    for (let i = 0; i < 1000 && (await active(b)) < total; i++) await sleep(10);
    const replicatedMs = Math.round(performance.now() - t0);
    const onA = await list(a);
    say(`A holds ${onA.size} dialogs; killing A (SIGKILL)`);
    await a.kill("SIGKILL");
    const onB = await list(b);
    const missing: string[] = [];
    const mismatched: string[] = [];
    for (const [callid, d] of onA) {
      const x = onB.get(callid);
      if (!x) missing.push(callid);
      else if (x.state !== d.state || x.caller_tag !== d.caller_tag || x.CALLEES[0]?.callee_tag !== d.CALLEES[0]?.callee_tag) mismatched.push(callid);
    }
    const bStats = (await b.mi("get_statistics", { statistics: ["dialog:", "bin:"] })) as Record<string, number>;
    const caller = (await b.mi("profile_get_size", { profile: "caller", value: "alice" })) as { Profile: { count: number } };
    if (caller.Profile.count !== 1) mismatched.push(`profile caller=alice counts ${caller.Profile.count} on B`);
    return { dialogs: total, replicatedMs, onA: onA.size, onB: onB.size, missing, mismatched, bStats, ok: missing.length === 0 && mismatched.length === 0 && onA.size === total };
  } finally {
    await pair.stop();
  }
}

export function formatV110Report(r: V110FailoverReport): string {
  return [
    "failover (OpenSIPS 1.10 mode: bin_listen, UDP, replicate_dialogs_to / accept_replicated_dialogs)",
    `  dialogs made on A     ${r.dialogs} (on B within ${r.replicatedMs} ms of the first create)`,
    `  A killed (SIGKILL)    A held ${r.onA}; B holds ${r.onB}`,
    `  B counters            create_recv=${r.bStats["dialog:create_recv"]} update_recv=${r.bStats["dialog:update_recv"]} bin:v110_dropped=${r.bStats["bin:v110_dropped"]}`,
    `  result                ${r.ok ? "OK — B holds every dialog" : `FAILED — missing ${r.missing.length}, mismatched ${r.mismatched.length}: ${[...r.missing, ...r.mismatched].slice(0, 5).join(", ")}`}`,
    "",
  ].join("\n");
}
