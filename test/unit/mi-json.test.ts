import { describe, expect, it } from "vitest";
import { printJson, printNumber } from "../../core/mi/json.ts";

describe("MI JSON printing (cJSON rules, spec/mi.md §4)", () => {
  it.each([
    [0, "0"],
    [-0, "0"],
    [1, "1"],
    [-5, "-5"],
    [2147483647, "2147483647"],
    [-2147483648, "-2147483648"],
    [2147483648, "2147483648"],
    [-2147483649, "-2147483649"],
    [2 ** 53, "9007199254740992"],
    [1e21, "1000000000000000000000"],
    [18446744073709552000, "18446744073709551616"],
    [1.5, "1.500000"],
    [-1.5, "-1.500000"],
    [0.1, "0.100000"],
    [1234567890.5, "1.234568e+09"],
    [1e-7, "1.000000e-07"],
    [-2.5e-7, "-2.500000e-07"],
    [1e60, "1.000000e+60"],
    [Number.NaN, "null"],
    [Number.POSITIVE_INFINITY, "null"],
  ])("number %s → %s", (n, text) => {
    expect(printNumber(n)).toBe(text);
  });

  it("escapes strings like cJSON: quotes, backslash, short escapes, other controls as lowercase \\u00xx; / and UTF-8 verbatim", () => {
    expect(printJson("a\"b\\c\b\f\n\r\t\u0001\u001f/é€")).toBe('"a\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f/é€"');
  });

  it("prints compact objects in insertion order with no whitespace", () => {
    expect(printJson({ Now: "x", "Up since": "y", n: [1, 2.5, null, true, false, {}], o: { a: [] } }))
      .toBe('{"Now":"x","Up since":"y","n":[1,2.500000,null,true,false,{}],"o":{"a":[]}}');
  });

  it("pretty mode indents objects with TABs, keeps arrays inline with \", \"", () => {
    expect(printJson({ a: 1, b: [1, 2], c: { d: "x" }, e: {} }, true))
      .toBe('{\n\t"a":\t1,\n\t"b":\t[1, 2],\n\t"c":\t{\n\t\t"d":\t"x"\n\t},\n\t"e":\t{\n}\n}');
    // cJSON prints array items one level deeper: objects in arrays indent by two.
    expect(printJson({ p: [{ x: 1 }] }, true)).toBe('{\n\t"p":\t[{\n\t\t\t"x":\t1\n\t\t}]\n}');
    expect(printJson({}, true)).toBe("{\n}");
    expect(printJson("OK", true)).toBe('"OK"');
  });
});
