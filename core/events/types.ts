/**
 * The event interface's contracts (OpenSIPS evi/evi_transport.h): a transport module serves
 * one or more socket protocols (`udp:`, `unix:`, `tcp:`) and opens a sink per subscriber.
 */

/** An event parameter value as OpenSIPS carries it: an int or a string. */
export type EventParams = Readonly<Record<string, string | number>>;

/** Where one subscriber's payloads go (`evi_reply_sock`). */
export interface EventSink {
  /** The address without the protocol, as `subscribers_list` prints it after `proto:`. */
  readonly address: string;
  /**
   * Sends one payload. Calls `done` once it was handed to the OS (or failed). The core never
   * has more than one send in flight per subscriber, so a sink that never calls `done`
   * (a peer that stopped reading) only fills that subscriber's bounded queue.
   */
  send(payload: EventPayload, done: (err?: Error) => void): void;
  /** Releases sockets (subscription expired, unsubscribed, transport stopped). */
  close(): void;
}

/** One raised event, ready for a transport. */
export interface EventPayload {
  event: string;
  params: EventParams;
  /** The JSON-RPC 2.0 notification text (`{"jsonrpc":"2.0","method":<event>,"params":{…}}`). */
  json: string;
}

/** A transport module's offer (`evi_export_t`): protocols and how to open a subscriber's sink. */
export interface EventTransport {
  /** Socket protocols served, as written before the first `:` (e.g. `udp`, `unix`). */
  readonly protos: readonly string[];
  /**
   * Parses the address after `proto:` and opens a sink. Returns `{ error }` for an address
   * it cannot use (`event_subscribe` then answers 400 Bad parameter value).
   */
  open(proto: string, address: string): EventSink | { error: string };
}

/** The events API a module gets as `ctx.events`. */
export interface ModuleEvents {
  /** Raises an event: core hook taps run, then every live subscriber gets it queued. */
  raise(name: string, params: EventParams): void;
  /** True when raising `name` would reach someone (a hook tap or a subscriber): `evi_probe_event`. Hot paths check it first. */
  wanted(name: string): boolean;
  /** Serves socket protocols to subscribers (event_datagram, event_stream). Removed when the module stops. */
  serveTransport(transport: EventTransport): void;
}
