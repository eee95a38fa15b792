/**
 * bin-dump: decodes BIN traffic and prints every packet.
 *
 *   npx tsx scripts/bin-dump.ts capture.pcap     # a pcap of TCP (Ethernet, Linux SLL/SLL2, loopback/null, raw IP)
 *   npx tsx scripts/bin-dump.ts packets.hex      # hex, one packet (or several back to back) per line
 *   cat packets.hex | npx tsx scripts/bin-dump.ts -
 *   options: --json (one JSON object per packet, then a summary object), --full (whole bodies in hex),
 *            --v110 (hex input is OpenSIPS 1.10 datagrams; detected on its own when the first line's CRC matches)
 *
 * OpenSIPS 1.10 datagrams (UDP in a pcap, or hex) are decoded by scripts/bin-dump-v110.ts:
 * CRC checked, every declared field named.
 *            -m DIR (a folder of modules whose messages to decode; repeatable), --cfg FILE (its mpath)
 *
 * Each TCP direction is reassembled by sequence number and framed like proto_bin does. For
 * every packet it prints the header, the clusterer ids (body start for clusterer-internal,
 * the 12-byte trailer for everything else) and, when a module declares the message in its
 * `defineModule({ messages })`, the named fields. Modules are found as a node finds them:
 * `--cfg FILE` (its mpath lines), `-m DIR` (repeatable), then the repo's modules/. Ends with
 * `N packets, M bytes undecoded, K streams`.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { BinFramer } from "../core/bin/framer.ts";
import { BinPacket } from "../core/bin/packet.ts";
import type { MessageRegistry } from "../core/bin/schema.ts";
import { discoverMessages } from "../core/loader/messages.ts";
import { dumpV110Hex, dumpV110Pcap, formatV110, looksLikeV110Hex, v110SummaryLine, type V110DumpResult } from "./bin-dump-v110.ts";

/** The repo's modules' declared messages, found through the loader (`-m DIR` / `--cfg FILE` add more). */
const discovered = await discoverMessages();
export const knownMessages = discovered.registry;

// ── decoding one packet ──────────────────────────────────────────────────

/** Type names from OpenSIPS 3.6.8 (shown when no declared message covers the packet). */
const TYPE_NAMES: Record<string, readonly string[]> = {
  "clusterer-internal": ["PING", "PONG", "LS_UPDATE", "FULL_TOP_UPDATE", "UNKNOWN_ID", "NODE_DESCRIPTION", "REMOVE_NODE",
    "GENERIC_MSG", "MI_CMD", "CAP_UPDATE", "SYNC_REQ", "SYNC", "SYNC_END", "SHTAG_ACTIVE"],
  "clusterer-extra": ["PING", "PONG", "LS_UPDATE", "FULL_TOP_UPDATE", "UNKNOWN_ID", "NODE_DESCRIPTION", "REMOVE_NODE",
    "GENERIC_MSG", "MI_CMD", "CAP_UPDATE", "SYNC_REQ", "SYNC", "SYNC_END", "SHTAG_ACTIVE"],
  "usrloc-contact-repl": ["", "URECORD_INSERT", "URECORD_DELETE", "UCONTACT_INSERT", "UCONTACT_UPDATE", "UCONTACT_DELETE"],
  "dialog-dlg-repl": ["", "CREATED", "UPDATED", "DELETED", "CSEQ", "VALUE"],
  "dialog-prof-repl": ["", "", "", "", "PROFILE"],
};

export interface DumpedPacket {
  /** 1-based position in the dump. */
  n: number;
  /** `src > dst` of the TCP direction it came from ("hex" for hex input). */
  stream: string;
  /** Seconds since the first captured frame (pcap only). */
  t?: number;
  length: number;
  version: number;
  capability: string;
  type: number;
  type_name?: string;
  /** clusterer-internal: the first two body ints. */
  cluster_id?: number;
  src_node?: number;
  /** Module and clusterer-extra packets: the trailer. */
  trailer?: { cluster_id: number; src_node: number; dst_node: number };
  /** Name of the declared message used to decode the body. */
  message?: string;
  fields?: Record<string, unknown>;
  /** Body bytes not decoded into fields (hex). */
  body_hex?: string;
  /** Why decoding stopped early. */
  error?: string;
}

function jsonable(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Map) return jsonable(Object.fromEntries(v));
  if (v instanceof Set) return jsonable([...v]);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
  if (Array.isArray(v)) return v.map(jsonable);
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonable(x);
    return o;
  }
  return v;
}

/**
 * A clusterer SYNC carries chunks of a module's data (`int len | int 101010101 | data`);
 * when the module declared its sync record as (capability, type 101), decode each chunk too.
 */
function decodeSyncChunks(fields: Record<string, unknown>, registry: MessageRegistry): Record<string, unknown> {
  const { capability, data_version: version, chunks } = fields;
  if (typeof capability !== "string" || typeof version !== "number" || !Array.isArray(chunks)) return fields;
  const record = registry.find(capability, 101, version);
  if (!record) return fields;
  const decoded = chunks.map((c: unknown) => {
    const hex = (c as { data?: unknown }).data;
    if (typeof hex !== "string") return c;
    try {
      const pkt = BinPacket.init(capability, 101, version).appendBuffer(Buffer.from(hex, "hex"));
      return { record: record.name, ...(jsonable(record.popFields(pkt, version)) as Record<string, unknown>) };
    } catch (e) {
      return { ...(c as object), error: (e as Error).message };
    }
  });
  return { ...fields, chunks: decoded };
}

/** Decodes the header, ids and (when declared) the fields of one packet. Never throws. */
export function decodePacket(bytes: Uint8Array, registry: MessageRegistry = knownMessages): Omit<DumpedPacket, "n" | "stream"> {
  let p: BinPacket;
  try {
    p = BinPacket.parse(bytes);
  } catch (e) {
    return { length: bytes.length, version: 0, capability: "", type: 0, error: (e as Error).message, body_hex: Buffer.from(bytes).toString("hex") };
  }
  const out: Omit<DumpedPacket, "n" | "stream"> = { length: p.length, version: p.version, capability: p.capability, type: p.type };
  const typeName = TYPE_NAMES[p.capability]?.[p.type];
  if (typeName) out.type_name = typeName;
  const internal = p.capability === "clusterer-internal";
  const view = Buffer.from(p.bytes());
  if (internal) {
    if (p.remaining() >= 8) {
      out.cluster_id = view.readInt32LE(p.bodyStart);
      out.src_node = view.readInt32LE(p.bodyStart + 4);
    }
  } else if (p.remaining() >= 12) {
    const end = p.length;
    out.trailer = { cluster_id: view.readInt32LE(end - 12), src_node: view.readInt32LE(end - 8), dst_node: view.readInt32LE(end - 4) };
  }
  const msg = registry.find(p.capability, p.type, p.version);
  let rest: Buffer = p.contentStart();
  if (msg) {
    out.message = msg.name;
    if (out.type_name === undefined) out.type_name = msg.name;
    // A declaration may or may not name the clusterer ids (body start / trailer) as fields:
    // try both and keep the reading that uses the body exactly.
    const attempts = internal ? [{ skip: 2, trailer: false }, { skip: 0, trailer: false }] : [{ skip: 0, trailer: true }, { skip: 0, trailer: false }];
    let best: { fields?: Record<string, unknown>; error?: string; rest: Buffer } | undefined;
    for (const a of attempts) {
      const q = BinPacket.parse(bytes);
      let r: { fields?: Record<string, unknown>; error?: string; rest: Buffer };
      try {
        if (a.skip && q.remaining() >= 4 * a.skip) q.skipInt(a.skip);
        if (a.trailer && out.trailer) for (let i = 0; i < 3; i++) q.popBackInt();
        const fields = jsonable(msg.popFields(q, q.version)) as Record<string, unknown>;
        r = { fields, rest: q.contentPos() };
      } catch (e) {
        r = { error: (e as Error).message, rest: q.contentPos() };
      }
      if (!best || (best.error && !r.error) || (!r.error && !best.error && best.rest.length > 0 && r.rest.length === 0)) best = r;
      if (!r.error && r.rest.length === 0) break;
    }
    if (best!.fields) out.fields = decodeSyncChunks(best!.fields, registry);
    if (best!.error) out.error = best!.error;
    rest = best!.rest;
    if (!msg.isAccepted(p.version)) out.error = `version ${p.version} not accepted by ${msg.name} (accepts ${msg.accepts.join(", ")})${out.error ? `; ${out.error}` : ""}`;
  } else if (internal && p.remaining() >= 8) {
    rest = rest.subarray(8);
  } else if (out.trailer) {
    rest = rest.subarray(0, rest.length - 12);
  }
  if (rest.length > 0) out.body_hex = rest.toString("hex");
  return out;
}

// ── pcap ─────────────────────────────────────────────────────────────────

export interface TcpSegment {
  /** Seconds (with fraction) from the capture. */
  time: number;
  src: string;
  dst: string;
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  payload: Uint8Array;
}

export interface PcapReadResult {
  segments: TcpSegment[];
  /** Frames that were not TCP over IPv4/IPv6 (ARP, UDP, fragments...). */
  skipped: number;
  linktype: number;
}

function ipv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Uint8Array, at: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[at + i]! << 8) | b[at + i + 1]!).toString(16));
  // compress the longest run of zeros
  const s = parts.join(":");
  const m = [...s.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)].sort((a, c) => c[0].length - a[0].length)[0];
  return m ? `${s.slice(0, m.index)}::${s.slice(m.index + m[0].length)}` : s;
}

export function endpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Walks the frames of a classic pcap (either byte order, µs or ns). */
export function forEachPcapFrame(file: Uint8Array, cb: (time: number, frame: Buffer, linktype: number, le: boolean) => void): number {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (b.length < 24) throw new Error("not a pcap file (too short)");
  const magicLE = b.readUInt32LE(0);
  let le: boolean, nano: boolean;
  if (magicLE === 0xa1b2c3d4) [le, nano] = [true, false];
  else if (magicLE === 0xa1b23c4d) [le, nano] = [true, true];
  else if (b.readUInt32BE(0) === 0xa1b2c3d4) [le, nano] = [false, false];
  else if (b.readUInt32BE(0) === 0xa1b23c4d) [le, nano] = [false, true];
  else if (magicLE === 0x0a0d0d0a) throw new Error("pcapng is not supported: convert with `editcap -F pcap in.pcapng out.pcap`");
  else throw new Error("not a pcap file (bad magic)");
  const u32 = (at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const linktype = u32(20) & 0x0fffffff;
  for (let off = 24; off + 16 <= b.length;) {
    const time = u32(off) + u32(off + 4) / (nano ? 1e9 : 1e6);
    const incl = u32(off + 8);
    cb(time, b.subarray(off + 16, Math.min(off + 16 + incl, b.length)), linktype, le);
    off += 16 + incl;
  }
  return linktype;
}

/** Reads a classic pcap and extracts its TCP segments. */
export function readPcap(file: Uint8Array): PcapReadResult {
  const segments: TcpSegment[] = [];
  let skipped = 0;
  const linktype = forEachPcapFrame(file, (time, frame, lt, le) => {
    const seg = parseFrame(frame, lt, le);
    if (seg) segments.push({ ...seg, time });
    else skipped++;
  });
  return { segments, skipped, linktype };
}

/** The IP packet inside one frame: addresses, L4 protocol (6 TCP, 17 UDP) and where its header starts and ends. */
export interface IpPayload {
  src: string;
  dst: string;
  proto: number;
  at: number;
  end: number;
}

/** Strips the link layer and the IPv4/IPv6 header of one frame (fragments and other protocols → null). */
export function ipPayload(f: Buffer, linktype: number, le: boolean): IpPayload | null {
  let at: number;
  let proto: number; // ethertype
  switch (linktype) {
    case 0: // BSD loopback: 4-byte address family in the capturing host's byte order
    case 109: { // OpenBSD loop (network order)
      if (f.length < 4) return null;
      const fam = linktype === 109 ? f.readUInt32BE(0) : le ? f.readUInt32LE(0) : f.readUInt32BE(0);
      proto = fam === 2 ? 0x0800 : [10, 24, 28, 30].includes(fam) ? 0x86dd : 0;
      at = 4;
      break;
    }
    case 1: { // Ethernet, with 802.1Q tags skipped
      if (f.length < 14) return null;
      at = 12;
      proto = f.readUInt16BE(at);
      at += 2;
      while ((proto === 0x8100 || proto === 0x88a8) && f.length >= at + 4) {
        proto = f.readUInt16BE(at + 2);
        at += 4;
      }
      break;
    }
    case 113: // Linux cooked v1
      if (f.length < 16) return null;
      proto = f.readUInt16BE(14);
      at = 16;
      break;
    case 276: // Linux cooked v2
      if (f.length < 20) return null;
      proto = f.readUInt16BE(0);
      at = 20;
      break;
    case 12: case 14: case 101: case 228: case 229: // raw IP
      if (f.length < 1) return null;
      proto = f[0]! >> 4 === 6 ? 0x86dd : 0x0800;
      at = 0;
      break;
    default:
      throw new Error(`unsupported pcap link type ${linktype}`);
  }
  if (proto === 0x0800) {
    if (f.length < at + 20 || f[at]! >> 4 !== 4) return null;
    const ihl = (f[at]! & 15) * 4;
    const total = f.readUInt16BE(at + 2);
    const fragOff = f.readUInt16BE(at + 6) & 0x3fff; // MF flag + offset
    if (fragOff !== 0) return null;
    // total 0: TSO capture, trust the frame
    return { src: ipv4(f, at + 12), dst: ipv4(f, at + 16), proto: f[at + 9]!, at: at + ihl, end: Math.min(f.length, at + (total || f.length - at)) };
  }
  if (proto === 0x86dd) {
    if (f.length < at + 40) return null;
    let next = f[at + 6]!;
    const payloadLen = f.readUInt16BE(at + 4);
    const end = Math.min(f.length, at + 40 + (payloadLen || f.length - at - 40));
    let l4 = at + 40;
    while (next === 0 || next === 43 || next === 60 || next === 51) { // hop-by-hop, routing, dest opts, AH
      if (l4 + 2 > f.length) return null;
      const n = f[l4]!;
      l4 += next === 51 ? (f[l4 + 1]! + 2) * 4 : (f[l4 + 1]! + 1) * 8;
      next = n;
    }
    if (next === 44) return null; // fragments
    return { src: ipv6(f, at + 8), dst: ipv6(f, at + 24), proto: next, at: l4, end };
  }
  return null;
}

function parseFrame(f: Buffer, linktype: number, le: boolean): Omit<TcpSegment, "time"> | null {
  const ip = ipPayload(f, linktype, le);
  if (!ip || ip.proto !== 6) return null;
  const { at: tcpAt, end: tcpEnd } = ip;
  if (tcpEnd < tcpAt + 20) return null;
  const sport = f.readUInt16BE(tcpAt), dport = f.readUInt16BE(tcpAt + 2);
  const seq = f.readUInt32BE(tcpAt + 4);
  const doff = (f[tcpAt + 12]! >> 4) * 4;
  const flags = f[tcpAt + 13]!;
  return {
    src: endpoint(ip.src, sport), dst: endpoint(ip.dst, dport), seq,
    syn: (flags & 2) !== 0, fin: (flags & 1) !== 0, rst: (flags & 4) !== 0,
    payload: f.subarray(Math.min(tcpAt + doff, tcpEnd), tcpEnd),
  };
}

// ── reassembly and framing ───────────────────────────────────────────────

export interface DumpResult {
  packets: DumpedPacket[];
  /** Payload bytes that are not part of a decoded packet (partial packets, gaps, rejected streams). */
  undecodedBytes: number;
  /** TCP directions (or hex inputs) that carried data. */
  streams: number;
  /** Per-stream problems (framing errors, gaps). */
  problems: string[];
}

/** One TCP direction: in-order bytes go to a framer; early segments wait for the gap to fill. */
class Stream {
  next: number | null = null;
  readonly early = new Map<number, Uint8Array>();
  readonly framer: BinFramer;
  received = 0;
  delivered = 0;
  rejectedAt: number | null = null;
  time = 0;

  constructor(readonly name: string, emit: (bytes: Uint8Array, s: Stream) => void) {
    this.framer = new BinFramer({ maxChunks: 0, onPacket: (pkt) => { this.delivered += pkt.length; emit(pkt, this); } });
  }

  segment(seq: number, data: Uint8Array, problems: string[]): void {
    if (this.next === null) this.next = seq;
    const rel = (seq - this.next) | 0;
    if (rel > 0) {
      if (!this.early.has(seq) || this.early.get(seq)!.length < data.length) this.early.set(seq, data);
      return;
    }
    if (rel + data.length <= 0) return; // retransmission of bytes already seen
    this.feed(data.subarray(-rel), problems);
    // drain segments that now fit
    for (let again = true; again && this.early.size > 0;) {
      again = false;
      for (const [s, d] of this.early) {
        const r = (s - this.next!) | 0;
        if (r > 0) continue;
        this.early.delete(s);
        if (r + d.length > 0) this.feed(d.subarray(-r), problems);
        again = true;
      }
    }
  }

  private feed(d: Uint8Array, problems: string[]): void {
    this.next = (this.next! + d.length) >>> 0;
    this.received += d.length;
    if (this.rejectedAt !== null) return;
    try {
      this.framer.push(d);
    } catch (e) {
      this.rejectedAt = this.framer.offset;
      problems.push(`${this.name}: ${(e as Error).message}; the rest of this stream is not decoded`);
    }
  }

  /** Bytes of this stream that did not become a packet. */
  undecoded(): number {
    let gap = 0;
    for (const d of this.early.values()) gap += d.length;
    return this.received - this.delivered + gap;
  }
}

function collect(feedAll: (emit: (bytes: Uint8Array, s: Stream) => void, streamFor: (name: string) => Stream) => void, registry: MessageRegistry): DumpResult {
  const packets: DumpedPacket[] = [];
  const streams = new Map<string, Stream>();
  const problems: string[] = [];
  const emit = (bytes: Uint8Array, s: Stream): void => {
    const d = decodePacket(bytes, registry);
    packets.push({ n: packets.length + 1, stream: s.name, ...(s.time >= 0 ? { t: s.time } : {}), ...d });
  };
  const streamFor = (name: string): Stream => {
    let s = streams.get(name);
    if (!s) streams.set(name, (s = new Stream(name, emit)));
    return s;
  };
  feedAll(emit, streamFor);
  let undecodedBytes = 0;
  let used = 0;
  for (const s of streams.values()) {
    if (s.received === 0 && s.early.size === 0) continue;
    used++;
    const u = s.undecoded();
    undecodedBytes += u;
    if (u > 0 && s.rejectedAt === null) {
      problems.push(s.early.size > 0 ? `${s.name}: missing bytes (capture gap); ${u} bytes not decoded` : `${s.name}: ${u} bytes of an incomplete packet at the end`);
    }
  }
  return { packets, undecodedBytes, streams: used, problems };
}

/** Decodes every BIN packet of a pcap. */
export function dumpPcap(file: Uint8Array, registry: MessageRegistry = knownMessages): DumpResult {
  const { segments } = readPcap(file);
  const t0 = segments[0]?.time ?? 0;
  return collect((_emit, streamFor) => {
    for (const seg of segments) {
      const s = streamFor(`${seg.src} > ${seg.dst}`);
      if (seg.syn) {
        s.next = (seg.seq + 1) >>> 0;
        if (seg.payload.length === 0) continue;
      }
      if (seg.payload.length === 0) continue;
      s.time = +(seg.time - t0).toFixed(6);
      s.segment(seg.seq, seg.payload, []);
    }
  }, registry);
}

/** Decodes hex text: one packet (or several back to back) per line; `#` starts a comment. */
export function dumpHex(text: string, registry: MessageRegistry = knownMessages): DumpResult {
  const bad: string[] = [];
  let badBytes = 0;
  const r = collect((_emit, streamFor) => {
    const s = streamFor("hex");
    s.time = -1;
    s.next = 0;
    text.split(/\r?\n/).forEach((line, i) => {
      const h = line.replace(/#.*/, "").replace(/0x/gi, "").replace(/[\s:,]/g, "");
      if (h.length === 0) return;
      if (!/^[0-9a-fA-F]*$/.test(h) || h.length % 2 !== 0) {
        bad.push(`line ${i + 1}: not an even number of hex digits`);
        badBytes += Math.floor(h.length / 2);
        return;
      }
      s.segment(s.next!, Buffer.from(h, "hex"), []);
    });
  }, registry);
  r.problems.push(...bad);
  r.undecodedBytes += badBytes;
  return r;
}

// ── printing ─────────────────────────────────────────────────────────────

function fmtValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  return JSON.stringify(v);
}

export function formatPacket(p: DumpedPacket, full = false): string {
  const lines: string[] = [];
  const t = p.t !== undefined ? ` t=${p.t.toFixed(6)}` : "";
  const name = p.type_name ? ` ${p.type_name}` : "";
  lines.push(`#${p.n}${t} ${p.stream}  ${p.capability}${name} (type ${p.type}) v${p.version} len ${p.length}`);
  if (p.cluster_id !== undefined) lines.push(`    cluster ${p.cluster_id}, src node ${p.src_node}`);
  if (p.trailer) lines.push(`    trailer: cluster ${p.trailer.cluster_id}, src node ${p.trailer.src_node}, dst node ${p.trailer.dst_node}`);
  if (p.fields) {
    lines.push(`    ${p.message}:`);
    for (const [k, v] of Object.entries(p.fields)) lines.push(`      ${k} = ${fmtValue(v)}`);
  }
  if (p.body_hex) {
    const h = full || p.body_hex.length <= 128 ? p.body_hex : `${p.body_hex.slice(0, 128)}… (${p.body_hex.length / 2} bytes)`;
    lines.push(`    ${p.fields ? "rest" : "body"}: ${h.replace(/(.{8})(?=.)/g, "$1 ")}`);
  }
  if (p.error) lines.push(`    ! ${p.error}`);
  return lines.join("\n");
}

export function summaryLine(r: DumpResult): string {
  return `${r.packets.length} packets, ${r.undecodedBytes} bytes undecoded, ${r.streams} streams`;
}

const USAGE = "usage: bin-dump [--json] [--full] [--v110] [-m DIR]... [--cfg FILE] <file.pcap | file.hex | ->";

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const modulePaths: string[] = [];
  let cfgFile: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-m" || a === "--cfg") {
      const v = argv[++i];
      if (v === undefined) {
        process.stderr.write(`bin-dump: ${a} needs a value\n${USAGE}\n`);
        return 2;
      }
      if (a === "-m") modulePaths.push(v);
      else cfgFile = v;
    } else rest.push(a);
  }
  const flags = new Set(rest.filter((a) => a.startsWith("--")));
  const files = rest.filter((a) => !a.startsWith("--"));
  for (const f of flags) if (f !== "--json" && f !== "--full" && f !== "--help" && f !== "--v110") {
    process.stderr.write(`bin-dump: unknown option ${f}\n${USAGE}\n`);
    return 2;
  }
  if (flags.has("--help") || files.length !== 1) {
    (flags.has("--help") ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return flags.has("--help") ? 0 : 2;
  }
  let registry = knownMessages;
  let v110Registry = discovered.v110Registry;
  if (modulePaths.length > 0 || cfgFile) {
    const found = await discoverMessages({ modulePaths, ...(cfgFile ? { cfgFile } : {}) });
    for (const pr of found.problems) process.stderr.write(`bin-dump: ${pr}\n`);
    registry = found.registry;
    v110Registry = found.v110Registry;
  }
  const file = files[0]!;
  let data: Buffer;
  try {
    data = file === "-" ? await readStdin() : readFileSync(file);
  } catch (e) {
    process.stderr.write(`bin-dump: ${(e as Error).message}\n`);
    return 1;
  }
  const isPcap = data.length >= 4 && [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(data.readUInt32LE(0));
  let r: DumpResult;
  let v110: V110DumpResult | undefined;
  try {
    if (isPcap) {
      r = dumpPcap(data, registry);
      v110 = dumpV110Pcap(data, v110Registry);
      if (v110.datagrams.length === 0) v110 = undefined;
    } else if (flags.has("--v110") || looksLikeV110Hex(data.toString("utf8"))) {
      v110 = dumpV110Hex(data.toString("utf8"), v110Registry);
      r = { packets: [], undecodedBytes: 0, streams: 0, problems: [] };
    } else r = dumpHex(data.toString("utf8"), registry);
  } catch (e) {
    process.stderr.write(`bin-dump: ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  const json = flags.has("--json");
  for (const p of r.packets) out(json ? JSON.stringify(p) : formatPacket(p, flags.has("--full")));
  for (const pr of r.problems) process.stderr.write(`bin-dump: ${pr}\n`);
  if (v110) {
    for (const d of v110.datagrams) out(json ? JSON.stringify({ wire: "1.10", ...d }) : formatV110(d));
    if (r.packets.length > 0 || r.streams > 0) out(json ? JSON.stringify({ summary: { packets: r.packets.length, undecoded_bytes: r.undecodedBytes, streams: r.streams } }) : summaryLine(r));
    out(json ? JSON.stringify({ summary_v110: { datagrams: v110.datagrams.length, undecoded_bytes: v110.undecodedBytes } }) : v110SummaryLine(v110));
    return r.undecodedBytes === 0 && v110.undecodedBytes === 0 ? 0 : 3;
  }
  out(json ? JSON.stringify({ summary: { packets: r.packets.length, undecoded_bytes: r.undecodedBytes, streams: r.streams } }) : summaryLine(r));
  return r.undecodedBytes === 0 ? 0 : 3;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
