import { describe, expect, it } from "vitest";
import { coreHash } from "../../core/hash.ts";

describe("coreHash (OpenSIPS core_hash)", () => {
  it("gives the h_entry OpenSIPS put in the captured dialog's did", () => {
    // Record-Route did=3c3.c671a4b6 for Call-ID 1-25469@127.0.0.1 (vectors/pcap/sip.pcap), hash_size 4096.
    expect(coreHash("1-25469@127.0.0.1", 4096)).toBe(0x3c3);
  });

  it("hashes a string as its UTF-8 bytes, read as signed chars", () => {
    for (const s of ["é", "éABC", "sip:ünïcode@example.com", "", "a", "abcd", "abcde"]) {
      expect(coreHash(s)).toBe(coreHash(Buffer.from(s, "utf8")));
    }
    expect(coreHash(Uint8Array.of(0xff, 0x80, 0x7f, 0x01, 0x02))).not.toBe(coreHash(Uint8Array.of(0x7f, 0x80, 0xff, 0x01, 0x02)));
  });

  it("masks with size - 1 and stays unsigned 32-bit", () => {
    const h = coreHash("alice@example.com");
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(2 ** 32);
    expect(coreHash("alice@example.com", 16)).toBe(h & 15);
  });
});
