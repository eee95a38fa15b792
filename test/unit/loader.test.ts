import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseCfgText } from "../../core/cfg/index.ts";
import { createHooks } from "../../core/hooks.ts";
import { ModuleRuntime, type MiSink } from "../../core/loader/lifecycle.ts";
import { planLoad, type LoadPlan } from "../../core/loader/load.ts";
import { silentLogger } from "../../core/log.ts";
import type { MiHost } from "../../core/mi/types.ts";
import { StatsRegistry } from "../../core/stats.ts";

const FIXTURE_MODULES = resolve(import.meta.dirname, "../fixtures/modules");

function events(): string[] {
  const g = globalThis as { __tsipsEvents?: string[] };
  return (g.__tsipsEvents ??= []);
}

afterEach(() => {
  events().length = 0;
});

async function plan(cfgText: string): Promise<LoadPlan> {
  const dir = mkdtempSync(join(tmpdir(), "tsips-loader-"));
  const file = join(dir, "opensips.cfg");
  writeFileSync(file, `mpath = "${FIXTURE_MODULES}"\n${cfgText}`);
  const parsed = parseCfgText(`mpath = "${FIXTURE_MODULES}"\n${cfgText}`, file);
  expect(parsed.errors).toEqual([]);
  return planLoad(parsed.cfg);
}

const noMi: MiSink & MiHost = {
  register: () => {},
  unregisterModule: () => {},
  run: async () => null,
  handleJsonRpc: async () => ({ kind: "none" }),
  commands: () => [],
};

function runtime(hooks = createHooks()) {
  return new ModuleRuntime({
    hooks, log: silentLogger(), stats: new StatsRegistry(), mi: noMi,
    info: { version: "test", cfgFile: "x.cfg", sockets: [], globals: new Map(), autoScaling: { profiles: [], uses: [] }, startedAt: Date.now() },
  });
}

describe("load plan", () => {
  it("orders providers before their dependents, ties in cfg order", async () => {
    const p = await plan(`loadmodule "fx_user.so"\nloadmodule "fx_base.so"\n`);
    expect(p.errors).toEqual([]);
    expect(p.order).toEqual(["fx_base", "fx_user"]);
  });

  it("keeps cfg order for independent modules", async () => {
    const p = await plan(`loadmodule "fx_fail.so"\nloadmodule "fx_base.so"\nloadmodule "fx_hang.so"\n`);
    expect(p.order).toEqual(["fx_fail", "fx_base", "fx_hang"]);
  });

  it("reports a dependency cycle with its path", async () => {
    const p = await plan(`loadmodule "fx_cycle_a.so"\nloadmodule "fx_cycle_b.so"\n`);
    expect(p.errors.map((e) => e.code)).toEqual(["TSIPS_ERR_DEP_CYCLE"]);
    expect(p.errors[0]!.message).toMatch(/fx_cycle_a -> fx_cycle_b -> fx_cycle_a/);
  });

  it("reports a missing dependency at the dependent's loadmodule line", async () => {
    const p = await plan(`loadmodule "fx_user.so"\n`);
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]!.code).toBe("TSIPS_ERR_DEP_MISSING");
    expect(p.errors[0]!.location?.line).toBe(2);
    expect(p.errors[0]!.message).toContain('loadmodule "fx_base.so"');
  });

  it("skips a conditional dependency whose condition is false", async () => {
    const p = await plan(`loadmodule "fx_user.so"\nmodparam("fx_user", "use_base", 0)\n`);
    expect(p.errors).toEqual([]);
    expect(p.bindings.get("fx_user")?.size).toBe(0);
  });

  it("applies typed params and distinguishes the four param errors", async () => {
    const p = await plan([
      `loadmodule "fx_base.so"`,
      `modparam("fx_base", "greeting", "hi")`,
      `modparam("fx_base", "nope", 1)`,
      `modparam("fx_base", "level", "3")`,
      `modparam("fx_base", "level", 12)`,
      `modparam("fx_nothing", "x", 1)`,
      `modparam("fx_user", "use_base", 0)`,
      `loadmodule "fx_user.so"`,
    ].join("\n"));
    expect(p.params.get("fx_base")?.greeting).toBe("hi");
    expect(p.errors.map((e) => [e.code, e.location?.line, e.location?.col])).toEqual([
      ["TSIPS_ERR_PARAM_UNKNOWN", 4, 1],
      ["TSIPS_ERR_PARAM_TYPE", 5, 30],
      ["TSIPS_ERR_PARAM_VALUE", 6, 30],
      ["TSIPS_ERR_PARAM_MODULE", 7, 1],
      ["TSIPS_ERR_MODPARAM_ORDER", 8, 1],
    ]);
  });

  it("matches modparam modules as a case-insensitive regex", async () => {
    const p = await plan(`loadmodule "fx_base.so"\nloadmodule "fx_user.so"\nmodparam("FX_B.*", "level", 7)\n`);
    expect(p.errors).toEqual([]);
    expect(p.params.get("fx_base")?.level).toBe(7);
  });

  it("names a missing module, where it looked, and the closest name", async () => {
    const p = await plan(`loadmodule "fx_bse.so"\n`);
    const e = p.errors[0]!;
    expect(e.code).toBe("TSIPS_ERR_MOD_NOT_FOUND");
    expect(e.message).toContain("did you mean 'fx_base'");
    expect(e.details.join("\n")).toContain(join(FIXTURE_MODULES, "fx_bse", "index.ts"));
  });

  it("rejects a file that does not export defineModule", async () => {
    const p = await plan(`loadmodule "fx_misnamed.so"\n`);
    expect(p.errors[0]!.code).toBe("TSIPS_ERR_MOD_INVALID");
  });

  it("loads a module by absolute path", async () => {
    const p = await plan(`loadmodule "${join(FIXTURE_MODULES, "fx_base.so")}"\n`);
    expect(p.errors).toEqual([]);
    expect(p.modules[0]!.file).toBe(join(FIXTURE_MODULES, "fx_base", "index.ts"));
  });
});

describe("module lifecycle", () => {
  it("inits in order, hands the provider's API over, destroys in reverse", async () => {
    const p = await plan(`loadmodule "fx_user.so"\nloadmodule "fx_base.so"\nmodparam("fx_base", "greeting", "hey")\n`);
    const rt = runtime();
    await rt.start(p.modules, p.order, p.params, p.bindings);
    expect(events()).toEqual(["init:fx_base:hey:1", "init:fx_user:hey user"]);
    await rt.stop("test");
    expect(events().slice(2)).toEqual(["destroy:fx_user", "destroy:fx_base"]);
  });

  it("fails boot naming a module whose init never settles, and destroys what started", async () => {
    const p = await plan(`loadmodule "fx_base.so"\nloadmodule "fx_hang.so"\n`);
    const rt = runtime();
    await expect(rt.start(p.modules, p.order, p.params, p.bindings)).rejects.toMatchObject({
      code: "TSIPS_ERR_MOD_INIT_TIMEOUT", module: "fx_hang",
    });
    expect(events()).toEqual(["init:fx_base:hello:1", "init:fx_hang", "destroy:fx_base"]);
    expect(rt.moduleNames()).toEqual([]);
  });

  it("aborts boot on a failed init with the original error as cause, rolling back in reverse", async () => {
    const p = await plan(`loadmodule "fx_base.so"\nloadmodule "fx_user.so"\nloadmodule "fx_fail.so"\n`);
    const rt = runtime();
    const err = await rt.start(p.modules, p.order, p.params, p.bindings).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TSIPS_ERR_MOD_INIT", module: "fx_fail" });
    expect(((err as Error).cause as Error).message).toBe("fx_fail: boom");
    // fx_fail's own destroy is not called: it never started.
    expect(events()).toEqual(["init:fx_base:hello:1", "init:fx_user:hello user", "init:fx_fail", "destroy:fx_user", "destroy:fx_base"]);
  });

  it("removes a module's hook taps before its destroy", async () => {
    const hooks = createHooks();
    const p = await plan(`loadmodule "fx_base.so"\n`);
    const rt = runtime(hooks);
    await rt.start(p.modules, p.order, p.params, p.bindings);
    expect(rt.ownership.count("fx_base")).toBe(1);
    hooks.lifecycle.ready.call({ modules: [], listeners: [] });
    expect(events()).toContain("ready-tap:fx_base");
    await rt.stop("test");
    expect(rt.ownership.count("fx_base")).toBe(0);
    events().length = 0;
    hooks.lifecycle.ready.call({ modules: [], listeners: [] });
    expect(events()).toEqual([]);
  });
});

describe("in-process test host", () => {
  it("runs modules with typed params and hands APIs over", async () => {
    const { createTestHost } = await import("../../core/testing/host.ts");
    const base = (await import("../fixtures/modules/fx_base/index.ts")).default;
    const user = (await import("../fixtures/modules/fx_user/index.ts")).default;
    const host = await createTestHost({ modules: [{ def: user }, { def: base, params: { greeting: "yo", level: 3 } }] });
    expect(events()).toEqual(["init:fx_base:yo:3", "init:fx_user:yo user", "ready-tap:fx_base"]);
    expect(host.api<{ greet(w: string): string }>("fx_base").greet("x")).toBe("yo x");
    await host.stop();
    expect(events().slice(-2)).toEqual(["destroy:fx_user", "destroy:fx_base"]);
  });

  it("rejects a bad param value with the param's own check", async () => {
    const { createTestHost } = await import("../../core/testing/host.ts");
    const base = (await import("../fixtures/modules/fx_base/index.ts")).default;
    await expect(createTestHost({ modules: [{ def: base, params: { mode: "z" } }] })).rejects.toMatchObject({ code: "TSIPS_ERR_PARAM_VALUE" });
  });
});
