/**
 * Clusters of real node processes over `bins:` with mutual TLS (core/testing LocalCluster with
 * `tls`): links Up, usrloc and dialogs replicated, tls_reload without dropping links, and the
 * opt-in node identity check refusing a valid certificate that presents another node id.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LocalCluster, killAllNodes, waitFor } from "../../core/testing/index.ts";
import { makeTestCerts, type TestCerts } from "../helpers/tls-certs.ts";

const MAKE_CERTS = resolve(import.meta.dirname, "../../examples/tls/make-certs.sh");
const replication = (id: number): string => `socket = udp:127.0.0.1:${25060 + id} tag sipnet
loadmodule "usrloc.so"
modparam("usrloc", "working_mode_preset", "full-sharing-cluster")
modparam("usrloc", "location_cluster", 1)
loadmodule "dialog.so"
modparam("dialog", "dialog_replication_cluster", 1)
`;

let certs: TestCerts;
let cluster: LocalCluster | undefined;
beforeAll(() => {
  certs = makeTestCerts();
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(async () => {
  await killAllNodes();
  certs?.cleanup();
});

/** Every statistic of the groups named (`proto_bins:`, `clusterer:` …). */
async function stats(c: LocalCluster, id: number, groups: string[]): Promise<Record<string, number>> {
  return (await c.mi(id, "get_statistics", { statistics: groups })) as Record<string, number>;
}

/** The serial of the certificate a bins listener presents to a new client. */
function presentedSerial(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const s = tlsConnect({
      host: "127.0.0.1", port, ca: readFileSync(certs.ca), cert: readFileSync(certs.cert("node3")), key: readFileSync(certs.key("node3")),
      checkServerIdentity: () => undefined,
    }, () => {
      res(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.on("error", rej);
  });
}

describe("bins: clusters over mutual TLS", () => {
  it("3 nodes with node_identity: Up, usrloc and dialogs replicated; tls_reload takes a new certificate without dropping a link", async () => {
    cluster = await LocalCluster.start({
      size: 3, extra: replication, tls: { certDir: certs.dir, nodeIdentity: "node{node_id}" },
      clusterer: { ping_interval: 1, ping_timeout: 500, seed_fallback_interval: 1 }, readyTimeoutMs: 60_000, upTimeoutMs: 60_000,
    });
    const c = cluster;
    const list = JSON.stringify(await c.mi(1, "clusterer_list"));
    expect(list).toContain(`"url":"bins:127.0.0.1:${c.specs[1]!.binPort}"`);

    await c.mi(1, "ul_add", { table_name: "location", aor: "alice", contact: "sip:alice@10.0.0.1", expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 32767 });
    await c.mi(1, "dlg_create", { callid: "tls-1@h", from_uri: "sip:alice@h", to_uri: "sip:bob@h", state: 3, timeout: 300 });
    for (const id of [2, 3]) {
      await waitFor(`contact on node ${id}`, async () => JSON.stringify(await c.mi(id, "ul_dump")).includes("sip:alice@10.0.0.1"), 30_000);
      await waitFor(`dialog on node ${id}`, async () => JSON.stringify(await c.mi(id, "dlg_list")).includes("tls-1@h"), 30_000);
    }
    const before = await stats(c, 1, ["proto_bins:", "clusterer:"]);
    expect(before["proto_bins:handshakes_done"]).toBeGreaterThanOrEqual(4);
    expect(before["proto_bins:handshakes_failed"]).toBe(0);

    // a new certificate for node 1 (new key, new serial), then tls_reload
    const oldSerial = await presentedSerial(c.specs[0]!.binPort);
    rmSync(certs.cert("node1"));
    execFileSync("sh", [MAKE_CERTS, certs.dir, "node1"], { stdio: "ignore" });
    const newSerial = new X509Certificate(readFileSync(certs.cert("node1"))).serialNumber;
    expect(newSerial).not.toBe(oldSerial);
    expect(await c.mi(1, "tls_reload")).toBe("OK");
    expect(await presentedSerial(c.specs[0]!.binPort)).toBe(newSerial);

    await c.mi(1, "ul_add", { table_name: "location", aor: "bob", contact: "sip:bob@10.0.0.2", expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 32767 });
    await waitFor("contact after reload", async () => JSON.stringify(await c.mi(3, "ul_dump")).includes("sip:bob@10.0.0.2"), 30_000);
    const after = await stats(c, 1, ["proto_bins:", "clusterer:", "tls_mgm:"]);
    expect(after["clusterer:node_down_events"]).toBe(before["clusterer:node_down_events"]);
    expect(after["proto_bins:connects_failed"]).toBe(before["proto_bins:connects_failed"]);
    expect(after["tls_mgm:reloads"]).toBe(1);
    expect((await c.linkStates(1)).get(2)).toBe("Up");
  }, 120_000);

  it("node_identity: a node presenting node 2's (valid) certificate as node 3 is refused and counted; 1 and 2 stay Up", async () => {
    cluster = await LocalCluster.start({
      size: 3, noWaitUp: true,
      tls: { certDir: certs.dir, nodeIdentity: "node{node_id}", certName: (id) => (id === 3 ? "node2" : `node${id}`) },
      clusterer: { ping_interval: 1, ping_timeout: 500 }, readyTimeoutMs: 60_000, upTimeoutMs: 60_000,
    });
    const c = cluster;
    await c.waitLink(1, 2, "Up", 60_000);
    await c.waitLink(2, 1, "Up", 60_000);
    await waitFor("identity refusals on node 1", async () => (await stats(c, 1, ["proto_bins:"]))["proto_bins:handshakes_failed_identity"]! > 0, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await c.linkStates(1)).get(3)).not.toBe("Up");
    expect((await c.linkStates(2)).get(3)).not.toBe("Up");
    const s = await stats(c, 1, ["proto_bins:"]);
    expect(s["proto_bins:handshakes_failed"]).toBeGreaterThanOrEqual(s["proto_bins:handshakes_failed_identity"]!);
  }, 120_000);

  it("without node_identity (OpenSIPS behaviour) the same certificate swap is accepted: TLS only proves CA membership", async () => {
    cluster = await LocalCluster.start({
      size: 2, tls: { certDir: certs.dir, certName: (id) => (id === 2 ? "node1" : "node1") },
      clusterer: { ping_interval: 1, ping_timeout: 500 }, readyTimeoutMs: 60_000, upTimeoutMs: 60_000,
    });
    expect((await cluster.linkStates(1)).get(2)).toBe("Up");
  }, 120_000);
});

describe("examples/tls", () => {
  it("the three configs pass -c (tls_openssl, tls_mgm, proto_bins, clusterer over bins:)", () => {
    for (const n of [1, 2, 3]) {
      const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), "core/main.ts", "-c", "-f", `examples/tls/node${n}.cfg`],
        { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 60_000, env: { ...process.env, FORCE_COLOR: "0" } });
      expect(r.stderr + r.stdout).toContain("config file ok");
      expect(r.stdout).toContain(`bins:127.0.0.1:563${n}`);
      expect(r.status).toBe(0);
    }
  }, 120_000);
});
