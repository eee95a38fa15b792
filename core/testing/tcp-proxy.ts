/**
 * A TCP proxy for fault injection between two nodes: forward, delay, drop (swallow bytes
 * without closing — a silent partition), or cut (close every connection and stop
 * listening: connects are refused, as with a crashed node).
 * Like any L4 proxy, it accepts a connection before it knows whether the target is up:
 * with the target down, a client sees accept-then-close rather than ECONNREFUSED.
 *
 * Point a node's neighbour URL at the proxy (`LocalCluster.start({ proxied: true })` does
 * it for every link) and the traffic from that node to the neighbour flows through it.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export type ProxyMode = "forward" | "drop" | "cut";

export class TcpProxy {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  mode: ProxyMode = "forward";
  /** Extra latency per chunk, in ms. */
  delayMs = 0;
  port = 0;
  /** Bytes forwarded / swallowed so far (both directions). */
  forwardedBytes = 0;
  droppedBytes = 0;

  private constructor(readonly targetHost: string, readonly targetPort: number) {}

  /** Listens on 127.0.0.1:`listenPort` (0 = ephemeral) and forwards to target. */
  static async start(targetPort: number, listenPort = 0, targetHost = "127.0.0.1"): Promise<TcpProxy> {
    const p = new TcpProxy(targetHost, targetPort);
    await p.listen(listenPort);
    return p;
  }

  private async listen(port: number): Promise<void> {
    this.server = createServer((client) => this.onClient(client));
    await new Promise<void>((res, rej) => {
      this.server.once("error", rej);
      this.server.listen(port, "127.0.0.1", () => res());
    });
    const a = this.server.address();
    this.port = typeof a === "object" && a ? a.port : 0;
  }

  private onClient(client: Socket): void {
    if (this.mode === "cut") {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => {});
    }
    const pipe = (from: Socket, to: Socket): void => {
      from.on("data", (chunk: Buffer) => {
        if (this.mode !== "forward") {
          this.droppedBytes += chunk.length; // drop: bytes vanish, sockets stay open
          return;
        }
        this.forwardedBytes += chunk.length;
        if (this.delayMs > 0) setTimeout(() => to.write(chunk), this.delayMs);
        else to.write(chunk);
      });
      from.on("close", () => to.destroy());
    };
    pipe(client, upstream);
    pipe(upstream, client);
  }

  /** Silent partition: keep connections open, forward nothing. */
  drop(): void {
    this.mode = "drop";
  }

  /**
   * Closes every connection and stops listening, so connecting gets ECONNREFUSED — what a
   * peer sees when the node behind the proxy has crashed.
   */
  cut(): void {
    this.mode = "cut";
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) this.server.close();
  }

  /** Back to forwarding (listening again after `cut`; bytes dropped meanwhile stay lost), latency removed. */
  async heal(): Promise<void> {
    this.mode = "forward";
    this.delayMs = 0;
    if (!this.server.listening) await this.listen(this.port);
  }

  /** Adds `ms` of latency to every chunk from now on (order is kept). */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Open connections through the proxy (client and upstream sides counted once each). */
  get connections(): number {
    return this.sockets.size / 2;
  }

  async close(): Promise<void> {
    this.mode = "cut";
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((r) => this.server.close(() => r()));
  }
}
