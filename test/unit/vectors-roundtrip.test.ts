/**
 * The one golden check over every captured packet of every set: each decodes with the
 * registered declaration of its (capability, type, version) — the same registry bin-dump
 * uses — to the end of its body, and re-encodes to the identical bytes. Module packets carry
 * the clusterer trailer, which the module declarations leave out (the clusterer pops it
 * before the module sees the packet), so it is popped and pushed back here too.
 */
import { describe, expect, it } from "vitest";
import { discoverMessages } from "../../core/loader/messages.ts";
import { BinPacket } from "../../core/bin/packet.ts";
import { loadVectorSet, VECTOR_SETS } from "../../core/bin/vectors.ts";

/** Every declared message, found through the loader as bin-dump finds them. */
const knownMessages = (await discoverMessages()).registry;

const all = VECTOR_SETS.flatMap((set) => loadVectorSet(set).map((v) => ({ ...v, set })));

describe("every captured OpenSIPS 3.6.8 packet", () => {
  it("there are 271 unique vectors across the three sets", () => {
    expect(all.length).toBe(271);
  });

  it.each(all.map((v) => [`${v.set}/${v.file}`, v] as const))("%s decodes fully and re-encodes byte for byte", (_name, v) => {
    const pkt = BinPacket.parse(v.bytes);
    const msg = knownMessages.find(pkt.capability, pkt.type, pkt.version);
    expect(msg, `declaration for ${pkt.capability} type ${pkt.type} v${pkt.version}`).toBeDefined();
    const ownTrailer = !pkt.capability.startsWith("clusterer-");
    const trailer = ownTrailer ? [pkt.popBackInt(), pkt.popBackInt(), pkt.popBackInt()].reverse() : [];
    const values = msg!.decode(pkt);
    expect(pkt.remaining(), "bytes left after the last field").toBe(0);
    const again = msg!.encode(values, pkt.version);
    for (const t of trailer) again.pushInt(t);
    expect(again.bytes().toString("hex")).toBe(Buffer.from(v.bytes).toString("hex"));
  });
});
