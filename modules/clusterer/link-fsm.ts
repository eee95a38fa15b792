/**
 * The link state machine (clusterer.md §7): the heartbeat tick rules (§7.3) and the pong
 * handling (§7.4, `handle_pong`). Pure: the caller passes the clock value and a `ping`
 * function; nothing here touches sockets, so the rules are unit-tested with a fake clock.
 */
import { LS, type LinkState, type NodeRec } from "./state.ts";

export interface FsmTimers {
  /** ms */
  pingInterval: number;
  /** ms */
  pingTimeout: number;
  /** ms */
  nodeTimeout: number;
  /**
   * tsips (`ping_on_silence`): liveness from what is received. Rows 2 and 5 test how long
   * nothing has arrived from the node (`last_recv`, pongs included) where OpenSIPS tests how
   * long nothing was sent to it (`last_sent`), so a peer we keep writing to is still pinged
   * and timed out. false = OpenSIPS.
   */
  recvLiveness?: boolean;
  /**
   * tsips (`reprobe_down`): row 4 re-probes a Down node every ping_interval, backing off
   * (doubling, up to node_timeout) once it has been Down for node_timeout. false = OpenSIPS
   * (every node_timeout).
   */
  reprobeDown?: boolean;
}

/**
 * Row 4's wait for a Down node: ping_interval for the first node_timeout's worth of
 * re-probes, then doubling up to node_timeout; just node_timeout without `reprobeDown`.
 */
export function downReprobeDelay(n: NodeRec, t: FsmTimers): number {
  if (!t.reprobeDown || t.pingInterval >= t.nodeTimeout) return t.nodeTimeout;
  const flat = Math.floor(t.nodeTimeout / t.pingInterval);
  if (n.downProbes < flat) return t.pingInterval;
  return Math.min(t.pingInterval * 2 ** Math.min(n.downProbes - flat + 1, 20), t.nodeTimeout);
}

/**
 * Sends a PING with `req_node_list` = `req` to the node. True when the transport took it
 * (written or queued), false when the send failed at once.
 */
export type PingFn = (n: NodeRec, req: 0 | 1) => boolean;

/** Which §7.3 row fired (for logs and tests). */
export type TickRow = 0 | 1 | 2 | 3 | 4 | 5;

export interface TickOutcome {
  row: TickRow;
  from: LinkState;
  to: LinkState;
}

/**
 * Sends a ping and applies the success or failure branch. On success the failure branch is
 * remembered (`pendingPing`) so a failure the transport reports later (connect refused)
 * can still apply it (§7.5 plus tsips's fast detection).
 */
function attempt(
  n: NodeRec, now: number, ping: PingFn, req: 0 | 1,
  ok: { state: LinkState; counter: number },
  fail: { state: LinkState; counter: number },
): void {
  const sent = ping(n, req);
  n.lastPing = now;
  n.lastPingOk = sent;
  if (sent) {
    n.linkState = ok.state;
    n.retryCounter = ok.counter;
    n.pendingPing = { expectState: ok.state, failState: fail.state, failCounter: fail.counter };
  } else {
    n.linkState = fail.state;
    n.retryCounter = fail.counter;
    n.pendingPing = undefined;
  }
}

/**
 * One heartbeat tick for one (enabled) node: the first matching row of §7.3 wins.
 * Returns what happened, or undefined when no row applied.
 */
export function tickLink(n: NodeRec, now: number, t: FsmTimers, ping: PingFn): TickOutcome | undefined {
  const from = n.linkState;
  const reply = n.lastPong - n.lastPing;
  const sincePing = now - n.lastPing;
  // liveness from what is received: "idle" means nothing arrived from the node (pongs
  // included) for the interval, not "nothing was sent to it"
  const idle = t.recvLiveness ? now - n.lastRecv : now - n.lastSent;
  const retries = n.noPingRetries;
  const pongMissing = reply <= 0 || reply >= t.pingTimeout;
  let row: TickRow;

  if (from === LS.RESTART_PINGING) {
    row = 0;
    attempt(n, now, ping, 1, { state: LS.RESTARTED, counter: n.retryCounter },
      retries === 0 ? { state: LS.DOWN, counter: n.retryCounter } : { state: LS.RETRY_SEND_FAIL, counter: retries });
  } else if (from === LS.RETRY_SEND_FAIL && sincePing >= t.pingTimeout) {
    row = 1;
    const c = n.retryCounter - 1;
    attempt(n, now, ping, 1, { state: LS.RETRYING, counter: c },
      { state: c <= 0 ? LS.DOWN : LS.RETRY_SEND_FAIL, counter: c });
  } else if ((from === LS.UP || from === LS.RESTARTED) && pongMissing &&
    (from === LS.RESTARTED || idle >= t.pingTimeout) && sincePing >= t.pingTimeout) {
    row = 2;
    if (retries === 0) {
      n.linkState = LS.DOWN;
      n.pendingPing = undefined;
    } else {
      attempt(n, now, ping, 1, { state: LS.RETRYING, counter: retries - 1 }, { state: LS.RETRY_SEND_FAIL, counter: retries });
    }
  } else if (from === LS.RETRYING && pongMissing && sincePing >= t.pingTimeout) {
    row = 3;
    if (n.retryCounter > 0) {
      attempt(n, now, ping, 1, { state: LS.RETRYING, counter: n.retryCounter - 1 }, { state: LS.RETRY_SEND_FAIL, counter: n.retryCounter });
    } else {
      n.linkState = LS.DOWN;
      n.pendingPing = undefined;
    }
  } else if (from === LS.DOWN && sincePing >= downReprobeDelay(n, t)) {
    row = 4;
    n.downProbes++;
    attempt(n, now, ping, 1, { state: LS.RESTARTED, counter: n.retryCounter },
      retries !== 0 ? { state: LS.RETRY_SEND_FAIL, counter: retries } : { state: LS.DOWN, counter: n.retryCounter });
  } else if (from === LS.UP && idle >= t.pingInterval && sincePing >= t.pingInterval) {
    row = 5;
    attempt(n, now, ping, 0, { state: LS.UP, counter: n.retryCounter },
      retries === 0 ? { state: LS.DOWN, counter: n.retryCounter } : { state: LS.RETRY_SEND_FAIL, counter: retries });
  } else {
    return undefined;
  }
  return { row, from, to: n.linkState };
}

/**
 * A ping we had reported as sent failed after all (the transport's connect was refused):
 * apply the failure branch of the row that sent it, if the link is still where that row
 * left it. Returns the previous state when the state changed.
 */
export function pingFailedLate(n: NodeRec): LinkState | undefined {
  const p = n.pendingPing;
  n.pendingPing = undefined;
  n.lastPingOk = false;
  if (!p || n.linkState !== p.expectState) return undefined;
  const from = n.linkState;
  n.linkState = p.failState;
  n.retryCounter = p.failCounter;
  return from !== n.linkState ? from : undefined;
}

/**
 * `handle_pong` (§7.4): sets last_pong = last_recv = now and decides whether the link goes
 * Up. Returns true when the link just went Up.
 */
export function onPong(n: NodeRec, now: number, pingTimeout: number): boolean {
  const prevRecv = n.lastRecv;
  n.lastPong = now;
  n.lastRecv = now;
  n.pendingPing = undefined;
  const sincePing = now - n.lastPing;
  if ((n.linkState === LS.RESTART_PINGING || n.linkState === LS.RETRY_SEND_FAIL || n.linkState === LS.DOWN) &&
    n.lastPingOk && sincePing < pingTimeout) {
    n.linkState = LS.TEMP;
  }
  if ((n.linkState === LS.RESTARTED || n.linkState === LS.RETRYING || n.linkState === LS.TEMP) &&
    ((sincePing > 0 && sincePing < pingTimeout) || (prevRecv > 0 && now - prevRecv < pingTimeout))) {
    n.linkState = LS.UP;
    n.downProbes = 0;
    return true;
  }
  return false;
}
