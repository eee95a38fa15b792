/**
 * The httpd module's API (OpenSIPS `modules/httpd/httpd_load.h`, `register_httpdcb`):
 * other modules mount a handler on a URL root and get node's request/response objects.
 * Consumers declare `need<HttpdApi>("httpd")` and `import type` from this file only.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** What a handler learns about the request besides node's objects. */
export interface HttpdRequestInfo {
  /** URL path without the query string, e.g. `/mi/x`. */
  readonly path: string;
  /** The part after the mounted root, e.g. `/x` for `/mi/x` on root `mi`; `""` for exactly `/mi`. */
  readonly subPath: string;
  /** The query string without `?` (`""` if none). */
  readonly query: string;
}

/**
 * Answers one request. It must end `res` (or destroy it); a throw or rejection is logged
 * and answered with 500 if nothing was sent yet, else the connection is cut.
 */
export type HttpdHandler = (req: IncomingMessage, res: ServerResponse, info: HttpdRequestInfo) => void | Promise<void>;

export interface HttpdApi {
  /**
   * Mounts `handler` on `/<root>` and everything under `/<root>/` (OpenSIPS's root match).
   * Roots are compared without leading/trailing slashes; a root already mounted →
   * TsipsError TSIPS_ERR_MODULE. Returns the unmount function.
   */
  mount(root: string, handler: HttpdHandler, opts?: { module?: string }): () => void;
  /** The bound address (port 0 in the cfg → the ephemeral port the OS chose). */
  address(): { host: string; port: number; tls: boolean };
  /** The request body limit in bytes (`receive_buf_size`). */
  readonly maxBodyBytes: number;
  /**
   * Reads the whole request body. Over the limit (by Content-Length or while reading) the
   * request is answered 413 and the connection closed; a client that goes away resolves
   * `undefined` too. Only call before writing anything to `res`.
   */
  readBody(req: IncomingMessage, res: ServerResponse, limit?: number): Promise<Buffer | undefined>;
  /**
   * Writes text fragments as the response body with backpressure: fragments are coalesced
   * into ~64 KB writes, the writer waits for `drain` when the socket buffer is full, and
   * yields to the event loop at least every few milliseconds, so other requests keep being
   * served while a large reply goes out. Ends the response. Resolves false if the client
   * went away or the producer failed (the connection is then cut and the producer's
   * iterator closed).
   */
  writeChunks(res: ServerResponse, chunks: AsyncIterable<string>): Promise<boolean>;
}
