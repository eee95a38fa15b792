/**
 * `npm run bench -- restart [--json] [--contacts=N] [--dialogs=N]`
 *
 * Full-cluster restart from SQL: two real node processes (full-sharing usrloc + replicated
 * dialogs, one SQLite file per node: the documented safe layout), contacts added with MI
 * `ul_add` and dialogs with `dlg_bench_create` on both nodes, then SIGKILL of both and a
 * start of both. Counted on each node after the restart, against what MI acknowledged:
 * - write-through + dialog db_mode 1: every acknowledged contact and dialog must be back;
 * - write-back + db_mode 2: what the last flush (ul_flush / the db_update_period pass) wrote
 *   is back, the rest is lost, and both figures are printed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { LocalCluster } from "../../core/testing/cluster.ts";
import type { NodeProcess } from "../../core/testing/node-process.ts";
import { initDb } from "../db.ts";
import { report } from "./report.ts";

function arg(args: string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const extra = (dir: string, writeMode: string, dlgMode: number) => (id: number): string => `
socket = udp:127.0.0.1:5061 tag sip
loadmodule "db_sqlite.so"
loadmodule "usrloc.so"
modparam("usrloc", "cluster_mode", "full-sharing")
modparam("usrloc", "restart_persistency", "load-from-sql")
modparam("usrloc", "sql_write_mode", "${writeMode}")
modparam("usrloc", "location_cluster", 1)
modparam("usrloc", "timer_interval", 3600)
modparam("usrloc", "db_url", "sqlite://${join(dir, `node${id}.db`)}")
loadmodule "dialog.so"
modparam("dialog", "dialog_replication_cluster", 1)
modparam("dialog", "db_mode", ${dlgMode})
modparam("dialog", "db_update_period", ${dlgMode === 2 ? 2 : 3600})
modparam("dialog", "db_url", "sqlite://${join(dir, `node${id}.db`)}")
`;

async function addContacts(n: NodeProcess, prefix: string, count: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i += 500) {
    const calls = [];
    for (let k = i; k < Math.min(count, i + 500); k++) {
      calls.push({ method: "ul_add", params: { table_name: "location", aor: `${prefix}${k}`, contact: `sip:${prefix}${k}@10.1.${(k >> 8) & 255}.${k & 255}:5060`, expires: 3600, q: "0.5", flags: 0, cflags: 0, methods: 4294967295 } });
    }
    for (const r of await n.miBatch(calls)) if (r === "OK") ok++;
  }
  return ok;
}

async function counts(n: NodeProcess): Promise<{ contacts: number; dialogs: number }> {
  const s = (await n.mi("get_statistics", { statistics: ["location-contacts", "active_dialogs"] })) as Record<string, number>;
  const pick = (name: string): number => Number(Object.entries(s).find(([k]) => k.endsWith(name))?.[1] ?? NaN);
  return { contacts: pick("location-contacts"), dialogs: pick("active_dialogs") };
}

async function scenario(json: boolean, label: string, writeMode: string, dlgMode: number, contacts: number, dialogs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tsips-restart-"));
  let cluster: LocalCluster | undefined;
  try {
    for (const id of [1, 2]) await initDb(`sqlite://${join(dir, `node${id}.db`)}`, ["version", "location", "dialog"], () => undefined);
    cluster = await LocalCluster.start({ size: 2, extra: extra(dir, writeMode, dlgMode) });
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const half = contacts / 2;
    const dHalf = dialogs / 2;
    let acked = 0;
    let dlgAcked = 0;
    let flushed = { contacts: 0, dialogs: 0 };
    if (writeMode === "write-back") {
      // First half, then a flush: ul_flush on both nodes, and the dialog pass (db_update_period 2 s) has run.
      acked += await addContacts(n1, "a", half / 2) + await addContacts(n2, "b", half / 2);
      for (const n of [n1, n2]) dlgAcked += ((await n.mi("dlg_bench_create", { count: dHalf / 2 })) as { created: number }).created;
      for (const n of [n1, n2]) await n.mi("ul_flush");
      await new Promise((r) => setTimeout(r, 2500));
      flushed = { contacts: acked, dialogs: dlgAcked };
      acked += await addContacts(n1, "c", half / 2) + await addContacts(n2, "d", half / 2);
      for (const n of [n1, n2]) dlgAcked += ((await n.mi("dlg_bench_create", { count: dHalf / 2 })) as { created: number }).created;
    } else {
      acked += await addContacts(n1, "a", half) + await addContacts(n2, "b", half);
      for (const n of [n1, n2]) dlgAcked += ((await n.mi("dlg_bench_create", { count: dHalf })) as { created: number }).created;
    }
    const before = await counts(n1);
    await Promise.all([n1.kill("SIGKILL"), n2.kill("SIGKILL")]);
    const t0 = performance.now();
    await Promise.all([n1.restart(), n2.restart()]);
    const upMs = performance.now() - t0;
    const after1 = await counts(n1);
    const after2 = await counts(n2);
    report(json, { name: `restart ${label}: contacts acknowledged`, value: acked, unit: "contacts", note: `node 1 held ${before.contacts} before SIGKILL` });
    report(json, { name: `restart ${label}: contacts back on node 1`, value: after1.contacts, unit: "contacts", note: `node 2: ${after2.contacts}${writeMode === "write-back" ? `; flushed before the kill: ${flushed.contacts}` : ""}` });
    report(json, { name: `restart ${label}: dialogs acknowledged`, value: dlgAcked, unit: "dialogs", note: `node 1 held ${before.dialogs} before SIGKILL` });
    report(json, { name: `restart ${label}: dialogs back (node 1 + node 2)`, value: after1.dialogs + after2.dialogs, unit: "dialogs",
      note: `node 1: ${after1.dialogs}, node 2: ${after2.dialogs}; each node stores the dialogs it created (received ones are written at shutdown, as OpenSIPS)${dlgMode === 2 ? `; written by the last pass before the kill: ${flushed.dialogs}` : ""}` });
    report(json, { name: `restart ${label}: both nodes up again`, value: Math.round(upMs), unit: "ms", note: "SIGKILL to both ready (load from SQL included)" });
  } finally {
    await cluster?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ json, args }: { json: boolean; args: string[] }): Promise<void> {
  const contacts = arg(args, "contacts", 10_000);
  const dialogs = arg(args, "dialogs", 2_000);
  await scenario(json, "write-through + db_mode 1", "write-through", 1, contacts, dialogs);
  await scenario(json, "write-back + db_mode 2", "write-back", 2, contacts, dialogs);
}
