/**
 * The Vite side of "modules anywhere import tsips by name" (core/loader/by-name.ts is the
 * Node side): under vitest, Vite resolves the imports of the code it transforms, so a test
 * that loads a module from another folder needs "tsips" and "tsips/*" resolved from this
 * checkout too. The repo's vitest.config.ts and the config `npm run test-module` uses both
 * add it.
 */
import { fileURLToPath } from "node:url";
import type { Plugin } from "vitest/config";

/** This checkout's package.json: resolving from here makes "tsips" a self-reference. */
const SELF = fileURLToPath(new URL("../../package.json", import.meta.url));

export function tsipsByName(): Plugin {
  return {
    name: "tsips-by-name",
    enforce: "pre",
    async resolveId(source, importer, options) {
      if (source !== "tsips" && !source.startsWith("tsips/")) return null;
      if (importer === SELF) return null;
      return this.resolve(source, SELF, { ...options, skipSelf: true });
    },
  };
}
