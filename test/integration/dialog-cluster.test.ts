/**
 * Dialog replication between real node processes on 127.0.0.1 (core/testing harness):
 * dialogs created/updated/ended on node 1 appear/change/vanish on node 2, profiles counted on
 * both, a restarted node syncs every dialog, and failover by sharing tag with automatic
 * takeover: node 1 is killed, node 2 owns `vip` and runs the remaining lifetimes, each once.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes } from "../../core/testing/node-process.ts";
import { waitFor } from "../../core/testing/wait.ts";

/** The dialog part of each node's cfg: a recorded (not bound) SIP socket with the same tag on both nodes. */
const dialogCfg = (id: number, extra = ""): string => `
socket = udp:127.0.0.1:${15060 + id} tag sipnet
loadmodule "dialog.so"
modparam("dialog", "dialog_replication_cluster", 1)
modparam("dialog", "profile_replication_cluster", 1)
modparam("dialog", "profiles_no_value", "calls/b")
modparam("dialog", "profiles_with_value", "caller/b")
${extra}`;

type Dlg = { ID: string; callid: string; state: number; timeout: number; caller_bind_addr: string };

let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(killAllNodes);

async function dialogs(id: number): Promise<Dlg[]> {
  return ((await cluster!.mi(id, "dlg_list")) as { Dialogs: Dlg[] }).Dialogs;
}

async function stat(id: number, name: string): Promise<number> {
  const r = (await cluster!.mi(id, "get_statistics", { statistics: ["dialog:"] })) as Record<string, number>;
  return r[`dialog:${name}`] ?? NaN;
}

async function profileSize(id: number, profile: string, value?: string): Promise<number> {
  const r = (await cluster!.mi(id, "profile_get_size", value === undefined ? { profile } : { profile, value })) as { Profile: { count: number } };
  return r.Profile.count;
}

describe("dialog: real nodes", () => {
  it("replicates create/update/end, counts profiles on both nodes, and syncs a restarted node", async () => {
    cluster = await LocalCluster.start({ size: 2, extra: (id) => dialogCfg(id), clusterer: { seed_fallback_interval: 1 } });
    const made = (await cluster.mi(1, "dlg_create", { callid: "it-1@h", from_uri: "sip:alice@h", to_uri: "sip:bob@h", state: 3, timeout: 300,
      profiles: "calls/b;caller/b=alice" })) as { ID: string };
    await waitFor("the dialog on node 2", async () => (await dialogs(2)).some((d) => d.ID === made.ID && d.state === 3), 5_000);
    const onTwo = (await dialogs(2)).find((d) => d.ID === made.ID)!;
    expect(onTwo.caller_bind_addr).toBe("udp:127.0.0.1:15062"); // node 2's own socket, matched through the tag
    await cluster.mi(1, "dlg_set_state", { dialog_id: made.ID, state: 4 });
    await cluster.mi(1, "dlg_push_var", { dlg_val_name: "note", dlg_val_value: "hello", DID: [made.ID] });
    await waitFor("state 4 and the value on node 2", async () => {
      const r = (await cluster!.mi(2, "dlg_list_ctx", { callid: "it-1@h" })) as { Dialog: { state: number; context: { values?: Record<string, string>[] } } };
      return r.Dialog.state === 4 && (r.Dialog.context.values ?? []).some((v) => v["note"] === "hello");
    }, 5_000);

    // profiles: each node counts the dialog (local on 1, replicated on 2) plus the other's broadcast counter
    await waitFor("profile counters on both nodes", async () =>
      (await profileSize(1, "calls/b")) === 2 && (await profileSize(2, "calls/b")) === 2 && (await profileSize(2, "caller/b", "alice")) === 2, 5_000);

    await cluster.mi(1, "dlg_end_dlg", { dialog_id: made.ID });
    await waitFor("the dialog gone from node 2", async () => (await dialogs(2)).length === 0, 5_000);
    expect(await stat(2, "delete_recv")).toBe(1);
    await waitFor("profile counts back to 0", async () => (await profileSize(2, "calls/b")) === 0 && (await profileSize(1, "calls/b")) === 0, 5_000);

    // a restarted node gets every confirmed dialog back through the dialog sync
    await cluster.mi(1, "dlg_bench_create", { count: 500, timeout: 600 });
    await cluster.mi(1, "dlg_create", { callid: "early@h", from_uri: "sip:a@h", to_uri: "sip:b@h", state: 2 });
    await waitFor("500 dialogs on node 2", async () => (await stat(2, "active_dialogs")) === 500, 10_000);
    await cluster.kill(2);
    await cluster.mi(1, "dlg_bench_create", { count: 300, timeout: 600 }); // while node 2 is down
    const mark = cluster.node(2).logs.length;
    await cluster.restart(2);
    await cluster.node(2).waitForLog((l) => l["event"] === "synced" && l["capability"] === "dialog-dlg-repl", 10_000, mark);
    await waitFor("800 dialogs on node 2 after the sync", async () => (await stat(2, "active_dialogs")) === 800, 5_000);
    const one = new Set((await dialogs(1)).filter((d) => d.state === 4).map((d) => d.ID));
    const two = new Set((await dialogs(2)).map((d) => d.ID));
    expect(two).toEqual(one); // the early dialog is not synced
    expect(await stat(2, "create_recv")).toBe(0); // all of them came as sync data
  }, 60_000);

  it("failover: vip active on node 1, node 1 killed, node 2 takes vip over and runs the lifetimes it now owns, none twice", async () => {
    cluster = await LocalCluster.start({
      size: 2,
      extra: (id) => dialogCfg(id),
      clusterer: { seed_fallback_interval: 1, shtag_auto_takeover: 1 },
      sharingTags: (id) => [id === 1 ? "vip=active" : "vip=backup"],
    });
    // 2 short dialogs that node 1 ends itself, 4 longer ones that outlive node 1
    for (let i = 0; i < 2; i++) await cluster.mi(1, "dlg_create", { callid: `short-${i}@h`, from_uri: "sip:a@h", to_uri: "sip:b@h", timeout: 1, sharing_tag: "vip" });
    for (let i = 0; i < 4; i++) await cluster.mi(1, "dlg_create", { callid: `long-${i}@h`, from_uri: "sip:a@h", to_uri: "sip:b@h", timeout: 5, sharing_tag: "vip" });
    await waitFor("6 dialogs on node 2", async () => (await stat(2, "active_dialogs")) === 6, 5_000);
    expect((await cluster.mi(2, "dlg_end_dlg", { dialog_id: "long-0@h" }).catch((e: Error) => e.message))).toMatch(/Node is backup for requested dialog/);

    await waitFor("node 1 ends the short ones, node 2 follows", async () => (await stat(2, "active_dialogs")) === 4, 6_000);
    expect(await stat(1, "expired_dialogs")).toBe(2);
    expect(await stat(2, "expired_dialogs")).toBe(0);
    expect(await stat(2, "delete_recv")).toBe(2);

    await cluster.kill(1);
    await waitFor("node 2 takes vip over", async () => {
      const tags = (await cluster!.mi(2, "clusterer_list_shtags")) as { Tag: string; State: string }[];
      return tags.some((t) => t.Tag === "vip" && t.State === "active");
    }, 5_000);
    await waitFor("node 2 ends the long ones", async () => (await stat(2, "active_dialogs")) === 0, 10_000);
    expect(await stat(2, "expired_dialogs")).toBe(4);
    const ended = cluster.node(2).logs.filter((l) => /ended \d+ dialog\(s\) whose lifetime passed|sharing tag vip active here/.test(l.msg));
    expect(ended.length).toBeLessThanOrEqual(1);
    expect(await dialogs(2)).toEqual([]);
  }, 60_000);
});
