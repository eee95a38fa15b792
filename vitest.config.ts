import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "modules/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real node processes; two cores do not like many at once.
    maxWorkers: 2,
    pool: "forks",
  },
});
