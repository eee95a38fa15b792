/**
 * Every core hook, declared once and typed (webpack's Compiler is the model). The hook
 * table is the only meeting point between modules: modules tap, only a hook's owner calls.
 * Every hook here is owned — and called — by the core; modules that produce an event ask
 * the core to call it (`ctx.bin.deliver`, `ctx.bin.peerEvent`, `ctx.events.raise`).
 *
 * | hook | kind | fires | called by | return |
 * |---|---|---|---|---|
 * | lifecycle.modulesLoaded | SyncHook | every loadmodule resolved and imported, deps ordered | core/boot | — |
 * | lifecycle.paramsReady | SyncHook | every modparam applied and validated, before any init | core/boot | — |
 * | lifecycle.initDone | AsyncSeriesHook | every module's init has settled | core/boot | — |
 * | lifecycle.ready | SyncHook | listeners open, node serving | core/boot | — |
 * | lifecycle.shutdown | AsyncSeriesHook | orderly shutdown begins, before any destroy | core/boot | — |
 * | bin.receive (HookMap by capability) | SyncBailHook | a complete BIN packet arrived | core/bin dispatch | `true` = handled (stops) |
 * | bin.send | SyncBailHook | a module sends a BIN packet | core/bin `send` | first non-undefined status wins |
 * | bin.receiveV110 (HookMap by module name) | SyncBailHook | a 1.10 BIN datagram passed the marker/CRC checks | core/bin/v110 dispatch | `true` = handled (stops) |
 * | bin.sendV110 | SyncBailHook | a module sends a 1.10 BIN datagram | core/bin/v110 `send` | first non-undefined status wins |
 * | bin.peer | SyncHook | a BIN connection to/from a peer opened, closed or failed | core/bin (for the transport) | — |
 * | mi.commandAdded | SyncHook | an MI command was registered | core/mi | — |
 * | stats.collect | SyncHook | statistics are about to be read | core/mi; core for prometheus (`ctx.collectStats`) | — |
 * | events (HookMap by event name) | SyncHook | a module raised an OpenSIPS-style event (E_CLUSTERER_NODE_STATE_CHANGED, …) | core `events.raise` | — |
 */
import { AsyncSeriesHook, HookMap, SyncBailHook, SyncHook } from "tapable";
import type { BinPacket } from "./bin/packet.ts";
import type { BinV110Packet } from "./bin/v110/packet.ts";

/** Where a received packet came from (remote end of the TCP or TLS connection). */
export interface BinSource {
  proto: "bin" | "bins";
  host: string;
  port: number;
  /**
   * Set by a transport that binds node ids to peer certificates (proto_bins with
   * `node_identity`): whether this connection may speak for `nodeId` — as the sender itself,
   * or with `relayed` as a certified node passing on another node's packet. `false` refuses
   * it: the transport has already counted, logged and closed the connection, and the caller
   * drops the packet. Absent = no identity check (OpenSIPS behaviour).
   */
  verifyNode?: (nodeId: number, relayed?: boolean) => boolean;
}

/** Context of one received packet. Valid only during the callback (clone the packet to keep it). */
export interface BinReceiveCtx {
  packet: BinPacket;
  source: BinSource;
}

/** Where a 1.10 datagram came from (its UDP source; 1.10 never looks at it, tsips logs it). */
export interface BinV110Source {
  proto: "udp";
  host: string;
  port: number;
}

/** Context of one received 1.10 datagram. Valid only during the callback (the bytes are the receive buffer). */
export interface BinV110ReceiveCtx {
  packet: BinV110Packet;
  source: BinV110Source;
}

/** A packet to send to `host:port` (bytes are the whole packet, header included). */
export interface BinSendRequest {
  bytes: Uint8Array;
  host: string;
  port: number;
  /** The URL scheme of the destination: `bin` (TCP, the default) or `bins` (TLS). */
  proto: "bin" | "bins";
  /** The node the destination belongs to, when the sender knows it (identity check). */
  nodeId?: number;
}

/** A 1.10 datagram to send: UDP from the `bin_listen` socket, no scheme, no node ids. */
export type BinV110SendRequest = Pick<BinSendRequest, "bytes" | "host" | "port">;

/**
 * Outcome of a send as the transport sees it right away:
 * `sent` written or queued on an open connection; `queued` waiting for a connection;
 * `dropped` the per-destination queue is full; `error` refused (no route, closed, too big).
 */
export type BinSendStatus = "sent" | "queued" | "dropped" | "error";

/** A transport-level change of a peer connection. */
export interface BinPeerEvent {
  /** `up`: a connection opened; `down`: it closed or errored; `connect-failed`: an outbound connect was refused. */
  kind: "up" | "down" | "connect-failed";
  host: string;
  port: number;
  /** true for connections we opened. */
  outbound: boolean;
  reason?: string;
  /**
   * The socket error code behind a `down` or `connect-failed`, when the OS gave one
   * (`ECONNREFUSED`, `ECONNRESET`, `EPIPE`, `ETIMEDOUT`, …); absent for an orderly close (FIN)
   * or a timeout of our own. ECONNREFUSED means nothing listens at host:port any more.
   */
  errno?: string;
}

export interface LifecycleCtx {
  /** Module names in init order. */
  modules: readonly string[];
}

export interface ParamsReadyCtx extends LifecycleCtx {
  /** Each module's typed parameter values, as its init will see them. */
  params: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
}

export interface ReadyCtx extends LifecycleCtx {
  /** Listener descriptions, e.g. `bin:127.0.0.1:5555`. */
  listeners: readonly string[];
}

export interface ShutdownCtx {
  reason: string;
}

export interface EventCtx {
  /** Event name, e.g. E_CLUSTERER_NODE_STATE_CHANGED. */
  name: string;
  /** Module that raised it. */
  module: string;
  params: Readonly<Record<string, string | number>>;
}

export interface StatsCollectCtx {
  /** Statistic names or groups about to be read ("all" for everything). */
  targets: readonly string[];
}

export function createHooks() {
  return Object.freeze({
    lifecycle: Object.freeze({
      /**
       * Fires once every loadmodule is resolved and imported and the init order is known.
       * Called by core/boot. Fires before any module's init, so embedders tap it (BootOptions.onHooks).
       */
      modulesLoaded: new SyncHook<[LifecycleCtx]>(["ctx"]),
      /** Fires once every modparam is applied and validated, before any init. Called by core/boot. */
      paramsReady: new SyncHook<[ParamsReadyCtx]>(["ctx"]),
      /** Fires after every module's init settled, before the node reports ready. Called by core/boot. */
      initDone: new AsyncSeriesHook<[LifecycleCtx]>(["ctx"]),
      /** Fires when the node serves: transports listen. Called by core/boot. */
      ready: new SyncHook<[ReadyCtx]>(["ctx"]),
      /** Fires first on orderly shutdown (SIGINT/SIGTERM/MI kill), before modules are destroyed. Called by core/boot. */
      shutdown: new AsyncSeriesHook<[ShutdownCtx]>(["ctx"]),
    }),
    bin: Object.freeze({
      /**
       * Per-capability receive hook. Called by core/bin dispatch for a complete packet whose
       * capability matches the key exactly. Tapped through `ctx.bin.registerCb`. The most recent
       * registration runs first (as OpenSIPS puts new callbacks at the head); returning `true` stops.
       */
      receive: new HookMap<SyncBailHook<[BinReceiveCtx], true | undefined>>(
        () => new SyncBailHook<[BinReceiveCtx], true | undefined>(["ctx"]),
      ),
      /**
       * Send a packet to host:port. Called by core/bin `send`. Tapped by a transport through
       * `ctx.bin.serveSend` for one protocol (`req.proto`); the first tap that returns a status
       * wins. No tap answers → the send fails and `bin:send_no_transport` counts it.
       */
      send: new SyncBailHook<[BinSendRequest], BinSendStatus | undefined>(["req"]),
      /**
       * 1.10 interface: per-module-name receive hook. Called by core/bin/v110 dispatch for a
       * datagram whose length, marker and CRC passed and whose module name matches the key
       * exactly. Tapped through `ctx.bin.v110.registerCb`; the most recent registration runs
       * first (1.10 calls the first match only); returning `true` stops.
       */
      receiveV110: new HookMap<SyncBailHook<[BinV110ReceiveCtx], true | undefined>>(
        () => new SyncBailHook<[BinV110ReceiveCtx], true | undefined>(["ctx"]),
      ),
      /**
       * 1.10 interface: send a datagram (CRC already written) to host:port from the
       * `bin_listen` socket. Called by core/bin/v110 `send`; tapped by the core's UDP listener
       * when `bin_listen` is set. No tap → "error" (no `bin_listen`).
       */
      sendV110: new SyncBailHook<[BinV110SendRequest], BinSendStatus | undefined>(["req"]),
      /** A peer connection changed. Called by core/bin when a transport reports it (`ctx.bin.peerEvent`). */
      peer: new SyncHook<[BinPeerEvent]>(["ev"]),
    }),
    mi: Object.freeze({
      /** An MI command was registered. Called by core/mi. */
      commandAdded: new SyncHook<[{ module: string; name: string }]>(["cmd"]),
    }),
    stats: Object.freeze({
      /** Statistics are about to be read; refresh computed values. Called by core/mi, and by the core for prometheus (`ctx.collectStats`). */
      collect: new SyncHook<[StatsCollectCtx]>(["ctx"]),
    }),
    /** OpenSIPS-style events by name. Called by core `events.raise` on a module's behalf. */
    events: new HookMap<SyncHook<[EventCtx]>>(() => new SyncHook<[EventCtx]>(["ev"])),
  });
}

export type CoreHooks = ReturnType<typeof createHooks>;
