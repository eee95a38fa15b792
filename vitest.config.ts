import { defineConfig } from "vitest/config";
import { tsipsByName } from "./core/testing/vitest-plugin.ts";

export default defineConfig({
  // Modules outside the checkout import "tsips" by name too (core/loader/by-name.ts).
  plugins: [tsipsByName()],
  test: {
    include: ["test/**/*.test.ts", "modules/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real node processes; two cores do not like many at once.
    maxWorkers: 2,
    pool: "forks",
  },
});
