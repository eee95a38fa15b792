/**
 * usrloc MI replies (spec §8) and modparam handling (§6–§7) through the real loader.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestHost } from "../../core/testing/index.ts";
import usrloc from "../../modules/usrloc/index.ts";
import type { UsrlocService } from "../../modules/usrloc/service.ts";
import { FakeBus, ulNode, type UlNode } from "./usrloc-helpers.ts";

const T0 = 1795363087;
let nodes: UlNode[] = [];
const stops: (() => Promise<void>)[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0 * 1000);
});
afterEach(async () => {
  for (const n of nodes) await n.stop();
  for (const s of stops.splice(0)) await s();
  nodes = [];
  vi.useRealTimers();
});

async function single(params: Record<string, string | number | string[]> = {}, sockets?: string[]) {
  const host = await createTestHost({ modules: [{ def: usrloc, params }], ...(sockets ? { sockets } : {}) });
  stops.push(() => host.stop());
  return { host, ul: host.api<UsrlocService>("usrloc"), mi: (c: string, p: Record<string, string | number> = {}) => host.mi.run(c, p) };
}

const add = { table_name: "location", aor: "alice", contact: "sip:alice@127.0.0.1:5090", expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 32767 };

describe("usrloc MI", () => {
  it("ul_show_contact / ul_dump shapes, keys in OpenSIPS order", async () => {
    const { ul, mi } = await single({ mi_dump_kv_store: 1, branch_flag: ["NAT", "PUSH"] },
      ["udp:127.0.0.1:5061 tag sipnet", "udp:10.0.0.1:5060 as 1.2.3.4:5070"]);
    expect(await mi("ul_add", add)).toBe("OK");
    ul.insert("location", "alice", "sip:alice@10.9.9.9:5062", {
      expires: T0 + 100, callid: "abc", cseq: 7, q: 250, flags: 2, cflags: "PUSH", userAgent: "ua/2", received: "sip:9.9.9.9:5062",
      path: "<sip:edge;lr>", socket: "udp:10.0.0.1:5060", methods: 4, attr: "at", instance: "<urn:uuid:1>", kv: { k: 1 },
    });
    ul.putAorKey("location", "alice", "a", "b");
    const contact2 = {
      Contact: "sip:alice@10.9.9.9:5062", Expires: 100, Q: "0.25", Callid: "abc", Cseq: 7, "User-agent": "ua/2",
      Received: "sip:9.9.9.9:5062", Path: "<sip:edge;lr>", State: "CS_NEW", Flags: 2, Cflags: "PUSH", Socket: "udp:1.2.3.4:5070",
      Methods: 4, Attr: "at", SIP_instance: "<urn:uuid:1>", "KV-Store": '{"k":1}',
    };
    const shown = (await mi("ul_show_contact", { table_name: "location", aor: "alice" })) as { AOR: string; Contacts: Record<string, unknown>[] };
    expect(Object.keys(shown)).toEqual(["AOR", "Contacts", "KV-Store"]);
    expect(shown["KV-Store" as never]).toBe('{"a":"b"}');
    expect(shown.Contacts[0]).toMatchObject({ Contact: "sip:alice@127.0.0.1:5090", Expires: 3600, Q: "0.5", Cseq: 1, Methods: 32767, Cflags: "" });
    expect(Object.keys(shown.Contacts[0]!)).toEqual(["Contact", "ContactID", "Expires", "Q", "Callid", "Cseq", "User-agent", "State", "Flags", "Cflags", "Methods"]);
    const { ContactID, ...rest } = shown.Contacts[1]!;
    expect(rest).toEqual(contact2);
    expect(Object.keys(shown.Contacts[1]!)).toEqual(["Contact", "ContactID", ...Object.keys(contact2).slice(1)]);
    expect(typeof ContactID).toBe("string");
    expect(BigInt(ContactID as string)).toBe(ul.get("location", "alice")!.contactList()[1]!.contactId);

    const dump = await mi("ul_dump");
    expect(dump).toEqual({ Domains: [{ name: "location", hash_size: 512, AORs: [shown] }] });
    expect(await mi("ul_dump", { brief: 1 })).toEqual({ Domains: [{ name: "location", hash_size: 512, AORs: [{ AOR: "alice" }] }] });
    expect(await mi("ul_dump", { brief: 0 })).toEqual(dump);
  });

  it("Expires and Q renderings", async () => {
    const { ul, mi } = await single();
    const ins = (uri: string, expires: number, q: number) => ul.insert("location", "e", uri, { expires, callid: uri, cseq: 1, q });
    ins("sip:a@h", 0, 1000);
    ins("sip:b@h", 10, 0);
    ins("sip:c@h", T0 - 5, 125);
    ins("sip:d@h", T0 + 9, -1);
    ins("sip:e@h", T0 + 9, 800);
    const r = (await mi("ul_show_contact", { table_name: "location", aor: "e" })) as { Contacts: { Contact: string; Expires: unknown; Q: string }[] };
    expect(r.Contacts.map((c) => [c.Contact, c.Expires, c.Q])).toEqual([
      ["sip:a@h", "permanent", "1"], ["sip:e@h", 9, "0.8"], ["sip:c@h", "expired", "0.125"], ["sip:b@h", "deleted", "0"], ["sip:d@h", 9, ""],
    ]);
  });

  it("errors: table, AoR normalisation, missing AoR/contact, bad q, ul_sync, ul_cluster_sync", async () => {
    const { mi } = await single();
    await expect(mi("ul_show_contact", { table_name: "nope", aor: "x" })).rejects.toMatchObject({ code: 404, message: "Table not found" });
    await expect(mi("ul_show_contact", { table_name: "location", aor: "x" })).rejects.toMatchObject({ code: 404, message: "AOR not found" });
    await expect(mi("ul_add", { ...add, q: "0.1234" })).rejects.toMatchObject({ code: 400, message: "Bad parameter value" });
    await expect(mi("ul_add", { ...add, q: "2" })).rejects.toMatchObject({ code: 400, message: "Bad parameter value" });
    // use_domain 0: the domain part is cut off.
    expect(await mi("ul_add", { ...add, aor: "alice@example.com" })).toBe("OK");
    expect(await mi("ul_show_contact", { table_name: "location", aor: "alice@other.org" })).toMatchObject({ AOR: "alice" });
    await expect(mi("ul_rm_contact", { table_name: "location", aor: "bob", contact: "sip:x@y" })).rejects.toMatchObject({ code: 404, message: "AOR not found" });
    await expect(mi("ul_rm_contact", { table_name: "location", aor: "alice", contact: "sip:x@y" })).rejects.toMatchObject({ code: 404, message: "Contact not found" });
    // Contact matched by URI equivalence (scheme case, a parameter only one side has).
    expect(await mi("ul_rm_contact", { table_name: "location", aor: "alice", contact: "SIP:alice@127.0.0.1:5090;ob" })).toBe("OK");
    expect(await mi("ul_rm", { table_name: "location", aor: "ghost" })).toBe("OK");
    expect(await mi("ul_flush")).toBe("OK");
    await expect(mi("ul_sync", { table_name: "location" })).rejects.toMatchObject({ code: 200, message: "Contacts already synced" });
    await expect(mi("ul_cluster_sync")).rejects.toMatchObject({ code: 400, message: "Clustering not enabled" });
    const { mi: mi2 } = await single({ use_domain: 1 });
    await expect(mi2("ul_add", add)).rejects.toMatchObject({ code: 400, message: "Domain missing in AOR" });
    expect(await mi2("ul_add", { ...add, aor: "alice@example.com" })).toBe("OK");
    expect(await mi2("ul_show_contact", { table_name: "location", aor: "alice@example.com" })).toMatchObject({ AOR: "alice@example.com" });
  });

  it("ul_add on an existing contact updates it keeping its CSeq; ul_rm removes the AoR", async () => {
    const bus = new FakeBus();
    const n1 = await ulNode(bus, 1);
    nodes.push(n1);
    n1.ul.insert("location", "alice", "sip:alice@127.0.0.1:5090", { expires: T0 + 5, callid: "reg", cseq: 42 });
    expect(await n1.mi("ul_add", { ...add, contact: "SIP:alice@127.0.0.1:5090" })).toBe("OK");
    const c = n1.ul.get("location", "alice")!.contactList();
    expect(c.length).toBe(1);
    expect(c[0]).toMatchObject({ cseq: 42, callid: "dfjrewr12386fd6-343@opensips.mi", expires: T0 + 3600, q: 500, lastModified: 0, methods: 32767 });
    expect(await n1.mi("ul_rm", { table_name: "location", aor: "alice" })).toBe("OK");
    expect(n1.ul.get("location", "alice")).toBeUndefined();
  });

  it("ul_dump streams large tables in chunks and stays parseable", async () => {
    const { ul, host } = await single();
    for (let i = 0; i < 5000; i++) ul.insert("location", `a${i}`, `sip:a${i}@10.0.0.1`, { expires: 0, callid: `c${i}`, cseq: 1 });
    const res = await host.registry.run("ul_dump", {});
    expect((res as { kind: string }).kind).toBe("mi-stream");
    const parts: string[] = [];
    for await (const c of (res as { chunks: AsyncIterable<string> }).chunks) parts.push(c);
    expect(parts.length).toBeGreaterThan(3);
    const d = JSON.parse(parts.join("")) as { Domains: { AORs: { AOR: string }[] }[] };
    expect(d.Domains[0]!.AORs.length).toBe(5000);
    expect(host.stats.find("usrloc:location-contacts")!.get()).toBe(5000);
    expect(host.stats.find("usrloc:registered_users")!.get()).toBe(5000);
  });

  it("ul_bench_load inserts through the API and replicates", async () => {
    const bus = new FakeBus();
    const n1 = await ulNode(bus, 1);
    const n2 = await ulNode(bus, 2);
    nodes.push(n1, n2);
    expect(await n1.mi("ul_bench_load", { count: 50, prefix: "b", per_aor: 5 })).toMatchObject({ inserted: 50 });
    expect(n2.ul.count()).toEqual({ users: 10, contacts: 50 });
  });
});

describe("usrloc modparams", () => {
  const load = (params: Record<string, string | number>) =>
    createTestHost({ modules: [{ def: usrloc, params }] }).then((h) => { stops.push(() => h.stop()); return h; });

  it("rejects the SQL/CacheDB presets and modes with TSIPS_ERR_PARAM_VALUE naming what works", async () => {
    for (const v of ["sql-only", "full-sharing-cachedb-cluster", "federation-cachedb-cluster"]) {
      await expect(load({ working_mode_preset: v })).rejects.toMatchObject({
        code: "TSIPS_ERR_PARAM_VALUE", message: expect.stringContaining('"single-instance-sql-write-back" or "full-sharing-cluster"'),
      });
    }
    await expect(load({ working_mode_preset: "bogus" })).rejects.toMatchObject({ code: "TSIPS_ERR_PARAM_VALUE", message: expect.stringContaining("unknown working_mode_preset") });
    await expect(load({ cluster_mode: "federation" })).rejects.toMatchObject({ message: expect.stringContaining("'federation' clustering not implemented yet") });
    await expect(load({ restart_persistency: "from-sql" })).rejects.toMatchObject({ code: "TSIPS_ERR_PARAM_VALUE" });
    // load-from-sql needs the DB module its db_url names.
    await expect(load({ restart_persistency: "load-from-sql", db_url: "sqlite:///tmp/x.db" })).rejects.toMatchObject({
      code: "TSIPS_ERR_DEP_MISSING", message: expect.stringContaining("db_sqlite"),
    });
    await expect(load({ hash_size: 17 })).rejects.toMatchObject({ code: "TSIPS_ERR_PARAM_VALUE" });
    await expect(load({ matching_mode: 2 })).rejects.toMatchObject({ code: "TSIPS_ERR_PARAM_VALUE" });
  });

  it("preset is case-insensitive; single-instance-no-db works without a clusterer; db_mode 0 is the deprecated alias", async () => {
    const h = await load({ working_mode_preset: "Single-Instance-No-DB", hash_size: 4 });
    expect(await h.mi.run("ul_dump", { brief: 1 })).toEqual({ Domains: [{ name: "location", hash_size: 16, AORs: [] }] });
    const h2 = await load({ db_mode: 0, hash_size: 1 });
    expect(await h2.mi.run("ul_dump", { brief: 1 })).toEqual({ Domains: [{ name: "location", hash_size: 512, AORs: [] }] });
  });

  it("consistency rules of ul_check_config fail init with a clear message", async () => {
    const err = (p: Record<string, string | number>) => load(p).then(() => "started", (e: Error) => `${(e as { code?: string }).code} ${e.message}${e.cause ? ` / ${(e.cause as Error).message}` : ""}`);
    expect(await err({ db_mode: 0, working_mode_preset: "single-instance-no-db" })).toMatch(/both 'db_mode' and 'working_mode_preset'/);
    expect(await err({ db_mode: 3 })).toMatch(/db_mode 3 \(sql-only\) is not supported/);
    expect(await err({ db_mode: 2 })).toMatch(/selected mode requires a db connection -> db_url/);
    expect(await err({ cluster_mode: "none", restart_persistency: "sync-from-cluster" })).toMatch(/sync-from-cluster" needs a cluster_mode/);
    // location_cluster pulls in the clusterer dependency; without it loaded the loader says so.
    expect(await err({ working_mode_preset: "full-sharing-cluster", location_cluster: 1 })).toMatch(/TSIPS_ERR_DEP_MISSING.*clusterer/);
    expect(await err({ working_mode_preset: "full-sharing-cluster" })).toMatch(/needs 'location_cluster'/);
  });

  it("accepts every OpenSIPS 3.6.8 usrloc parameter (unimplemented ones with a warning)", async () => {
    const names = Object.keys(usrloc.params ?? {});
    for (const n of ["location_cluster", "cluster_mode", "restart_persistency", "sql_write_mode", "working_mode_preset", "db_mode",
      "pinging_mode", "shared_pinging", "ha_cluster", "ha_shtag", "skip_replicated_db_ops", "use_domain", "desc_time_order",
      "hash_size", "timer_interval", "matching_mode", "cseq_delay", "nat_bflag", "contact_refresh_timer", "max_contact_delete",
      "regen_broken_contactid", "mi_dump_kv_store", "latency_event_min_us", "latency_event_min_us_delta", "db_url", "cachedb_url",
      "contact_id_column", "user_column", "domain_column", "contact_column", "expires_column", "q_column", "callid_column",
      "cseq_column", "flags_column", "cflags_column", "user_agent_column", "received_column", "path_column", "socket_column",
      "methods_column", "sip_instance_column", "kv_store_column", "attr_column"]) {
      expect(names, n).toContain(n);
    }
    expect(usrloc.params!.db_url.ignored).toBeUndefined();
    expect(usrloc.params!.user_column.ignored).toMatch(/default column names/);
    expect(usrloc.params!.location_cluster.ignored).toBeUndefined();
    const h = await load({ sql_write_mode: "write-back", db_url: "mysql://x", user_column: "u", shared_pinging: 0 });
    expect(h.api<UsrlocService>("usrloc").opts.pinging).toBe("ownership");
  });
});
