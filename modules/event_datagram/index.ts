/**
 * event_datagram: delivers events to `udp:host:port` subscribers as one datagram each, the
 * JSON-RPC 2.0 notification OpenSIPS's event_datagram sends. Sending never waits: the
 * core queues per subscriber and this module hands each payload to the OS.
 *
 * `unix:/path` (AF_UNIX datagram) cannot be offered: Node.js has no unix datagram sockets.
 * Such a subscription is refused with a logged reason instead of silently losing events.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { defineModule, parseSocketString, type EventSink, type TsipsLogger } from "tsips";

class DatagramSinks {
  private v4: Socket | undefined;
  private v6: Socket | undefined;

  constructor(private readonly log: TsipsLogger) {}

  /** One unconnected socket per address family, shared by every UDP subscriber. */
  private socket(family: 4 | 6): Socket {
    const have = family === 4 ? this.v4 : this.v6;
    if (have) return have;
    const s = createSocket(family === 4 ? "udp4" : "udp6");
    s.on("error", (err) => this.log.warn({ err }, "event_datagram socket error"));
    s.unref();
    if (family === 4) this.v4 = s;
    else this.v6 = s;
    return s;
  }

  open(proto: string, address: string): EventSink | { error: string } {
    if (proto === "unix") {
      const error = `unix:${address}: unix datagram sockets are not available in Node.js; subscribe with udp:host:port`;
      this.log.error(error);
      return { error };
    }
    const hp = parseSocketString(`udp:${address}`);
    if (!hp || hp.port === 0) return { error: `bad udp address "${address}" (expected host:port)` };
    const family = isIP(hp.host) === 6 ? 6 : 4;
    const printed = family === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
    return {
      address: printed,
      send: (payload, done) => this.socket(family).send(payload.json, hp.port, hp.host, (err) => done(err ?? undefined)),
      close: () => {},
    };
  }

  close(): void {
    this.v4?.close();
    this.v6?.close();
    this.v4 = this.v6 = undefined;
  }
}

export default defineModule({
  name: "event_datagram",
  version: "1.0.0",
  doc: "event transport: one UDP datagram per event, as JSON-RPC 2.0 notifications (OpenSIPS event_datagram)",
  init(ctx) {
    const sinks = new DatagramSinks(ctx.log);
    ctx.events.serveTransport({ protos: ["udp", "unix"], open: (proto, address) => sinks.open(proto, address) });
    return sinks;
  },
  destroy(_ctx, sinks) {
    sinks?.close();
  },
});
