/**
 * clusterer `db_mode=1` (spec/db.md §5): the node list comes from OpenSIPS's `clusterer`
 * table. The rows of the clusters this node (`my_node_id`) is in become the same node-info
 * the script form gives (my_node_info / neighbor_node_info), so the engine runs unchanged;
 * `clusterer_set_status` writes `state` back, as OpenSIPS does.
 */
import { checkTableVersion, MiError, TABLE_VERSIONS, TsipsError, type DbValue, type DbWriter, type MiCommandDecl } from "tsips";
import type { ClustererApi } from "./api.ts";
import type { Engine } from "./engine.ts";

export interface ClustererTable {
  myNodeInfo: string[];
  neighborNodeInfo: string[];
  /** (cluster, node) → the row's `id` (MI db_id) and whether `state` is 0. */
  rows: { clusterId: number; nodeId: number; id: number; enabled: boolean }[];
}

const text = (v: DbValue | undefined): string => (v === null || v === undefined ? "" : typeof v === "string" ? v : String(v));

/** node_info.c `load_db_info`: version 4, the local clusters, then their rows (at most 128). */
export async function loadClustererTable(writer: DbWriter, table: string, myNodeId: number): Promise<ClustererTable> {
  return writer.read(async (conn) => {
    await checkTableVersion(conn, "clusterer", table, TABLE_VERSIONS.clusterer);
    const mine = await conn.queryArrays(`SELECT cluster_id FROM ${table} WHERE node_id = ?`, [myNodeId]);
    if (mine.length === 0) {
      throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `Current node does not belong to any cluster (no row with node_id ${myNodeId} in table '${table}')`, { module: "clusterer" });
    }
    const clusters = mine.slice(0, 64).map((r) => Number(r[0]));
    const rows = await conn.queryArrays(
      `SELECT id, cluster_id, node_id, url, state, no_ping_retries, priority, sip_addr, flags, description FROM ${table} WHERE ${clusters.map(() => "cluster_id = ?").join(" OR ")}`,
      clusters);
    if (rows.length > 128) throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `too many rows (${rows.length} > 128) in table '${table}'`, { module: "clusterer" });
    const out: ClustererTable = { myNodeInfo: [], neighborNodeInfo: [], rows: [] };
    const seen = new Set<string>();
    for (const [id, cid, nid, url, state, retries, prio, sip, flags, desc] of rows) {
      if ([id, cid, nid, state, retries, prio].some((v) => typeof v !== "number") || typeof url !== "string") {
        throw new TsipsError("TSIPS_ERR_CLUSTER_CONFIG", `bad row in table '${table}' (id ${text(id)}): NULL or non-integer column`, { module: "clusterer" });
      }
      const key = `${cid}/${nid}`;
      if (seen.has(key)) continue; // a duplicate (cluster_id, node_id) is ignored
      seen.add(key);
      const parts = [`cluster_id=${cid}`, `node_id=${nid}`, `url=${url}`, `no_ping_retries=${retries}`, `priority=${prio}`];
      if (text(sip)) parts.push(`sip_addr=${text(sip)}`);
      if (text(flags)) parts.push(`flags=${text(flags)}`);
      if (text(desc)) parts.push(`description=${text(desc).replaceAll(",", " ")}`);
      (nid === myNodeId ? out.myNodeInfo : out.neighborNodeInfo).push(parts.join(","));
      out.rows.push({ clusterId: cid as number, nodeId: nid as number, id: id as number, enabled: state !== 0 });
    }
    return out;
  });
}

/** Puts the table's `id` and `state` on the engine's nodes (after the engine was built from the node-info). */
export function applyRows(engine: Engine, t: ClustererTable): void {
  for (const r of t.rows) {
    const c = engine.cluster(r.clusterId);
    if (!c) continue;
    if (r.nodeId === engine.myNodeId) {
      if (!r.enabled) engine.setNodeStatus(c, undefined, false);
      continue;
    }
    const n = c.node(r.nodeId);
    if (!n) continue;
    n.dbId = r.id;
    if (!r.enabled) engine.setNodeStatus(c, r.nodeId, false);
  }
}

export interface ClustererDb {
  writer: DbWriter;
  table: string;
  myNodeId: number;
  /** The node set loaded at start ("cluster/node@url" sorted), to tell whether a reload changes it. */
  signature: string;
}

export function tableSignature(t: ClustererTable): string {
  return [...t.myNodeInfo, ...t.neighborNodeInfo].sort().join("\n");
}

/** DB mode of each running clusterer (set by init with db_mode 1). */
export const clustererDbs = new WeakMap<object, ClustererDb>();

/**
 * clusterer_set_status writes `state` (`UPDATE ... WHERE node_id AND cluster_id`, or for the
 * local node in every cluster, as OpenSIPS does); clusterer_reload re-reads the table.
 */
export function clustererDbMi(base: Record<string, MiCommandDecl<ClustererApi>>): Record<string, MiCommandDecl<ClustererApi>> {
  const setStatus = base["clusterer_set_status"]!;
  return {
    clusterer_set_status: {
      ...setStatus,
      async run(p, api) {
        const out = await setStatus.run(p, api);
        const db = clustererDbs.get(api);
        if (db) {
          const status = p.int("status");
          const nodeId = p.optInt("node_id");
          if (nodeId === undefined || nodeId === db.myNodeId) {
            db.writer.submit({ sql: `UPDATE ${db.table} SET state=? WHERE node_id=?`, params: [status, db.myNodeId] });
          } else {
            db.writer.submit({ sql: `UPDATE ${db.table} SET state=? WHERE node_id=? AND cluster_id=?`, params: [status, nodeId, p.int("cluster_id")] });
          }
          await db.writer.idle(2000);
        }
        return out;
      },
    },
    clusterer_reload: {
      help: "reloads the node table (DB mode); tsips applies it only when the node set is unchanged",
      params: [[]],
      async run(_p, api) {
        const db = clustererDbs.get(api);
        if (!db) throw new MiError(400, "Non-DB mode");
        let t: ClustererTable;
        try {
          t = await loadClustererTable(db.writer, db.table, db.myNodeId);
        } catch {
          throw new MiError(500, "Failed to reload");
        }
        if (tableSignature(t) !== db.signature) {
          throw new MiError(500, "Failed to reload (tsips: the node set changed; restart the node to apply it)");
        }
        return "OK";
      },
    },
  };
}
