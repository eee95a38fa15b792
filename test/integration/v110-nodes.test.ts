/**
 * Two real tsips processes in OpenSIPS 1.10 mode (bin_listen, UDP, CRC): dialogs made on A
 * by MI appear on B with B's own socket and h_id, thousands of creates and deletes arrive with
 * none missing, and a flood of hostile datagrams into B's bin_listen is dropped and counted
 * while B keeps running and keeps taking A's dialogs.
 */
import { createSocket } from "node:dgram";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { NodeProcess, killAllNodes } from "../../core/testing/node-process.ts";
import { freePorts } from "../../core/testing/ports.ts";
import { V110DlgCreated } from "../../modules/dialog/v110-messages.ts";
import { startV110Pair, type V110Pair } from "../../core/testing/v110-pair.ts";
import { waitFor } from "../../core/testing/wait.ts";

let pair: V110Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});
afterAll(killAllNodes);

type Dlg = { ID: string; callid: string; state: number; caller_bind_addr: string; context?: { values?: Record<string, string>[]; profiles?: Record<string, string>[] } };

async function stats(n: V110Pair["a"], group: string): Promise<Record<string, number>> {
  return (await n.mi("get_statistics", { statistics: [`${group}:`] })) as Record<string, number>;
}

describe("1.10 mode: two real nodes", () => {
  it("replicates MI dialogs A → B, then 3000 creates and deletes with none missing", async () => {
    pair = await startV110Pair();
    const { a, b, ports } = pair;
    const made = (await a.mi("dlg_create", { callid: "v110-1@h", from_uri: "sip:alice@h", to_uri: "sip:bob@h", state: 3, timeout: 300,
      profiles: "calls;caller=alice" })) as { ID: string };
    const onB = await waitFor("the dialog on B", async () =>
      ((await b.mi("dlg_list_ctx", { callid: "v110-1@h" }).catch(() => undefined)) as { Dialog: Dlg } | undefined)?.Dialog, 5_000);
    expect(onB.state).toBe(3);
    expect(onB.ID).not.toBe(made.ID); // B takes its own h_id
    expect(onB.caller_bind_addr).toBe(`udp:127.0.0.1:${ports.sipB}`);
    expect(onB.context?.profiles).toEqual([{ calls: "" }, { caller: "alice" }]);
    await a.mi("dlg_set_state", { dialog_id: made.ID, state: 4 });
    await waitFor("state 4 on B", async () => ((await b.mi("dlg_list", { callid: "v110-1@h" })) as { Dialog: Dlg }).Dialog.state === 4, 5_000);

    const N = 3000;
    // Bursts of 500, each waiting for B: UDP has no flow control (a loaded machine could overflow B's buffer).
    for (let done = 0; done < N; done += 500) {
      await a.mi("dlg_bench_create", { count: 500 });
      await waitFor(`${done + 501} dialogs on B`, async () => (await stats(b, "dialog"))["dialog:active_dialogs"] === done + 501, 20_000);
    }
    for (let left = N + 1; left > 0; left -= Math.min(500, left)) {
      await a.mi("dlg_bench_end", { count: Math.min(500, left) });
      const expectLeft = left - Math.min(500, left);
      await waitFor(`${expectLeft} dialogs left on B`, async () => (await stats(b, "dialog"))["dialog:active_dialogs"] === expectLeft, 20_000);
    }
    const sa = await stats(a, "dialog");
    const sb = await stats(b, "dialog");
    expect({ c: sa["dialog:create_sent"], u: sa["dialog:update_sent"], d: sa["dialog:delete_sent"] }).toEqual({ c: N + 1, u: 1, d: N + 1 });
    expect({ c: sb["dialog:create_recv"], u: sb["dialog:update_recv"], d: sb["dialog:delete_recv"] }).toEqual({ c: N + 1, u: 1, d: N + 1 });
    expect((await stats(b, "bin"))["bin:v110_dropped"]).toBe(0);
  }, 60_000);

  it("drops and counts hostile datagrams, keeps running and keeps replicating", async () => {
    pair = await startV110Pair();
    const { a, b, ports } = pair;
    const sock = createSocket("udp4");
    const kinds = [
      Buffer.from("5034434b000000000000", "hex"), // short
      Buffer.alloc(64, 0x41), // no marker
      Buffer.from("5034434b0dfa0c2d060000006469616c6f67030000000d00000070726f62652d31407473697073050000007074616741050000007074616742", "hex"), // bad CRC
      Buffer.from("5034434b00000000ffffff7f6469616c6f6703000000", "hex"), // (bad CRC and) a name running past the end
    ];
    const N = 10_000;
    // Paced in bursts the socket buffer holds (UDP itself drops what overflows it).
    for (let sent = 0; sent < N;) {
      for (let i = 0; i < 500; i++, sent++) {
        await new Promise<void>((r) => sock.send(kinds[sent % kinds.length]!, ports.binB, "127.0.0.1", () => r()));
      }
      await waitFor(`${sent} datagrams read by B`, async () => (await stats(b, "bin"))["bin:v110_received"]! >= sent, 10_000);
    }
    sock.close();
    const bin = await stats(b, "bin");
    expect(b.running).toBe(true);
    expect(bin["bin:v110_received"]).toBe(N);
    expect(bin["bin:v110_dropped"]).toBe(N);
    const warnings = b.logs.filter((l) => l.msg.includes("1.10 BIN datagram from"));
    expect(warnings.length).toBe(1); // one source: logged once per minute
    await a.mi("dlg_create", { callid: "after-flood@h", from_uri: "sip:a@h", to_uri: "sip:b@h" });
    await waitFor("a dialog replicated after the flood", async () => (await stats(b, "dialog"))["dialog:active_dialogs"] === 1, 5_000);
  }, 60_000);

  it("one config runs a 1.10 bin_listen beside a 3.6 socket=bin, each on its own socket; two sending modes are refused", async () => {
    const [bin110, bin36, sip, http] = await freePorts(4);
    const cfg = (extra: string): string => `
log_level = 3
bin_listen = 127.0.0.1:${bin110}
socket = bin:127.0.0.1:${bin36}
socket = udp:127.0.0.1:${sip}
loadmodule "proto_bin.so"
loadmodule "clusterer.so"
modparam("clusterer", "my_node_id", 1)
modparam("clusterer", "my_node_info", "cluster_id=1, url=bin:127.0.0.1:${bin36}")
loadmodule "httpd.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", ${http})
loadmodule "mi_http.so"
loadmodule "dialog.so"
modparam("dialog", "dialog_replication_cluster", 1)
${extra}`;
    const n = await NodeProcess.start({ cfg: cfg(`modparam("dialog", "accept_replicated_dialogs", 1)`), name: "v110-both" });
    try {
      const ready = n.logs.find((l) => l.msg.startsWith("ready"))!;
      expect(ready["listeners"]).toEqual(expect.arrayContaining([`udp:127.0.0.1:${bin110} (bin_listen)`, `bin:127.0.0.1:${bin36}`]));
      const dg = V110DlgCreated.encode({
        callid: "both@h", callerTag: "t1", calleeTag: "t2", fromUri: "sip:a@h", toUri: "sip:b@h", hId: 7, startTs: Math.floor(Date.now() / 1000),
        state: 4, callerSocket: `udp:127.0.0.1:${sip}`, calleeSocket: `udp:127.0.0.1:${sip}`, callerCseq: "1", calleeCseq: "1",
        callerRouteSet: "", calleeRouteSet: "", callerContact: "sip:a@h", calleeContact: "sip:b@h", calleeMangledFrom: "", calleeMangledTo: "",
        vars: "", profiles: "", userFlags: 0, flags: 0, timeout: Math.floor(Date.now() / 1000) + 60, callerLastGenCseq: 0, calleeLastGenCseq: 0,
      }).bytes();
      const sock = createSocket("udp4");
      await new Promise<void>((r) => sock.send(dg, bin110!, "127.0.0.1", () => r()));
      sock.close();
      await waitFor("the 1.10 dialog listed", async () => ((await n.mi("dlg_list", { callid: "both@h" }).catch(() => undefined)) as { Dialog?: Dlg } | undefined)?.Dialog, 5_000);
    } finally {
      await n.stop();
    }
    const bad = await NodeProcess.start({ cfg: cfg(`modparam("dialog", "replicate_dialogs_to", "127.0.0.1:1")`), name: "v110-two-modes", noWait: true });
    const exit = await bad.exited;
    expect(exit.code).not.toBe(0);
    expect(bad.text.join("\n")).toMatch(/two replication modes/);
  }, 30_000);
});
