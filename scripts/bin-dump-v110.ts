/**
 * bin-dump for the OpenSIPS 1.10 interface: BIN datagrams over UDP (a pcap) or as hex, each
 * checked (length, marker, CRC without final XOR) and, when its module name and type are
 * declared by a module (`defineModule({ v110Messages })`, found by the loader as bin-dump finds
 * the 3.6 messages), decoded into named fields. Bytes left after the
 * last field, and whole datagrams that fail a check or are not declared, count as undecoded.
 */
import type { V110MessageRegistry } from "../core/bin/schema.ts";
import { BinV110Packet, readV110Header } from "../core/bin/v110/packet.ts";
import { endpoint, forEachPcapFrame, ipPayload } from "./bin-dump.ts";

export interface DumpedV110 {
  n: number;
  /** `src > dst` of the UDP datagram ("hex" for hex input). */
  stream: string;
  t?: number;
  length: number;
  module?: string;
  type?: number;
  message?: string;
  crc?: string;
  crc_ok?: boolean;
  fields?: Record<string, unknown>;
  /** Bytes not decoded into fields (hex). */
  rest_hex?: string;
  /** Bytes of this datagram not decoded into fields. */
  undecoded_bytes: number;
  error?: string;
}

export interface V110DumpResult {
  datagrams: DumpedV110[];
  undecodedBytes: number;
}

/** Decodes one datagram. Never throws. */
export function decodeV110(bytes: Buffer, registry: V110MessageRegistry): Omit<DumpedV110, "n" | "stream"> {
  const out: Omit<DumpedV110, "n" | "stream"> = { length: bytes.length, undecoded_bytes: bytes.length };
  let h;
  try {
    h = readV110Header(bytes, false);
  } catch (e) {
    return { ...out, error: (e as Error).message, rest_hex: bytes.toString("hex") };
  }
  out.module = h.moduleName;
  out.type = h.type;
  out.crc = `0x${h.crc.toString(16).padStart(8, "0")}`;
  out.crc_ok = h.crc === h.computedCrc;
  if (!out.crc_ok) return { ...out, error: `bad CRC (the data gives 0x${h.computedCrc.toString(16).padStart(8, "0")}): 1.10 drops it` };
  const msg = registry.find(h.moduleName, h.type);
  if (!msg) return { ...out, error: `no declared 1.10 message for ${h.moduleName} type ${h.type}`, rest_hex: bytes.subarray(h.bodyOffset).toString("hex") };
  out.message = msg.name;
  const pkt = BinV110Packet.parse(bytes);
  try {
    out.fields = msg.decode(pkt) as Record<string, unknown>;
    out.undecoded_bytes = pkt.remaining();
    if (pkt.remaining() > 0) out.rest_hex = bytes.subarray(pkt.position).toString("hex");
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}

/** Every UDP datagram of a pcap whose payload starts with the BIN marker. */
export function dumpV110Pcap(file: Uint8Array, registry: V110MessageRegistry): V110DumpResult {
  const datagrams: DumpedV110[] = [];
  let undecodedBytes = 0;
  let t0: number | undefined;
  forEachPcapFrame(file, (time, f, linktype, le) => {
    const ip = ipPayload(f, linktype, le);
    if (!ip || ip.proto !== 17 || ip.end < ip.at + 8) return;
    const payload = f.subarray(ip.at + 8, Math.min(ip.end, ip.at + f.readUInt16BE(ip.at + 4)));
    if (payload.length < 4 || payload.toString("latin1", 0, 4) !== "P4CK") return;
    t0 ??= time;
    const d = decodeV110(payload, registry);
    undecodedBytes += d.undecoded_bytes;
    datagrams.push({ n: datagrams.length + 1, stream: `${endpoint(ip.src, f.readUInt16BE(ip.at))} > ${endpoint(ip.dst, f.readUInt16BE(ip.at + 2))}`, t: +(time - t0).toFixed(6), ...d });
  });
  return { datagrams, undecodedBytes };
}

/** One datagram per hex line (`#` comments). */
export function dumpV110Hex(text: string, registry: V110MessageRegistry): V110DumpResult {
  const datagrams: DumpedV110[] = [];
  let undecodedBytes = 0;
  for (const line of text.split(/\r?\n/)) {
    const h = line.replace(/#.*/, "").replace(/0x/gi, "").replace(/[\s:,]/g, "");
    if (h.length === 0) continue;
    const bytes = Buffer.from(h, "hex");
    const d = decodeV110(bytes, registry);
    undecodedBytes += d.undecoded_bytes + (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h) ? 1 : 0);
    datagrams.push({ n: datagrams.length + 1, stream: "hex", ...d });
  }
  return { datagrams, undecodedBytes };
}

/** True when the hex text's first datagram is a 1.10 one (marker and a matching CRC). */
export function looksLikeV110Hex(text: string): boolean {
  const first = text.split(/\r?\n/).map((l) => l.replace(/#.*/, "").replace(/[\s:,]/g, "")).find((l) => l.length > 0);
  if (!first || !/^[0-9a-fA-F]+$/.test(first)) return false;
  try {
    const h = readV110Header(Buffer.from(first, "hex"));
    return h.crc === h.computedCrc;
  } catch {
    return false;
  }
}

export function formatV110(d: DumpedV110): string {
  const lines: string[] = [];
  const t = d.t !== undefined ? ` t=${d.t.toFixed(6)}` : "";
  const name = d.message ? ` ${d.message}` : "";
  const crc = d.crc ? ` crc ${d.crc} ${d.crc_ok ? "ok" : "BAD"}` : "";
  lines.push(`#${d.n}${t} ${d.stream}  ${d.module ?? "?"}${name} (type ${d.type ?? "?"}) 1.10 len ${d.length}${crc}`);
  if (d.fields) {
    const entries = Object.entries(d.fields);
    entries.forEach(([k, v], i) => lines.push(`    ${String(i + 1).padStart(2)} ${k} = ${JSON.stringify(v)}`));
  }
  if (d.rest_hex) lines.push(`    ${d.fields ? "rest" : "body"}: ${d.rest_hex.replace(/(.{8})(?=.)/g, "$1 ")}`);
  if (d.error) lines.push(`    ! ${d.error}`);
  return lines.join("\n");
}

/** Datagrams and undecoded bytes per source (`src` of the stream). */
export function v110BySource(r: V110DumpResult): Map<string, { datagrams: number; undecoded: number }> {
  const by = new Map<string, { datagrams: number; undecoded: number }>();
  for (const d of r.datagrams) {
    const src = d.stream.split(" > ")[0]!;
    const e = by.get(src) ?? { datagrams: 0, undecoded: 0 };
    e.datagrams++;
    e.undecoded += d.undecoded_bytes;
    by.set(src, e);
  }
  return by;
}

export function v110SummaryLine(r: V110DumpResult): string {
  const by = [...v110BySource(r)].map(([src, e]) => `${src}: ${e.datagrams} datagrams, ${e.undecoded} bytes undecoded`);
  return `${r.datagrams.length} datagrams (1.10), ${r.undecodedBytes} bytes undecoded${by.length > 1 ? ` (${by.join("; ")})` : ""}`;
}
