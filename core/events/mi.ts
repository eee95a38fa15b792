/**
 * The event interface's MI commands (module `core`, OpenSIPS evi/event_interface.c):
 * `event_subscribe`, `events_list`, `subscribers_list` and `raise_event`, with OpenSIPS's
 * parameter names, replies and errors.
 */
import type { MiRegistry } from "../mi/registry.ts";
import { MiError, type JsonValue, type MiCommandDecl } from "../mi/types.ts";
import { DEFAULT_EVENT_EXPIRE, type EventInterface, type PublishedEvent } from "./interface.ts";
import type { Subscriber } from "./subscriber.ts";

function printSubscriber(s: Subscriber): Record<string, JsonValue> {
  return { socket: s.socket, expire: s.expire === undefined ? "never" : s.expire };
}

function printEvent(ev: PublishedEvent, one?: Subscriber): Record<string, JsonValue> {
  return one
    ? { name: ev.name, id: ev.id, Subscriber: printSubscriber(one) }
    : { name: ev.name, id: ev.id, Subscribers: ev.subscribers.map(printSubscriber) };
}

/** `raise_event` params: an array of strings, or a JSON object text (`mi_raise_event_json_params`). */
function raiseParams(raw: JsonValue | undefined): Record<string, string | number> {
  if (raw === undefined) return {};
  if (Array.isArray(raw)) {
    // Unnamed params: OpenSIPS sends them as a JSON array; keep their order under numeric names.
    return Object.fromEntries(raw.map((v, i) => [String(i), typeof v === "number" ? v : String(v)]));
  }
  if (typeof raw === "string") {
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      throw new MiError(400, "Bad Params");
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new MiError(400, "Bad Params");
    return Object.fromEntries(Object.entries(obj).map(([k, v]) =>
      [k, typeof v === "number" ? Math.trunc(v) : typeof v === "string" ? v : JSON.stringify(v)]));
  }
  throw new MiError(400, "No Params");
}

export function eventCommands(evi: EventInterface): Record<string, MiCommandDecl<undefined>> {
  return {
    event_subscribe: {
      help: "subscribes a socket (udp:host:port, unix:/path, tcp:host:port) to an event for expire seconds (default 3600; 0 unsubscribes)",
      params: [["event", "socket"], ["event", "socket", "expire"]],
      run(p) {
        const event = p.str("event");
        const socket = p.str("socket");
        if (!event || !socket) throw new MiError(-32602, "Invalid params");
        const expire = p.optInt("expire") ?? DEFAULT_EVENT_EXPIRE;
        if (expire < 0) throw new MiError(-32602, "Invalid params", "Negative expire value");
        const r = evi.subscribe(event, socket, expire);
        if (!r.ok) throw new MiError(400, "Bad parameter value");
        return "OK";
      },
    },
    events_list: {
      help: "lists every published event with its id",
      run: () => ({ Events: evi.events().map((e) => ({ name: e.name, id: e.id })) }),
    },
    subscribers_list: {
      help: "lists the subscribers of every event, of one event, or one subscriber",
      params: [[], ["event"], ["event", "socket"]],
      run(p): JsonValue {
        if (!p.has("event")) return { Events: evi.events().filter((e) => e.subscribers.length > 0).map((e) => printEvent(e)) };
        evi.events(); // drops expired subscriptions first
        const ev = evi.event(p.str("event"));
        if (!ev) throw new MiError(404, "Event not published");
        if (!p.has("socket")) return ev.subscribers.length ? { Event: printEvent(ev) } : { Event: {} };
        const s = evi.findSubscriber(ev, p.str("socket"));
        if (!s) throw new MiError(404, "Subscriber does not exist");
        return { Event: printEvent(ev, s) };
      },
    },
    raise_event: {
      help: "raises an event with parameters (an array of strings, or a JSON object)",
      params: [["event"], ["event", "params"]],
      run(p) {
        const name = p.str("event");
        const ev = evi.event(name);
        if (!ev) throw new MiError(404, "Event not registered");
        if (ev.subscribers.length === 0) throw new MiError(480, "Temporarily Unavailable");
        evi.raise(name, raiseParams(p.raw("params")), "core");
        return "OK";
      },
    },
  };
}

export function registerEventCommands(registry: MiRegistry, evi: EventInterface): void {
  registry.registerAll("core", eventCommands(evi), undefined);
}
