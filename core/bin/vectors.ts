/**
 * Loader for the BIN vectors captured from real OpenSIPS 3.6.8 nodes (a `vectors/` folder:
 * README.md, index.json, sequence.json, one `.hex` per unique packet,
 * sub-sets `idle/` and `more/`, and `pcap/`). Tests and tools use it to check that what
 * tsips builds and reads is byte-identical to OpenSIPS.
 *
 * The project owns its copy: `test/vectors/opensips-3.6.8/` (and the 1.10.5 capture in
 * `test/vectors/opensips-1.10.5/`). `$TSIPS_VECTORS_DIR` overrides the 3.6.8 folder.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repo's `test/vectors/`, found from this file so the repo can live anywhere. */
const REPO_VECTORS = fileURLToPath(new URL("../../test/vectors/", import.meta.url));

export type VectorSetName = "main" | "idle" | "more";
export const VECTOR_SETS: readonly VectorSetName[] = ["main", "idle", "more"];

/** One entry of a set's index.json as stored. */
export interface VectorIndexEntry {
  file: string;
  direction: string;
  from_node: number;
  to_node: number;
  capability: string;
  packet_type: number;
  type_name: string;
  bin_version: number;
  total_length: number;
  description: string;
  scenario_step: string;
  first_seen_s: number;
  occurrences: number;
  tcp_ports: string;
  /** clusterer-internal: first body int. */
  cluster_id?: number;
  /** clusterer-internal: second body int (source node). */
  src_node_in_body?: number;
  /** Module and clusterer-extra packets: the 12-byte trailer. */
  trailer_cluster_id?: number;
  trailer_src_node?: number;
  trailer_dst_node?: number;
  /** clusterer-extra sync packets: the capability being synced. */
  sync_capability?: string;
  strings: string[];
}

/** One entry of a set's index.json, with the packet bytes. */
export interface VectorEntry extends VectorIndexEntry {
  /** Which set it comes from. */
  set: VectorSetName;
  /** Absolute path of the `.hex` file. */
  path: string;
  /** The packet, exactly as it was on the wire. */
  bytes: Buffer;
}

/** One hop of sequence.json. */
export interface VectorHop {
  t_s: number;
  file: string;
  from: number;
  to: number;
  capability: string;
  type: number;
  len: number;
  step: string;
}

export interface VectorSequence {
  t0_epoch: number;
  events: unknown[];
  packets: VectorHop[];
}

/** Root folder of the OpenSIPS 3.6.8 vectors. */
export function vectorsRoot(): string {
  return process.env["TSIPS_VECTORS_DIR"] ?? join(REPO_VECTORS, "opensips-3.6.8");
}

/** Root folder of the OpenSIPS 1.10.5 vectors (datagrams, pcap, probes, MI replies). */
export function v110VectorsRoot(): string {
  return process.env["TSIPS_V110_VECTORS_DIR"] ?? join(REPO_VECTORS, "opensips-1.10.5");
}

/** Folder of one set. */
export function vectorSetDir(set: VectorSetName): string {
  const root = vectorsRoot();
  return set === "main" ? root : join(root, set);
}

const cache = new Map<VectorSetName, VectorEntry[]>();

/** Every entry of a set's index.json with its bytes (cached; treat as read-only). */
export function loadVectorSet(set: VectorSetName): VectorEntry[] {
  const hit = cache.get(set);
  if (hit) return hit;
  const dir = vectorSetDir(set);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as VectorIndexEntry[];
  const out = index.map((e): VectorEntry => {
    const path = join(dir, e.file);
    const hex = readFileSync(path, "utf8").trim();
    return { ...e, set, path, bytes: Buffer.from(hex, "hex") };
  });
  cache.set(set, out);
  return out;
}

/** A set's sequence.json (every hop in capture order). */
export function loadVectorSequence(set: VectorSetName): VectorSequence {
  return JSON.parse(readFileSync(join(vectorSetDir(set), "sequence.json"), "utf8")) as VectorSequence;
}

/** The BIN capture of a set (`idle` lives in the main set's pcap folder). */
export function vectorPcapPath(set: VectorSetName): string {
  const root = vectorsRoot();
  if (set === "main") return join(root, "pcap", "bin.pcap");
  if (set === "idle") return join(root, "pcap", "bin-idle.pcap");
  return join(root, "more", "pcap", "bin.pcap");
}

/** One vector by file name. */
export function findVector(set: VectorSetName, file: string): VectorEntry {
  const v = loadVectorSet(set).find((e) => e.file === file);
  if (!v) throw new Error(`vector ${file} not in set ${set}`);
  return v;
}
