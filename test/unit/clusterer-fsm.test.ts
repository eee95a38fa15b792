/** The link state machine (clusterer.md §7.3/§7.4) with a fake clock, and next-hop routing (§8.2). */
import { describe, expect, it } from "vitest";
import { onPong, pingFailedLate, tickLink, type FsmTimers } from "../../modules/clusterer/link-fsm.ts";
import { parseNodeUrl } from "../../modules/clusterer/node-info.ts";
import { ClusterRec, LS, NodeRec, acceptUpdate, freshPair } from "../../modules/clusterer/state.ts";
import { nextHop, nextHopRouted, updateReachability } from "../../modules/clusterer/topology.ts";

const T: FsmTimers = { pingInterval: 4000, pingTimeout: 1000, nodeTimeout: 60000 };
const mk = (id = 2, retries = 3, priority = 3) => new NodeRec({ nodeId: id, url: parseNodeUrl(`bin:127.0.0.1:${5600 + id}`), priority, noPingRetries: retries });

/** A ping function recording requests; `ok` decides the send outcome. */
function pinger(ok = true) {
  const calls: (0 | 1)[] = [];
  return { calls, fn: (_n: NodeRec, req: 0 | 1) => (calls.push(req), ok) };
}

describe("tick rules", () => {
  it("row 0: RESTART_PINGING pings with the list request, then waits in RESTARTED", () => {
    const n = mk();
    const p = pinger();
    expect(tickLink(n, 10_000, T, p.fn)).toEqual({ row: 0, from: LS.RESTART_PINGING, to: LS.RESTARTED });
    expect(p.calls).toEqual([1]);
    expect(n.lastPing).toBe(10_000);
  });

  it("row 0 failed: RETRY_SEND_FAIL with counter = retries, or DOWN when retries = 0", () => {
    const n = mk();
    tickLink(n, 10_000, T, pinger(false).fn);
    expect([n.linkState, n.retryCounter]).toEqual([LS.RETRY_SEND_FAIL, 3]);
    const z = mk(2, 0);
    tickLink(z, 10_000, T, pinger(false).fn);
    expect(z.linkState).toBe(LS.DOWN);
  });

  it("row 1: failed sends count the retries down to DOWN, one per ping_timeout", () => {
    const n = mk();
    const p = pinger(false);
    tickLink(n, 10_000, T, p.fn);
    expect(tickLink(n, 10_500, T, p.fn)).toBeUndefined(); // too early
    tickLink(n, 11_000, T, p.fn);
    expect([n.linkState, n.retryCounter]).toEqual([LS.RETRY_SEND_FAIL, 2]);
    tickLink(n, 12_000, T, p.fn);
    tickLink(n, 13_000, T, p.fn);
    expect(n.linkState).toBe(LS.DOWN);
    expect(p.calls).toEqual([1, 1, 1, 1]);
  });

  it("a pong within ping_timeout brings the link Up (and not one that is too late)", () => {
    const n = mk();
    tickLink(n, 10_000, T, pinger().fn);
    expect(onPong(n, 10_004, T.pingTimeout)).toBe(true);
    expect(n.linkState).toBe(LS.UP);
    const late = mk();
    tickLink(late, 10_000, T, pinger().fn);
    expect(onPong(late, 11_200, T.pingTimeout)).toBe(false);
    expect(late.linkState).toBe(LS.RESTARTED);
  });

  it("row 5: periodic ping(0) on an Up link after ping_interval, postponed by sent traffic", () => {
    const n = mk();
    tickLink(n, 10_000, T, pinger().fn);
    onPong(n, 10_001, T.pingTimeout);
    const p = pinger();
    expect(tickLink(n, 13_000, T, p.fn)).toBeUndefined();
    n.lastSent = 13_500; // module traffic to that node
    expect(tickLink(n, 14_000, T, p.fn)).toBeUndefined();
    expect(tickLink(n, 17_500, T, p.fn)).toEqual({ row: 5, from: LS.UP, to: LS.UP });
    expect(p.calls).toEqual([0]);
  });

  it("rows 2 and 3: a missing pong leaves UP, retries ping(1) and ends DOWN after the retries", () => {
    const n = mk();
    tickLink(n, 10_000, T, pinger().fn);
    onPong(n, 10_001, T.pingTimeout);
    const p = pinger();
    tickLink(n, 14_000, T, p.fn); // periodic ping, never answered
    expect(tickLink(n, 15_000, T, p.fn)).toEqual({ row: 2, from: LS.UP, to: LS.RETRYING });
    expect(n.retryCounter).toBe(2);
    tickLink(n, 16_000, T, p.fn);
    tickLink(n, 17_000, T, p.fn);
    expect(n.retryCounter).toBe(0);
    expect(tickLink(n, 18_000, T, p.fn)).toEqual({ row: 3, from: LS.RETRYING, to: LS.DOWN });
    expect(p.calls).toEqual([0, 1, 1, 1]);
  });

  it("row 2 with no_ping_retries = 0 goes DOWN without pinging", () => {
    const n = mk(2, 0);
    tickLink(n, 10_000, T, pinger().fn);
    const p = pinger();
    expect(tickLink(n, 11_000, T, p.fn)).toEqual({ row: 2, from: LS.RESTARTED, to: LS.DOWN });
    expect(p.calls).toEqual([]);
  });

  it("row 4: a DOWN node is pinged again only after node_timeout", () => {
    const n = mk();
    n.linkState = LS.DOWN;
    n.lastPing = 10_000;
    expect(tickLink(n, 69_000, T, pinger().fn)).toBeUndefined();
    expect(tickLink(n, 70_000, T, pinger().fn)).toEqual({ row: 4, from: LS.DOWN, to: LS.RESTARTED });
  });

  it("a pong racing a DOWN/RESTART state goes through TEMP to UP when the ping was recent", () => {
    const n = mk();
    tickLink(n, 10_000, T, pinger().fn);
    n.linkState = LS.RESTART_PINGING;
    expect(onPong(n, 10_010, T.pingTimeout)).toBe(true);
    expect(n.linkState).toBe(LS.UP);
  });

  it("a queued ping that failed later applies its row's failure branch (fast detection)", () => {
    const n = mk();
    tickLink(n, 10_000, T, pinger().fn); // queued: RESTARTED
    expect(pingFailedLate(n)).toBe(LS.RESTARTED);
    expect([n.linkState, n.retryCounter]).toEqual([LS.RETRY_SEND_FAIL, 3]);
    expect(pingFailedLate(n), "only once").toBeUndefined();
  });
});

describe("freshness (§4)", () => {
  it("accepts a restart (seq 0) unless the stored seq is 0 with a newer timestamp", () => {
    const p = freshPair();
    expect(acceptUpdate(p, 0, 100)).toBe(true);
    expect(acceptUpdate(p, 0, 100)).toBe(false);
    expect(acceptUpdate(p, 0, 101)).toBe(true);
    expect(acceptUpdate(p, 1, 50)).toBe(true);
    expect(acceptUpdate(p, 1, 200)).toBe(false);
    expect(acceptUpdate(p, 0, 1)).toBe(true);
  });
});

describe("next hop (§8.2)", () => {
  function cluster(edges: Record<number, number[]>, selfNeigh: number[], prio: Record<number, number> = {}): ClusterRec {
    const c = new ClusterRec(1, { nodeId: 1, url: parseNodeUrl("bin:127.0.0.1:5601"), sipAddr: "", priority: 3, noPingRetries: 3, seed: false, enabled: true, description: "", neighbours: selfNeigh });
    for (const id of Object.keys(edges).map(Number).reverse()) {
      const n = mk(id, 3, prio[id] ?? 3);
      n.adjacency = edges[id]!;
      if (selfNeigh.includes(id)) n.linkState = LS.UP;
      c.addNode(n);
    }
    return c;
  }

  it("uses the direct link when Up, else the neighbour on the path", () => {
    // 1 - 2 - 3 - 4
    const c = cluster({ 2: [3], 3: [2, 4], 4: [3] }, [2]);
    expect(nextHop(c, c.node(2)!, true)).toBe(2);
    expect(nextHop(c, c.node(3)!, true)).toBe(2);
    expect(nextHop(c, c.node(4)!, true)).toBe(2);
    expect(nextHop(c, c.node(4)!, false), "rerouting off: direct links only").toBe(0);
  });

  it("orders the search by priority then id", () => {
    // 1 has neighbours 2 and 3, both reach 4
    const c = cluster({ 2: [4], 3: [4], 4: [2, 3] }, [2, 3], { 2: 10, 3: 5 });
    expect(nextHopRouted(c, 4)).toBe(3);
    const d = cluster({ 2: [4], 3: [4], 4: [2, 3] }, [2, 3]);
    expect(nextHopRouted(d, 4)).toBe(2);
  });

  it("no path → 0; reachability follows the topology", () => {
    const c = cluster({ 2: [], 3: [] }, [2]);
    expect(nextHopRouted(c, 3)).toBe(0);
    expect(updateReachability(c, true)).toEqual({ up: [c.node(2)], down: [] });
    c.node(2)!.adjacency = [3];
    c.topVersion++;
    expect(updateReachability(c, true).up.map((n) => n.nodeId)).toEqual([3]);
  });
});
