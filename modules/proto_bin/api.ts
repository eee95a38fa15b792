/**
 * The API `proto_bin` returns from init (types only; dependents and tests `import type` it).
 * Sending and receiving go through the core (`ctx.bin.send`, `ctx.bin.registerCb`); this API
 * is for inspection, tests and orderly flushing.
 */

/** A listening BIN socket, with the address it is really bound to (port 0 resolved). */
export interface BinListenerInfo {
  host: string;
  port: number;
  /** `bin:host:port` as the ready line prints it (IPv6 in brackets). */
  url: string;
}

/** One TCP connection as the transport sees it. */
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

export interface ProtoBinApi {
  /** Every BIN listener with its bound address (ephemeral ports resolved). */
  listeners(): BinListenerInfo[];
  /** Number of open or connecting connections (inbound and outbound). */
  connections(): number;
  /** Details of every connection. */
  connectionList(): BinConnectionInfo[];
  /**
   * Writes every batched packet now and resolves once each connection's output has reached
   * the kernel (or the connection closed). With `timeoutMs`, resolves after that long at the
   * latest (a peer that never reads would otherwise keep it pending).
   */
  flush(timeoutMs?: number): Promise<void>;
}
