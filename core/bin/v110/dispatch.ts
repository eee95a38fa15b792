/**
 * The core side of the 1.10 BIN interface: building datagrams, sending them through the
 * `bin.sendV110` hook (served by the `bin_listen` UDP listener), and dispatching received
 * datagrams to the `bin.receiveV110` tap of their module name — the same shape as the 3.x
 * side (`../dispatch.ts`), so a module picks a generation by what it registers for.
 *
 * A bad datagram (too short, wrong marker, bad CRC, an item running past its end) is dropped,
 * counted in `bin:v110_dropped` and logged at most once per source per minute. Nothing here
 * throws to the socket.
 */
import { TsipsError, isTsipsError } from "../../errors.ts";
import type { BinSendStatus, BinV110ReceiveCtx, BinV110Source, CoreHooks } from "../../hooks.ts";
import type { TsipsLogger } from "../../log.ts";
import type { Stat, StatsRegistry } from "../../stats.ts";
import { BinV110Packet, V110DatagramError, type V110DropReason } from "./packet.ts";

/** A 1.10 BIN callback: one received datagram for the module name it was registered for. */
export type BinV110Callback = (packet: BinV110Packet, ctx: BinV110ReceiveCtx) => void;

/** The 1.10 BIN interface as a module sees it (`ctx.bin.v110`). */
export interface BinV110Api {
  /** Starts a datagram for the receiver's module name. @opensips bin_init (1.10) */
  init(moduleName: string, type: number): BinV110Packet;
  /**
   * Registers the callback for datagrams whose module name equals `moduleName` (a tap on
   * `bin.receiveV110.for(moduleName)` named after the module). Pop the body with
   * `packet.popStr()` / `popInt()` in push order. @opensips bin_register_cb (1.10)
   */
  registerCb(moduleName: string, cb: BinV110Callback): void;
  /**
   * Sends the datagram (CRC computed here) to host:port from the `bin_listen` socket.
   * "error" when there is no `bin_listen`. @opensips bin_send (1.10)
   */
  send(packet: BinV110Packet, host: string, port: number): BinSendStatus;
  /** The `bin_listen` socket as `udp:IP:PORT`, or undefined when the cfg has none. */
  readonly listenSocket: string | undefined;
}

export interface BinV110Stats {
  received: Stat;
  dispatched: Stat;
  unhandled: Stat;
  dropped: Stat;
  sent: Stat;
  sendFailed: Stat;
}

/** At most one drop log line per source per minute; the table is bounded (spoofed sources). */
const DROP_LOG_INTERVAL_MS = 60_000;
const DROP_LOG_SOURCES_MAX = 4096;

let registrationStage = 0;

export class BinV110Core {
  readonly stats: BinV110Stats;
  /** Per-reason drop counts (also in the `dropped` statistic as a total). */
  readonly dropsByReason: Record<V110DropReason | "handler", number> = { short: 0, marker: 0, crc: 0, truncated: 0, handler: 0 };
  private readonly lastDropLog = new Map<string, number>();
  /** Set by the UDP listener once `bin_listen` is bound. */
  listenSocket: string | undefined;

  constructor(
    private readonly hooks: CoreHooks,
    private readonly log: TsipsLogger,
    stats: StatsRegistry,
    private readonly now: () => number = Date.now,
  ) {
    this.stats = {
      received: stats.register("bin", "v110_received", { doc: "1.10 BIN datagrams read from the bin_listen socket" }),
      dispatched: stats.register("bin", "v110_dispatched", { doc: "1.10 BIN datagrams handed to a module callback" }),
      unhandled: stats.register("bin", "v110_unhandled", { doc: "1.10 BIN datagrams for a module name nobody registered (ignored, as 1.10)" }),
      dropped: stats.register("bin", "v110_dropped", { doc: "1.10 BIN datagrams dropped: too short, bad marker, bad CRC or a truncated item" }),
      sent: stats.register("bin", "v110_sent", { doc: "1.10 BIN datagrams sent from the bin_listen socket" }),
      sendFailed: stats.register("bin", "v110_send_failed", { doc: "1.10 BIN sends refused (no bin_listen, too big, socket error)" }),
    };
  }

  /** The `ctx.bin.v110` of one module. */
  forModule(module: string, isOpen: () => boolean): BinV110Api {
    const core = this;
    return {
      init: (moduleName, type) => BinV110Packet.init(moduleName, type),
      registerCb: (moduleName, cb) => {
        if (!isOpen()) throw new TsipsError("TSIPS_ERR_HOOK_TAP", `${module}: registerCb after destroy`, { module });
        this.hooks.bin.receiveV110.for(moduleName).tap({ name: module, stage: --registrationStage }, (ctx) => {
          try {
            cb(ctx.packet, ctx);
          } catch (err) {
            this.callbackFailed(module, ctx, err);
          }
          return true;
        });
      },
      send: (packet, host, port) => this.send(packet.bytes(), host, port),
      get listenSocket() {
        return core.listenSocket;
      },
    };
  }

  send(bytes: Uint8Array, host: string, port: number): BinSendStatus {
    const status = this.hooks.bin.sendV110.call({ bytes, host, port });
    if (status === undefined || status === "error") {
      this.stats.sendFailed.inc();
      return "error";
    }
    this.stats.sent.inc();
    return status;
  }

  /** One datagram from the socket. Never throws. */
  deliver(bytes: Uint8Array, source: BinV110Source): void {
    this.stats.received.inc();
    let packet: BinV110Packet;
    try {
      packet = BinV110Packet.parse(bytes);
    } catch (err) {
      this.drop(err instanceof V110DatagramError ? err.reason : "short", source, err);
      return;
    }
    const hook = this.hooks.bin.receiveV110.get(packet.moduleName);
    if (!hook || !hook.isUsed()) {
      // 1.10 ignores these silently.
      this.stats.unhandled.inc();
      return;
    }
    this.stats.dispatched.inc();
    hook.call({ packet, source });
  }

  private callbackFailed(module: string, ctx: BinV110ReceiveCtx, err: unknown): void {
    if (err instanceof V110DatagramError || (isTsipsError(err) && err.code === "TSIPS_ERR_BIN_SHORT")) {
      this.drop("truncated", ctx.source, err);
      return;
    }
    this.dropsByReason.handler++;
    this.stats.dropped.inc();
    this.log.error({ module, moduleName: ctx.packet.moduleName, type: ctx.packet.type, err }, `1.10 BIN callback of ${module} threw`);
  }

  private drop(reason: V110DropReason, source: BinV110Source, err: unknown): void {
    this.dropsByReason[reason]++;
    this.stats.dropped.inc();
    const key = `${source.host}:${source.port}`;
    const now = this.now();
    const last = this.lastDropLog.get(key);
    if (last !== undefined && now - last < DROP_LOG_INTERVAL_MS) return;
    if (last === undefined && this.lastDropLog.size >= DROP_LOG_SOURCES_MAX) this.lastDropLog.clear();
    this.lastDropLog.set(key, now);
    this.log.warn({ source: key, reason, err: err instanceof Error ? err.message : String(err) },
      `1.10 BIN datagram from ${key} dropped (${reason}); further drops from this source are counted in bin:v110_dropped and logged at most once a minute`);
  }
}
