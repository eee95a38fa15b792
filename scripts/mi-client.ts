/**
 * MI client: runs one MI command over mi_http and prints the result.
 *
 *   npm run mi -- [-u URL] [--json] <command> [value ... | name=value ...]
 *
 * Parameters (values are sent as JSON strings, like opensips-cli; the MI layer converts
 * numeric strings where a command takes an integer):
 *   value          positional parameter            `npm run mi -- which uptime`
 *   name=value     named parameter                 `npm run mi -- help mi_cmd=uptime`
 *   name:=JSON     named parameter, raw JSON       `npm run mi -- get_statistics 'statistics:=["core:"]'`
 * Positional and named parameters cannot be mixed. For get_statistics, list_statistics and
 * reset_statistics the positional values form the one array parameter, as opensips-cli
 * does: `npm run mi -- get_statistics all`, `npm run mi -- get_statistics core: shmem:`.
 *
 * Options: -u/--url (default $TSIPS_MI_URL or http://127.0.0.1:8888/mi), --json (print the
 * result as compact JSON on one line instead of indented), -h/--help.
 * Exit status: 0 success; 1 JSON-RPC error (message on stderr); 2 usage, HTTP or
 * connection failure.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { pathToFileURL } from "node:url";
import { watchEvents } from "./mi-watch.ts";

const DEFAULT_URL = "http://127.0.0.1:8888/mi";

/** Commands whose positional values are one array parameter (opensips-cli's list). */
const ARRAY_COMMANDS = new Set(["get_statistics", "list_statistics", "reset_statistics"]);

export const USAGE = `usage: npm run mi -- [-u URL] [--json] <command> [value ... | name=value ... | name:=JSON ...]
       npm run mi -- [-u URL] [--json] watch EVENT... [--listen=HOST:PORT] [--expire=S] [--count=N]
  -u, --url URL   mi_http endpoint (default $TSIPS_MI_URL or ${DEFAULT_URL})
  --json          print the result as compact JSON on one line
  -h, --help      this help`;

type Params = string[] | Record<string, unknown> | undefined;

export interface Invocation {
  url: string;
  json: boolean;
  method: string;
  params: Params;
}

export class UsageError extends Error {}

/** Parses the command line (without node and script). */
export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined> = process.env): Invocation | "help" {
  let url = env["TSIPS_MI_URL"] || DEFAULT_URL;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (rest.length === 0 && (a === "-u" || a === "--url")) {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a URL`);
      url = v;
    } else if (rest.length === 0 && a.startsWith("--url=")) url = a.slice(6);
    else if (rest.length === 0 && a === "--json") json = true;
    else if (rest.length === 0 && (a === "-h" || a === "--help")) return "help";
    else if (rest.length === 0 && a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else rest.push(a);
  }
  const method = rest.shift();
  if (!method) throw new UsageError("no command given");
  const named = rest.filter((a) => /^[A-Za-z_][A-Za-z0-9_]*:?=/.test(a));
  let params: Params;
  if (rest.length === 0) params = undefined;
  else if (named.length === rest.length) {
    const obj: Record<string, unknown> = {};
    for (const a of rest) {
      const eq = a.indexOf("=");
      if (a[eq - 1] === ":") {
        const name = a.slice(0, eq - 1);
        try {
          obj[name] = JSON.parse(a.slice(eq + 1));
        } catch {
          throw new UsageError(`${name}:= needs a JSON value, got ${a.slice(eq + 1)}`);
        }
      } else obj[a.slice(0, eq)] = a.slice(eq + 1);
    }
    params = obj;
  } else if (named.length === 0) {
    params = ARRAY_COMMANDS.has(method) ? ([rest] as unknown as string[]) : rest;
  } else {
    throw new UsageError("positional and name=value parameters cannot be mixed");
  }
  return { url, json, method, params };
}

/**
 * POSTs a JSON body. node:http rather than fetch: fetch refuses "bad ports" (5060, 6000,
 * ...), which an operator may well give httpd.
 */
function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`bad URL ${url}`));
      return;
    }
    const send = u.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(u, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** Runs the client; returns the exit status. */
export async function main(argv: readonly string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
  opts: { stop?: AbortSignal } = {}): Promise<number> {
  let inv: Invocation | "help";
  try {
    inv = parseCommandLine(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (inv === "help") {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (inv.method === "watch") {
    const args = Array.isArray(inv.params) ? inv.params : [];
    return watchEvents(inv, args, io, async (method, params) => {
      try {
        const { status, text } = await post(inv.url, JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }));
        const reply = JSON.parse(text) as { error?: { code: number; message: string } };
        if (status !== 200 || reply.error) return { ok: false, message: reply.error ? `${reply.error.code} ${reply.error.message}` : `HTTP ${status}` };
        return { ok: true };
      } catch (err) {
        return { ok: false, message: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
      }
    }, opts.stop);
  }
  const request = { jsonrpc: "2.0", method: inv.method, ...(inv.params === undefined ? {} : { params: inv.params }), id: 1 };
  let status: number;
  let text: string;
  try {
    ({ status, text } = await post(inv.url, JSON.stringify(request)));
  } catch (err) {
    io.err(`cannot reach ${inv.url}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 2;
  }
  if (status !== 200) {
    io.err(`HTTP ${status} from ${inv.url}${text ? `: ${text}` : ""}\n`);
    return 2;
  }
  let reply: { result?: unknown; error?: { code: number; message: string; data?: unknown } };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    io.err(`not a JSON reply from ${inv.url}: ${text.slice(0, 200)}\n`);
    return 2;
  }
  if (reply.error) {
    const { code, message, data } = reply.error;
    io.err(`error ${code}: ${message}${data === undefined ? "" : ` (${typeof data === "string" ? data : JSON.stringify(data)})`}\n`);
    return 1;
  }
  io.out(`${inv.json ? JSON.stringify(reply.result) : JSON.stringify(reply.result, null, 2)}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
