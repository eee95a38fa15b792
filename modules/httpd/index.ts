/**
 * httpd: the embedded HTTP server other modules mount handlers on (OpenSIPS modules/httpd).
 * mi_http serves JSON-RPC on `/mi`, prometheus serves `/metrics`.
 */
import { defineModule, int, str } from "tsips";
import type { HttpdApi } from "./api.ts";
import { HttpdServer } from "./server.ts";

export type { HttpdApi } from "./api.ts";

export default defineModule({
  name: "httpd",
  version: "1.0.0",
  doc: "embedded HTTP/1.1 server; other modules mount handlers on URL roots",
  params: {
    ip: str({
      default: "127.0.0.1",
      doc: "address to listen on; `*` = every IPv4 and IPv6 address (OpenSIPS's default when unset; tsips defaults to loopback)",
    }),
    port: int({ default: 8888, min: 0, max: 65535, doc: "TCP port; 0 = an ephemeral port (see the API's address())" }),
    receive_buf_size: int({
      default: 1048576,
      min: 1,
      doc: "largest request body accepted, in bytes; larger → 413 and the connection is closed (OpenSIPS default 1024; tsips 1 MiB so batches fit)",
    }),
    conn_timeout: int({
      default: 30,
      min: 1,
      doc: "seconds a connection may stay idle, take to send its headers or its whole request, or stall while a reply is written",
    }),
    tls_cert_file: str({ default: "", doc: "PEM certificate file; with tls_key_file the server speaks HTTPS" }),
    tls_key_file: str({ default: "", doc: "PEM private key file for tls_cert_file" }),
    buf_size: int({ default: 0, min: 0, doc: "reply buffer size", ignored: "replies are streamed; there is no reply buffer to size" }),
    post_buf_size: int({
      default: 1024,
      min: 256,
      doc: "libmicrohttpd POST processor buffer",
      ignored: "no POST processor buffer in node:http; the request size limit is receive_buf_size",
    }),
    tls_ciphers: str({
      default: "",
      doc: "GnuTLS priority string",
      ignored: "GnuTLS priority strings do not map to OpenSSL cipher lists; node's TLS defaults apply",
    }),
  },
  async init(ctx): Promise<HttpdApi> {
    const p = ctx.params;
    if ((p.tls_cert_file === "") !== (p.tls_key_file === "")) {
      ctx.log.warn("httpd: tls_cert_file and tls_key_file must be set together; serving plain HTTP");
    }
    const server = new HttpdServer({
      ip: p.ip,
      port: p.port,
      maxBodyBytes: p.receive_buf_size,
      timeoutMs: p.conn_timeout * 1000,
      ...(p.tls_cert_file && p.tls_key_file ? { tls: { certFile: p.tls_cert_file, keyFile: p.tls_key_file } } : {}),
      log: ctx.log,
      locate: (...params) => ctx.cfgLocation(...params),
    });
    await server.listen();
    const a = server.address();
    const where = server.hostPort();
    ctx.listening(`${a.tls ? "https" : "http"}:${where}`);
    ctx.log.info({ host: a.host, port: a.port, tls: a.tls }, `httpd listening on ${a.tls ? "https" : "http"}://${where}`);
    return server;
  },
  async destroy(_ctx, api) {
    if (api instanceof HttpdServer) await api.close();
  },
});
