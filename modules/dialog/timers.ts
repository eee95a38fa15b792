/**
 * Dialog lifetimes (dlg_timer.c): a per-second timer wheel and the 1 s tick that ends the
 * dialogs whose lifetime passed — on the owner — or marks them overdue on a backup, and
 * frees dialogs kept for `delete_delay` after they ended.
 */
import { DLG_STATE_DELETED, type Dialog } from "./store.ts";

/** What the tick asks of the engine. */
export interface LifetimeOwner {
  /** The dialog is still in the table. */
  has(d: Dialog): boolean;
  /** Frees an ended dialog whose `delete_delay` elapsed. */
  free(d: Dialog): void;
  /** This node runs the dialog's timers (it owns the dialog's sharing tag, or there is none). */
  mine(d: Dialog): boolean;
  /** Ends a dialog by its lifetime (`dlg_ontimeout`). */
  expire(d: Dialog): void;
  /** Remembers a dialog whose lifetime passed while this node is backup for it. */
  markOverdue(d: Dialog): void;
}

export class LifetimeTimers {
  readonly wheel: TimerWheel;
  private interval: NodeJS.Timeout | undefined;

  constructor(nowSec: number, private readonly owner: LifetimeOwner) {
    this.wheel = new TimerWheel(nowSec);
  }

  /** Runs every lifetime due at `nowSec`; returns how many came due. */
  run(nowSec: number): number {
    const due = this.wheel.due(nowSec);
    for (const d of due) {
      if (!this.owner.has(d)) continue;
      if (d.state === DLG_STATE_DELETED) {
        this.owner.free(d); // delete_delay elapsed
        continue;
      }
      if (this.owner.mine(d)) this.owner.expire(d);
      else this.owner.markOverdue(d);
    }
    return due.length;
  }

  /** Puts the dialog on the wheel at `expiresAt`, or takes it off when that is 0. */
  arm(d: Dialog): void {
    if (d.expiresAt > 0) this.wheel.add(d, d.expiresAt);
    else this.wheel.remove(d);
  }

  /** Starts the 1 s tick (`tick` is the engine's `runTimers`). */
  start(tick: () => void): void {
    if (this.interval) return;
    this.interval = setInterval(tick, 1000);
    this.interval.unref();
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
  }
}

/** A per-second timer wheel: items keyed by the UNIX second they fire at. */
export class TimerWheel {
  private readonly slots = new Map<number, Set<Dialog>>();
  /** Last second processed. */
  private last: number;

  constructor(nowSec: number) {
    this.last = nowSec - 1;
  }

  get size(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.size;
    return n;
  }

  add(d: Dialog, sec: number): void {
    if (d.timerSlot >= 0) this.remove(d);
    // A time already processed fires on the next run.
    const slot = sec <= this.last ? this.last + 1 : sec;
    let s = this.slots.get(slot);
    if (!s) this.slots.set(slot, s = new Set());
    s.add(d);
    d.timerSlot = slot;
  }

  remove(d: Dialog): void {
    if (d.timerSlot < 0) return;
    const s = this.slots.get(d.timerSlot);
    if (s) {
      s.delete(d);
      if (s.size === 0) this.slots.delete(d.timerSlot);
    }
    d.timerSlot = -1;
  }

  /** Removes and returns every item due at or before `nowSec`, in time order. */
  due(nowSec: number): Dialog[] {
    const out: Dialog[] = [];
    if (nowSec <= this.last) return out;
    const span = nowSec - this.last;
    if (span > 4 * 86400 && span > this.slots.size) {
      // A big jump (fake clock, suspended host): walk the occupied slots instead of every second.
      const keys = [...this.slots.keys()].filter((k) => k <= nowSec).sort((a, b) => a - b);
      for (const k of keys) this.take(k, out);
    } else {
      for (let t = this.last + 1; t <= nowSec; t++) this.take(t, out);
    }
    this.last = nowSec;
    return out;
  }

  private take(slot: number, out: Dialog[]): void {
    const s = this.slots.get(slot);
    if (!s) return;
    this.slots.delete(slot);
    for (const d of s) {
      d.timerSlot = -1;
      out.push(d);
    }
  }
}
