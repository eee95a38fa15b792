import { describe, expect, it } from "vitest";
import { isTsipsError } from "../../core/errors.ts";
import { createHooks } from "../../core/hooks.ts";
import { createMiHost } from "../../core/mi/host.ts";
import { miParams } from "../../core/mi/params.ts";
import { MiRegistry } from "../../core/mi/registry.ts";
import { MiError, miStream } from "../../core/mi/types.ts";

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("MiRegistry", () => {
  it("refuses a duplicate name with TSIPS_ERR_MI_DUPLICATE naming both modules", () => {
    const reg = new MiRegistry();
    reg.register("usrloc", "ul_dump", { run: () => "OK" }, undefined);
    const e = caught(() => reg.register("dialog", "ul_dump", { run: () => "OK" }, undefined));
    expect(isTsipsError(e) && e.code).toBe("TSIPS_ERR_MI_DUPLICATE");
    expect((e as Error).message).toContain("usrloc");
    expect((e as Error).message).toContain("dialog");
  });

  it("refuses more than 48 recipes or 10 names", () => {
    const reg = new MiRegistry();
    const many = Array.from({ length: 49 }, (_, i) => [`p${i}`]);
    expect((caught(() => reg.register("m", "a", { params: many, run: () => "OK" }, undefined)) as { code: string }).code)
      .toBe("TSIPS_ERR_MI_COMMAND");
    const long = [Array.from({ length: 11 }, (_, i) => `p${i}`)];
    expect((caught(() => reg.register("m", "b", { params: long, run: () => "OK" }, undefined)) as { code: string }).code)
      .toBe("TSIPS_ERR_MI_COMMAND");
  });

  it("lists commands in registration order with module, help and recipes; fires mi.commandAdded", () => {
    const hooks = createHooks();
    const added: string[] = [];
    hooks.mi.commandAdded.tap("t", (c) => void added.push(`${c.module}/${c.name}`));
    const reg = new MiRegistry({ hooks });
    reg.register("a", "z_cmd", { help: "zz", params: [[], ["x"]], run: () => "OK" }, undefined);
    reg.register("b", "a_cmd", { namedOnly: true, params: [["k"]], run: () => "OK" }, undefined);
    expect(reg.commands()).toEqual([
      { name: "z_cmd", module: "a", help: "zz", recipes: [[], ["x"]], namedOnly: false },
      { name: "a_cmd", module: "b", help: undefined, recipes: [["k"]], namedOnly: true },
    ]);
    expect(added).toEqual(["a/z_cmd", "b/a_cmd"]);
  });

  it("drops a module's commands on unregisterModule, so the name can be registered again", async () => {
    const reg = new MiRegistry();
    reg.registerAll("m", { one: { run: () => 1 }, two: { run: () => 2 } }, undefined);
    reg.register("n", "three", { run: () => 3 }, undefined);
    reg.unregisterModule("m");
    expect(reg.commands().map((c) => c.name)).toEqual(["three"]);
    await expect(reg.run("one")).rejects.toMatchObject({ code: -32601, message: "Method not found" });
    reg.register("n", "one", { run: () => 11 }, undefined);
    expect(await reg.run("one")).toBe(11);
  });

  it("hands handlers the module API as second argument", async () => {
    const reg = new MiRegistry();
    const api = { count: () => 42 };
    reg.register("m", "count", { run: (_p, a: typeof api) => a.count() }, api);
    expect(await reg.run("count", [])).toBe(42);
  });

  it("runs with MiError for unknown commands, bad params and empty results", async () => {
    const reg = new MiRegistry();
    reg.register("m", "x", { params: [["a"]], run: (p) => p.str("a") }, undefined);
    reg.register("m", "empty", { run: () => undefined as never }, undefined);
    await expect(reg.run("y")).rejects.toBeInstanceOf(MiError);
    await expect(reg.run("x")).rejects.toMatchObject({ code: -32602, data: "Too few or too many parameters" });
    await expect(reg.run("empty")).rejects.toMatchObject({ code: -32000, data: "Command handler returned null" });
    expect(await reg.run("x", { a: 5 })).toBe("5");
  });
});

describe("MiHost (ctx.mi)", () => {
  it("collects streamed results into one value for local callers", async () => {
    const reg = new MiRegistry();
    reg.register("m", "big", { run: () => miStream((async function* () { yield '{"a":'; yield "[1,2]"; yield "}"; })()) }, undefined);
    reg.register("m", "fail", { run: () => { throw new MiError(404, "AOR not found"); } }, undefined);
    const host = createMiHost(reg);
    expect(await host.run("big")).toEqual({ a: [1, 2] });
    await expect(host.run("fail")).rejects.toMatchObject({ code: 404, message: "AOR not found" });
    expect(host.commands().map((c) => c.name)).toEqual(["big", "fail"]);
    const out = await host.handleJsonRpc('{"jsonrpc":"2.0","method":"big","id":1}');
    expect(out.kind).toBe("stream");
  });
});

describe("miParams (for module unit tests)", () => {
  it("binds values with the same typing rules", () => {
    const p = miParams(["aor", "expires"], { aor: "alice", EXPIRES: "3600" });
    expect(p.str("AOR")).toBe("alice");
    expect(p.int("expires")).toBe(3600);
    expect(p.optStr("missing")).toBeUndefined();
    expect(() => p.str("missing")).toThrow(MiError);
  });
});
