/**
 * A tiny HTTP/1.1 client on a raw socket for MI transport tests: exact control over what
 * is written and when (slow clients, oversized bodies, aborted requests, thousands of
 * requests on one keep-alive connection), and a response parser (Content-Length or chunked).
 */
import { connect, type Socket } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Incremental response parser state. */
interface Parsing {
  status: number;
  headers: Record<string, string>;
  parts: Buffer[];
  /** Body bytes still expected: Content-Length left, or the current chunk's remaining bytes. */
  left: number;
  mode: "length" | "chunked" | "close";
  /** chunked: waiting for the CRLF after a chunk's data. */
  chunkTrailer: boolean;
  /** chunked: the zero-size chunk was read. */
  lastChunk: boolean;
}

export class RawHttpConnection {
  private pending = Buffer.alloc(0);
  private parsing: Parsing | undefined;
  private readonly ready: RawResponse[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Resolves when the server closed or reset the connection. */
  readonly closed: Promise<void>;
  error: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.feed(d);
      this.waiter?.();
    });
    socket.on("error", (e) => {
      this.error = e;
    });
    this.closed = new Promise((resolve) => socket.on("close", () => {
      this.ended = true;
      if (this.parsing?.mode === "close") this.complete();
      this.waiter?.();
      resolve();
    }));
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, noDelay: true });
      s.once("connect", () => resolve(new RawHttpConnection(s)));
      s.once("error", reject);
    });
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Writes a request and reads its response. */
  async request(method: string, path: string, opts: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawResponse> {
    const body = opts.body ?? "";
    const headers: Record<string, string> = { Host: "127.0.0.1", ...(opts.body !== undefined ? { "Content-Length": String(Buffer.byteLength(body)) } : {}), ...opts.headers };
    this.write(`${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${body}`);
    return this.response(opts.timeoutMs);
  }

  /** A JSON-RPC POST to `path`. */
  post(path: string, body: string, timeoutMs?: number): Promise<RawResponse> {
    return this.request("POST", path, { body, headers: { "Content-Type": "application/json" }, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /** Reads the next response (rejects if the connection closes first, or after timeoutMs). */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.ready.shift();
      if (r) return r;
      if (this.ended) throw new Error(`connection closed before a complete response${this.error ? ` (${this.error.message})` : ""}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a response");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  private complete(): void {
    const p = this.parsing!;
    this.parsing = undefined;
    this.ready.push({ status: p.status, headers: p.headers, body: Buffer.concat(p.parts).toString("utf8") });
  }

  /** Consumes bytes; body bytes go straight to the response's parts (linear in the reply size). */
  private feed(d: Buffer): void {
    let buf = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
    this.pending = Buffer.alloc(0);
    for (;;) {
      const p = this.parsing;
      if (!p) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = buf.subarray(0, end).toString("latin1").split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const c = line.indexOf(":");
          headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
        }
        const chunked = headers["transfer-encoding"] === "chunked";
        const len = headers["content-length"];
        this.parsing = {
          status: Number(head[0]!.split(" ")[1]),
          headers,
          parts: [],
          left: chunked ? -1 : len !== undefined ? Number(len) : 0,
          mode: chunked ? "chunked" : len !== undefined ? "length" : "close",
          chunkTrailer: false,
          lastChunk: false,
        };
        buf = buf.subarray(end + 4);
        if (this.parsing.mode === "length" && this.parsing.left === 0) this.complete();
        continue;
      }
      if (p.mode === "close") {
        p.parts.push(buf);
        buf = buf.subarray(buf.length);
        break;
      }
      if (p.mode === "length") {
        const take = Math.min(p.left, buf.length);
        p.parts.push(buf.subarray(0, take));
        p.left -= take;
        buf = buf.subarray(take);
        if (p.left === 0) {
          this.complete();
          continue;
        }
        break;
      }
      // chunked
      if (p.chunkTrailer) {
        if (buf.length < 2) break;
        buf = buf.subarray(2);
        p.chunkTrailer = false;
        if (p.lastChunk) this.complete();
        continue;
      }
      if (p.left > 0) {
        const take = Math.min(p.left, buf.length);
        p.parts.push(buf.subarray(0, take));
        p.left -= take;
        buf = buf.subarray(take);
        if (p.left === 0) p.chunkTrailer = true;
        if (buf.length === 0) break;
        continue;
      }
      const lineEnd = buf.indexOf("\r\n");
      if (lineEnd < 0) break;
      const size = Number.parseInt(buf.subarray(0, lineEnd).toString("latin1"), 16);
      buf = buf.subarray(lineEnd + 2);
      if (size === 0) {
        // Last chunk: complete after its CRLF (node sends no trailers).
        p.lastChunk = true;
        p.chunkTrailer = true;
        continue;
      }
      p.left = size;
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }
}
