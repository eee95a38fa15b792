import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NodeProcess, killAllNodes } from "../../core/testing/node-process.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/modules");
const cfg = `log_level = 3\nmpath = "${FIXTURES}"\nloadmodule "fx_base.so"\nloadmodule "fx_user.so"\n`;

afterAll(killAllNodes);

describe("a real node process", () => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`shuts down in order on ${sig} and exits 0`, async () => {
      const n = await NodeProcess.start({ cfg, name: `sig-${sig}` });
      expect(n.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["module fx_base 1.0.0 loaded", "module fx_user 1.0.0 loaded"]));
      const exit = await n.kill(sig);
      expect(exit).toEqual({ code: 0, signal: null });
      const msgs = n.logs.map((l) => l.msg);
      expect(msgs.indexOf("shutting down")).toBeGreaterThan(msgs.findIndex((m) => m.startsWith("ready")));
      expect(msgs.at(-1)).toBe("stopped");
    });
  }

  it("forces the exit on a second signal when the orderly shutdown hangs", async () => {
    const n = await NodeProcess.start({ cfg: `${cfg}loadmodule "fx_slowstop.so"\n`, name: "slowstop" });
    process.kill(n.pid!, "SIGTERM");
    await n.waitForLog((l) => l.msg === "shutting down");
    const t0 = Date.now();
    const exit = await n.kill("SIGTERM");
    expect(exit.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(n.text.join("\n")).toContain("second SIGTERM: forcing exit");
  });

  it("exits 255 with file:line:col for a bad config", async () => {
    const n = await NodeProcess.start({ cfg: `${cfg}modparam("fx_base", "level", 42)\n`, name: "badcfg", noWait: true });
    const exit = await n.exited;
    expect(exit.code).toBe(255);
    const out = n.text.join("\n");
    expect(out).toContain(`${join(n.cfgFile)}:5:30:`);
    expect(out).toContain("TSIPS_ERR_PARAM_VALUE");
  });
});
