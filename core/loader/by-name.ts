/**
 * Modules anywhere import the core by name: `import { defineModule } from "tsips"`.
 *
 * Inside this checkout the name resolves by package self-reference (package.json `exports`).
 * A module in another folder (`loadmodule "/srv/mods/x.so"`) has no `tsips` package above
 * it, so the node installs a resolve hook at start (tsips-resolve-hooks.mjs) that resolves
 * "tsips" and "tsips/*" from this checkout. Nothing in the module's files names the
 * checkout: move or rename either folder and the module still loads. Under vitest, the
 * same mapping is a Vite plugin (core/testing/vitest-plugin.ts), since Vite resolves the
 * imports of the code it transforms.
 */
import { register } from "node:module";

let installed = false;

/** Installs the hook once per process; later calls do nothing. */
export function resolveTsipsByName(): void {
  if (installed) return;
  installed = true;
  register(new URL("./tsips-resolve-hooks.mjs", import.meta.url));
}

/**
 * A hint for a module that failed because "tsips" was required as CommonJS: Node's resolve
 * hooks cover `import` only, and tsx compiles a `.ts` file as CommonJS unless the nearest
 * package.json says `"type": "module"` (the scaffold writes one).
 */
export function byNameHint(err: unknown): string | undefined {
  if (!(err instanceof Error) || !/Cannot find (module|package) 'tsips/.test(err.message)) return undefined;
  return `hint: a module outside the tsips checkout needs a package.json with "type": "module" in its folder (or above), so that "tsips" is imported as ESM`;
}
