/**
 * The BIN stream transport shared by proto_bin (TCP) and proto_bins (TLS): listeners, one
 * framer per connection, one outbound connection per destination `IP:port`, batched writes,
 * bounded queues, timeouts (spec/proto-bin.md; bins-tls.md §1: the same framing inside TLS).
 * The core opens no socket itself: a transport module passes a `BinStreamFactory` that
 * creates its servers and connections (net or tls) and says when a connection is ready.
 *
 * Connection model (§4.2): a connection is found by remote IP + port. One we opened to
 * `peer:5566` is keyed `peer:5566` and reused for every later send there; one we accepted is
 * keyed by the peer's (ephemeral) source port, so it is used only for replies to exactly that
 * address (the clusterer's UNKNOWN_ID reply). Every connection, ours included, is read.
 *
 * Output: `send` copies the packet into the connection's current batch (a slab shared by the
 * packets of one event-loop turn) and returns; the batch is written with one `write` per
 * connection on `process.nextTick`, so a burst of small packets costs one syscall.
 */
import type { Server, Socket } from "node:net";
import { TsipsError, isTsipsError, type Location } from "../errors.ts";
import { listenError } from "../os-errors.ts";
import type { BinPeerEvent, BinSendStatus, BinSource } from "../hooks.ts";
import type { TsipsLogger } from "../log.ts";
import type { Stat } from "../stats.ts";
import { BinFramer, BinFramingError } from "./framer.ts";
import { BIN_MAX_PACKET_SIZE, BIN_MIN_PACKET_SIZE } from "./packet.ts";
import { family, hostPort, isWildcard, normHost } from "./stream-addr.ts";

/** A listening BIN socket, with the address it is really bound to (port 0 resolved). */
export interface BinListenerInfo {
  host: string;
  port: number;
  /** `bin:host:port` (or `bins:…`) as the ready line prints it (IPv6 in brackets). */
  url: string;
}

/** One connection as the transport sees it. */
export interface BinConnectionInfo {
  /** Remote IP (IPv4-mapped IPv6 shown as IPv4) and port. */
  host: string;
  port: number;
  /** true for connections this node opened. */
  outbound: boolean;
  state: "connecting" | "open" | "closing";
  localHost: string | undefined;
  localPort: number | undefined;
  /** Output not yet handed to the kernel (queued while connecting, batched, or in the socket buffer). */
  queuedBytes: number;
  packetsIn: number;
  packetsOut: number;
}

/** Where an outbound connection goes (and, when the sender knows it, which node it should reach). */
export interface BinStreamDest {
  host: string;
  port: number;
  nodeId?: number;
}

/** Socket options the transport wants on every connection. */
export interface BinSocketOptions {
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
}

/**
 * What differs between BIN over TCP and BIN over TLS. The transport owns everything else.
 */
export interface BinStreamFactory {
  /** The protocol name: URL scheme, listener URL and the packets' `BinSource.proto`. */
  readonly proto: BinSource["proto"];
  /**
   * A server whose `onStream` gets each accepted connection once it may carry BIN (TLS:
   * after a successful handshake; failed handshakes never reach the transport).
   */
  createServer(onStream: (socket: Socket) => void, opts: BinSocketOptions, at: ListenSpec): Server;
  /** Opens a connection; the transport waits for `readyEvent` before writing. */
  connect(dest: BinStreamDest, opts: BinSocketOptions & { localAddress?: string }): Socket;
  /** "connect" (TCP) or "secureConnect" (TLS). */
  readonly readyEvent: "connect" | "secureConnect";
  /** Checks an outbound connection once ready; a string refuses it (closed with that reason). */
  acceptOutbound?(socket: Socket, dest: BinStreamDest): string | undefined;
  /** Adds per-connection fields to the packets' source (e.g. the TLS identity check). */
  sourceExtras?(socket: Socket, close: (reason: string) => void): Partial<BinSource>;
}

export interface TransportOptions {
  /** bin_max_msg_chunks (0 = no limit). */
  maxChunks: number;
  /** tcp_max_msg_time in ms: longest time one packet may take to arrive. */
  readTimeoutMs: number;
  /** Bound on an outbound connect. */
  connectTimeoutMs: number;
  /** bin_send_timeout when bin_async=0: output that makes no progress for this long closes the connection; 0 = off. */
  sendTimeoutMs: number;
  /** bin_queue_limit: bytes of output a destination may hold before packets are dropped. */
  queueLimitBytes: number;
  /** bin_async_max_postponed_chunks: packets a connecting connection may hold. */
  maxPostponed: number;
  /** tcp_connection_lifetime in ms: idle connections are closed (0 = never). */
  lifetimeMs: number;
  keepAlive: boolean;
  keepIdleMs: number;
  backlog: number;
  maxConnections: number;
}

export interface TransportStats {
  packets_in: Stat;
  packets_out: Stat;
  bytes_in: Stat;
  bytes_out: Stat;
  framing_errors: Stat;
  read_timeouts: Stat;
  drops: Stat;
  connects_failed: Stat;
  packets_discarded: Stat;
}

export interface TransportHooks {
  /** Hands a complete packet to the core (throws TSIPS_ERR_BIN_MALFORMED on a bad header). */
  deliver(bytes: Uint8Array, source: BinSource): void;
  peerEvent(ev: BinPeerEvent): void;
}

export interface ListenSpec {
  host: string;
  port: number;
  /** For error messages: the socket= line. */
  raw: string;
  /** The socket= statement, where a listener that cannot open is reported. */
  loc?: Location;
}

const SLAB = 64 * 1024;
/** Leftover slab room below which the next batch starts a fresh slab. */
const SLAB_MIN_ROOM = 2048;

type ConnState = "connecting" | "open" | "closing" | "closed";

class Conn {
  state: ConnState;
  readonly source: BinSource;
  /** Key in the transport's lookup map, when registered. */
  key: string | null = null;
  readonly framer: BinFramer;
  // output
  private slab: Buffer | null = null;
  private slabStart = 0;
  private slabEnd = 0;
  private batchPackets = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /**
   * How far the current batch may grow before the queue limit is checked against the socket
   * again (limit − socket buffer at the last check − what was written since): one subtraction
   * per packet instead of a writableLength read.
   */
  private budget = 0;
  dirty = false;
  // bookkeeping
  lastActivity: number;
  private partialSince = 0;
  private readTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private closeReason: string | undefined;
  /** errno of the first socket error (ECONNREFUSED, ECONNRESET, …), reported with the close. */
  private closeErrno: string | undefined;
  private everOpen = false;
  packetsIn = 0;
  packetsOut = 0;

  constructor(
    private readonly t: BinStreamTransport,
    readonly socket: Socket,
    readonly outbound: boolean,
    host: string,
    port: number,
    private readonly dest?: BinStreamDest,
  ) {
    this.state = outbound ? "connecting" : "open";
    const extras = t.factory.sourceExtras?.(socket, (reason) => this.close(reason));
    this.source = Object.freeze({ ...extras, proto: t.factory.proto, host, port });
    this.lastActivity = Date.now();
    this.framer = new BinFramer({ maxChunks: t.opts.maxChunks, onPacket: (p) => this.onPacket(p) });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.closeReason ??= err.code ? `${err.code}: ${err.message}` : err.message;
      this.closeErrno ??= err.code;
    });
    socket.on("close", () => this.finalize());
    socket.on("end", () => {
      this.closeReason ??= "closed by peer";
      socket.destroy();
    });
    if (outbound) {
      socket.once(t.factory.readyEvent, () => this.onConnect());
      this.connectTimer = setTimeout(() => this.onConnectTimer(), t.opts.connectTimeoutMs);
    } else {
      this.everOpen = true;
    }
  }

  get host(): string {
    return this.source.host;
  }
  get port(): number {
    return this.source.port;
  }

  // ── input ─────────────────────────────────────────────────────────────

  private onData(chunk: Buffer): void {
    if (this.state === "closed" || this.state === "closing") return;
    this.lastActivity = Date.now();
    this.t.stats.bytes_in.inc(chunk.length);
    const before = this.framer.packets;
    try {
      this.framer.push(chunk);
    } catch (err) {
      const st = this.state as ConnState;
      if (st === "closing" || st === "closed") return; // closed by a delivery error
      this.t.stats.framing_errors.inc();
      const why = err instanceof BinFramingError ? err.framing : "framing";
      this.t.log.warn({ peer: hostPort(this.host, this.port), framing: why, err: (err as Error).message },
        `BIN framing error from ${hostPort(this.host, this.port)}: ${(err as Error).message}; closing the connection`);
      this.close(`framing error (${why})`);
      return;
    }
    if (this.framer.partial) {
      if (this.partialSince === 0 || this.framer.packets !== before) this.partialSince = this.lastActivity;
      if (this.readTimer === null && this.t.opts.readTimeoutMs > 0) {
        this.readTimer = setTimeout(() => this.onReadTimer(), this.t.opts.readTimeoutMs);
      }
    } else {
      this.partialSince = 0;
    }
  }

  private onPacket(pkt: Uint8Array): boolean {
    this.packetsIn++;
    this.t.stats.packets_in.inc();
    try {
      this.t.hooks.deliver(pkt, this.source);
    } catch (err) {
      if (isTsipsError(err) && err.code === "TSIPS_ERR_BIN_MALFORMED") {
        this.t.stats.framing_errors.inc();
        this.t.log.warn({ peer: hostPort(this.host, this.port), err: err.message },
          `malformed BIN packet from ${hostPort(this.host, this.port)}: ${err.message}; closing the connection`);
        this.close("malformed packet");
        return false;
      }
      this.t.log.error({ peer: hostPort(this.host, this.port), err }, "BIN packet delivery failed");
    }
    return this.state === "open" || this.state === "connecting";
  }

  /** Lazy read timer: re-armed for the remaining time instead of on every read. */
  private onReadTimer(): void {
    this.readTimer = null;
    if (this.state !== "open" || !this.framer.partial) return;
    const left = this.partialSince + this.t.opts.readTimeoutMs - Date.now();
    if (left > 0) {
      this.readTimer = setTimeout(() => this.onReadTimer(), left);
      return;
    }
    // Let the poll phase run first: data that arrived while the loop was busy may complete it.
    setImmediate(() => {
      if (this.state !== "open" || !this.framer.partial) return;
      if (this.partialSince + this.t.opts.readTimeoutMs > Date.now()) return void this.onReadTimer();
      this.t.stats.read_timeouts.inc();
      this.t.log.warn({ peer: hostPort(this.host, this.port), buffered: this.framer.buffered },
        `BIN read timeout with an incomplete packet from ${hostPort(this.host, this.port)}; closing the connection`);
      this.close("read timeout with an incomplete packet");
    });
  }

  // ── output ────────────────────────────────────────────────────────────

  /** Bytes accepted for this destination and not yet taken by the kernel. */
  queued(): number {
    return this.pendingBytes + (this.slabEnd - this.slabStart) + (this.state === "open" ? this.socket.writableLength : 0);
  }

  enqueue(bytes: Uint8Array): BinSendStatus {
    const len = bytes.length;
    if (this.state === "connecting") {
      if (this.pending.length >= this.t.opts.maxPostponed || this.pendingBytes + len > this.t.opts.queueLimitBytes) return this.t.dropped(this);
      this.pending.push(Buffer.from(bytes)); // copy: the caller may reuse its buffer
      this.pendingBytes += len;
      return "queued";
    }
    if (this.state !== "open") return "error";
    const batch = this.slabEnd - this.slabStart;
    if (batch + len > this.budget) {
      this.budget = this.t.opts.queueLimitBytes - this.socket.writableLength;
      if (batch + len > this.budget) return this.t.dropped(this);
    }
    let slab = this.slab;
    if (slab === null || slab.length - this.slabEnd < len) {
      this.writeBatch();
      slab = this.slab = Buffer.allocUnsafe(len > SLAB ? len : SLAB);
      this.slabStart = this.slabEnd = 0;
    }
    slab.set(bytes, this.slabEnd);
    this.slabEnd += len;
    this.batchPackets++;
    if (!this.dirty) {
      this.dirty = true;
      this.t.markDirty(this);
    }
    return "sent";
  }

  /** Writes the current batch with a single write. */
  writeBatch(): void {
    this.dirty = false;
    const n = this.slabEnd - this.slabStart;
    if (n === 0 || this.state !== "open" || this.slab === null) return;
    this.socket.write(this.slab.subarray(this.slabStart, this.slabEnd));
    this.budget -= n;
    this.t.stats.packets_out.inc(this.batchPackets);
    this.t.stats.bytes_out.inc(n);
    this.packetsOut += this.batchPackets;
    this.batchPackets = 0;
    this.slabStart = this.slabEnd;
    if (this.slab.length - this.slabEnd < SLAB_MIN_ROOM) this.slab = null;
    this.lastActivity = Date.now();
    if (this.t.opts.sendTimeoutMs > 0 && this.sendTimer === null && this.socket.writableLength > 0) this.armSendTimer();
  }

  /** bin_async=0: output stuck for bin_send_timeout ms is a failed (blocking) write. */
  private armSendTimer(): void {
    let last = this.socket.bytesWritten;
    const check = (): void => {
      this.sendTimer = null;
      if (this.state !== "open" || this.socket.writableLength === 0) return;
      setImmediate(() => {
        if (this.state !== "open" || this.socket.writableLength === 0) return;
        const now = this.socket.bytesWritten;
        if (now !== last) {
          last = now;
          this.sendTimer = setTimeout(check, this.t.opts.sendTimeoutMs);
          return;
        }
        this.t.log.warn({ peer: hostPort(this.host, this.port) }, `BIN send timeout (${this.t.opts.sendTimeoutMs} ms) to ${hostPort(this.host, this.port)}; closing the connection`);
        this.close("send timeout");
      });
    };
    this.sendTimer = setTimeout(check, this.t.opts.sendTimeoutMs);
  }

  private onConnect(): void {
    if (this.state !== "connecting") return;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const refused = this.dest ? this.t.factory.acceptOutbound?.(this.socket, this.dest) : undefined;
    if (refused !== undefined) return void this.close(refused);
    this.state = "open";
    this.everOpen = true;
    this.lastActivity = Date.now();
    this.t.emit({ kind: "up", host: this.host, port: this.port, outbound: true });
    if (this.pending.length > 0) {
      const n = this.pending.length;
      const all = n === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      if (this.state !== "open") return; // a peer-event handler closed us
      this.socket.write(all);
      this.t.stats.packets_out.inc(n);
      this.t.stats.bytes_out.inc(all.length);
      this.packetsOut += n;
      if (this.t.opts.sendTimeoutMs > 0 && this.sendTimer === null && this.socket.writableLength > 0) this.armSendTimer();
    }
  }

  private onConnectTimer(): void {
    this.connectTimer = null;
    if (this.state !== "connecting") return;
    // The connect may have completed while the loop was busy: look again after the poll phase.
    setImmediate(() => {
      if (this.state !== "connecting") return;
      this.close(`connect timeout (${this.t.opts.connectTimeoutMs} ms)`);
    });
  }

  // ── closing ───────────────────────────────────────────────────────────

  close(reason: string): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.closeReason ??= reason;
    this.state = "closing";
    this.t.unregister(this);
    this.socket.destroy();
  }

  /** Orderly end: write what is batched, FIN, and destroy after `graceMs` at the latest. */
  end(graceMs: number): Promise<void> {
    if (this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      if (this.state === "open") this.writeBatch();
      this.closeReason ??= "shutdown";
      if (this.state === "open") {
        this.state = "closing";
        this.t.unregister(this);
        this.socket.end();
        setTimeout(() => this.socket.destroy(), graceMs).unref();
      } else {
        this.close("shutdown");
      }
    });
  }

  private finalize(): void {
    if (this.state === "closed") return;
    const wasConnecting = this.state === "connecting" || !this.everOpen;
    this.state = "closed";
    for (const t of [this.readTimer, this.connectTimer, this.sendTimer]) if (t) clearTimeout(t);
    this.readTimer = this.connectTimer = this.sendTimer = null;
    this.t.unregister(this);
    this.t.forget(this);
    const lost = this.pending.length + this.batchPackets;
    if (lost > 0) this.t.stats.packets_discarded.inc(lost);
    this.pending = [];
    this.pendingBytes = 0;
    this.slab = null;
    this.slabStart = this.slabEnd = this.batchPackets = 0;
    const reason = this.closeReason ?? "closed";
    const errno = this.closeErrno !== undefined ? { errno: this.closeErrno } : {};
    if (this.outbound && wasConnecting) {
      this.t.stats.connects_failed.inc();
      this.t.log.info({ peer: hostPort(this.host, this.port), reason }, `BIN connect to ${hostPort(this.host, this.port)} failed: ${reason}`);
      this.t.emit({ kind: "connect-failed", host: this.host, port: this.port, outbound: true, reason, ...errno });
    } else {
      this.t.log.debug({ peer: hostPort(this.host, this.port), reason, outbound: this.outbound }, "BIN connection closed");
      this.t.emit({ kind: "down", host: this.host, port: this.port, outbound: this.outbound, reason, ...errno });
    }
  }

  info(): BinConnectionInfo {
    return {
      host: this.host,
      port: this.port,
      outbound: this.outbound,
      state: this.state === "closed" ? "closing" : this.state,
      localHost: this.socket.localAddress ? normHost(this.socket.localAddress) : undefined,
      localPort: this.socket.localPort,
      queuedBytes: this.queued(),
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
    };
  }
}

interface Listener {
  server: Server;
  info: BinListenerInfo;
  family: 4 | 6;
  wildcard: boolean;
}

export class BinStreamTransport {
  private readonly listenersList: Listener[] = [];
  private readonly byKey = new Map<string, Conn>();
  private readonly all = new Set<Conn>();
  private dirtyList: Conn[] = [];
  private flushScheduled = false;
  private stopping = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private lastDropWarn = 0;
  private dropsSinceWarn = 0;
  private readonly hostCache = new Map<string, string>();
  /** The last destination sent to (bursts go to one peer). */
  private lastHost = "";
  private lastPort = 0;
  private lastConn: Conn | null = null;
  private readonly flushAllBound = (): void => this.flushAll();

  constructor(
    readonly factory: BinStreamFactory,
    readonly opts: TransportOptions,
    readonly hooks: TransportHooks,
    readonly stats: TransportStats,
    readonly log: TsipsLogger,
  ) {
    if (opts.lifetimeMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, Math.min(opts.lifetimeMs / 2, 10_000)));
      this.sweepTimer.unref();
    }
  }

  // ── listeners ─────────────────────────────────────────────────────────

  async listen(spec: ListenSpec): Promise<BinListenerInfo> {
    const server = this.factory.createServer((socket) => this.onAccept(socket), this.socketOptions(), spec);
    server.maxConnections = this.opts.maxConnections;
    const host = spec.host === "*" ? undefined : spec.host;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port: spec.port, backlog: this.opts.backlog }, () => {
        server.off("error", reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw listenError(`${this.factory.proto}:${hostPort(spec.host, spec.port)}`, err, { module: `proto_${this.factory.proto}`, ...(spec.loc ? { location: spec.loc } : {}) });
    });
    server.on("error", (err) => this.log.error({ err }, "BIN listener error"));
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new TsipsError("TSIPS_ERR_LISTEN", `${this.factory.proto} listener ${spec.raw} has no address`);
    const bound = normHost(addr.address);
    const info: BinListenerInfo = { host: bound, port: addr.port, url: `${this.factory.proto}:${hostPort(bound, addr.port)}` };
    this.listenersList.push({ server, info, family: addr.family === "IPv6" ? 6 : 4, wildcard: isWildcard(addr.address) });
    return info;
  }

  listeners(): BinListenerInfo[] {
    return this.listenersList.map((l) => ({ ...l.info }));
  }

  private onAccept(socket: Socket): void {
    if (this.stopping) return void socket.destroy();
    const host = normHost(socket.remoteAddress ?? "");
    const port = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    const c = new Conn(this, socket, false, host, port);
    this.all.add(c);
    const key = `${host}|${port}`;
    if (!this.byKey.has(key)) {
      this.byKey.set(key, c);
      c.key = key;
    }
    this.emit({ kind: "up", host, port, outbound: false });
  }

  // ── sending ───────────────────────────────────────────────────────────

  /** Queues one packet for `host:port`; `nodeId` (when known) lets the factory check who answers. */
  send(bytes: Uint8Array, host: string, port: number, nodeId?: number): BinSendStatus {
    if (this.stopping) return "error";
    const len = bytes.length;
    if (len < BIN_MIN_PACKET_SIZE || len > BIN_MAX_PACKET_SIZE) return "error";
    const last = this.lastConn;
    if (last !== null && host === this.lastHost && port === this.lastPort) return last.enqueue(bytes);
    let h = this.hostCache.get(host);
    if (h === undefined) {
      h = normHost(host);
      if (this.hostCache.size > 1024) this.hostCache.clear();
      this.hostCache.set(host, h);
    }
    const key = `${h}|${port}`;
    let c = this.byKey.get(key);
    if (c === undefined) {
      if (!(port > 0 && port < 65536)) return "error";
      const made = this.open(h, port, key, nodeId);
      if (made === null) return "error";
      c = made;
    }
    this.lastHost = host;
    this.lastPort = port;
    this.lastConn = c;
    return c.enqueue(bytes);
  }

  private socketOptions(): BinSocketOptions {
    return { noDelay: true, keepAlive: this.opts.keepAlive, keepAliveInitialDelay: this.opts.keepIdleMs };
  }

  private open(host: string, port: number, key: string, nodeId: number | undefined): Conn | null {
    const localAddress = this.localAddressFor(host);
    const dest: BinStreamDest = nodeId === undefined ? { host, port } : { host, port, nodeId };
    let socket: Socket;
    try {
      socket = this.factory.connect(dest, { ...this.socketOptions(), ...(localAddress ? { localAddress } : {}) });
    } catch (err) {
      this.log.warn({ err, host, port }, `cannot connect to ${this.factory.proto}:${hostPort(host, port)}: ${(err as Error).message}`);
      return null;
    }
    const c = new Conn(this, socket, true, host, port, dest);
    this.all.add(c);
    this.byKey.set(key, c);
    c.key = key;
    return c;
  }

  /**
   * The IP outgoing connections are bound to: the first BIN listener of the destination's
   * address family (OpenSIPS binds to its BIN socket's IP, spec §4.2); none for a wildcard.
   */
  localAddressFor(host: string): string | undefined {
    const fam = family(host) || 4;
    const l = this.listenersList.find((x) => x.family === fam);
    if (!l || l.wildcard) return undefined;
    return l.info.host;
  }

  dropped(c: Conn): BinSendStatus {
    this.stats.drops.inc();
    this.dropsSinceWarn++;
    const now = Date.now();
    if (now - this.lastDropWarn >= 5000) {
      this.log.warn({ peer: hostPort(c.host, c.port), dropped: this.dropsSinceWarn, queuedBytes: c.queued(), limit: this.opts.queueLimitBytes },
        `BIN output queue to ${hostPort(c.host, c.port)} is full: ${this.dropsSinceWarn} packet(s) dropped`);
      this.lastDropWarn = now;
      this.dropsSinceWarn = 0;
    }
    return "dropped";
  }

  markDirty(c: Conn): void {
    this.dirtyList.push(c);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushAllBound);
    }
  }

  private flushAll(): void {
    this.flushScheduled = false;
    const list = this.dirtyList;
    this.dirtyList = [];
    for (const c of list) c.writeBatch();
  }

  // ── bookkeeping ───────────────────────────────────────────────────────

  unregister(c: Conn): void {
    if (this.lastConn === c) this.lastConn = null;
    if (c.key !== null && this.byKey.get(c.key) === c) this.byKey.delete(c.key);
    c.key = null;
  }

  forget(c: Conn): void {
    this.all.delete(c);
  }

  emit(ev: BinPeerEvent): void {
    if (this.stopping) return;
    try {
      this.hooks.peerEvent(ev);
    } catch (err) {
      this.log.error({ err, ev }, "a BIN peer event handler threw");
    }
  }

  private sweep(): void {
    const limit = Date.now() - this.opts.lifetimeMs;
    for (const c of this.all) {
      if (c.state === "open" && c.lastActivity < limit && c.queued() === 0) c.close("idle longer than tcp_connection_lifetime");
    }
  }

  connectionCount(): number {
    let n = 0;
    for (const c of this.all) if (c.state === "open" || c.state === "connecting") n++;
    return n;
  }

  openCount(): number {
    let n = 0;
    for (const c of this.all) if (c.state === "open") n++;
    return n;
  }

  connectionList(): BinConnectionInfo[] {
    return [...this.all].map((c) => c.info());
  }

  async flush(timeoutMs?: number): Promise<void> {
    this.flushAll();
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      let busy = false;
      for (const c of this.all) if ((c.state === "open" || c.state === "connecting") && c.queued() > 0) busy = true;
      if (!busy || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 2));
      this.flushAll();
    }
  }

  /** Stops listening and closes every connection (queued output gets `graceMs` to leave). */
  async close(graceMs = 200): Promise<void> {
    this.flushAll();
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const servers = this.listenersList.map((l) => new Promise<void>((r) => l.server.close(() => r())));
    await Promise.all([...this.all].map((c) => c.end(graceMs)));
    await Promise.all(servers);
    this.listenersList.length = 0;
    this.byKey.clear();
  }
}
