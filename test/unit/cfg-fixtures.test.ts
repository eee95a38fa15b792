/**
 * Table-driven config fixtures: every folder under test/fixtures/cfg is one case (see its
 * README). Parse-stage cases run the parser; load-stage cases run `checkConfig` (parse, load
 * modules, apply modparams, resolve dependencies) after checking that they parse cleanly.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { TsipsError } from "../../core/errors.ts";
import { formatCfgError, parseCfgFile } from "../../core/cfg/index.ts";

interface ExpectedError {
  code: string;
  line: number;
  col: number;
  file?: string;
}

interface Expectation {
  ok: boolean;
  stage?: "parse" | "load";
  errors?: ExpectedError[];
  match?: "exact" | "prefix";
  warnings?: number;
}

const root = fileURLToPath(new URL("../fixtures/cfg/", import.meta.url));
const cases = readdirSync(root)
  .filter((d) => statSync(join(root, d)).isDirectory())
  .sort();

function located(dir: string, errors: readonly TsipsError[]): ExpectedError[] {
  return errors.map((e) => {
    const file = e.location?.file ?? "";
    const rel = isAbsolute(file) ? relative(dir, file) : file;
    return { code: e.code, line: e.location?.line ?? 0, col: e.location?.col ?? 0, file: rel.startsWith("..") ? basename(file) : rel };
  });
}

function expected(exp: Expectation): ExpectedError[] {
  return (exp.errors ?? []).map((e) => ({ code: e.code, line: e.line, col: e.col, file: e.file ?? "opensips.cfg" }));
}

/** Shown when a case fails: the formatted errors say more than the object diff. */
function explain(errors: readonly TsipsError[]): string {
  return errors.map((e) => formatCfgError(e)).join("\n");
}

describe("cfg fixtures", () => {
  it("has at least 45 cases, each with an opensips.cfg and an expect.json", () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
    for (const c of cases) {
      expect(statSync(join(root, c, "opensips.cfg")).isFile()).toBe(true);
      expect(statSync(join(root, c, "expect.json")).isFile()).toBe(true);
    }
  });

  it.each(cases)("%s", async (name) => {
    const dir = join(root, name);
    const cfgPath = join(dir, "opensips.cfg");
    const exp = JSON.parse(readFileSync(join(dir, "expect.json"), "utf8")) as Expectation;
    const want = expected(exp);
    expect(exp.ok, "expect.json: ok must be true exactly when no errors are listed").toBe(want.length === 0);

    const parsed = parseCfgFile(cfgPath);
    if (exp.stage === "load") {
      expect(located(dir, parsed.errors), `a load-stage case must parse cleanly:\n${explain(parsed.errors)}`).toEqual([]);
      // Imported here so the parse-stage cases do not depend on the loader being importable.
      const { checkConfig } = await import("../../core/boot.ts");
      const result = await checkConfig(cfgPath);
      const got = located(dir, result.errors);
      if (exp.match === "prefix") {
        expect(got.slice(0, want.length), explain(result.errors)).toEqual(want);
      } else {
        expect(got, explain(result.errors)).toEqual(want);
      }
      expect(result.ok).toBe(exp.ok);
      return;
    }

    const got = located(dir, parsed.errors);
    if (exp.match === "prefix") expect(got.slice(0, want.length), explain(parsed.errors)).toEqual(want);
    else expect(got, explain(parsed.errors)).toEqual(want);
    if (exp.warnings !== undefined) {
      expect(parsed.warnings.length, parsed.warnings.map((w) => formatCfgError(w)).join("\n")).toBe(exp.warnings);
    }
    // Every error is located and formats with a code frame pointing into the file.
    for (const e of parsed.errors) {
      expect(e.location, e.message).toBeDefined();
      expect(formatCfgError(e)).toMatch(/^\S+:\d+:\d+: .+ \[TSIPS_ERR_[A-Z_]+\]\n\s*\d+ \| /);
    }
  });
});
