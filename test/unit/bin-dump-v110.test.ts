/**
 * bin-dump on OpenSIPS 1.10 traffic: the captured pcap (UDP) decodes every datagram node A
 * sent with its CRC checked, the 25 record fields named and 0 bytes undecoded; the crafted
 * probes in the same capture are reported with what is wrong with them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dumpV110Hex, dumpV110Pcap, v110BySource } from "../../scripts/bin-dump-v110.ts";
import { main } from "../../scripts/bin-dump.ts";
import { discoverMessages } from "../../core/loader/messages.ts";
import { V110_ROOT, loadV110Vectors } from "./v110-helpers.ts";

const pcap = readFileSync(join(V110_ROOT, "pcap", "bin.pcap"));
/** The 1.10 datagrams the modules declare, found through the loader as bin-dump finds them. */
const v110 = (await discoverMessages()).v110Registry;

describe("bin-dump: 1.10 datagrams", () => {
  it("decodes all of node A's datagrams in the pcap, CRC checked, 25 named fields, 0 bytes undecoded", () => {
    const r = dumpV110Pcap(pcap, v110);
    const fromA = r.datagrams.filter((d) => d.stream === "127.0.0.1:46601 > 127.0.0.1:46602");
    expect(fromA).toHaveLength(20);
    for (const d of fromA) {
      expect(d.crc_ok).toBe(true);
      expect(d.undecoded_bytes).toBe(0);
      expect(Object.keys(d.fields!)).toHaveLength(d.type === 3 ? 3 : 25);
    }
    expect(v110BySource(r).get("127.0.0.1:46601")).toEqual({ datagrams: 20, undecoded: 0 });
    const names = Object.keys(fromA[0]!.fields!);
    expect(names.slice(0, 8)).toEqual(["callid", "callerTag", "calleeTag", "fromUri", "toUri", "hId", "startTs", "state"]);
    const byHex = new Map(loadV110Vectors().map((v) => [v.bytes.toString("hex"), v.type_name]));
    const rawA = dumpV110Hex(loadV110Vectors().map((v) => v.bytes.toString("hex")).join("\n"), v110).datagrams.map((d) => d.message);
    expect(new Set(fromA.map((d) => d.message))).toEqual(new Set(rawA));
    expect(byHex.size).toBe(20);
  });

  it("reports the crafted probes with their defect", () => {
    const probes = dumpV110Pcap(pcap, v110).datagrams.filter((d) => !d.stream.startsWith("127.0.0.1:46601"));
    const errors = probes.map((d) => d.error ?? "");
    expect(errors.some((e) => e.includes("bad CRC"))).toBe(true);
    expect(errors.some((e) => e.includes("no declared 1.10 message for nosuchmod"))).toBe(true);
    expect(probes.some((d) => d.rest_hex !== undefined && d.fields !== undefined)).toBe(true); // trailing garbage after a DELETED
  });

  it("reads hex too (one datagram per line) and the CLI exits 0 on a clean capture", async () => {
    const hex = loadV110Vectors().map((v) => v.bytes.toString("hex")).join("\n");
    const r = dumpV110Hex(hex, v110);
    expect(r.datagrams).toHaveLength(20);
    expect(r.undecodedBytes).toBe(0);
    const lines: string[] = [];
    expect(await main(["--v110", join(V110_ROOT, "001-dialog-dlg-created-a-to-b.hex")], (s) => lines.push(s))).toBe(0);
    expect(lines.join("\n")).toContain(" 6 hId = 1922936012");
    expect(lines.at(-1)).toBe("1 datagrams (1.10), 0 bytes undecoded");
  });
});
