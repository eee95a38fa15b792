/**
 * The HTTP(S) server behind the httpd module: one node:http server, handlers mounted by
 * URL root, a request body limit, and timeouts so that idle or slow clients are closed
 * (OpenSIPS's httpd is libmicrohttpd; `conn_timeout` is its inactivity timeout).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { TsipsError, listenError, readConfiguredFile, type Location, type TsipsLogger } from "tsips";
import type { HttpdApi, HttpdHandler } from "./api.ts";

export interface HttpdOptions {
  /** Address to bind; `*` or `""` = every address (IPv6 dual stack, else IPv4). */
  ip: string;
  port: number;
  /** Request body limit, bytes. */
  maxBodyBytes: number;
  /** Inactivity / header / request timeout, ms. */
  timeoutMs: number;
  tls?: { certFile: string; keyFile: string };
  log: TsipsLogger;
  /** Where the config asked for what failed (a modparam, else the loadmodule line): ip/port, tls_cert_file, tls_key_file. */
  locate?: (...params: string[]) => Location;
}

/** Coalesce streamed fragments into writes of about this size. */
const WRITE_CHUNK = 64 * 1024;
/** Longest time a streaming writer keeps the event loop before yielding. */
const SLICE_MS = 8;
/** After a 413, keep reading (and dropping) what the client still sends for this long before closing, so it can read the reply. */
const LINGER_MS = 1000;

const HTML = (text: string): string => `<html><body>${text}</body></html>`;

interface Mount {
  root: string;
  handler: HttpdHandler;
  module: string | undefined;
}

export class HttpdServer implements HttpdApi {
  readonly maxBodyBytes: number;
  private readonly server: Server;
  private readonly mounts: Mount[] = [];
  private bound: { host: string; port: number; tls: boolean } | undefined;
  private readonly log: TsipsLogger;

  constructor(private readonly opts: HttpdOptions) {
    this.maxBodyBytes = opts.maxBodyBytes;
    this.log = opts.log;
    const serverOpts = {
      requestTimeout: opts.timeoutMs,
      headersTimeout: opts.timeoutMs,
      // How often node checks headersTimeout/requestTimeout (default 30 s would let a slow
      // client live well past the timeout).
      connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(opts.timeoutMs / 4))),
      noDelay: true,
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => this.dispatch(req, res);
    this.server = opts.tls ? this.httpsServer(opts.tls, serverOpts, onRequest) : createHttpServer(serverOpts, onRequest);
    this.server.keepAliveTimeout = opts.timeoutMs;
    // Socket inactivity (also covers a client that stops reading a streamed reply).
    this.server.timeout = opts.timeoutMs;
    // Unlimited requests per keep-alive connection.
    this.server.maxRequestsPerSocket = 0;
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      // Malformed request line/headers, header or request timeout: answer if we still can.
      if (socket.writable && !socket.destroyed) {
        const code = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout"
          : err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
        socket.end(`HTTP/1.1 ${code}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
  }

  /** An unreadable or unusable certificate/key is TSIPS_ERR_FILE at its modparam. */
  private httpsServer(tls: { certFile: string; keyFile: string }, serverOpts: object,
    onRequest: (req: IncomingMessage, res: ServerResponse) => void): Server {
    const at = (param: string): { module: string; location?: Location } =>
      ({ module: "httpd", ...(this.opts.locate ? { location: this.opts.locate(param) } : {}) });
    const cert = readConfiguredFile(tls.certFile, "tls_cert_file", at("tls_cert_file"));
    const key = readConfiguredFile(tls.keyFile, "tls_key_file", at("tls_key_file"));
    try {
      return createHttpsServer({ ...serverOpts, cert, key }, onRequest);
    } catch (err) {
      throw new TsipsError("TSIPS_ERR_FILE",
        `tls_cert_file "${tls.certFile}" and tls_key_file "${tls.keyFile}" are not a usable PEM certificate and key: ${(err as Error).message}`,
        { ...at("tls_cert_file"), cause: err });
    }
  }

  /** Binds; rejects with TSIPS_ERR_LISTEN (port in use, bad address) located at the ip/port modparam. */
  async listen(): Promise<void> {
    const any = this.opts.ip === "*" || this.opts.ip === "";
    try {
      await this.bind(any ? "::" : this.opts.ip);
    } catch (err) {
      if (any && (err as NodeJS.ErrnoException).code === "EAFNOSUPPORT") await this.bind("0.0.0.0");
      else {
        // An address this host does not have is the ip's fault; anything else (in use, privileged) the port's.
        const blame = (err as NodeJS.ErrnoException).code === "EADDRNOTAVAIL" ? ["ip", "port"] : ["port", "ip"];
        throw listenError(`http:${this.opts.ip}:${this.opts.port}`, err,
          { module: "httpd", ...(this.opts.locate ? { location: this.opts.locate(...blame) } : {}) });
      }
    }
    const a = this.server.address() as AddressInfo;
    this.bound = { host: any ? "*" : a.address, port: a.port, tls: this.opts.tls !== undefined };
  }

  private bind(host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once("error", onError);
      this.server.listen({ host, port: this.opts.port, ipv6Only: false }, () => {
        this.server.off("error", onError);
        resolve();
      });
    });
  }

  /** Stops listening, closes idle connections now and busy ones after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  address(): { host: string; port: number; tls: boolean } {
    if (!this.bound) throw new TsipsError("TSIPS_ERR_MODULE", "httpd: not listening", { module: "httpd" });
    return this.bound;
  }

  /** Open client connections (diagnostics, tests). */
  connectionCount(): Promise<number> {
    return new Promise((resolve, reject) => this.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  /** The bound `host:port` (IPv6 in brackets; "every address" as the wildcard actually bound). */
  hostPort(): string {
    const a = this.server.address() as AddressInfo;
    return `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** OpenSIPS's process description of the server (`HTTPD 127.0.0.1:8888`, `HTTPD *:8888`). */
  describe(): string {
    const a = this.address();
    return `HTTPD ${a.host === "*" ? "*" : a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  }

  mount(root: string, handler: HttpdHandler, opts: { module?: string } = {}): () => void {
    const r = root.replace(/^\/+|\/+$/g, "");
    const other = this.mounts.find((m) => m.root === r);
    if (other) {
      throw new TsipsError("TSIPS_ERR_MODULE",
        `httpd: URL root "/${r}" of ${opts.module ?? "a module"} is already mounted by ${other.module ?? "another module"}`,
        { module: opts.module ?? "httpd" });
    }
    const m: Mount = { root: r, handler, module: opts.module };
    this.mounts.push(m);
    // Longest root first, so "/mi/x" could be mounted beside "/mi".
    this.mounts.sort((a, b) => b.root.length - a.root.length);
    return () => {
      const i = this.mounts.indexOf(m);
      if (i >= 0) this.mounts.splice(i, 1);
    };
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? "" : url.slice(q + 1);
    if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") {
      // libmicrohttpd-based httpd answers other methods 406.
      return this.plain(res, 406, HTML("Unsupported HTTP request method"));
    }
    const m = this.mounts.find((x) => x.root === "" || path === `/${x.root}` || path.startsWith(`/${x.root}/`));
    if (!m) return this.plain(res, 400, HTML("Unable to parse URL!"));
    const subPath = m.root === "" ? path : path.slice(m.root.length + 1);
    let ret: void | Promise<void>;
    try {
      ret = m.handler(req, res, { path, subPath, query });
    } catch (err) {
      return this.failed(res, m, err);
    }
    if (ret && typeof (ret as Promise<void>).then === "function") (ret as Promise<void>).catch((err) => this.failed(res, m, err));
  }

  private failed(res: ServerResponse, m: Mount, err: unknown): void {
    this.log.error({ err, root: m.root, handler: m.module }, `httpd: handler of /${m.root} failed`);
    if (!res.headersSent && !res.destroyed) this.plain(res, 500, "");
    else res.destroy();
  }

  private plain(res: ServerResponse, status: number, body: string, close = false): void {
    res.writeHead(status, {
      "Content-Type": body ? "text/html" : "text/plain",
      "Content-Length": Buffer.byteLength(body),
      ...(close ? { Connection: "close" } : {}),
    });
    res.end(body);
  }

  readBody(req: IncomingMessage, res: ServerResponse, limit = this.maxBodyBytes): Promise<Buffer | undefined> {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      this.tooLarge(req, res, limit);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const parts: Buffer[] = [];
      let size = 0;
      const finish = (v: Buffer | undefined): void => {
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("close", onClose);
        resolve(v);
      };
      const onData = (b: Buffer): void => {
        size += b.length;
        if (size > limit) {
          finish(undefined);
          this.tooLarge(req, res, limit);
          return;
        }
        parts.push(b);
      };
      const onEnd = (): void => finish(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
      // The client went away before the body was complete.
      const onClose = (): void => finish(undefined);
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("close", onClose);
    });
  }

  /**
   * 413 and close. The client may still be sending its body: closing the socket with
   * unread data makes the kernel send a TCP reset, which can destroy the 413 before the
   * client reads it. So the connection lingers: node's close-after-reply (`destroySoon`)
   * becomes a half-close (FIN), what still arrives is read and dropped, and the socket is
   * destroyed when the client closes or after LINGER_MS.
   */
  private tooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
    this.log.warn({ limit, declared: req.headers["content-length"] }, "httpd: request body over receive_buf_size, refused (413)");
    const socket = req.socket as Socket & { destroySoon?: () => void };
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    socket.destroySoon = function lingeringClose(this: Socket): void {
      this.end();
    };
    req.on("data", () => {});
    req.resume();
    this.plain(res, 413, HTML(`Request body too large (limit ${limit} bytes)`), true);
  }

  async writeChunks(res: ServerResponse, chunks: AsyncIterable<string>): Promise<boolean> {
    const it = chunks[Symbol.asyncIterator]();
    let pending: string[] = [];
    let pendingSize = 0;
    let sliceStart = performance.now();
    // A pipelined response has no socket of its own until the ones before it are done (node
    // buffers its writes meanwhile): watch the connection through its request.
    const conn = res.socket ?? res.req.socket;
    const gone = (): boolean => res.destroyed || conn.destroyed;
    const flush = async (): Promise<boolean> => {
      const text = pending.length === 1 ? pending[0]! : pending.join("");
      pending = [];
      pendingSize = 0;
      if (gone()) return false;
      if (!res.write(text)) await drained(res, conn);
      return !gone();
    };
    try {
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        pending.push(n.value);
        pendingSize += n.value.length;
        if (pendingSize >= WRITE_CHUNK && !(await flush())) {
          await it.return?.();
          return false;
        }
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToLoop();
          sliceStart = performance.now();
          if (gone()) {
            await it.return?.();
            return false;
          }
        }
      }
      if (pendingSize > 0 && !(await flush())) return false;
      res.end();
      return true;
    } catch (err) {
      this.log.error({ err }, "httpd: streamed reply failed; connection cut");
      res.destroy();
      return false;
    }
  }
}

/** Resolves when the response can take more data, or it or its connection is closed. */
function drained(res: ServerResponse, conn: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      conn.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
    conn.on("close", done);
  });
}
