/**
 * The core side of BIN: building packets, handing them to the transport through the
 * `bin.send` hook, and dispatching received packets to the capability's `bin.receive` tap.
 * Core opens no socket; a transport module (proto_bin, proto_bins) serves the send hook for
 * its protocol and delivers what it reads.
 */
import { TsipsError } from "../errors.ts";
import type { BinPeerEvent, BinReceiveCtx, BinSendRequest, BinSendStatus, BinSource, CoreHooks } from "../hooks.ts";
import type { TsipsLogger } from "../log.ts";
import type { Stat, StatsRegistry } from "../stats.ts";
import { BinPacket } from "./packet.ts";
import { BinV110Core, type BinV110Api } from "./v110/dispatch.ts";

/** A BIN callback: one received packet of the capability it was registered for. */
export type BinCallback = (packet: BinPacket, ctx: BinReceiveCtx) => void;

/** The BIN interface as a module sees it (`ctx.bin`). */
export interface BinApi {
  /** Starts a packet. @opensips bin_init */
  init(capability: string, type: number, version: number): BinPacket;
  /**
   * Registers the callback for a capability (a tap on `bin.receive.for(capability)` named
   * after the module). A callback that throws is logged with module and capability and
   * does not affect other callbacks or the connection. @opensips bin_register_cb
   */
  registerCb(capability: string, cb: BinCallback): void;
  /**
   * Sends a whole packet to host:port through the transport of `to.proto` (default `bin`);
   * `to.nodeId` names the node expected there (TLS identity check). @opensips msg_send(PROTO_BIN)
   */
  send(packet: BinPacket | Uint8Array, host: string, port: number, to?: BinSendTarget): BinSendStatus;

  // Transport side (proto_bin, proto_bins): the core calls the hooks on the transport's behalf.
  /** Serves the send hook for one protocol (default `bin`; one transport per protocol answers). */
  serveSend(fn: (bytes: Uint8Array, host: string, port: number, nodeId?: number) => BinSendStatus, proto?: BinSource["proto"]): void;
  /**
   * Hands a complete packet to the core for dispatch. Throws TSIPS_ERR_BIN_MALFORMED on a
   * bad header (the transport closes that connection).
   */
  deliver(bytes: Uint8Array, source: BinSource): void;
  /** Reports a connection change (the clusterer uses it for fast failure detection). */
  peerEvent(ev: BinPeerEvent): void;

  /**
   * The OpenSIPS 1.10 interface (UDP from `bin_listen`, module names, CRC): same hooks
   * pattern, its own packet class. See core/bin/v110/dispatch.ts.
   */
  readonly v110: BinV110Api;
}

/** Which transport a send goes through and which node it is meant for. */
export interface BinSendTarget {
  proto?: BinSource["proto"];
  nodeId?: number;
}

/** Core-wide BIN counters (group `bin`). */
export interface BinCoreStats {
  dispatched: Stat;
  unhandled: Stat;
  malformed: Stat;
  callbackErrors: Stat;
  noTransport: Stat;
}

/** Decreasing tapable stage: later registrations run first (bin_register_cb inserts at the head). */
let registrationStage = 0;

export class BinCore {
  readonly stats: BinCoreStats;
  /** The 1.10 side (datagrams from and to `bin_listen`). */
  readonly v110: BinV110Core;

  constructor(
    private readonly hooks: CoreHooks,
    private readonly log: TsipsLogger,
    stats: StatsRegistry,
  ) {
    this.stats = {
      dispatched: stats.register("bin", "packets_dispatched", { doc: "BIN packets handed to a capability callback" }),
      unhandled: stats.register("bin", "packets_unhandled", { doc: "BIN packets with no callback for their capability (dropped)" }),
      malformed: stats.register("bin", "packets_malformed", { doc: "BIN packets with a bad header (dropped)" }),
      callbackErrors: stats.register("bin", "callback_errors", { doc: "BIN callbacks that threw" }),
      noTransport: stats.register("bin", "send_no_transport", { doc: "sends with no transport loaded" }),
    };
    this.v110 = new BinV110Core(hooks, log, stats);
  }

  /** The `ctx.bin` of one module. */
  forModule(module: string, isOpen: () => boolean): BinApi {
    const hooks = this.hooks;
    return {
      init: (capability, type, version) => BinPacket.init(capability, type, version),
      registerCb: (capability, cb) => {
        if (!isOpen()) throw new TsipsError("TSIPS_ERR_HOOK_TAP", `${module}: registerCb after destroy`, { module });
        // OpenSIPS puts each new registration at the head of the list and calls only the
        // first match, so the most recent registration wins: give each tap a lower stage.
        hooks.bin.receive.for(capability).tap({ name: module, stage: --registrationStage }, (ctx) => {
          try {
            cb(ctx.packet, ctx);
          } catch (err) {
            this.stats.callbackErrors.inc();
            this.log.error({ module, capability, type: ctx.packet.type, err }, `BIN callback of ${module} for ${capability} threw`);
          }
          return true;
        });
      },
      send: (packet, host, port, to) => this.send(packet instanceof BinPacket ? packet.bytes() : packet, host, port, to),
      serveSend: (fn, proto = "bin") => {
        hooks.bin.send.tap({ name: module }, (req) => (req.proto === proto ? fn(req.bytes, req.host, req.port, req.nodeId) : undefined));
      },
      deliver: (bytes, source) => this.deliver(bytes, source),
      peerEvent: (ev) => hooks.bin.peer.call(ev),
      v110: this.v110.forModule(module, isOpen),
    };
  }

  send(bytes: Uint8Array, host: string, port: number, to?: BinSendTarget): BinSendStatus {
    const req: BinSendRequest = { bytes, host, port, proto: to?.proto ?? "bin" };
    if (to?.nodeId !== undefined) req.nodeId = to.nodeId;
    const status = this.hooks.bin.send.call(req);
    if (status === undefined) {
      this.stats.noTransport.inc();
      return "error";
    }
    return status;
  }

  deliver(bytes: Uint8Array, source: BinSource): void {
    let packet: BinPacket;
    try {
      packet = BinPacket.parse(bytes);
    } catch (err) {
      this.stats.malformed.inc();
      throw err;
    }
    const hook = this.hooks.bin.receive.get(packet.capability);
    if (!hook || !hook.isUsed()) {
      // OpenSIPS drops these silently (debug level only).
      this.stats.unhandled.inc();
      this.log.debug({ capability: packet.capability, source }, "BIN packet for an unregistered capability dropped");
      return;
    }
    this.stats.dispatched.inc();
    hook.call({ packet, source });
  }
}
