/**
 * clusterer db_mode=1 on a real SQLite file (spec/db.md §5, §6 scenario 9): nodes from the
 * `clusterer` table, my_node_id picks the local row, clusterer_set_status writes `state`,
 * clusterer_reload re-reads, a start without a local row or at another version is refused.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestHost, type TestHost } from "../../core/testing/index.ts";
import clusterer from "../../modules/clusterer/index.ts";
import dbSqlite from "../../modules/db_sqlite/index.ts";
import { tempSqlite, type TempSqlite } from "../helpers/sqlite-db.ts";

let db: TempSqlite;
let url: string;
const hosts: TestHost[] = [];
const sql = (statement: string, ...params: unknown[]): void => db.run(statement, ...params);

beforeEach(async () => {
  db = await tempSqlite("cldb", ["clusterer"]);
  url = db.url;
  const ins = "INSERT INTO clusterer (cluster_id, node_id, url, state, flags, description) VALUES (?, ?, ?, ?, ?, ?)";
  sql(ins, 1, 1, "bin:127.0.0.1:45551", 1, "seed", "one");
  sql(ins, 1, 2, "bin:127.0.0.1:45552", 1, null, "two");
  sql(ins, 2, 3, "bin:127.0.0.1:45553", 1, null, "other cluster");
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop().catch(() => undefined);
  db.remove();
});

async function start(params: Record<string, string | number> = {}) {
  const host = await createTestHost({
    modules: [{ def: dbSqlite }, { def: clusterer, params: { db_mode: 1, db_url: url, my_node_id: 1, ...params } }],
  });
  hosts.push(host);
  return { host, mi: (c: string, p: Record<string, string | number> = {}) => host.mi.run(c, p) };
}

function state(node: number): unknown[] {
  return db.all("SELECT state FROM clusterer WHERE node_id=? ORDER BY cluster_id", node).map((r) => r.state);
}

describe("clusterer db_mode 1", () => {
  it("loads the local node's clusters from the table; clusterer_list shows db_id and description", async () => {
    const { mi } = await start();
    const list = (await mi("clusterer_list")) as { Clusters: { cluster_id: number; Nodes: Record<string, unknown>[] }[] };
    expect(list.Clusters.map((c) => c.cluster_id)).toEqual([1]);
    expect(list.Clusters[0]!.Nodes).toEqual([expect.objectContaining({ node_id: 2, db_id: 2, url: "bin:127.0.0.1:45552", state: "enabled", description: "two" })]);
  });

  it("clusterer_set_status writes state (another node: its row; the local node: every cluster's row)", async () => {
    const { mi } = await start();
    expect(await mi("clusterer_set_status", { cluster_id: 1, node_id: 2, status: 0 })).toBe("OK");
    expect(state(2)).toEqual([0]);
    const list = (await mi("clusterer_list")) as { Clusters: { Nodes: Record<string, unknown>[] }[] };
    expect(list.Clusters[0]!.Nodes[0]).toMatchObject({ state: "disabled" });
    expect(await mi("clusterer_set_status", { cluster_id: 1, status: 0 })).toBe("OK");
    expect(state(1)).toEqual([0]);
    expect(await mi("clusterer_reload")).toBe("OK");
  });

  it("a disabled row starts disabled; reload answers 500 when the local row is gone", async () => {
    sql("UPDATE clusterer SET state=0 WHERE node_id=2");
    const { mi } = await start();
    const list = (await mi("clusterer_list")) as { Clusters: { Nodes: Record<string, unknown>[] }[] };
    expect(list.Clusters[0]!.Nodes[0]).toMatchObject({ node_id: 2, state: "disabled" });
    sql("DELETE FROM clusterer WHERE node_id=1");
    await expect(mi("clusterer_reload")).rejects.toMatchObject({ code: 500, message: "Failed to reload" });
  });

  it("refuses to start without a local row, or with the table at another version", async () => {
    await expect(start({ my_node_id: 9 })).rejects.toThrow(/Current node does not belong to any cluster/);
    sql("UPDATE version SET table_version=3 WHERE table_name='clusterer'");
    await expect(start()).rejects.toThrow(/invalid version 3 for table clusterer found, expected 4/);
  });
});
