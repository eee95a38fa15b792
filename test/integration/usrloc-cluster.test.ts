/**
 * usrloc on real node processes (core/testing LocalCluster: proto_bin + clusterer + mi_http):
 * full sharing between 3 nodes (insert, update, delete from any node reach all), expiry on
 * every node's own timer without replication, and a restarted node getting every contact by
 * sync (2 nodes).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LocalCluster } from "../../core/testing/cluster.ts";
import { killAllNodes } from "../../core/testing/node-process.ts";
import { waitFor } from "../../core/testing/wait.ts";

const usrlocCfg = (extra = ""): string => `loadmodule "usrloc.so"
modparam("usrloc", "working_mode_preset", "full-sharing-cluster")
modparam("usrloc", "location_cluster", 1)
modparam("usrloc", "timer_interval", 1)
${extra}`;

let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(killAllNodes);

type Aor = { AOR: string; Contacts: Record<string, unknown>[] };
type Dump = { Domains: { name: string; hash_size: number; AORs: Aor[] }[] };

const add = (aor: string, contact: string, expires: number, q = "0.5") =>
  ({ table_name: "location", aor, contact, expires, q, flags: 0, cflags: 0, methods: 32767 });

async function stat(c: LocalCluster, id: number, name: string): Promise<number> {
  const r = (await c.mi(id, "get_statistics", { statistics: [name] })) as Record<string, number>;
  return r[`usrloc:${name}`]!;
}

async function showOrNull(c: LocalCluster, id: number, aor: string): Promise<Aor | null> {
  try {
    return (await c.mi(id, "ul_show_contact", { table_name: "location", aor })) as Aor;
  } catch {
    return null;
  }
}

async function synced(c: LocalCluster, ids: number[]): Promise<void> {
  await waitFor("usrloc synced everywhere", async () => {
    for (const id of ids) {
      if (!/"name":"usrloc-contact-repl","state":"Ok"/.test(JSON.stringify(await c.mi(id, "clusterer_list_cap")))) return false;
    }
    return true;
  }, 15_000);
}

/** Everything but the per-node contact ids and the seconds left (they tick). */
const comparable = (a: Aor | null) => a && { ...a, Contacts: a.Contacts.map(({ ContactID: _i, Expires: _e, ...rest }) => rest) };

describe("usrloc: full sharing on real nodes", () => {
  it("3 nodes: inserts, updates and deletes made on any node reach every node; expiry needs no packets", async () => {
    cluster = await LocalCluster.start({ size: 3, extra: usrlocCfg(), clusterer: { seed_fallback_interval: 1 } });
    const c = cluster;
    await synced(c, [1, 2, 3]);

    // Insert on node 1 (new AoR: AoR insert + contact insert).
    expect(await c.mi(1, "ul_add", add("alice", "sip:alice@127.0.0.1:5090", 3600))).toBe("OK");
    for (const id of [2, 3]) await waitFor(`alice on node ${id}`, async () => (await showOrNull(c, id, "alice")) !== null);
    const a1 = await showOrNull(c, 1, "alice");
    expect(a1!.Contacts[0]).toMatchObject({ Contact: "sip:alice@127.0.0.1:5090", Q: "0.5", Cseq: 1, Callid: "dfjrewr12386fd6-343@opensips.mi", Methods: 32767 });
    for (const id of [2, 3]) expect(comparable(await showOrNull(c, id, "alice"))).toEqual(comparable(a1));

    // Update on node 2 (same contact: q 0.8, expires 7200) and a second contact on node 3.
    await c.mi(2, "ul_add", add("alice", "sip:alice@127.0.0.1:5090", 7200, "0.8"));
    await c.mi(3, "ul_add", add("alice", "sip:alice@127.0.0.1:5093", 3600, "1"));
    for (const id of [1, 2, 3]) {
      await waitFor(`alice updated on node ${id}`, async () => {
        const a = await showOrNull(c, id, "alice");
        return a?.Contacts.length === 2 && a.Contacts.some((x) => x["Q"] === "0.8");
      });
    }
    const after = await showOrNull(c, 1, "alice");
    // Ordered by q: the q=1 contact first.
    expect(after!.Contacts.map((x) => [x["Contact"], x["Q"]])).toEqual([["sip:alice@127.0.0.1:5093", "1"], ["sip:alice@127.0.0.1:5090", "0.8"]]);
    for (const id of [2, 3]) expect(comparable(await showOrNull(c, id, "alice"))).toEqual(comparable(after));

    // Delete one contact on node 3, then the whole AoR on node 2.
    expect(await c.mi(3, "ul_rm_contact", { table_name: "location", aor: "alice", contact: "sip:alice@127.0.0.1:5093" })).toBe("OK");
    for (const id of [1, 2]) await waitFor(`contact gone on node ${id}`, async () => (await showOrNull(c, id, "alice"))?.Contacts.length === 1);
    expect(await c.mi(2, "ul_rm", { table_name: "location", aor: "alice" })).toBe("OK");
    for (const id of [1, 3]) await waitFor(`alice gone on node ${id}`, async () => (await showOrNull(c, id, "alice")) === null);

    // Expiry: a 2 s contact disappears from every node through each node's own timer.
    await c.mi(1, "ul_add", add("shortlived", "sip:s@10.0.0.9", 2));
    await c.mi(1, "ul_add", add("keeper", "sip:k@10.0.0.9", 3600));
    for (const id of [2, 3]) await waitFor(`keeper on node ${id}`, async () => (await showOrNull(c, id, "keeper")) !== null);
    const sent = await Promise.all([1, 2, 3].map((id) => stat(c, id, "repl_sent")));
    for (const id of [1, 2, 3]) {
      await waitFor(`shortlived expired on node ${id}`, async () => (await showOrNull(c, id, "shortlived")) === null, 8_000);
      expect(await stat(c, id, "location-expires")).toBe(1);
      expect(await stat(c, id, "location-contacts")).toBe(1);
    }
    expect(await Promise.all([1, 2, 3].map((id) => stat(c, id, "repl_sent")))).toEqual(sent);
    expect(await stat(c, 2, "repl_dropped")).toBe(0);
  }, 90_000);

  it("2 nodes: a restarted node gets every AoR and contact from the donor by sync", async () => {
    cluster = await LocalCluster.start({ size: 2, extra: usrlocCfg(), clusterer: { seed_fallback_interval: 1 } });
    const c = cluster;
    await synced(c, [1, 2]);
    await c.mi(1, "ul_bench_load", { count: 3000, prefix: "u", per_aor: 3 });
    await waitFor("3000 contacts on node 2", async () => (await stat(c, 2, "location-contacts")) === 3000, 20_000);

    await c.kill(2);
    // Changes made while node 2 is down reach it only through the sync.
    await c.mi(1, "ul_add", add("erin", "sip:erin@127.0.0.1:5095", 3600));
    await c.mi(1, "ul_rm", { table_name: "location", aor: "u0" });
    await c.restart(2);
    await waitFor("node 2 synced", async () => (await stat(c, 2, "location-contacts")) === 2998, 20_000);
    expect(await stat(c, 2, "location-users")).toBe(1000);
    expect(await showOrNull(c, 2, "u0")).toBeNull();
    expect(comparable(await showOrNull(c, 2, "erin"))).toEqual(comparable(await showOrNull(c, 1, "erin")));
    const brief = async (id: number) => ((await c.mi(id, "ul_dump", { brief: 1 })) as Dump).Domains[0]!.AORs.map((a) => a.AOR);
    expect(await brief(2)).toEqual(await brief(1));
    const st = (await c.mi(2, "clusterer_sync_status")) as { Clusters: { Capabilities: Record<string, unknown>[] }[] };
    // One AoR chunk per AoR and one per contact.
    expect(st.Clusters[0]!.Capabilities.find((x) => x["name"] === "usrloc-contact-repl")).toMatchObject({ state: "synced", donor: 1, chunks: 1000 + 2998 });

    // MI ul_cluster_sync asks again; nothing changes (every contact is already there).
    expect(await c.mi(2, "ul_cluster_sync")).toBe("OK");
    await waitFor("second sync done", async () => {
      const s = (await c.mi(2, "clusterer_sync_status")) as { Clusters: { Capabilities: Record<string, unknown>[] }[] };
      return s.Clusters[0]!.Capabilities.find((x) => x["name"] === "usrloc-contact-repl")!["syncs_done"] === 2;
    }, 10_000);
    expect(await stat(c, 2, "location-contacts")).toBe(2998);
  }, 90_000);
});
