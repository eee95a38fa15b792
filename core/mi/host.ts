/**
 * The `ctx.mi` a module gets: run a command locally, or hand a JSON-RPC body to the core
 * (transports such as mi_http).
 */
import { handleJsonRpc } from "./jsonrpc.ts";
import type { MiRegistry } from "./registry.ts";
import type { JsonValue, MiHost, MiResult } from "./types.ts";

/** The MiHost over a registry (the loader hands it to every module as `ctx.mi`). */
export function createMiHost(registry: MiRegistry): MiHost {
  return {
    run: async (method, params) => collectResult(await registry.run(method, params)),
    handleJsonRpc: (body, opts) => handleJsonRpc(registry, body, opts),
    commands: () => registry.commands(),
  };
}

/** A result as one value: a streamed reply is read to its end and parsed. */
export async function collectResult(r: MiResult): Promise<JsonValue> {
  if (typeof r !== "object" || r === null || Array.isArray(r) || (r as { kind?: unknown }).kind !== "mi-stream") return r as JsonValue;
  const parts: string[] = [];
  for await (const c of (r as { chunks: AsyncIterable<string> }).chunks) parts.push(c);
  return JSON.parse(parts.join("")) as JsonValue;
}
