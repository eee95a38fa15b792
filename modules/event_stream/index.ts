/**
 * event_stream: delivers events over TCP to `tcp:host:port[/method]` subscribers as JSON-RPC
 * 2.0 notifications (OpenSIPS event_stream). One connection per subscriber, opened on the
 * first event and reopened after a failure; the method is the event name unless the socket
 * names one, and then `event_param` (if set) carries the event name. A subscriber that stops
 * reading only fills its own bounded queue in the core: new events for it are dropped and
 * counted, nothing else waits.
 */
import { connect, type Socket } from "node:net";
import { buildEventPayload, defineModule, int, parseSocketString, str, type EventPayload, type EventSink, type TsipsLogger } from "tsips";

interface StreamOpts {
  timeoutMs: number;
  eventParam: string;
  log: TsipsLogger;
}

class StreamSink implements EventSink {
  private sock: Socket | undefined;
  private connected = false;
  private readonly sockets = new Set<Socket>();

  constructor(readonly address: string, private readonly host: string, private readonly port: number,
    private readonly method: string | undefined, private readonly o: StreamOpts, private readonly all: Set<StreamSink>) {
    all.add(this);
  }

  send(p: EventPayload, done: (err?: Error) => void): void {
    const text = this.method ? buildEventPayload(p.event, p.params, this.method, this.o.eventParam || undefined) : p.json;
    const write = (): void => {
      this.sock!.write(text, (err) => done(err ?? undefined));
    };
    if (this.sock && this.connected) return write();
    if (!this.sock) this.open();
    const s = this.sock!;
    const onConnect = (): void => {
      s.off("close", onClose);
      write();
    };
    const onClose = (): void => {
      s.off("connect", onConnect);
      done(new Error(`tcp:${this.address}: connection failed`));
    };
    s.once("connect", onConnect);
    s.once("close", onClose);
  }

  private open(): void {
    const s = connect({ host: this.host, port: this.port });
    this.sock = s;
    this.sockets.add(s);
    s.setNoDelay(true);
    s.setTimeout(this.o.timeoutMs, () => {
      if (!this.connected) s.destroy(new Error(`connect timeout after ${this.o.timeoutMs} ms`));
    });
    s.on("connect", () => {
      this.connected = true;
      s.setTimeout(0);
    });
    s.on("data", () => {}); // replies (sync mode) are not used; keep the socket flowing
    s.on("error", (err) => this.o.log.warn({ err, socket: `tcp:${this.address}` }, "event_stream connection error"));
    s.on("close", () => {
      this.sockets.delete(s);
      if (this.sock === s) {
        this.sock = undefined;
        this.connected = false;
      }
    });
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.sock = undefined;
    this.connected = false;
    this.all.delete(this);
  }
}

export default defineModule({
  name: "event_stream",
  version: "1.0.0",
  doc: "event transport: JSON-RPC 2.0 notifications over TCP (OpenSIPS event_stream)",
  params: {
    timeout: int({ default: 1000, min: 1, doc: "milliseconds to wait for a subscriber's TCP connection" }),
    event_param: str({ default: "", doc: "when a socket names its own method (tcp:host:port/method), the param that carries the event name" }),
  },
  init(ctx) {
    const all = new Set<StreamSink>();
    const o: StreamOpts = { timeoutMs: ctx.params.timeout, eventParam: ctx.params.event_param, log: ctx.log };
    ctx.events.serveTransport({
      protos: ["tcp"],
      open(_proto, address) {
        const slash = address.indexOf("/");
        const hostPort = slash >= 0 ? address.slice(0, slash) : address;
        const method = slash >= 0 ? address.slice(slash + 1) : undefined;
        const hp = parseSocketString(`tcp:${hostPort}`);
        if (!hp || hp.port === 0 || method === "") return { error: `bad tcp address "${address}" (expected host:port[/method])` };
        return new StreamSink(address, hp.host, hp.port, method, o, all);
      },
    });
    return all;
  },
  destroy(_ctx, all) {
    for (const s of [...(all ?? [])]) s.close();
  },
});
