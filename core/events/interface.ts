/**
 * The event interface (OpenSIPS evi/event_interface.c): published events with ids,
 * subscribers per event, transports per socket protocol. Raising an event builds the
 * JSON-RPC 2.0 notification once and queues it on each live subscriber; nothing here waits
 * on a socket. Subscriptions expire as in OpenSIPS (`subscription time + expire < now`,
 * checked when the event is raised or listed); `expire` 0 removes the subscription.
 */
import { TsipsError } from "../errors.ts";
import type { TsipsLogger } from "../log.ts";
import type { Stat, StatsRegistry } from "../stats.ts";
import { Subscriber } from "./subscriber.ts";
import type { EventParams, EventPayload, EventSink, EventTransport } from "./types.ts";

/** `event_subscribe` without `expire` (evi DEFAULT_EXPIRE). */
export const DEFAULT_EVENT_EXPIRE = 3600;
/** Payloads kept per subscriber before new ones are dropped. */
export const DEFAULT_SUBSCRIBER_QUEUE = 1024;

export interface PublishedEvent {
  readonly id: number;
  readonly name: string;
  /** Module (or "core") that published it. */
  readonly module: string;
  readonly subscribers: Subscriber[];
}

export interface EventInterfaceOptions {
  log: TsipsLogger;
  stats?: StatsRegistry;
  maxQueue?: number;
  now?: () => number;
  /** Runs first on every raise: the core calls the `events` hook taps here (their owner is the core). */
  onRaise?: (name: string, params: EventParams, module: string) => void;
}

export type SubscribeOutcome = { ok: true; subscriber: Subscriber | undefined } | { ok: false; reason: string };

/** The JSON-RPC 2.0 notification OpenSIPS transports send (`evi_build_payload`). */
export function buildPayload(event: string, params: EventParams, method = event, nameParam?: string): string {
  const p = nameParam ? { [nameParam]: event, ...params } : params;
  return JSON.stringify({ jsonrpc: "2.0", method, params: p });
}

export class EventInterface {
  private readonly byName = new Map<string, PublishedEvent>();
  private readonly list: PublishedEvent[] = [];
  private readonly transports = new Map<string, { owner: string; transport: EventTransport }>();
  private readonly log: TsipsLogger;
  private readonly maxQueue: number;
  private readonly now: () => number;
  private readonly raisedStat: Stat | undefined;
  private readonly droppedStat: Stat | undefined;
  private readonly onRaise: EventInterfaceOptions["onRaise"];

  constructor(opts: EventInterfaceOptions) {
    this.log = opts.log;
    this.maxQueue = opts.maxQueue ?? DEFAULT_SUBSCRIBER_QUEUE;
    this.now = opts.now ?? Date.now;
    this.onRaise = opts.onRaise;
    this.raisedStat = opts.stats?.register("evi", "events_raised", { kind: "counter", doc: "events raised that had at least one subscriber" });
    this.droppedStat = opts.stats?.register("evi", "events_dropped", { kind: "counter", doc: "event payloads dropped because a subscriber's queue was full" });
    const subs = opts.stats?.register("evi", "subscribers", { kind: "gauge", doc: "live subscriptions" });
    if (subs) subs.compute = () => this.subscriberCount();
  }

  /** Publishes an event (`evi_publish_event`); publishing a known name returns its id. */
  publish(name: string, module: string): number {
    const known = this.byName.get(name);
    if (known) return known.id;
    const ev: PublishedEvent = { id: this.list.length, name, module, subscribers: [] };
    this.list.push(ev);
    this.byName.set(name, ev);
    return ev.id;
  }

  events(): readonly PublishedEvent[] {
    this.purgeExpired();
    return this.list;
  }

  hasSubscribers(name: string): boolean {
    return (this.byName.get(name)?.subscribers.length ?? 0) > 0;
  }

  event(name: string): PublishedEvent | undefined {
    return this.byName.get(name);
  }

  /** Queues the event on every live subscriber. An unpublished name is published on first raise. */
  raise(name: string, params: EventParams, module: string): void {
    this.onRaise?.(name, params, module);
    const ev = this.byName.get(name) ?? this.list[this.publish(name, module)]!;
    if (ev.subscribers.length === 0) return;
    const now = this.now();
    let payload: EventPayload | undefined;
    for (let i = 0; i < ev.subscribers.length; i++) {
      const s = ev.subscribers[i]!;
      if (s.expired(now)) {
        ev.subscribers.splice(i--, 1);
        s.close();
        this.log.info({ event: name, socket: s.socket }, `subscription of ${s.socket} to ${name} expired`);
        continue;
      }
      payload ??= { event: name, params, json: buildPayload(name, params) };
      s.push(payload);
    }
    if (payload) this.raisedStat?.inc();
  }

  serveTransport(owner: string, transport: EventTransport): void {
    for (const proto of transport.protos) {
      const had = this.transports.get(proto);
      if (had) throw new TsipsError("TSIPS_ERR_MOD_INVALID", `event protocol "${proto}" is already served by module ${had.owner}`, { module: owner });
      this.transports.set(proto, { owner, transport });
    }
  }

  /** A module stopped: its protocols go away, with every subscription that used them. */
  removeTransports(owner: string): void {
    const gone = new Set<string>();
    for (const [proto, t] of this.transports) if (t.owner === owner) {
      this.transports.delete(proto);
      gone.add(proto);
    }
    if (gone.size === 0) return;
    for (const ev of this.list) {
      for (let i = 0; i < ev.subscribers.length; i++) {
        const s = ev.subscribers[i]!;
        if (gone.has(s.proto)) {
          ev.subscribers.splice(i--, 1);
          s.close();
        }
      }
    }
  }

  /**
   * `event_subscribe event socket [expire]`: adds a subscriber, or refreshes the one with the
   * same socket (new subscription time and expire). `expire` 0 removes it.
   */
  subscribe(event: string, socket: string, expire: number): SubscribeOutcome {
    const ev = this.byName.get(event);
    if (!ev) return { ok: false, reason: `invalid event name <${event}>` };
    const found = this.openSink(socket);
    if ("reason" in found) return { ok: false, reason: found.reason };
    const { proto, sink } = found;
    const same = ev.subscribers.findIndex((s) => s.proto === proto && s.sink.address === sink.address);
    if (same >= 0) {
      sink.close();
      const s = ev.subscribers[same]!;
      if (expire === 0) {
        ev.subscribers.splice(same, 1);
        s.close();
        return { ok: true, subscriber: undefined };
      }
      s.subscribedAt = this.now();
      s.expire = expire;
      return { ok: true, subscriber: s };
    }
    if (expire === 0) {
      sink.close();
      return { ok: true, subscriber: undefined };
    }
    const s = new Subscriber(proto, sink, expire, this.now(), this.maxQueue, () => this.droppedStat?.inc());
    // OpenSIPS puts a new subscriber at the head of the list.
    ev.subscribers.unshift(s);
    this.log.info({ event, socket: s.socket, expire }, `${s.socket} subscribed to ${event} for ${expire} s`);
    return { ok: true, subscriber: s };
  }

  /** The subscriber of `event` whose socket matches, if any (`subscribers_list event socket`). */
  findSubscriber(ev: PublishedEvent, socket: string): Subscriber | undefined {
    const found = this.openSink(socket);
    if ("reason" in found) return undefined;
    found.sink.close();
    return ev.subscribers.find((s) => s.proto === found.proto && s.sink.address === found.sink.address);
  }

  /** Closes every subscription (node stopping). */
  closeAll(): void {
    for (const ev of this.list) {
      for (const s of ev.subscribers) s.close();
      ev.subscribers.length = 0;
    }
  }

  private openSink(socket: string): { proto: string; sink: EventSink } | { reason: string } {
    const colon = socket.indexOf(":");
    const proto = colon > 0 ? socket.slice(0, colon) : "";
    const t = this.transports.get(proto);
    if (!t) return { reason: `couldn't find a protocol to support ${socket}` };
    const r = t.transport.open(proto, socket.slice(colon + 1));
    if ("error" in r) return { reason: r.error };
    return { proto, sink: r };
  }

  private purgeExpired(): void {
    const now = this.now();
    for (const ev of this.list) {
      for (let i = 0; i < ev.subscribers.length; i++) {
        const s = ev.subscribers[i]!;
        if (s.expired(now)) {
          ev.subscribers.splice(i--, 1);
          s.close();
        }
      }
    }
  }

  private subscriberCount(): number {
    let n = 0;
    for (const ev of this.list) n += ev.subscribers.length;
    return n;
  }
}
