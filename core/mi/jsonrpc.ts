/**
 * JSON-RPC 2.0 over the MI registry, as OpenSIPS 3.6.8 validates and answers it
 * (spec/mi.md §2 and §4; mi/mi.c `parse_mi_request`, `handle_mi_request`, mi_http's
 * printing):
 *
 * 1. unparseable → -32700 "Parse error";
 * 2. `id` not null/number/string, `jsonrpc` not exactly "2.0", `method` not a string, or
 *    `params` present but neither array nor object → -32600 "Invalid Request";
 *    members are looked up case-insensitively (first match), values compared exactly;
 * 3. `params` `[]` / `{}` = no params;
 * 4. unknown method → -32601 "Method not found";
 * 5–7. recipe selection, parameter typing, handler errors: see params.ts / registry.ts.
 *
 * Replies: `{"jsonrpc":"2.0","result":…,"id":…}` or `{"jsonrpc":"2.0","error":{"code":…,
 * "message":…[,"data":…]},"id":…}`. A request without an `id` member is a notification:
 * no reply, except -32700 / -32600 which are answered with `"id":null`.
 *
 * Beyond OpenSIPS (opt-in, `batch: true`): a JSON array is a batch — one reply per
 * non-notification element, in order, as a JSON array; an empty array is one -32600.
 * A streamed result (`miStream`) is written as envelope head, the chunks, envelope tail.
 */
import { printJson, printNumber } from "./json.ts";
import type { RawParams } from "./params.ts";
import { isMiError, type JsonRpcOptions, type JsonRpcOutcome, type JsonValue, type MiResult, type MiStreamedReply } from "./types.ts";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/** What handleJsonRpc needs from the registry. */
export interface MiCommandRunner {
  run(method: string, params?: RawParams): Promise<MiResult>;
}

/** One reply: whole text, or pieces of text (a streamed result). */
type Reply = string | AsyncIterable<string>;

const NO_REPLY = Object.freeze({ kind: "none" }) as JsonRpcOutcome;

/** Handles one request body (a request object, or with `batch` an array of them). */
export async function handleJsonRpc(runner: MiCommandRunner, body: string, opts: JsonRpcOptions = {}): Promise<JsonRpcOutcome> {
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch {
    return { kind: "text", text: errorText(PARSE_ERROR, "Parse error", undefined, "null", opts.pretty) };
  }
  if (opts.batch && Array.isArray(req)) return handleBatch(runner, req, opts);
  const reply = await handleOne(runner, req, opts);
  if (reply === undefined) return NO_REPLY;
  return typeof reply === "string" ? { kind: "text", text: reply } : { kind: "stream", chunks: reply };
}

async function handleBatch(runner: MiCommandRunner, reqs: unknown[], opts: JsonRpcOptions): Promise<JsonRpcOutcome> {
  if (reqs.length === 0) return { kind: "text", text: errorText(INVALID_REQUEST, "Invalid Request", undefined, "null", opts.pretty) };
  const replies: Reply[] = [];
  // Sequential: commands with side effects run in the order the client listed them.
  for (const r of reqs) {
    const reply = await handleOne(runner, r, opts);
    if (reply !== undefined) replies.push(reply);
  }
  if (replies.length === 0) return NO_REPLY;
  const sep = opts.pretty ? ", " : ",";
  if (replies.every((r): r is string => typeof r === "string")) return { kind: "text", text: `[${replies.join(sep)}]` };
  const parts: Reply[] = ["["];
  replies.forEach((r, i) => parts.push(...(i > 0 ? [sep, r] : [r])));
  parts.push("]");
  return { kind: "stream", chunks: concat(parts) };
}

/** The envelope `id` text: number → its integer part, string → itself, otherwise null. */
function idText(id: unknown): string {
  if (typeof id === "number") return printNumber(Math.trunc(id));
  if (typeof id === "string") return JSON.stringify(id);
  return "null";
}

function errorText(code: number, message: string, data: JsonValue | undefined, id: string, pretty = false): string {
  const err: { [k: string]: JsonValue } = { code, message };
  if (data !== undefined && data !== null) err["data"] = data;
  if (pretty) return printJson({ jsonrpc: "2.0", error: err, id: JSON.parse(id) as JsonValue }, true);
  return `{"jsonrpc":"2.0","error":${printJson(err)},"id":${id}}`;
}

/** The members JSON-RPC cares about, looked up case-insensitively (first match wins). */
interface Members {
  id?: unknown;
  hasId: boolean;
  jsonrpc?: unknown;
  method?: unknown;
  params?: unknown;
  hasParams: boolean;
}

function members(req: object): Members {
  const m: Members = { hasId: false, hasParams: false };
  let found = 0;
  for (const k of Object.keys(req)) {
    const v = (req as Record<string, unknown>)[k];
    switch (k.toLowerCase()) {
      case "id":
        if (!m.hasId) {
          m.hasId = true;
          m.id = v;
          found++;
        }
        break;
      case "jsonrpc":
        if (!("jsonrpc" in m)) {
          m.jsonrpc = v;
          found++;
        }
        break;
      case "method":
        if (!("method" in m)) {
          m.method = v;
          found++;
        }
        break;
      case "params":
        if (!m.hasParams) {
          m.hasParams = true;
          m.params = v;
          found++;
        }
        break;
    }
    if (found === 4) break;
  }
  return m;
}

/** One request → its reply, or undefined for a notification that gets none. */
async function handleOne(runner: MiCommandRunner, req: unknown, opts: JsonRpcOptions): Promise<Reply | undefined> {
  const isObject = typeof req === "object" && req !== null && !Array.isArray(req);
  const m: Members = isObject ? members(req) : { hasId: false, hasParams: false };
  const idOk = !m.hasId || m.id === null || typeof m.id === "number" || typeof m.id === "string";
  const id = idOk ? idText(m.id) : "null";
  const paramsOk = !m.hasParams || (typeof m.params === "object" && m.params !== null);
  if (!isObject || !idOk || m.jsonrpc !== "2.0" || typeof m.method !== "string" || !paramsOk) {
    return errorText(INVALID_REQUEST, "Invalid Request", undefined, id, opts.pretty);
  }
  const notification = !m.hasId;
  let result: MiResult;
  try {
    result = await runner.run(m.method, m.params as RawParams);
  } catch (err) {
    if (notification) return undefined;
    if (isMiError(err)) return errorText(err.code, err.message, err.data, id, opts.pretty);
    return errorText(-32000, "Server error", err instanceof Error ? err.message : String(err), id, opts.pretty);
  }
  if (isStream(result)) return streamReply(result, id, notification, opts);
  if (notification) return undefined;
  if (opts.pretty) return printJson({ jsonrpc: "2.0", result, id: JSON.parse(id) as JsonValue }, true);
  return `{"jsonrpc":"2.0","result":${printJson(result)},"id":${id}}`;
}

function isStream(r: MiResult): r is MiStreamedReply {
  return typeof r === "object" && r !== null && !Array.isArray(r) && (r as { kind?: unknown }).kind === "mi-stream" &&
    typeof (r as { chunks?: unknown }).chunks === "object";
}

/**
 * A streamed result. The first chunk is pulled before answering, so a handler that fails
 * before producing anything still gets a proper JSON-RPC error; a failure later can only
 * cut the reply short (the transport aborts the connection).
 */
async function streamReply(r: MiStreamedReply, id: string, notification: boolean, opts: JsonRpcOptions): Promise<Reply | undefined> {
  const it = r.chunks[Symbol.asyncIterator]();
  let first: IteratorResult<string>;
  try {
    first = await it.next();
  } catch (err) {
    if (notification) return undefined;
    if (isMiError(err)) return errorText(err.code, err.message, err.data, id, opts.pretty);
    return errorText(-32000, "Server error", err instanceof Error ? err.message : String(err), id, opts.pretty);
  }
  if (notification) {
    if (!first.done) await it.return?.();
    return undefined;
  }
  if (first.done) return errorText(-32000, "Server error", "Command handler returned null", id, opts.pretty);
  return concat([`{"jsonrpc":"2.0","result":${first.value}`, resumed(it), `,"id":${id}}`]);
}

/** The rest of an iterator whose first value was already taken. */
function resumed(it: AsyncIterator<string>): AsyncIterable<string> {
  return { [Symbol.asyncIterator]: () => it };
}

/**
 * Texts and streams in order, as one stream. Unlike an async generator, `return()` (the
 * consumer stopped: client gone) also closes every stream not yet finished, even when
 * iteration never started, so producers always get to release what they hold.
 */
function concat(parts: readonly Reply[]): AsyncIterable<string> {
  let i = 0;
  let cur: AsyncIterator<string> | undefined;
  let closed = false;
  const iter: AsyncIterableIterator<string> = {
    [Symbol.asyncIterator]: () => iter,
    async next(): Promise<IteratorResult<string>> {
      while (!closed && i < parts.length) {
        const p = parts[i]!;
        if (typeof p === "string") {
          i++;
          return { value: p, done: false };
        }
        cur ??= p[Symbol.asyncIterator]();
        const n = await cur.next();
        if (!n.done) return n;
        cur = undefined;
        i++;
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<string>> {
      if (!closed) {
        closed = true;
        const open = [cur, ...parts.slice(cur ? i + 1 : i).filter((p): p is AsyncIterable<string> => typeof p !== "string")
          .map((p) => p[Symbol.asyncIterator]())];
        for (const it of open) await it?.return?.();
      }
      return { value: undefined, done: true };
    },
  };
  return iter;
}
