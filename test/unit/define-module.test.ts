import { describe, expect, expectTypeOf, it } from "vitest";
import { defineModule, int, need, str, strList } from "../../core/index.ts";
import type { TsipsModule } from "../../core/index.ts";

interface ProviderApi {
  ping(): string;
}

describe("defineModule", () => {
  const mod = defineModule({
    name: "typed_example",
    version: "1.2.3",
    params: {
      port: int({ default: 5555, min: 1, max: 65535, doc: "port" }),
      root: str({ default: "mi", doc: "root path" }),
      mode: str<"a" | "b">({ default: "a", choices: ["a", "b"], doc: "mode", parse: (s) => s as "a" | "b" }),
      peers: strList({ doc: "repeatable" }),
    },
    deps: {
      must: need<ProviderApi>("provider"),
      maybe: need<ProviderApi>("provider2", { missing: "warn" }),
    },
    stats: { hits: { doc: "hits" }, level: { kind: "gauge" } },
    init(ctx) {
      expectTypeOf(ctx.params.port).toEqualTypeOf<number>();
      expectTypeOf(ctx.params.root).toEqualTypeOf<string>();
      expectTypeOf(ctx.params.mode).toEqualTypeOf<"a" | "b">();
      expectTypeOf(ctx.params.peers).toEqualTypeOf<string[]>();
      expectTypeOf(ctx.deps.must).toEqualTypeOf<ProviderApi>();
      expectTypeOf(ctx.deps.maybe).toEqualTypeOf<ProviderApi | undefined>();
      expectTypeOf(ctx.stats.inc).parameter(0).toEqualTypeOf<"hits" | "level">();
      return { count: () => 1 };
    },
    mi: {
      typed_count: { run: (_p, api) => api.count() },
    },
  });

  it("infers params, deps, stats and the API type", () => {
    expectTypeOf(mod).toMatchTypeOf<TsipsModule>();
    type Api = typeof mod extends TsipsModule<infer _P, infer _D, infer _S, infer A> ? A : never;
    expectTypeOf<Api>().toMatchTypeOf<{ count: () => number }>();
    expectTypeOf<Api>().not.toBeNever();
    type Ctx = Parameters<NonNullable<typeof mod.init>>[0];
    expectTypeOf<Ctx["params"]["port"]>().toEqualTypeOf<number>();
  });

  it("produces frozen plain data the core can inspect without running code", () => {
    expect(Object.isFrozen(mod)).toBe(true);
    expect(mod.__tsipsModule).toBe(true);
    expect(Object.keys(mod.params ?? {})).toEqual(["port", "root", "mode", "peers"]);
    expect(mod.params?.port.accept(70000)).toEqual({ error: "must be at most 65535, got 70000" });
    expect(mod.params?.mode.accept("c")).toEqual({ error: 'must be one of "a", "b", got "c"' });
    expect(mod.deps?.maybe.missing).toBe("warn");
  });

  it("rejects a module name that is not snake_case", () => {
    expect(() => defineModule({ name: "Bad-Name", version: "1" })).toThrow(/snake_case/);
  });
});
