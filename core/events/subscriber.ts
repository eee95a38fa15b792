/**
 * One subscription: a sink plus a bounded FIFO. Raising never waits on a subscriber: a
 * payload is queued and the queue drains one send at a time; when the queue is full the
 * newest payload is dropped and counted, so a slow or dead subscriber costs the node at
 * most `maxQueue` payloads of memory and never delays replication.
 */
import type { EventPayload, EventSink } from "./types.ts";

export class Subscriber {
  private queue: (EventPayload | undefined)[] = [];
  private head = 0;
  private inFlight = false;
  /** Seconds; undefined = never expires. */
  expire: number | undefined;
  /** ms since the epoch of the last (re)subscription. */
  subscribedAt: number;
  sent = 0;
  dropped = 0;
  errors = 0;
  closed = false;

  constructor(
    readonly proto: string,
    readonly sink: EventSink,
    expire: number | undefined,
    now: number,
    private readonly maxQueue: number,
    private readonly onDrop: () => void,
  ) {
    this.expire = expire;
    this.subscribedAt = now;
  }

  /** `proto:address`, as `subscribers_list` prints it. */
  get socket(): string {
    return `${this.proto}:${this.sink.address}`;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** True once `subscribedAt + expire` is in the past (OpenSIPS compares in whole seconds). */
  expired(now: number): boolean {
    return this.expire !== undefined && Math.floor(this.subscribedAt / 1000) + this.expire < Math.floor(now / 1000);
  }

  push(p: EventPayload): void {
    if (this.closed) return;
    if (this.queued >= this.maxQueue) {
      this.dropped++;
      this.onDrop();
      return;
    }
    this.queue.push(p);
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.sink.close();
  }

  private pump(): void {
    if (this.inFlight || this.closed || this.queued === 0) return;
    const p = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.inFlight = true;
    let settled = false;
    this.sink.send(p, (err) => {
      if (settled) return;
      settled = true;
      this.inFlight = false;
      if (err) this.errors++;
      else this.sent++;
      // A sink may call back synchronously: continue on the next tick so a long queue cannot grow the stack.
      if (this.queued > 0) setImmediate(() => this.pump());
    });
  }
}
