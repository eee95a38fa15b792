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

export class RawHttpConnection {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Resolves when the server closed or reset the connection. */
  readonly closed: Promise<void>;
  error: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    socket.on("error", (e) => {
      this.error = e;
    });
    this.closed = new Promise((resolve) => socket.on("close", () => {
      this.ended = true;
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
  async request(method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
    const body = opts.body ?? "";
    const headers: Record<string, string> = { Host: "127.0.0.1", ...(opts.body !== undefined ? { "Content-Length": String(Buffer.byteLength(body)) } : {}), ...opts.headers };
    this.write(`${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${body}`);
    return this.response();
  }

  /** A JSON-RPC POST to `path`. */
  post(path: string, body: string): Promise<RawResponse> {
    return this.request("POST", path, { body, headers: { "Content-Type": "application/json" } });
  }

  /** Reads the next response (rejects if the connection closes first, or after timeoutMs). */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.tryParse();
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

  private tryParse(): RawResponse | undefined {
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const head = this.buf.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(head[0]!.split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const c = line.indexOf(":");
      headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
    }
    let pos = end + 4;
    let body: Buffer;
    if (headers["transfer-encoding"] === "chunked") {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = this.buf.indexOf("\r\n", pos);
        if (lineEnd < 0) return undefined;
        const size = Number.parseInt(this.buf.subarray(pos, lineEnd).toString("latin1"), 16);
        if (this.buf.length < lineEnd + 2 + size + 2) return undefined;
        parts.push(this.buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        pos = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      if (this.buf.length < pos + n) return undefined;
      body = this.buf.subarray(pos, pos + n);
      pos += n;
    } else {
      if (!this.ended) return undefined;
      body = this.buf.subarray(pos);
      pos = this.buf.length;
    }
    this.buf = this.buf.subarray(pos);
    return { status, headers, body: body.toString("utf8") };
  }
}
