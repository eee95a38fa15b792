// @ts-check
/**
 * Node module-resolution hooks installed by core/loader/by-name.ts (node:module `register`).
 * They run on Node's hooks thread, before any TypeScript loader is guaranteed there, hence
 * plain JavaScript.
 *
 * "tsips" and "tsips/<subpath>" are resolved as if imported from this checkout's own
 * package.json: Node's package self-reference then applies the `exports` map, so a module in
 * any folder gets the very files the running core was loaded from (one copy, so `instanceof`
 * holds), and no module file names where the checkout lives.
 */
const SELF = new URL("../../package.json", import.meta.url).href;

/**
 * @param {string} specifier
 * @param {{ parentURL?: string, conditions: string[], importAttributes: Record<string, string> }} context
 * @param {(specifier: string, context?: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === "tsips" || specifier.startsWith("tsips/")) return nextResolve(specifier, { ...context, parentURL: SELF });
  return nextResolve(specifier, context);
}
