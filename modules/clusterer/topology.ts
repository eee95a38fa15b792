/**
 * Topology and routing (clusterer.md §8): next hop by a priority-ordered search over the
 * learned adjacency (`get_next_hop`, `get_next_hop_2`), cached per topology version, and
 * reachability ("node is down" = no path at all, §7.4). Pure functions over ClusterRec.
 */
import { LS, type ClusterRec, type NodeRec } from "./state.ts";

/**
 * `get_next_hop_2`: search from the local node along the adjacency lists. The queue is
 * kept sorted by (priority asc, node_id asc); the first time the destination is dequeued,
 * the path is walked back to the local node's direct neighbour on it. 0 = no path.
 */
export function nextHopRouted(c: ClusterRec, dest: number): number {
  const selfId = c.self.nodeId;
  const parent = new Map<number, number>();
  const visited = new Set<number>([selfId]);
  const queue: NodeRec[] = [];
  const insert = (n: NodeRec): void => {
    let i = 0;
    while (i < queue.length) {
      const q = queue[i]!;
      if (q.priority > n.priority || (q.priority === n.priority && q.nodeId > n.nodeId)) break;
      i++;
    }
    queue.splice(i, 0, n);
  };
  for (const id of c.self.neighbours) {
    const n = c.node(id);
    if (!n || visited.has(id)) continue;
    visited.add(id);
    parent.set(id, selfId);
    insert(n);
  }
  while (queue.length > 0) {
    const x = queue.shift()!;
    if (x.nodeId === dest) {
      let hop = dest;
      let p = parent.get(hop)!;
      while (p !== selfId) {
        hop = p;
        p = parent.get(hop)!;
      }
      // a path of at least two links
      return hop === dest ? 0 : hop;
    }
    for (const y of x.adjacency) {
      if (visited.has(y)) continue;
      const yn = c.node(y);
      if (!yn) continue;
      visited.add(y);
      parent.set(y, x.nodeId);
      insert(yn);
    }
  }
  return 0;
}

/**
 * `get_next_hop`: the destination itself when its direct link is Up, else a routed next
 * hop (cached until the topology changes). 0 = no path. With rerouting off only direct Up
 * links count (OpenSIPS 3.6.8 returns "no path" for every node then, which also disables
 * donor choice; tsips keeps direct links working — see README).
 */
export function nextHop(c: ClusterRec, dest: NodeRec, rerouting: boolean): number {
  if (dest.linkState === LS.UP) return dest.nodeId;
  if (!rerouting) return 0;
  if (c.nextHopCacheVersion !== c.topVersion) {
    c.nextHopCache.clear();
    c.nextHopCacheVersion = c.topVersion;
  }
  const hit = c.nextHopCache.get(dest.nodeId);
  if (hit !== undefined) return hit;
  const hop = nextHopRouted(c, dest.nodeId);
  c.nextHopCache.set(dest.nodeId, hop);
  return hop;
}

/**
 * Recomputes every node's `reachable` flag; returns the nodes that became reachable and
 * those that stopped being reachable, in node-list order.
 */
export function updateReachability(c: ClusterRec, rerouting: boolean): { up: NodeRec[]; down: NodeRec[] } {
  const up: NodeRec[] = [];
  const down: NodeRec[] = [];
  for (const n of c.nodes) {
    const now = n.enabled && c.self.enabled && nextHop(c, n, rerouting) > 0;
    if (now && !n.reachable) up.push(n);
    else if (!now && n.reachable) down.push(n);
    n.reachable = now;
  }
  return { up, down };
}
