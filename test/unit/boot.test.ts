import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bootNode, checkConfig } from "../../core/boot.ts";
import { silentLogger } from "../../core/log.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/modules");

function cfgFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsips-boot-"));
  const f = join(dir, "opensips.cfg");
  writeFileSync(f, `mpath = "${FIXTURES}"\n${text}`);
  return f;
}

function events(): string[] {
  const g = globalThis as { __tsipsEvents?: string[] };
  return (g.__tsipsEvents ??= []);
}
afterEach(() => {
  events().length = 0;
});

describe("bootNode", () => {
  it("fires the lifecycle hooks in order around the modules' init and destroy", async () => {
    const seen: string[] = [];
    const node = await bootNode(cfgFile(`loadmodule "fx_user.so"\nloadmodule "fx_base.so"\nmodparam("fx_base", "level", 4)\n`), {
      logger: silentLogger(),
      onHooks: (h) => {
        h.lifecycle.modulesLoaded.tap("test", (c) => void seen.push(`modulesLoaded:${c.modules.join(",")}`));
        h.lifecycle.paramsReady.tap("test", (c) => void seen.push(`paramsReady:level=${String(c.params.get("fx_base")?.level)}`));
        h.lifecycle.initDone.tapPromise("test", async () => void seen.push(`initDone:${events().length}`));
        h.lifecycle.ready.tap("test", () => void seen.push("ready"));
        h.lifecycle.shutdown.tapPromise("test", async (c) => void seen.push(`shutdown:${c.reason}`));
      },
    });
    expect(seen).toEqual(["modulesLoaded:fx_base,fx_user", "paramsReady:level=4", "initDone:2", "ready"]);
    expect(await node.mi.run("version")).toMatchObject({ Server: expect.stringContaining("tsips") });
    await node.stop("test over");
    expect(seen.at(-1)).toBe("shutdown:test over");
    expect(events().slice(-2)).toEqual(["destroy:fx_user", "destroy:fx_base"]);
  });

  it("-c reports every error of a config, located, without starting anything", async () => {
    const r = await checkConfig(cfgFile(`loadmodule "fx_base.so"\nmodparam("fx_base", "level", 99)\nloadmodule "nope.so"\n`));
    expect(r.ok).toBe(false);
    expect(r.errors.map((e) => [e.code, e.location?.line])).toEqual([["TSIPS_ERR_PARAM_VALUE", 3], ["TSIPS_ERR_MOD_NOT_FOUND", 4]]);
    expect(events()).toEqual([]);
  });
});
