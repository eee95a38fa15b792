import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOG, TsipsError, formatLocation, isTsipsError } from "../../core/errors.ts";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
const documented = [...doc.matchAll(/^\| `(TSIPS_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

describe("error catalog", () => {
  it("has a docs/errors.md row for every code, and no row for an unknown code", () => {
    const codes = Object.keys(ERROR_CATALOG).sort();
    expect([...documented].sort()).toEqual(codes);
  });

  it("has no duplicate rows", () => {
    expect(new Set(documented).size).toBe(documented.length);
  });

  it("formats errors with location, module and code", () => {
    const e = new TsipsError("TSIPS_ERR_PARAM_UNKNOWN", 'parameter "x" not found', {
      module: "clusterer", location: { file: "a.cfg", line: 3, col: 9 },
    });
    expect(e.toString()).toBe('a.cfg:3:9: clusterer: parameter "x" not found [TSIPS_ERR_PARAM_UNKNOWN]');
    expect(formatLocation(e.location!)).toBe("a.cfg:3:9");
    expect(isTsipsError(e)).toBe(true);
    expect(isTsipsError(new Error("plain"))).toBe(false);
  });
});
