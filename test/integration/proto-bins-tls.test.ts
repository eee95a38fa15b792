/**
 * proto_bins in process: BIN framing inside mutual TLS, and every refusal of the failure
 * table (spec/bins-tls.md §6) counted by reason, with the alert where node:tls sends one.
 */
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../core/testing/wait.ts";
import { makeTestCerts, type TestCerts } from "../helpers/tls-certs.ts";
import { startBinsNode, testPacket, type BinsNode } from "../helpers/bins-host.ts";

let certs: TestCerts;
let a: BinsNode;
let b: BinsNode;

beforeAll(async () => {
  certs = makeTestCerts();
  b = await startBinsNode(certs, { cert: "node2", protoBins: { bins_accept_timeout: 400 }, globals: { tcp_socket_backlog: 512 } });
  a = await startBinsNode(certs, { cert: "node1" });
}, 30_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  certs?.cleanup();
});

/** A raw TLS client against b: what it saw (secure, error code) once the connection closed. */
function attempt(opts: ConnectionOptions, sendAfterSecure?: Buffer | "close"): Promise<{ secure: boolean; code: string | undefined }> {
  return new Promise((resolve) => {
    let secure = false;
    let code: string | undefined;
    const s = tlsConnect({ host: "127.0.0.1", port: b.port, ca: readFileSync(certs.ca), checkServerIdentity: () => undefined, ...opts });
    s.on("secureConnect", () => {
      secure = true;
      if (sendAfterSecure === "close") s.end();
      else if (sendAfterSecure) s.write(sendAfterSecure);
    });
    s.on("data", () => undefined);
    s.on("error", (e: NodeJS.ErrnoException) => void (code ??= e.code));
    s.on("close", () => resolve({ secure, code }));
    setTimeout(() => s.destroy(), 5000).unref();
  });
}
const certOf = (n: string): ConnectionOptions => ({ cert: readFileSync(certs.cert(n)), key: readFileSync(certs.key(n)) });

async function stillReplicates(seq: number): Promise<void> {
  expect(a.probe.send(testPacket(seq), "127.0.0.1", b.port)).toMatch(/sent|queued/);
  await waitFor(`packet ${seq} on b`, () => b.probe.seqs.includes(seq), 5000);
}

describe("proto_bins: BIN inside mutual TLS", () => {
  it("carries 17-byte, 16 KB and 65535-byte packets back to back, in order, with one connection per direction", async () => {
    const sizes = [17, 40, 16 * 1024 + 3, 65535, 100, 65535, 17];
    sizes.forEach((size, i) => expect(a.probe.send(testPacket(i + 1, size), "127.0.0.1", b.port)).toMatch(/sent|queued/));
    await waitFor("all packets on b", () => b.probe.seqs.length >= sizes.length, 10_000);
    expect(b.probe.seqs.slice(0, sizes.length)).toEqual(sizes.map((_, i) => i + 1));
    const min = testPacket(0, 0).length;
    expect(b.probe.sizes.slice(0, sizes.length)).toEqual(sizes.map((s) => (s >= min + 2 ? s : min)));
    expect(b.probe.sources[0]!.proto).toBe("bins");
    expect(a.stat("handshakes_done")).toBe(1);
    expect(b.stat("handshakes_done")).toBe(1);
    expect(a.api.connectionList().filter((c) => c.outbound)).toHaveLength(1);
  });

  it("a bin: send is not served by proto_bins (the URL scheme chooses the transport)", () => {
    const core = a.host.stats.find("bin:send_no_transport")!;
    const before = core.get();
    // the core's send with proto bin: no proto_bin loaded here
    expect(a.host.hooks.bin.send.call({ bytes: testPacket(99), host: "127.0.0.1", port: b.port, proto: "bin" })).toBeUndefined();
    expect(core.get()).toBe(before);
  });
});

describe("proto_bins: refused and counted (spec/bins-tls.md §6)", () => {
  it("no client certificate: alert 116 certificate_required", async () => {
    const r = await attempt({});
    expect(r.code).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
    await waitFor("counted", () => b.stat("handshakes_failed_no_cert") === 1, 3000);
    await stillReplicates(1001);
  });

  it("untrusted CA, expired, server-only certificate: refused (closed before any BIN is read) and counted by reason", async () => {
    const before = b.probe.seqs.length;
    for (const [cert, stat] of [["rogue", "untrusted"], ["expired", "expired"], ["serveronly", "purpose"]] as const) {
      const r = await attempt(certOf(cert), Buffer.from(testPacket(5000)));
      expect(r.code === undefined || r.code === "ECONNRESET").toBe(true);
      await waitFor(`${cert} counted`, () => b.stat(`handshakes_failed_${stat}`) === 1, 3000);
    }
    expect(b.probe.seqs.slice(before)).not.toContain(5000);
    await stillReplicates(1002);
  });

  it("TLS 1.1 against TLSv1_2-TLSv1_3: alert 70 protocol_version", async () => {
    const r = await attempt({ ...certOf("node3"), minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" });
    expect(r.secure).toBe(false);
    expect(r.code).toBe("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
    await waitFor("counted", () => b.stat("handshakes_failed_version") === 1, 3000);
  });

  it("plaintext BIN to a bins port: connection closed, plaintext_refused counted, nothing delivered", async () => {
    const before = b.probe.seqs.length;
    await new Promise<void>((resolve) => {
      const s = netConnect(b.port, "127.0.0.1", () => s.write(testPacket(6000)));
      s.on("error", () => undefined);
      s.on("close", () => resolve());
    });
    await waitFor("counted", () => b.stat("plaintext_refused") === 1, 3000);
    expect(b.probe.seqs.slice(before)).not.toContain(6000);
  });

  it("a silent client is dropped within bins_accept_timeout (400 ms here), not 120 s", async () => {
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const s = netConnect(b.port, "127.0.0.1");
      s.on("error", () => undefined);
      s.on("close", () => resolve());
    });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(5000);
    expect(b.stat("handshakes_failed_timeout")).toBe(1);
  });

  it("a client with a valid certificate still gets in after all of that", async () => {
    const r = await attempt(certOf("node3"), "close");
    expect(r.secure).toBe(true);
    await stillReplicates(1003);
  });

  it("hundreds of hostile connections (garbage before and after the handshake, stalls, plaintext) do not stop replication", async () => {
    // in waves of 100 (the listener's backlog is tcp_socket_backlog, 512 here; OpenSIPS's default is 10)
    const N = 300;
    let seq = 20_000;
    const one = (i: number): Promise<void> => new Promise<void>((resolve) => {
      const kind = i % 3;
      if (kind === 0) {
        const s = netConnect(b.port, "127.0.0.1", () => s.write(Buffer.alloc(64, i)));
        s.on("error", () => undefined);
        s.on("close", () => resolve());
      } else if (kind === 1) {
        // a TLS record header and then silence: a stalled handshake
        const s = netConnect(b.port, "127.0.0.1", () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40])));
        s.on("error", () => undefined);
        s.on("close", () => resolve());
      } else {
        // a valid handshake, then garbage where a BIN packet should be
        const s = tlsConnect({ host: "127.0.0.1", port: b.port, ca: readFileSync(certs.ca), ...certOf("node3"), checkServerIdentity: () => undefined });
        s.on("secureConnect", () => s.write(Buffer.from("GET / HTTP/1.0\r\n\r\n")));
        s.on("data", () => undefined);
        s.on("error", () => undefined);
        s.on("close", () => resolve());
      }
    });
    const done: Promise<void>[] = [];
    for (let w = 0; w < N; w += 100) {
      const wave = Array.from({ length: 100 }, (_, k) => one(w + k));
      expect(a.probe.send(testPacket(++seq), "127.0.0.1", b.port)).toMatch(/sent|queued/);
      await Promise.all(wave);
      done.push(...wave);
    }
    await Promise.all(done);
    const last = seq;
    await waitFor("replication went on", () => b.probe.seqs.includes(last), 10_000);
    // Every hostile connection is refused and counted: garbage after a handshake as a framing
    // error, the rest as a failed handshake (on a loaded machine a slow valid handshake may hit
    // the accept timeout instead, so only the sum is exact).
    expect(b.stat("framing_errors") + b.stat("handshakes_failed")).toBeGreaterThanOrEqual(N);
    expect(b.stat("framing_errors")).toBeGreaterThan(0);
    expect(b.stat("handshakes_failed")).toBeGreaterThanOrEqual((2 * N) / 3);
    expect(b.api.connectionList().filter((c) => !c.outbound).length).toBeLessThanOrEqual(2);
  }, 30_000);
});
