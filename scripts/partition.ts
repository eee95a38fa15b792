/**
 * `npm run failover -- --partition cut|blackhole [--partition-ms MS] [--contacts N] [--dialogs M] [--json]`
 *
 * A partition between two running nodes, then a heal, with no operator action (issue 16):
 *   1. two nodes (usrloc full-sharing, dialog with profile replication, `vip` active on node 1,
 *      `shtag_auto_takeover` 1, ping_interval 1 s, ping_timeout 200 ms) with every link through a
 *      TCP proxy; wait until both capabilities are synced;
 *   2. partition: `cut` closes the connections and refuses new ones; `blackhole` keeps them open
 *      and swallows the bytes (a hung peer, a dead host behind a router);
 *   3. while partitioned, each node takes N `ul_add` and M `dlg_create` (tagged `vip`, in both
 *      profiles, so profile broadcasts flow into the partition);
 *   4. heal after `partitionMs`, then measure from the nodes' logs and MI:
 *      detection (each node's node-down event and `link_state` Down for the other), heal (both
 *      links Up again), convergence (both nodes hold 2N contacts and 2M dialogs and their
 *      `clusterer_cap_digest` agree) and tag (exactly one node holds `vip`).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCluster, MiCallError, type LogLine, type MiCall } from "../core/testing/index.ts";
import { CONTACT_CAP, DIALOG_CAP, capsOk, replicationCfg, ulAdd, vipState, waitUntil } from "./failover.ts";

export type PartitionMode = "cut" | "blackhole";

export interface PartitionOptions {
  mode: PartitionMode;
  /** How long the partition lasts (ms). */
  partitionMs: number;
  /** Contacts and dialogs each node takes during the partition. */
  contacts: number;
  dialogs: number;
  logsDir?: string;
  progress: boolean;
}

export const PARTITION_DEFAULTS = { cut: 5_000, blackhole: 30_000 } as const;

const TIMERS = { ping_interval: 1, ping_timeout: 200 } as const;

export interface PartitionReport {
  ok: boolean;
  mode: PartitionMode;
  partitionMs: number;
  /** Partition → node-down event / `link_state` Down, as node 1 and node 2 log them (ms). */
  detection: { node1: { eventMs: number | null; downMs: number | null }; node2: { eventMs: number | null; downMs: number | null } };
  /** Partition → node 2 logs `vip` active (ms). */
  takeoverMs: number | null;
  /** Heal → both links Up again (ms, later of the two log lines). */
  healUpMs: number | null;
  /** Heal → both nodes hold everything and their digests agree (ms, polled over MI). */
  convergedMs: number | null;
  /** Heal → exactly one node holds `vip` (ms, polled over MI). */
  oneHolderMs: number | null;
  vipAfter: { node1: string | undefined; node2: string | undefined };
  held: { node1: { contacts: number; dialogs: number }; node2: { contacts: number; dialogs: number } };
  expected: { contacts: number; dialogs: number };
  digests: { node1: DigestRow[]; node2: DigestRow[] };
  logsDir: string;
  problems: string[];
}

interface DigestRow {
  name: string;
  count: number | null;
  hash: string | null;
}

/** `ul_add` / `dlg_create` calls that only node `node` makes (names carry the node). */
export function partitionLoad(node: number, contacts: number, dialogs: number): MiCall[] {
  const calls: MiCall[] = [];
  for (let i = 0; i < contacts; i++) calls.push(ulAdd(`p${node}-user${i}`, `sip:p${node}-user${i}@10.${node}.${(i >> 8) & 255}.${i & 255}:5060`));
  for (let i = 0; i < dialogs; i++) {
    calls.push({
      method: "dlg_create",
      params: {
        callid: `partition-${node}-${i}@tsips`, from_uri: `sip:p${node}-user${i}@example.com`, to_uri: `sip:callee${i}@example.com`, state: 4,
        sharing_tag: "vip", profiles: `calls/b;caller/b=p${node}-user${i % 10}`,
      },
    });
  }
  return calls;
}

export async function digests(cl: LocalCluster, node: number): Promise<DigestRow[]> {
  const res = (await cl.mi(node, "clusterer_cap_digest")) as unknown as { Clusters: { Capabilities: DigestRow[] }[] };
  return res.Clusters.flatMap((c) => c.Capabilities).filter((c) => c.name === CONTACT_CAP || c.name === DIALOG_CAP)
    .sort((a, b) => a.name.localeCompare(b.name));
}

const countOf = (rows: DigestRow[], cap: string): number => rows.find((r) => r.name === cap)?.count ?? 0;

async function runBatches(cl: LocalCluster, node: number, calls: MiCall[]): Promise<void> {
  for (let i = 0; i < calls.length; i += 100) {
    const res = await cl.node(node).miBatch(calls.slice(i, i + 100));
    const err = res.find((r) => r instanceof MiCallError);
    if (err) throw new Error(`node ${node}: ${(err as MiCallError).message}`);
  }
}

export async function runPartition(opts: Partial<PartitionOptions> & { mode: PartitionMode }): Promise<PartitionReport> {
  const o: PartitionOptions = {
    partitionMs: PARTITION_DEFAULTS[opts.mode], contacts: 500, dialogs: 100, progress: true, ...opts,
  };
  const note = (msg: string): void => {
    if (o.progress) process.stderr.write(`${msg}\n`);
  };
  const logsDir = o.logsDir ?? mkdtempSync(join(tmpdir(), "tsips-partition-"));
  const problems: string[] = [];
  note(`starting 2 nodes with proxied links (logs in ${logsDir})…`);
  const cl = await LocalCluster.start({
    size: 2, proxied: true,
    clusterer: { ...TIMERS, seed_fallback_interval: 1, shtag_auto_takeover: 1 },
    sharingTags: (id) => [`vip=${id === 1 ? "active" : "backup"}`],
    extra: replicationCfg,
    dir: logsDir, logFiles: true,
  });
  try {
    await waitUntil("usrloc and dialog synced on both nodes", async () => (await capsOk(cl, 1)) && (await capsOk(cl, 2)), 20_000, 50);
    const n1 = cl.node(1);
    const n2 = cl.node(2);
    const m1 = n1.mark();
    const m2 = n2.mark();
    note(`${o.mode === "cut" ? "cutting" : "blackholing"} the links for ${o.partitionMs} ms; each node takes ${o.contacts} contacts and ${o.dialogs} dialogs…`);
    const tPart = Date.now();
    cl.partition(1, 2, o.mode === "cut" ? "cut" : "drop");
    await Promise.all([runBatches(cl, 1, partitionLoad(1, o.contacts, o.dialogs)), runBatches(cl, 2, partitionLoad(2, o.contacts, o.dialogs))]);

    const line = (n: typeof n1, mark: number, pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine | undefined> =>
      n.waitForLog(pred, timeoutMs, mark).catch(() => undefined);
    const isEvent = (id: number) => (l: LogLine): boolean => l.module === "clusterer" && l.event === "node-down" && l.node === id;
    const isDown = (id: number) => (l: LogLine): boolean => l.module === "clusterer" && l.event === "link-down" && l.node === id;
    const bound = Math.max(500, o.partitionMs - (Date.now() - tPart));
    const [e1, d1, e2, d2, act] = await Promise.all([
      line(n1, m1, isEvent(2), bound), line(n1, m1, isDown(2), bound), line(n2, m2, isEvent(1), bound), line(n2, m2, isDown(1), bound),
      line(n2, m2, (l) => l.module === "clusterer" && l.tag === "vip" && l.state === "active", bound),
    ]);
    const since = (l: LogLine | undefined, t: number): number | null => (l?.time !== undefined ? l.time - t : null);
    const rest = o.partitionMs - (Date.now() - tPart);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));

    note("healing…");
    const h1 = n1.mark();
    const h2 = n2.mark();
    const tHeal = Date.now();
    await cl.heal(1, 2);
    const expected = { contacts: 2 * o.contacts, dialogs: 2 * o.dialogs };
    let oneHolderMs: number | null = null;
    const holderP = waitUntil("exactly one vip holder", async () => {
      const [a, b] = [await vipState(cl, 1), await vipState(cl, 2)];
      return (a === "active") !== (b === "active");
    }, 15_000, 20).then((ms) => void (oneHolderMs = Math.round(ms)), () => undefined);
    let convergedMs: number | null = null;
    let last: [DigestRow[], DigestRow[]] = [[], []];
    await waitUntil("both nodes to hold everything with equal digests", async () => {
      last = [await digests(cl, 1), await digests(cl, 2)];
      const [a, b] = last;
      return countOf(a, CONTACT_CAP) === expected.contacts && countOf(a, DIALOG_CAP) === expected.dialogs &&
        JSON.stringify(a) === JSON.stringify(b);
    }, 30_000, 50).then((ms) => void (convergedMs = Math.round(ms)), (err: Error) => void problems.push(err.message));
    await holderP;
    if (oneHolderMs === null) problems.push("no single vip holder within 15 s of the heal");
    const [u1, u2] = await Promise.all([
      line(n1, h1, (l) => l.module === "clusterer" && l.msg === "link with node 2 is Up", 10_000),
      line(n2, h2, (l) => l.module === "clusterer" && l.msg === "link with node 1 is Up", 10_000),
    ]);
    const healUpMs = u1?.time !== undefined && u2?.time !== undefined ? Math.max(u1.time, u2.time) - tHeal : null;
    if (healUpMs === null) problems.push("a link did not come back Up after the heal");
    const det = { node1: { eventMs: since(e1, tPart), downMs: since(d1, tPart) }, node2: { eventMs: since(e2, tPart), downMs: since(d2, tPart) } };
    if (det.node2.eventMs === null) problems.push("node 2 never left Up with node 1 during the partition");
    const takeoverMs = since(act, tPart);
    if (takeoverMs === null) problems.push("node 2 never took vip during the partition");
    const [a, b] = last;
    return {
      ok: problems.length === 0, mode: o.mode, partitionMs: o.partitionMs, detection: det, takeoverMs, healUpMs, convergedMs, oneHolderMs,
      vipAfter: { node1: await vipState(cl, 1), node2: await vipState(cl, 2) },
      held: {
        node1: { contacts: countOf(a, CONTACT_CAP), dialogs: countOf(a, DIALOG_CAP) },
        node2: { contacts: countOf(b, CONTACT_CAP), dialogs: countOf(b, DIALOG_CAP) },
      },
      expected, digests: { node1: a, node2: b }, logsDir, problems,
    };
  } finally {
    await cl.stop();
  }
}

const f = (v: number | null | undefined): string => (v === null || v === undefined ? "n/a" : `${v} ms`);

export function formatPartitionReport(r: PartitionReport): string {
  const dg = (rows: DigestRow[]): string => rows.map((x) => `${x.name} ${x.count}/${x.hash}`).join(", ");
  const lines = [
    "",
    `partition report (${r.mode}, ${r.partitionMs} ms, ping_interval 1 s, ping_timeout 200 ms, no_ping_retries 3)`,
    `  detection     node 2: node-down event ${f(r.detection.node2.eventMs)}, link Down ${f(r.detection.node2.downMs)}; node 1: node-down event ${f(r.detection.node1.eventMs)}, link Down ${f(r.detection.node1.downMs)} (after the partition)`,
    `  takeover      node 2 vip active ${f(r.takeoverMs)} after the partition`,
    `  heal          both links Up ${f(r.healUpMs)} after the heal`,
    `  convergence   both nodes hold ${r.expected.contacts} contacts and ${r.expected.dialogs} dialogs with equal digests ${f(r.convergedMs)} after the heal (node 1 ${r.held.node1.contacts}/${r.held.node1.dialogs}, node 2 ${r.held.node2.contacts}/${r.held.node2.dialogs})`,
    `  digests       node 1: ${dg(r.digests.node1)}`,
    `                node 2: ${dg(r.digests.node2)}`,
    `  tag           exactly one vip holder ${f(r.oneHolderMs)} after the heal (node 1 ${r.vipAfter.node1 ?? "?"}, node 2 ${r.vipAfter.node2 ?? "?"})`,
    `  result        ${r.ok ? "OK — converged, one holder" : `FAILED — ${r.problems.join("; ")}`}`,
    `  logs          ${r.logsDir}`,
  ];
  return `${lines.join("\n")}\n`;
}
