/**
 * MI command contract (spec/mi.md §1): a command has a name, help, and up to 48 recipes,
 * each an ordered list of parameter names. Handlers return a JSON value or throw MiError.
 */
import type { MiRunner } from "../module.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A coded JSON-RPC error raised by a handler (e.g. 404 "AOR not found"). */
export class MiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: JsonValue,
  ) {
    super(message);
    this.name = "MiError";
  }
}

/** MiError, also from another copy of core (duck-typed like isTsipsError). */
export function isMiError(e: unknown): e is MiError {
  return e instanceof MiError ||
    (e instanceof Error && e.name === "MiError" && typeof (e as { code?: unknown }).code === "number");
}

/** The parameters of one call, bound to the chosen recipe. Named lookups are case-insensitive. */
export interface MiParams {
  /** Names of the recipe that matched. */
  readonly recipe: readonly string[];
  has(name: string): boolean;
  /** The raw JSON value. */
  raw(name: string): JsonValue | undefined;
  /**
   * A string parameter (a JSON number gives its integer text). A bad type → MiError -32602
   * `Bad type for parameter '<name>'`; a name the matched recipe lacks → -32000
   * "Failed to handle parameter" (spec/mi.md §3).
   */
  str(name: string): string;
  /** An integer parameter (a string of optional sign + digits is parsed); errors as `str`. */
  int(name: string): number;
  /** `str`, or undefined when the matched recipe has no such parameter. */
  optStr(name: string): string | undefined;
  /** `int`, or undefined when the matched recipe has no such parameter. */
  optInt(name: string): number | undefined;
  /** A non-empty JSON array (else -32602 `Bad type…` / `Empty array in parameter '<name>'`). */
  array(name: string): JsonValue[];
  /** `array` whose items are read as strings (strings, or numbers as integer text). */
  strArray(name: string): string[];
}

/**
 * A reply too large to build as one value (e.g. `ul_dump` of 100k contacts): the handler
 * yields JSON text fragments that concatenate to the `result` value, so transports can
 * stream it without blocking the event loop.
 */
export interface MiStreamedReply {
  readonly kind: "mi-stream";
  chunks: AsyncIterable<string>;
}

export function miStream(chunks: AsyncIterable<string>): MiStreamedReply {
  return { kind: "mi-stream", chunks };
}

export type MiResult = JsonValue | MiStreamedReply;

/** One MI command as a module declares it. `S` is what the module's init returned. */
export interface MiCommandDecl<S = unknown> {
  help?: string;
  /** Accepted recipes (named-parameter sets), e.g. `[[], ["aor"], ["aor", "contact"]]`. Default `[[]]`. */
  params?: readonly (readonly string[])[];
  /** Refuse positional params (flag bit 1 in OpenSIPS). */
  namedOnly?: boolean;
  run(params: MiParams, api: S): MiResult | Promise<MiResult>;
}

// ── registry view, transport contract ──────────────────────────────────

/** A registered command as `which`/`help` and tools see it. */
export interface MiCommandInfo {
  readonly name: string;
  /** Module that exported it (`core`, `statistics`, or a module name). */
  readonly module: string;
  readonly help: string | undefined;
  readonly recipes: readonly (readonly string[])[];
  readonly namedOnly: boolean;
}

/**
 * What a transport does with one JSON-RPC request body (core/mi/jsonrpc.ts):
 * `none` — a notification, nothing to send (mi_http answers 202 with no body);
 * `text` — the whole reply text;
 * `stream` — the reply as text fragments to write in order (a streamed result, or a batch
 * holding one); they concatenate to one JSON document.
 */
export type JsonRpcOutcome =
  | { readonly kind: "none" }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "stream"; readonly chunks: AsyncIterable<string> };

/** How a transport wants a body handled. */
export interface JsonRpcOptions {
  /**
   * Accept a JSON array of requests (JSON-RPC 2.0 batch). OpenSIPS 3.6.8 does not (an array
   * fails validation with -32600); mi_http of tsips does.
   */
  batch?: boolean;
  /** Print replies the way mi_http's `pretty_printing` does (streamed results stay compact). */
  pretty?: boolean;
}

/**
 * The MI service of a node as modules see it (`ctx.mi`): run a command locally (streamed
 * results are collected into one value), or handle a JSON-RPC request body (transports).
 */
export interface MiHost extends MiRunner {
  handleJsonRpc(body: string, opts?: JsonRpcOptions): Promise<JsonRpcOutcome>;
  /** Registered commands, in registration order. */
  commands(): readonly MiCommandInfo[];
}
