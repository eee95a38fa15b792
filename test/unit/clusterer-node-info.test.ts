/** Node-info strings, node URLs, sharing_tag values and modparam rules (clusterer.md §11). */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_COLUMNS, parseMyNodeInfo, parseNeighborNodeInfo, parseNodeInfo, parseNodeUrl, parseSharingTag,
} from "../../modules/clusterer/node-info.ts";
import { clustererParams, effectiveTimers, heartbeatPeriod } from "../../modules/clusterer/params.ts";

describe("node-info parsing", () => {
  it("reads every property, trimmed, in any order", () => {
    expect(parseNodeInfo("cluster_id=1, node_id=2, url=bin:192.168.0.6:5566, sip_addr=10.0.0.6, flags=seed, priority=7, no_ping_retries=0")).toEqual({
      clusterId: 1, nodeId: 2, url: "bin:192.168.0.6:5566", sipAddr: "10.0.0.6", flags: "seed", priority: 7, noPingRetries: 0,
    });
    expect(parseNodeInfo(" url = bin:1.2.3.4 ,cluster_id= 3")).toEqual({ url: "bin:1.2.3.4", clusterId: 3 });
  });

  it("applies the script defaults: retries 3, priority 3 (not 50), no seed", () => {
    const n = parseNeighborNodeInfo("cluster_id=1,node_id=2,url=bin:127.0.0.1:5602");
    expect(n).toMatchObject({ clusterId: 1, nodeId: 2, noPingRetries: 3, priority: 3, seed: false, sipAddr: "" });
    expect(n.url).toEqual({ proto: "bin", host: "127.0.0.1", port: 5602, text: "bin:127.0.0.1:5602" });
    expect(parseNeighborNodeInfo("cluster_id=1,node_id=2,url=bin:127.0.0.1:5602,flags=seed").seed).toBe(true);
  });

  it("rejects a flags= word it does not know, naming the accepted values (OpenSIPS drops the seed role silently)", () => {
    for (const typo of ["seeed", "see", "seedling", "SEED", "seed|backup"]) {
      expect(() => parseNodeInfo(`cluster_id=1,node_id=2,url=bin:127.0.0.1:5602,flags=${typo}`))
        .toThrow(`unknown flag "${typo}" in property "flags" of node info "cluster_id=1,node_id=2,url=bin:127.0.0.1:5602,flags=${typo}" (accepted: seed)`);
    }
    expect(() => parseMyNodeInfo("cluster_id=1,url=bin:127.0.0.1:5601,flags=seeed", 1)).toThrow(/unknown flag "seeed".*accepted: seed/);
  });

  it("rejects empty values, non-numeric ints and missing required properties", () => {
    expect(() => parseNodeInfo("cluster_id=, url=bin:1.2.3.4")).toThrow(/empty value/);
    expect(() => parseNodeInfo("cluster_id=-1, url=bin:1.2.3.4")).toThrow(/unsigned/);
    expect(() => parseNeighborNodeInfo("cluster_id=1, url=bin:1.2.3.4")).toThrow(/node_id is required/);
    expect(() => parseNeighborNodeInfo("node_id=1, url=bin:1.2.3.4")).toThrow(/cluster_id is required/);
    expect(() => parseMyNodeInfo("cluster_id=1, node_id=1", undefined)).toThrow(/url is required/);
  });

  it("my_node_info takes node_id from my_node_id, and both must agree", () => {
    expect(parseMyNodeInfo("cluster_id=1,url=bin:127.0.0.1:5601,flags=seed", 1)).toMatchObject({ nodeId: 1, seed: true });
    expect(() => parseMyNodeInfo("cluster_id=1,url=bin:127.0.0.1:5601", undefined)).toThrow(/my_node_id not set/);
    expect(() => parseMyNodeInfo("cluster_id=1,node_id=2,url=bin:127.0.0.1:5601", 1)).toThrow(/differs/);
    expect(parseMyNodeInfo("cluster_id=1,node_id=4,url=bin:127.0.0.1:5601", undefined).nodeId).toBe(4);
  });

  it("finds properties under the configured column names", () => {
    const cols = { ...DEFAULT_COLUMNS, node_id: "nid", url: "address" };
    expect(parseNodeInfo("cluster_id=1, nid=5, address=bin:1.1.1.1:1", cols)).toMatchObject({ nodeId: 5, url: "bin:1.1.1.1:1" });
  });

  it("parses URLs: default protocol and port, bins, IPv6", () => {
    expect(parseNodeUrl("10.0.0.1")).toMatchObject({ proto: "bin", host: "10.0.0.1", port: 5555 });
    expect(parseNodeUrl("10.0.0.1:77")).toMatchObject({ proto: "bin", host: "10.0.0.1", port: 77 });
    expect(parseNodeUrl("bins:h.example:99")).toMatchObject({ proto: "bins", host: "h.example", port: 99 });
    expect(parseNodeUrl("bin:[::1]:5601")).toMatchObject({ host: "::1", port: 5601 });
    expect(() => parseNodeUrl("udp:1.2.3.4:5060")).toThrow(/protocol/);
    expect(() => parseNodeUrl("bin:1.2.3.4:99999")).toThrow(/port/);
  });

  it("parses sharing_tag with prefix matching of the state word", () => {
    expect(parseSharingTag("vip1/2=active")).toEqual({ name: "vip1", clusterId: 2, state: "active" });
    expect(parseSharingTag(" vip / 1 = backup ")).toEqual({ name: "vip", clusterId: 1, state: "backup" });
    expect(parseSharingTag("vip/1=ac").state).toBe("active");
    expect(parseSharingTag("vip/1=").state).toBe("active");
    expect(parseSharingTag("vip/1=b").state).toBe("backup");
    expect(() => parseSharingTag("vip/1=standby")).toThrow(/bad state/);
    expect(() => parseSharingTag("vip=active")).toThrow(/name\/cluster_id/);
    expect(() => parseSharingTag("vip/x=active")).toThrow(/cluster id/);
  });
});

describe("modparams", () => {
  it("accepts db_mode 0 and 1 only, with a message that says so", () => {
    expect(clustererParams.db_mode.default).toBe(0);
    expect(clustererParams.db_mode.accept(0)).toEqual({ value: 0 });
    expect(clustererParams.db_mode.accept(1)).toEqual({ value: 1 });
    const r = clustererParams.db_mode.accept(2);
    expect("error" in r && r.error).toMatch(/use 0 .* or 1/);
  });

  it("keeps the column-name parameters for compatibility, marked ignored; db_url/db_table are used", () => {
    for (const p of ["id_col", "state_col"] as const) expect(clustererParams[p].ignored).toMatch(/default column names/);
    for (const p of ["db_url", "db_table"] as const) expect(clustererParams[p].ignored).toBeUndefined();
    for (const p of ["dispatch_jobs", "enable_rerouting", "enable_stats", "sync_timeout", "sync_packet_size", "cluster_id_col", "flags_col"] as const) {
      expect(clustererParams[p]).toBeDefined();
    }
  });

  it("validates node-info syntax where the modparam stands", () => {
    expect(clustererParams.neighbor_node_info.accept("cluster_id=1,node_id=x,url=bin:1.1.1.1")).toMatchObject({ error: expect.stringMatching(/unsigned/) });
    expect(clustererParams.sharing_tag.accept("vip=active")).toMatchObject({ error: expect.stringMatching(/name\/cluster_id/) });
  });

  it("applies the <= 0 defaults and computes the heartbeat period (gcd)", () => {
    const t = effectiveTimers({ ping_interval: 0, ping_timeout: -5, node_timeout: -1, seed_fallback_interval: -1, sync_timeout: 15, sync_packet_size: 32768, enable_rerouting: 1 });
    expect(t).toMatchObject({ pingInterval: 4000, pingTimeout: 1000, nodeTimeout: 60000, seedFallbackInterval: 5000 });
    expect(heartbeatPeriod(t)).toBe(1000);
    expect(heartbeatPeriod(effectiveTimers({ ping_interval: 1, ping_timeout: 500, node_timeout: 2, seed_fallback_interval: 5, sync_timeout: 15, sync_packet_size: 1, enable_rerouting: 1 }))).toBe(500);
    expect(heartbeatPeriod(effectiveTimers({ ping_interval: 4, ping_timeout: 300, node_timeout: 60, seed_fallback_interval: 5, sync_timeout: 15, sync_packet_size: 1, enable_rerouting: 1 }))).toBe(100);
  });
});
