/**
 * `npm run mi -- watch EVENT... [--listen=HOST:PORT] [--expire=SECONDS] [--count=N]`:
 * subscribes a UDP socket of this process to the events (MI `event_subscribe` with
 * `udp:HOST:PORT`, served by the node's event_datagram module), prints each event as it
 * arrives, renews the subscriptions before they expire and removes them (expire 0) on
 * Ctrl-C — the way operators tail OpenSIPS events.
 *
 *   2026-12-05T02:31:07.412Z E_CLUSTERER_NODE_STATE_CHANGED {"cluster_id":1,"node_id":2,"new_state":0}
 *
 * With --json each line is the JSON-RPC notification exactly as received.
 */
import { createSocket } from "node:dgram";
import type { Invocation, Io } from "./mi-client.ts";

export interface WatchOptions {
  events: string[];
  host: string;
  port: number;
  expire: number;
  /** Stop after this many events (0 = until interrupted). */
  count: number;
}

export function parseWatchArgs(args: readonly string[]): WatchOptions {
  const o: WatchOptions = { events: [], host: "127.0.0.1", port: 0, expire: 120, count: 0 };
  for (const a of args) {
    const m = /^--(listen|expire|count)=(.*)$/.exec(a);
    if (!m) {
      if (a.startsWith("--")) throw new Error(`unknown watch option ${a}`);
      o.events.push(a);
    } else if (m[1] === "listen") {
      const i = m[2]!.lastIndexOf(":");
      if (i <= 0 || !/^\d{1,5}$/.test(m[2]!.slice(i + 1))) throw new Error(`--listen needs HOST:PORT, got ${m[2]}`);
      o.host = m[2]!.slice(0, i);
      o.port = Number(m[2]!.slice(i + 1));
    } else {
      const n = Number(m[2]);
      if (!Number.isInteger(n) || n < (m[1] === "expire" ? 1 : 0)) throw new Error(`--${m[1]} needs a whole number, got ${m[2]}`);
      if (m[1] === "expire") o.expire = n;
      else o.count = n;
    }
  }
  if (o.events.length === 0) throw new Error("watch needs at least one event name (see: npm run mi -- events_list)");
  return o;
}

type Call = (method: string, params: unknown[]) => Promise<{ ok: true } | { ok: false; message: string }>;

/** Runs the watch until interrupted (or `count` events); returns the exit status. */
export async function watchEvents(inv: Invocation, args: readonly string[], io: Io, call: Call, stop?: AbortSignal): Promise<number> {
  let o: WatchOptions;
  try {
    o = parseWatchArgs(args);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 2;
  }
  const sock = createSocket(o.host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(o.port, o.host, () => resolve());
  });
  const { port } = sock.address();
  const target = `udp:${o.host.includes(":") ? `[${o.host}]` : o.host}:${port}`;
  const subscribe = async (expire: number): Promise<string | undefined> => {
    for (const ev of o.events) {
      const r = await call("event_subscribe", [ev, target, String(expire)]);
      if (!r.ok) return `event_subscribe ${ev} ${target}: ${r.message}`;
    }
    return undefined;
  };
  const failed = await subscribe(o.expire);
  if (failed) {
    sock.close();
    io.err(`${failed}\n`);
    return 1;
  }
  io.err(`watching ${o.events.join(", ")} on ${target} (${inv.url}); Ctrl-C to stop\n`);
  let seen = 0;
  return await new Promise<number>((resolve) => {
    const renew = setInterval(() => void subscribe(o.expire).then((e) => e && io.err(`renewal failed: ${e}\n`)), Math.max(1, o.expire / 2) * 1000);
    const finish = (code: number): void => {
      clearInterval(renew);
      process.off("SIGINT", onSigint);
      void subscribe(0).finally(() => {
        sock.close();
        resolve(code);
      });
    };
    const onSigint = (): void => finish(0);
    process.once("SIGINT", onSigint);
    stop?.addEventListener("abort", () => finish(0), { once: true });
    sock.on("message", (buf) => {
      const text = buf.toString("utf8");
      if (inv.json) io.out(`${text}\n`);
      else {
        try {
          const n = JSON.parse(text) as { method?: string; params?: unknown };
          io.out(`${new Date().toISOString()} ${n.method ?? "?"} ${JSON.stringify(n.params ?? {})}\n`);
        } catch {
          io.out(`${new Date().toISOString()} (not JSON) ${text}\n`);
        }
      }
      if (o.count > 0 && ++seen >= o.count) finish(0);
    });
  });
}
