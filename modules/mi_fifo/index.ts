/**
 * mi_fifo: MI over a named pipe, as OpenSIPS's mi_fifo (spec/mi.md §6). Requests are
 * `:reply-name:{json-rpc}`; the reply is written to the FIFO `reply_dir + reply-name`
 * that the client created.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, chmodSync, chownSync, existsSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { open } from "node:fs/promises";
import { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { TsipsError, defineModule, int, isTsipsError, listenError, str } from "tsips";
import { takeRequests } from "./framing.ts";

const REPLY_OPEN_TRIES = 40; // × 25 ms: the client opens its reply FIFO right after writing

/**
 * Creates the FIFO (replacing a stale one) and opens it. O_RDWR keeps the pipe open between
 * writers; a net.Socket then reads it without parking a threadpool thread. Errors keep their
 * errno (EACCES, ENOENT) so the caller can say what the system refused.
 */
function createFifo(path: string, mode: number, user: string, group: string): number {
  accessSync(dirname(path), constants.W_OK);
  if (existsSync(path)) unlinkSync(path);
  // Node has no mkfifo(3); the coreutils tool does the same call.
  try {
    execFileSync("mkfifo", ["-m", mode.toString(8), path], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? "").trim().replace(/^mkfifo: /, "");
    throw new Error(why || (err as Error).message);
  }
  chmodSync(path, mode);
  const uid = user ? Number(user) : -1;
  const gid = group ? Number(group) : -1;
  if (!Number.isNaN(uid) && !Number.isNaN(gid) && (uid >= 0 || gid >= 0)) chownSync(path, uid, gid);
  return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
}

export default defineModule({
  name: "mi_fifo",
  version: "1.0.0",
  doc: "MI over a named pipe (FIFO)",
  params: {
    fifo_name: str({ default: "/tmp/opensips_fifo", doc: "path of the FIFO to create and read requests from" }),
    fifo_mode: int({ default: 0o660, min: 0, max: 0o777, doc: "permissions of the FIFO (0 → 0600, as OpenSIPS)" }),
    fifo_group: str({ default: "", doc: "group (name or number) to chown the FIFO to" }),
    fifo_user: str({ default: "", doc: "user (name or number) to chown the FIFO to" }),
    reply_dir: str({ default: "/tmp/", doc: "folder where clients create their reply FIFOs" }),
    pretty_printing: int({ default: 0, min: 0, max: 1, doc: "indent replies" }),
    trace_destination: str({ default: "", doc: "MI tracing", ignored: "tsips has no MI tracing" }),
    trace_bwlist: str({ default: "", doc: "MI tracing filter", ignored: "tsips has no MI tracing" }),
  },
  stats: {
    requests: { doc: "requests read from the FIFO" },
    bad_requests: { doc: "malformed requests dropped" },
    reply_failures: { doc: "replies that could not be written" },
  },
  async init(ctx) {
    const { fifo_name: path, reply_dir } = ctx.params;
    const mode = ctx.params.fifo_mode === 0 ? 0o600 : ctx.params.fifo_mode;
    if (ctx.params.fifo_mode === 0) ctx.log.warn("fifo_mode 0 forced to 0600");
    if (!existsSync(reply_dir) || !statSync(reply_dir).isDirectory()) {
      throw new TsipsError("TSIPS_ERR_FILE", `reply_dir "${reply_dir}" is not an existing folder`, { module: "mi_fifo", location: ctx.cfgLocation("reply_dir") });
    }
    let fd: number;
    try {
      fd = createFifo(path, mode, ctx.params.fifo_user, ctx.params.fifo_group);
    } catch (err) {
      throw isTsipsError(err) ? err : listenError(`fifo:${path}`, err, { module: "mi_fifo", location: ctx.cfgLocation("fifo_name") });
    }
    const sock = new Socket({ fd, readable: true, writable: false });
    let buf = "";
    const replyTo = async (name: string, text: string): Promise<void> => {
      const target = `${reply_dir.endsWith("/") ? reply_dir : `${reply_dir}/`}${name}`;
      for (let t = 0; t < REPLY_OPEN_TRIES; t++) {
        try {
          const out = await open(target, constants.O_WRONLY | constants.O_NONBLOCK);
          try {
            await out.write(text);
          } finally {
            await out.close();
          }
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENXIO" && (err as NodeJS.ErrnoException).code !== "ENOENT") break;
          await sleep(25);
        }
      }
      ctx.stats.inc("reply_failures");
      ctx.log.warn({ target }, "cannot write the MI reply: no reader on the reply FIFO");
    };
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      const { requests, rest } = takeRequests(buf + chunk);
      buf = rest.length > 1 << 20 ? "" : rest;
      for (const r of requests) {
        if ("error" in r) {
          ctx.stats.inc("bad_requests");
          ctx.log.warn(r.error);
          continue;
        }
        ctx.stats.inc("requests");
        void ctx.mi.handleJsonRpc(r.body, { pretty: ctx.params.pretty_printing === 1 }).then(async (outcome) => {
          if (!r.replyName) return;
          let text = "";
          if (outcome.kind === "text") text = outcome.text;
          else if (outcome.kind === "stream") for await (const c of outcome.chunks) text += c;
          await replyTo(r.replyName, text);
        }, (err: unknown) => ctx.log.error({ err }, "MI request over FIFO failed"));
      }
    });
    sock.on("error", (err) => ctx.log.error({ err }, "FIFO read error"));
    ctx.listening(`fifo:${path}`);
    return { path, close: () => sock.destroy() };
  },
  destroy(ctx, api) {
    api?.close();
    try {
      unlinkSync(ctx.params.fifo_name);
    } catch {
      // already gone
    }
  },
});
