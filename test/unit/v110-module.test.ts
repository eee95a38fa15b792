/**
 * The dialog module in OpenSIPS 1.10 mode through the real lifecycle (in-process hosts with
 * real `bin_listen` UDP sockets on 127.0.0.1): A replicates to B over the wire, and the
 * configurations that cannot work are refused at startup with a clear message.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../core/testing/host.ts";
import { waitFor } from "../../core/testing/wait.ts";
import dialog from "../../modules/dialog/index.ts";
import type { DialogEngine } from "../../modules/dialog/engine.ts";

const hosts: TestHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

async function host(o: Parameters<typeof createTestHost>[0]): Promise<TestHost> {
  const h = await createTestHost(o);
  hosts.push(h);
  return h;
}

describe("dialog module, 1.10 mode", () => {
  it("A (replicate_dialogs_to) → B (accept_replicated_dialogs) over real bin_listen sockets", async () => {
    const b = await host({
      modules: [{ def: dialog, params: { accept_replicated_dialogs: 1, profiles_no_value: "calls" } }],
      sockets: ["udp:127.0.0.1:45062 as 127.0.0.1:45061"], globals: { bin_listen: "127.0.0.1:0" },
    });
    const bPort = Number(b.binListen!.split(":").at(-1));
    const a = await host({
      modules: [{ def: dialog, params: { replicate_dialogs_to: [`udp:127.0.0.1:${bPort}`], profiles_no_value: "calls" } }],
      sockets: ["udp:127.0.0.1:45061"], globals: { bin_listen: "127.0.0.1:0" },
    });
    const ea = a.api<DialogEngine>("dialog");
    const eb = b.api<DialogEngine>("dialog");
    const d = ea.create({ callid: "m1@h", fromUri: "sip:a@h", toUri: "sip:b@h", state: 3, profiles: [{ name: "calls" }] });
    await waitFor("the dialog on B", () => eb.lookup("m1@h"), 5_000);
    ea.setState(d, 4);
    await waitFor("state 4 on B", () => eb.lookup("m1@h")?.state === 4, 5_000);
    expect(eb.profileSize("calls")).toBe(1);
    expect(eb.lookup("m1@h")!.hId).not.toBe(d.hId);
    ea.end(d);
    await waitFor("gone on B", () => eb.lookup("m1@h") === undefined, 5_000);
    expect(b.stats.find("bin:v110_received")?.get()).toBe(3);
  });

  it("refuses replicate_dialogs_to without bin_listen (1.10 would crash on a NULL socket)", async () => {
    await expect(createTestHost({ modules: [{ def: dialog, params: { replicate_dialogs_to: ["127.0.0.1:5062"] } }], sockets: ["udp:127.0.0.1:5060"] }))
      .rejects.toThrow(/replicate_dialogs_to needs a bin_listen/);
  });
});
