/** Pure pieces of the dialog module: ids, value/profile text, socket strings, profile definitions. */
import { describe, expect, it } from "vitest";
import { coreHash } from "../../core/hash.ts";
import { floorPow2 } from "../../modules/dialog/hash-size.ts";
import { dbId, formatDid, parseDid, parseReverseHex, reverseHex } from "../../modules/dialog/did.ts";
import { checkProfileList } from "../../modules/dialog/params.ts";
import { ProfileTable } from "../../modules/dialog/profiles.ts";
import { LocalSockets as SocketTable, parseSocketString } from "../../core/sip-sockets.ts";
import { escapeField, parsePairs, parseProfiles, parseValues, serializeProfiles, serializeValues } from "../../modules/dialog/vals.ts";
import { sock } from "./dialog-helpers.ts";

describe("dialog ids (reverse hex)", () => {
  it("writes least significant nibble first, no padding, 0 as '0'", () => {
    expect(reverseHex(0xf30)).toBe("03f");
    expect(reverseHex(0)).toBe("0");
    expect(reverseHex(0x1a3)).toBe("3a1");
    expect(reverseHex(0x2f)).toBe("f2");
    expect(reverseHex(0xffffffff)).toBe("ffffffff");
    expect(formatDid(0x1a3, 0x2f)).toBe("3a1.f2");
  });
  it("parses upper and lower case, rejects junk", () => {
    expect(parseReverseHex("03F")).toBe(0xf30);
    expect(parseDid("3A1.F2")).toEqual({ hEntry: 0x1a3, hId: 0x2f });
    expect(parseDid("1-25469@127.0.0.1")).toBeUndefined();
    expect(parseDid("abc")).toBeUndefined();
    expect(parseDid("a.b.c")).toBeUndefined();
    expect(parseDid("123456789.1")).toBeUndefined();
  });
  it("db_id is (h_entry << 32) + h_id as unsigned 64-bit decimal", () => {
    expect(dbId(963, 1800017772)).toBe(String(963n * 4294967296n + 1800017772n));
    expect(dbId(4095, 0xffffffff)).toBe("17592186044415");
  });
  it("hash_size rounds down to a power of two", () => {
    expect(floorPow2(4096)).toBe(4096);
    expect(floorPow2(5000)).toBe(4096);
    expect(floorPow2(1)).toBe(1);
    expect(coreHash("x", 1)).toBe(0);
  });
});

describe("values and profiles text (§4)", () => {
  it("escapes |, # and \\ in names and values; newest first", () => {
    expect(escapeField("a|b#c\\d")).toBe("a\\|b\\#c\\\\d");
    const m = new Map<string, string | number>([["plan", "gold"], ["odd|name", "x#y"], ["n", -42]]);
    expect(serializeValues(m)).toBe("n#2#-42|odd\\|name#1#x\\#y|plan#1#gold|");
    expect(serializeValues(new Map())).toBe("");
  });
  it("parses back what it writes, unescaping only \\\\ \\# \\|", () => {
    const text = "n#2#-42|odd\\|name#1#x\\#y|plan#1#gold|keep#1#a\\nb|";
    expect(parseValues(text)).toEqual([["n", -42], ["odd|name", "x#y"], ["plan", "gold"], ["keep", "a\\nb"]]);
  });
  it("stops at a bad type char, skips bad integers", () => {
    expect(parsePairs("a#1#x|b#3#y|c#1#z|")).toEqual([{ name: "a", type: 1, value: "x" }]);
    expect(parseValues("a#2#zz|b#2#7|")).toEqual([["b", 7]]);
    expect(parsePairs("nohash|")).toEqual([]);
    expect(parsePairs("a#1#x|b#1#unterminated")).toEqual([{ name: "a", type: 1, value: "x" }]);
    expect(parseValues("empty#1#|a#1#x|")).toEqual([["a", "x"]]); // read_dialog_vars skips empty values
  });
  it("profiles: name with suffix, type 1, empty value for no-value profiles", () => {
    expect(serializeProfiles([{ name: "caller/b", value: "sipp" }, { name: "calls/b", value: "" }])).toBe("caller/b#1#sipp|calls/b#1#|");
    expect(parseProfiles("caller/b#1#sipp|calls/b#1#|")).toEqual([{ name: "caller/b", value: "sipp" }, { name: "calls/b", value: "" }]);
  });
});

describe("socket strings (§3.2)", () => {
  it("parses proto:host[:port] with IPv6 in brackets", () => {
    expect(parseSocketString("udp:10.0.0.1:5060")).toEqual({ proto: "udp", host: "10.0.0.1", port: 5060 });
    expect(parseSocketString("udp:sipnet")).toEqual({ proto: "udp", host: "sipnet", port: 0 });
    expect(parseSocketString("tcp:[2001:db8::1]:5061")).toEqual({ proto: "tcp", host: "2001:db8::1", port: 5061 });
    expect(parseSocketString("nonsense")).toBeUndefined();
    expect(parseSocketString("udp:")).toBeUndefined();
  });
  it("names sockets proto:tag or proto:ip:port, and matches like grep_sock_info", () => {
    const t = new SocketTable([
      sock("udp", "127.0.0.1", 5061, "sipnet"), sock("udp", "10.0.0.1", 5060), sock("tcp", "2001:db8::1", 5060),
      sock("udp", "192.168.1.1", 5070, undefined, { host: "pub.example.com", port: 5090 }), sock("bin", "127.0.0.1", 5601),
    ], "adv.example.org");
    expect(t.all.map((s) => s.sockStr)).toEqual([
      "udp:sipnet", "udp:10.0.0.1:5060", "tcp:[2001:db8::1]:5060", "udp:192.168.1.1:5070", "bin:127.0.0.1:5601"]);
    expect(t.all[0]!.realName).toBe("udp:127.0.0.1:5061");
    expect(t.defaultSip()?.sockStr).toBe("udp:sipnet");
    expect(t.resolve("udp:sipnet")?.realName).toBe("udp:127.0.0.1:5061");
    expect(t.resolve("UDP:SIPNET")?.realName).toBe("udp:127.0.0.1:5061"); // proto and tag are case-insensitive
    expect(t.resolve("udp:SIPNET")?.realName).toBe("udp:127.0.0.1:5061");
    expect(t.resolve("udp:10.0.0.1:5060")?.sockStr).toBe("udp:10.0.0.1:5060");
    expect(t.resolve("udp:10.0.0.1")?.sockStr).toBe("udp:10.0.0.1:5060"); // no port: any port
    expect(t.resolve("udp:10.0.0.1:5999")).toBeUndefined();
    expect(t.resolve("tcp:10.0.0.1:5060")).toBeUndefined(); // wrong proto
    expect(t.resolve("tcp:[2001:DB8::1]:5060")?.sockStr).toBe("tcp:[2001:db8::1]:5060");
    expect(t.resolve("udp:pub.example.com:5090")?.sockStr).toBe("udp:192.168.1.1:5070"); // advertised name and port
    expect(t.resolve("udp:adv.example.org:5060")?.sockStr).toBe("udp:10.0.0.1:5060"); // global advertised address
    expect(t.resolve("")).toBeUndefined();
  });
});

describe("profile definitions", () => {
  const table = (bin = true, warns: string[] = []) => new ProfileTable({
    buckets: 16, binEnabled: bin, cachedbUrl: "", expireSec: 10, now: () => 0, isBackupTag: () => false, warn: (m) => warns.push(m),
  });
  it("parses names, suffixes and keeps definition order (no-value first, as mod_init does)", () => {
    const t = table();
    t.define(" calls/b ; local", false);
    t.define("caller/b;dest", true);
    expect(t.defs.map((d) => [d.fullName, d.hasValue, d.repl])).toEqual([
      ["calls/b", false, "bin"], ["local", false, "none"], ["caller/b", true, "bin"], ["dest", true, "none"]]);
    expect(t.search("calls/b")?.name).toBe("calls");
    expect(t.search("calls")).toBeUndefined(); // suffix is part of the lookup
  });
  it("falls back to local for /b without profile_replication_cluster and /s without cachedb_url", () => {
    const warns: string[] = [];
    const t = table(false, warns);
    t.define("a/b;c/s", false);
    expect(t.defs.map((d) => d.fullName)).toEqual(["a", "c"]);
    expect(warns).toHaveLength(2);
  });
  it("rejects bad names, bad suffixes and duplicates (at the modparam line too)", () => {
    expect(() => table().define("bad name", false)).toThrow(/bad profile name/);
    expect(() => table().define("x/q", false)).toThrow(/Invalid letter/);
    expect(() => table().define("x;x", false)).toThrow(/duplicate/);
    expect(() => checkProfileList("a;b/b;c-d_e/s")).not.toThrow();
    expect(() => checkProfileList("a;a")).toThrow(/duplicate/);
    expect(() => checkProfileList("a.b")).toThrow(/bad profile name/);
    expect(() => checkProfileList("a/z")).toThrow(/Invalid letter/);
  });
});

describe("module definition", () => {
  it("declares every 3.6.8 parameter, the statistics, the MI commands, and needs the clusterer only when replicating", async () => {
    const mod = (await import("../../modules/dialog/index.ts")).default;
    expect(mod.name).toBe("dialog");
    const params = Object.keys(mod.params!);
    for (const p of ["dialog_replication_cluster", "profile_replication_cluster", "replicate_profiles_timer", "replicate_profiles_check",
      "replicate_profiles_buffer", "replicate_profiles_expire", "cluster_auto_sync", "hash_size", "default_timeout", "enable_stats",
      "log_profile_hash_size", "rr_param", "options_ping_interval", "reinvite_ping_interval", "delete_delay", "dlg_extra_hdrs",
      "dlg_match_mode", "race_condition_timeout", "db_url", "db_mode", "db_update_period", "db_flush_vals_profiles", "timer_bulk_del_no",
      "table_name", "profiles_with_value", "profiles_no_value", "cachedb_url", "profile_value_prefix", "profile_no_value_prefix",
      "profile_size_prefix", "profile_timeout", "call_id_column", "flags_column", "dlg_id_column"]) expect(params).toContain(p);
    expect(mod.params!.db_url.ignored).toBeUndefined();
    expect(mod.params!.dlg_id_column.ignored).toMatch(/default column names/);
    expect(mod.params!.dialog_replication_cluster.ignored).toBeUndefined();
    expect(mod.params!.replicate_profiles_buffer.accept(60000)).toEqual({ error: expect.stringMatching(/at most 58981/) });
    expect(mod.params!.rr_param.accept("x".repeat(33))).toEqual({ error: expect.stringMatching(/longer than 32/) });
    expect(Object.keys(mod.stats!)).toEqual(["active_dialogs", "early_dialogs", "processed_dialogs", "expired_dialogs", "failed_dialogs",
      "create_sent", "update_sent", "delete_sent", "create_recv", "update_recv", "delete_recv", "repl_dropped"]);
    const when = mod.deps!.clusterer.when!;
    expect(when({ dialog_replication_cluster: 0, profile_replication_cluster: 0 })).toBe(false);
    expect(when({ dialog_replication_cluster: 1, profile_replication_cluster: 0 })).toBe(true);
    expect(when({ dialog_replication_cluster: 0, profile_replication_cluster: 2 })).toBe(true);
    expect(Object.keys(mod.mi!)).toEqual(expect.arrayContaining(["dlg_list", "dlg_list_ctx", "dlg_end_dlg", "profile_get_size", "profile_list_dlgs",
      "list_all_profiles", "dlg_cluster_sync", "dlg_create", "dlg_set_state", "dlg_bench_create"]));
  });
});
