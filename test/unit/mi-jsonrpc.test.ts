import { describe, expect, it } from "vitest";
import { handleJsonRpc } from "../../core/mi/jsonrpc.ts";
import { MiRegistry } from "../../core/mi/registry.ts";
import { MiError, miStream, type JsonRpcOptions, type JsonRpcOutcome, type JsonValue } from "../../core/mi/types.ts";

function makeRegistry(): { reg: MiRegistry; closed: { n: number } } {
  const reg = new MiRegistry();
  const closed = { n: 0 };
  reg.register("t", "echo", {
    params: [[], ["a"], ["a", "b"]],
    run: (p) => ({ recipe: [...p.recipe], a: p.raw("a") ?? null, b: p.raw("b") ?? null }),
  }, undefined);
  reg.register("t", "amb", { params: [["x"], ["y"]], run: () => "OK" }, undefined);
  reg.register("t", "named", { params: [["k"]], namedOnly: true, run: (p) => p.str("k") }, undefined);
  reg.register("t", "lookup", { params: [["aor"]], run: (p) => p.str("AOR") }, undefined);
  reg.register("t", "types", {
    params: [["s", "i", "arr"]],
    run: (p) => ({ s: p.str("s"), i: p.int("i"), arr: p.strArray("arr") }),
  }, undefined);
  reg.register("t", "ask", { params: [["a"]], run: (p) => p.str("zzz") }, undefined);
  reg.register("t", "nothing", { run: () => undefined as unknown as JsonValue }, undefined);
  reg.register("t", "nullish", { run: () => null }, undefined);
  reg.register("t", "fail", { run: () => { throw new MiError(404, "Table not found"); } }, undefined);
  reg.register("t", "crash", { run: () => { throw new Error("boom"); } }, undefined);
  reg.register("t", "stream", {
    run: () => miStream((async function* () {
      try {
        yield "[";
        for (let i = 0; i < 3; i++) yield `${i > 0 ? "," : ""}{"n":${i}}`;
        yield "]";
      } finally {
        closed.n++;
      }
    })()),
  }, undefined);
  reg.register("t", "stream_fail", {
    run: () => miStream((async function* () {
      throw new MiError(500, "dump failed");
      yield "";
    })()),
  }, undefined);
  reg.register("t", "stream_empty", { run: () => miStream((async function* () {})()) }, undefined);
  return { reg, closed };
}

async function text(o: JsonRpcOutcome): Promise<string | undefined> {
  if (o.kind === "none") return undefined;
  if (o.kind === "text") return o.text;
  let s = "";
  for await (const c of o.chunks) s += c;
  return s;
}

const { reg, closed } = makeRegistry();
const rpc = async (body: string, opts?: JsonRpcOptions): Promise<string | undefined> => text(await handleJsonRpc(reg, body, opts));
const req = (method: string, params?: unknown, id: unknown = 1): string =>
  JSON.stringify({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id });
const err = (code: number, message: string, id = "1", data?: string): string =>
  `{"jsonrpc":"2.0","error":{"code":${code},"message":"${message}"${data === undefined ? "" : `,"data":"${data}"`}},"id":${id}}`;
const invalidParams = (data: string, id = "1"): string => err(-32602, "Invalid params", id, data);

describe("JSON-RPC validation (spec/mi.md §2)", () => {
  it("answers unparseable JSON with -32700 and id null", async () => {
    expect(await rpc("{bad")).toBe(err(-32700, "Parse error", "null"));
    expect(await rpc("")).toBe(err(-32700, "Parse error", "null"));
  });

  it.each([
    ['{"jsonrpc":"1.0","method":"echo","id":7}', "7"],
    ['{"jsonrpc":2,"method":"echo","id":7}', "7"],
    ['{"method":"echo","id":"x"}', '"x"'],
    ['{"jsonrpc":"2.0","id":7}', "7"],
    ['{"jsonrpc":"2.0","method":5,"id":7}', "7"],
    ['{"jsonrpc":"2.0","method":"echo","params":null,"id":7}', "7"],
    ['{"jsonrpc":"2.0","method":"echo","params":"a","id":7}', "7"],
    ['{"jsonrpc":"2.0","method":"echo","id":{"a":1}}', "null"],
    ['{"jsonrpc":"2.0","method":"echo","id":[1]}', "null"],
    ['{"jsonrpc":"2.0","method":"echo","id":true}', "null"],
    ['[{"jsonrpc":"2.0","method":"echo","id":1}]', "null"],
    ['"just a string"', "null"],
    ["42", "null"],
  ])("answers %s with -32600 (id %s)", async (body, id) => {
    expect(await rpc(body)).toBe(err(-32600, "Invalid Request", id));
  });

  it("answers an unknown method with -32601 (names are case-sensitive)", async () => {
    expect(await rpc(req("nope"))).toBe(err(-32601, "Method not found"));
    expect(await rpc(req("Echo"))).toBe(err(-32601, "Method not found"));
  });

  it("looks members up case-insensitively, first match wins; values stay case-sensitive", async () => {
    expect(await rpc('{"JSONRPC":"2.0","Method":"nullish","ID":3}')).toBe('{"jsonrpc":"2.0","result":null,"id":3}');
    expect(await rpc('{"jsonrpc":"2.0","method":"nullish","id":1,"ID":2}')).toBe('{"jsonrpc":"2.0","result":null,"id":1}');
    expect(await rpc('{"jsonrpc":"2.0","METHOD":"nullish","Params":["z"],"id":4}')).toBe(invalidParams("Too few or too many parameters", "4"));
  });

  it("treats params [] and {} as no params", async () => {
    const none = '{"jsonrpc":"2.0","result":{"recipe":[],"a":null,"b":null},"id":1}';
    expect(await rpc(req("echo", []))).toBe(none);
    expect(await rpc(req("echo", {}))).toBe(none);
    expect(await rpc(req("echo"))).toBe(none);
  });

  it("binds positional params to the recipe with that many names", async () => {
    expect(await rpc(req("echo", ["x", 2]))).toBe('{"jsonrpc":"2.0","result":{"recipe":["a","b"],"a":"x","b":2},"id":1}');
    expect(await rpc(req("echo", [1, 2, 3]))).toBe(invalidParams("Too few or too many parameters"));
    expect(await rpc(req("amb", ["v"]))).toBe(invalidParams("Ambiguous call, use named parameters instead"));
    expect(await rpc(req("amb", { y: "v" }))).toBe('{"jsonrpc":"2.0","result":"OK","id":1}');
  });

  it("matches named params on count and exact names; extra members are never ignored", async () => {
    expect(await rpc(req("echo", { b: 1, a: 2 }))).toBe('{"jsonrpc":"2.0","result":{"recipe":["a","b"],"a":2,"b":1},"id":1}');
    expect(await rpc(req("echo", { a: 1, c: 2 }))).toBe(invalidParams("Named parameters do not match"));
    expect(await rpc(req("echo", { A: 1 }))).toBe(invalidParams("Named parameters do not match"));
    expect(await rpc(req("echo", { a: 1, b: 2, c: 3 }))).toBe(invalidParams("Too few or too many parameters"));
    expect(await rpc(req("amb"))).toBe(invalidParams("Too few or too many parameters"));
  });

  it("refuses positional params for a named-only command", async () => {
    expect(await rpc(req("named", ["v"]))).toBe(invalidParams("Command only supports named parameters"));
    expect(await rpc(req("named", []))).toBe(invalidParams("Too few or too many parameters"));
    expect(await rpc(req("named", { k: "v" }))).toBe('{"jsonrpc":"2.0","result":"v","id":1}');
  });

  it("lets a handler fetch a named value case-insensitively", async () => {
    expect(await rpc(req("lookup", { aor: "alice" }))).toBe('{"jsonrpc":"2.0","result":"alice","id":1}');
  });
});

describe("parameter typing (spec/mi.md §3)", () => {
  it("reads strings, ints and string arrays with OpenSIPS conversions", async () => {
    expect(await rpc(req("types", { s: 12.7, i: "-42", arr: ["a", 7] })))
      .toBe('{"jsonrpc":"2.0","result":{"s":"12","i":-42,"arr":["a","7"]},"id":1}');
    expect(await rpc(req("types", ["x", 3.9, ["b"]]))).toBe('{"jsonrpc":"2.0","result":{"s":"x","i":3,"arr":["b"]},"id":1}');
  });

  it.each([
    [{ s: true, i: 1, arr: ["a"] }, "Bad type for parameter 's'"],
    [{ s: "x", i: "4x", arr: ["a"] }, "Bad type for parameter 'i'"],
    [{ s: "x", i: "", arr: ["a"] }, "Bad type for parameter 'i'"],
    [{ s: "x", i: 1, arr: "a" }, "Bad type for parameter 'arr'"],
    [{ s: "x", i: 1, arr: [] }, "Empty array in parameter 'arr'"],
    [{ s: "x", i: 1, arr: [{}] }, "Bad type for array item in parameter 'arr'"],
  ])("%j → -32602 %s", async (params, data) => {
    expect(await rpc(req("types", params))).toBe(invalidParams(data));
  });

  it("answers a parameter the recipe lacks with -32000 Failed to handle parameter", async () => {
    expect(await rpc(req("ask", ["v"]))).toBe(err(-32000, "Server error", "1", "Failed to handle parameter"));
  });
});

describe("replies (spec/mi.md §2.7, §4)", () => {
  it("answers a handler that returned nothing with -32000", async () => {
    expect(await rpc(req("nothing"))).toBe(err(-32000, "Server error", "1", "Command handler returned null"));
  });

  it("passes handler MiError codes through without data", async () => {
    expect(await rpc(req("fail"))).toBe('{"jsonrpc":"2.0","error":{"code":404,"message":"Table not found"},"id":1}');
  });

  it("turns a handler crash into -32000 with the message as data", async () => {
    expect(await rpc(req("crash"))).toBe(err(-32000, "Server error", "1", "boom"));
  });

  it("echoes ids: number → integer part, string as is, null → null", async () => {
    expect(await rpc(req("nullish", undefined, 5.7))).toBe('{"jsonrpc":"2.0","result":null,"id":5}');
    expect(await rpc(req("nullish", undefined, -5.7))).toBe('{"jsonrpc":"2.0","result":null,"id":-5}');
    expect(await rpc(req("nullish", undefined, "a\"b"))).toBe('{"jsonrpc":"2.0","result":null,"id":"a\\"b"}');
    expect(await rpc(req("nullish", undefined, null))).toBe('{"jsonrpc":"2.0","result":null,"id":null}');
  });

  it("sends nothing for notifications except -32700/-32600", async () => {
    const noId = (m: string): string => JSON.stringify({ jsonrpc: "2.0", method: m });
    expect(await handleJsonRpc(reg, noId("echo"))).toEqual({ kind: "none" });
    expect(await handleJsonRpc(reg, noId("nope"))).toEqual({ kind: "none" });
    expect(await handleJsonRpc(reg, noId("fail"))).toEqual({ kind: "none" });
    expect(await rpc('{"jsonrpc":"1.0","method":"echo"}')).toBe(err(-32600, "Invalid Request", "null"));
  });

  it("prints replies the pretty way when asked", async () => {
    expect(await rpc(req("echo", ["x"]), { pretty: true }))
      .toBe('{\n\t"jsonrpc":\t"2.0",\n\t"result":\t{\n\t\t"recipe":\t["a"],\n\t\t"a":\t"x",\n\t\t"b":\tnull\n\t},\n\t"id":\t1\n}');
    expect(await rpc(req("fail"), { pretty: true }))
      .toBe('{\n\t"jsonrpc":\t"2.0",\n\t"error":\t{\n\t\t"code":\t404,\n\t\t"message":\t"Table not found"\n\t},\n\t"id":\t1\n}');
  });
});

describe("streamed results", () => {
  it("wraps the chunks in the envelope", async () => {
    const o = await handleJsonRpc(reg, req("stream", undefined, "s1"));
    expect(o.kind).toBe("stream");
    expect(await text(o)).toBe('{"jsonrpc":"2.0","result":[{"n":0},{"n":1},{"n":2}],"id":"s1"}');
  });

  it("turns a failure before the first chunk into a JSON-RPC error", async () => {
    expect(await rpc(req("stream_fail"))).toBe('{"jsonrpc":"2.0","error":{"code":500,"message":"dump failed"},"id":1}');
    expect(await rpc(req("stream_empty"))).toBe(err(-32000, "Server error", "1", "Command handler returned null"));
  });

  it("closes the producer for a notification and when the consumer stops early", async () => {
    const before = closed.n;
    expect(await handleJsonRpc(reg, '{"jsonrpc":"2.0","method":"stream"}')).toEqual({ kind: "none" });
    expect(closed.n).toBe(before + 1);
    const o = await handleJsonRpc(reg, req("stream"));
    if (o.kind !== "stream") throw new Error("expected a stream");
    for await (const c of o.chunks) {
      expect(c.startsWith('{"jsonrpc"')).toBe(true);
      break;
    }
    expect(closed.n).toBe(before + 2);
    // Returned before iterating at all (the client left while the reply was being prepared).
    const never = await handleJsonRpc(reg, req("stream"));
    if (never.kind !== "stream") throw new Error("expected a stream");
    await never.chunks[Symbol.asyncIterator]().return?.();
    expect(closed.n).toBe(before + 3);
    // Same for a batch holding two streams.
    const batch = await handleJsonRpc(reg, `[${req("stream", undefined, 1)},${req("stream", undefined, 2)}]`, { batch: true });
    if (batch.kind !== "stream") throw new Error("expected a stream");
    await batch.chunks[Symbol.asyncIterator]().return?.();
    expect(closed.n).toBe(before + 5);
  });

  it("gives the same text as the value printed whole", async () => {
    const streamed = JSON.parse((await rpc(req("stream")))!) as { result: unknown };
    expect(streamed.result).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
  });
});

describe("batches (mi_http, beyond OpenSIPS)", () => {
  const b = { batch: true };
  it("answers each request in order and leaves notifications out", async () => {
    const body = `[${req("nullish", undefined, 1)},{"jsonrpc":"2.0","method":"echo"},${req("nope", undefined, 2)},5]`;
    expect(await rpc(body, b)).toBe(
      `[{"jsonrpc":"2.0","result":null,"id":1},${err(-32601, "Method not found", "2")},${err(-32600, "Invalid Request", "null")}]`);
  });

  it("sends nothing for a batch of notifications, one -32600 for an empty batch", async () => {
    expect(await handleJsonRpc(reg, '[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"nullish"}]', b)).toEqual({ kind: "none" });
    expect(await rpc("[]", b)).toBe(err(-32600, "Invalid Request", "null"));
  });

  it("streams a batch holding a streamed result", async () => {
    const o = await handleJsonRpc(reg, `[${req("stream", undefined, 1)},${req("nullish", undefined, 2)}]`, b);
    expect(o.kind).toBe("stream");
    expect(JSON.parse((await text(o))!)).toEqual([
      { jsonrpc: "2.0", result: [{ n: 0 }, { n: 1 }, { n: 2 }], id: 1 },
      { jsonrpc: "2.0", result: null, id: 2 },
    ]);
  });
});
