/**
 * mi_http: MI over JSON-RPC 2.0 on `POST /<root>` of the httpd server (OpenSIPS
 * modules/mi_http). Replies are HTTP 200 for every JSON-RPC reply (success and error),
 * 202 with no body for notifications; HTTP-level faults get 4xx (see README).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { defineModule, int, need, str, type MiHost, type TsipsLogger } from "tsips";
import type { HttpdApi } from "../httpd/api.ts";

export interface MiHttpApi {
  /** The URL path served, e.g. `/mi`. */
  readonly path: string;
}

const JSON_TYPE = "application/json";

function empty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "Content-Length": 0 });
  res.end();
}

/** The request handler (exported for tests that drive it without the module loader). */
export function miHttpHandler(mi: MiHost, httpd: HttpdApi, opts: { pretty: boolean; log: TsipsLogger }) {
  const jsonOpts = { batch: true, pretty: opts.pretty };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "POST") return empty(res, 405, { Allow: "POST" });
    const ct = req.headers["content-type"];
    const media = ct === undefined ? "" : ct.split(";", 1)[0]!.trim().toLowerCase();
    if (media !== JSON_TYPE) return empty(res, 415, { Accept: JSON_TYPE });
    const body = await httpd.readBody(req, res);
    if (body === undefined) return; // answered 413, or the client went away
    if (body.length === 0) return empty(res, 400);
    const outcome = await mi.handleJsonRpc(body.toString("utf8"), jsonOpts);
    if (res.destroyed) {
      if (outcome.kind === "stream") await outcome.chunks[Symbol.asyncIterator]().return?.();
      return;
    }
    switch (outcome.kind) {
      case "none":
        return empty(res, 202);
      case "text":
        res.writeHead(200, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(outcome.text) });
        res.end(outcome.text);
        return;
      case "stream":
        res.writeHead(200, { "Content-Type": JSON_TYPE });
        if (!(await httpd.writeChunks(res, outcome.chunks))) opts.log.debug("mi_http: streamed reply not completed (client gone or producer failed)");
        return;
    }
  };
}

export default defineModule({
  name: "mi_http",
  version: "1.0.0",
  doc: "MI commands over JSON-RPC 2.0 on HTTP (POST /mi)",
  params: {
    root: str({ default: "mi", doc: "URL root: requests go to http://<ip>:<port>/<root>" }),
    pretty_printing: int({ default: 0, min: 0, max: 1, doc: "1 = indent replies like OpenSIPS (streamed results stay compact)" }),
    trace_destination: str({ default: "", doc: "MI tracing destination", ignored: "MI tracing (proto_hep) is not implemented" }),
    trace_bwlist: str({ default: "", doc: "MI tracing black/white list", ignored: "MI tracing (proto_hep) is not implemented" }),
  },
  deps: { httpd: need<HttpdApi>("httpd") },
  init(ctx): MiHttpApi & { unmount: () => void } {
    const handler = miHttpHandler(ctx.mi, ctx.deps.httpd, { pretty: ctx.params.pretty_printing === 1, log: ctx.log });
    const unmount = ctx.deps.httpd.mount(ctx.params.root, handler, { module: "mi_http" });
    const path = `/${ctx.params.root.replace(/^\/+|\/+$/g, "")}`;
    const a = ctx.deps.httpd.address();
    ctx.log.info(`mi_http serving JSON-RPC on ${a.tls ? "https" : "http"}://${a.host}:${a.port}${path}`);
    return { path, unmount };
  },
  destroy(_ctx, api) {
    api?.unmount();
  },
});
