/**
 * `npm run bench -- v110 [--json] [--dialogs=N] [--hostile=N]`: the OpenSIPS 1.10 interface.
 * - codec: encode + CRC and parse + CRC + decode of the captured 402-byte CREATED through its
 *   declared message, datagrams/s (in process).
 * - replication: two real tsips nodes (examples/v110 layout, free ports). Instant measured:
 *   from the first MI `dlg_bench_create` (then `dlg_bench_end`) call on A to B's
 *   `active_dialogs` reaching N (then 0), both read over MI; N = 10,000 by default, made in
 *   bursts of 1,000 (each waits for B: UDP has no flow control); none may be missing.
 * - hostile: 1,000,000 bad datagrams (short, no marker, bad CRC, overlong name) sent to B's
 *   bin_listen in bursts while A keeps replicating; B must stay up, count every datagram it
 *   read as dropped, and still hold every dialog A made during the flood.
 */
import { createSocket } from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { BinV110Packet } from "../../core/bin/v110/packet.ts";
import { startV110Pair, type NodeProcess } from "../../core/testing/index.ts";
import { V110DlgCreated } from "../../modules/dialog/v110-messages.ts";
import { loadV110VectorBytes } from "./v110-vectors.ts";
import { report } from "./report.ts";

/** `--name=value` (the bench runner treats bare words as benchmark names). */
function arg(args: string[], name: string, def: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const n = a === undefined ? def : Number(a.slice(name.length + 3));
  return Number.isInteger(n) && n > 0 ? n : def;
}

async function stats(n: NodeProcess): Promise<Record<string, number>> {
  return (await n.mi("get_statistics", { statistics: ["dialog:", "bin:"] })) as Record<string, number>;
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 5): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await probe()) return true;
    await sleep(intervalMs);
  }
  return false;
}

function codec(json: boolean): void {
  const bytes = loadV110VectorBytes("001-dialog-dlg-created-a-to-b.hex");
  const rec = V110DlgCreated.decode(BinV110Packet.parse(bytes));
  const round = (n: number): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) V110DlgCreated.decode(BinV110Packet.parse(V110DlgCreated.encode({ ...rec, hId: i }).bytes()));
    return n / ((performance.now() - t0) / 1000);
  };
  round(20_000);
  const best = Math.max(round(100_000), round(100_000), round(100_000));
  report(json, { name: "v110 codec: CREATED encode+CRC+parse+decode", value: Math.round(best), unit: "datagrams/s", note: "402 bytes, 25 fields, best of 3" });
}

export async function run(o: { json: boolean; args: string[] }): Promise<void> {
  const N = arg(o.args, "dialogs", 10_000);
  const HOSTILE = arg(o.args, "hostile", 1_000_000);
  codec(o.json);
  const pair = await startV110Pair({ logLevel: 2 });
  try {
    const { a, b, ports } = pair;
    // UDP has no flow control (neither has 1.10): A works in bursts of BURST dialogs and the
    // next burst starts when B holds the previous one, so no burst overflows B's socket buffer.
    const BURST_DIALOGS = 1000;
    let created = true;
    let t0 = performance.now();
    for (let done = 0; done < N;) {
      const n = Math.min(BURST_DIALOGS, N - done);
      await a.mi("dlg_bench_create", { count: n });
      done += n;
      created &&= await until(async () => (await stats(b))["dialog:active_dialogs"]! >= done, 20_000);
    }
    const createMs = performance.now() - t0;
    let ended = true;
    t0 = performance.now();
    for (let done = 0; done < N;) {
      const n = Math.min(BURST_DIALOGS, N - done);
      await a.mi("dlg_bench_end", { count: n });
      done += n;
      ended &&= await until(async () => (await stats(b))["dialog:active_dialogs"]! <= N - done, 20_000);
    }
    const endMs = performance.now() - t0;
    const sb = await stats(b);
    const missing = N - (sb["dialog:create_recv"] ?? 0) + (N - (sb["dialog:delete_recv"] ?? 0));
    report(o.json, { name: "v110 replication: creates A→B", value: Math.round(N / (createMs / 1000)), unit: "dialogs/s", note: `${N} dialogs in bursts of ${BURST_DIALOGS}, first MI call on A → B holds all${created ? "" : " (TIMED OUT)"}` });
    report(o.json, { name: "v110 replication: deletes A→B", value: Math.round(N / (endMs / 1000)), unit: "dialogs/s", note: `MI call on A → B holds none${ended ? "" : " (TIMED OUT)"}` });
    report(o.json, { name: "v110 replication: datagrams missing on B", value: missing, unit: "datagrams", note: "must be 0" });

    // hostile flood while A keeps replicating
    const sock = createSocket("udp4");
    const kinds = [
      Buffer.from("5034434b000000000000", "hex"),
      Buffer.alloc(64, 0x41),
      Buffer.from("5034434b0dfa0c2d060000006469616c6f67030000000d00000070726f62652d31407473697073050000007074616741050000007074616742", "hex"),
      Buffer.from("5034434b00000000ffffff7f6469616c6f6703000000", "hex"),
    ];
    const before = await stats(b);
    const base = before["bin:v110_received"] ?? 0;
    const BURST = 4000;
    let sent = 0;
    let replicatedDuring = 0;
    t0 = performance.now();
    let lastProgress = 0;
    while (sent < HOSTILE) {
      const n = Math.min(BURST, HOSTILE - sent);
      await new Promise<void>((resolve) => {
        let left = n;
        for (let i = 0; i < n; i++) sock.send(kinds[(sent + i) % kinds.length]!, ports.binB, "127.0.0.1", () => {
          if (--left === 0) resolve();
        });
      });
      sent += n;
      if (sent % 100_000 === 0) {
        await a.mi("dlg_bench_create", { count: 100 }); // A keeps replicating during the flood
        replicatedDuring += 100;
      }
      await until(async () => ((await stats(b))["bin:v110_received"] ?? 0) - base >= sent, 5_000, 2);
      if (!o.json && performance.now() - lastProgress > 2000) {
        lastProgress = performance.now();
        process.stderr.write(`  hostile: ${sent.toLocaleString("en-US")}/${HOSTILE.toLocaleString("en-US")} sent\n`);
      }
    }
    sock.close();
    const floodMs = performance.now() - t0;
    await until(async () => (await stats(b))["dialog:active_dialogs"] === replicatedDuring, 10_000);
    const after = await stats(b);
    const received = (after["bin:v110_received"] ?? 0) - base;
    const dropped = (after["bin:v110_dropped"] ?? 0) - (before["bin:v110_dropped"] ?? 0);
    report(o.json, { name: "v110 hostile: datagrams read and dropped", value: Math.round(received / (floodMs / 1000)), unit: "datagrams/s", note: `${sent.toLocaleString("en-US")} sent, ${received.toLocaleString("en-US")} received (dialog datagrams included), ${dropped.toLocaleString("en-US")} counted dropped` });
    report(o.json, { name: "v110 hostile: bad datagrams not counted", value: sent - dropped, unit: "datagrams", note: "must be 0" });
    report(o.json, { name: "v110 hostile: node B still running", value: b.running ? 1 : 0, unit: "bool" });
    report(o.json, { name: "v110 hostile: dialogs replicated during the flood", value: after["dialog:active_dialogs"] ?? 0, unit: "dialogs", note: `of ${replicatedDuring} made on A` });
  } finally {
    await pair.stop();
  }
}
