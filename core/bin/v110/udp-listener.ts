/**
 * The `bin_listen` socket (spec/bin-1.10.md §4): one UDP socket per node, bound to the
 * configured address, read by the event loop and used for every 1.10 send, so each datagram's
 * source is the `bin_listen` address as in 1.10. No handshake, no ack, no retransmission.
 *
 * Not copied from 1.10: a failed `recvfrom` never stops the node (Node's dgram has no
 * uninitialised address length), and a send without `bin_listen` is refused, not a crash.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { TsipsError } from "../../errors.ts";
import type { BinSendStatus, CoreHooks } from "../../hooks.ts";
import type { TsipsLogger } from "../../log.ts";
import type { BinV110Core } from "./dispatch.ts";
import { V110_MAX_PACKET_SIZE } from "./packet.ts";

export interface BinListenAddress {
  host: string;
  port: number;
}

/** Parses a stored `bin_listen` value ("HOST:PORT", IPv6 as "[addr]:PORT"). */
export function parseBinListen(value: string): BinListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  if (!m) throw new TsipsError("TSIPS_ERR_CFG_VALUE", `bin_listen '${value}' is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

export class BinUdpListener {
  private socket: Socket | undefined;
  private address: BinListenAddress | undefined;
  private tapped = false;

  constructor(
    private readonly core: BinV110Core,
    private readonly hooks: CoreHooks,
    private readonly log: TsipsLogger,
  ) {}

  /** `udp:IP:PORT` of the bound socket. */
  get sockStr(): string | undefined {
    if (!this.address) return undefined;
    const h = this.address.host.includes(":") ? `[${this.address.host}]` : this.address.host;
    return `udp:${h}:${this.address.port}`;
  }

  /** Binds the socket and starts serving `bin.sendV110`. Rejects with TSIPS_ERR_BIN_SEND-free bind errors. */
  async open(addr: BinListenAddress): Promise<void> {
    const type = isIP(addr.host) === 6 ? "udp6" : "udp4";
    const socket = createSocket({ type, recvBufferSize: 4 * 1024 * 1024 });
    socket.on("message", (msg, rinfo) => {
      // deliver never throws; this guard only keeps a future bug from killing the socket.
      try {
        this.core.deliver(msg, { proto: "udp", host: rinfo.address, port: rinfo.port });
      } catch (err) {
        this.log.error({ err }, "1.10 BIN receive failed");
      }
    });
    socket.on("error", (err) => this.log.error({ err }, `bin_listen socket ${this.sockStr ?? ""} error`));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new TsipsError("TSIPS_ERR_CFG_VALUE",
        `bin_listen = ${addr.host}:${addr.port}: cannot bind (${err.message})`, { cause: err }));
      socket.once("error", onError);
      socket.bind({ address: addr.host, port: addr.port, exclusive: true }, () => {
        socket.off("error", onError);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // the kernel may cap it; the default still works
    }
    const bound = socket.address();
    this.socket = socket;
    this.address = { host: bound.address, port: bound.port };
    this.core.listenSocket = this.sockStr;
    if (!this.tapped) {
      this.tapped = true;
      // After close the tap answers nothing, so the core reports "no bin_listen".
      this.hooks.bin.sendV110.tap({ name: "core" }, (req) => (this.socket ? this.send(req.bytes, req.host, req.port) : undefined));
    }
  }

  private send(bytes: Uint8Array, host: string, port: number): BinSendStatus {
    const s = this.socket;
    if (!s) return "error";
    if (bytes.length > V110_MAX_PACKET_SIZE) return "error";
    try {
      s.send(bytes, port, host, (err) => {
        if (err) this.log.warn({ err: err.message, dest: `${host}:${port}` }, "binary packet UDP send failed!");
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, dest: `${host}:${port}` }, "binary packet UDP send failed!");
      return "error";
    }
    return "sent";
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    this.core.listenSocket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
