import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { importsOf } from "../helpers/imports.ts";

const MODULES = resolve(import.meta.dirname, "../../modules");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Violations of the rule: a module may import another module only as `import type` from its api.ts. */
export function boundaryViolations(modulesDir: string): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(modulesDir)) {
    const own = relative(modulesDir, file).split(sep)[0]!;
    for (const { spec, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
      if (spec.startsWith("tsips/modules/")) { // another module's API type, by name
        if (!typeOnly) bad.push(`${relative(modulesDir, file)} imports ${spec} (another module's api.ts: import type only)`);
        continue;
      }
      if (!spec.startsWith(".")) continue; // "tsips", node:*, npm packages
      const abs = resolve(file, "..", spec);
      const target = relative(modulesDir, abs);
      if (target.startsWith("..")) {
        bad.push(`${relative(modulesDir, file)} imports ${spec} (modules reach the core by name: import … from "tsips")`);
        continue;
      }
      const other = target.split(sep)[0]!;
      if (other === own) continue;
      const isApi = target === join(other, "api.ts");
      if (!(typeOnly && isApi)) bad.push(`${relative(modulesDir, file)} imports ${spec}${typeOnly ? " (type-only, but not api.ts)" : ""}`);
    }
  }
  return bad;
}

describe("module import boundary", () => {
  it("no file in modules/* imports another module's values (type-only api.ts imports allowed), nor the core by path", () => {
    expect(boundaryViolations(MODULES)).toEqual([]);
  });

  it("modules import the core by name, never by a relative path", () => {
    const srcs = tsFiles(MODULES).filter((f) => !f.endsWith(".test.ts")).map((f) => readFileSync(f, "utf8"));
    expect(srcs.some((s) => importsOf(s).some((i) => i.spec === "tsips"))).toBe(true);
    expect(srcs.flatMap((s) => importsOf(s).filter((i) => i.spec.includes("core/")))).toEqual([]);
  });

  it("detects a value import and a type import of a non-api file", () => {
    expect(importsOf(`import { x } from "../clusterer/state.ts";\nimport type { A } from "../clusterer/api.ts";`)).toEqual([
      { spec: "../clusterer/state.ts", typeOnly: false },
      { spec: "../clusterer/api.ts", typeOnly: true },
    ]);
  });

  it("allows another module's api.ts by name only as import type", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsips-boundary-"));
    try {
      mkdirSync(join(dir, "mine"));
      writeFileSync(join(dir, "mine/index.ts"), [
        `import type { ClustererApi } from "tsips/modules/clusterer/api.ts";`,
        `import { CLUSTERER } from "tsips/modules/clusterer/api.ts";`,
      ].join("\n"));
      expect(boundaryViolations(dir)).toEqual([`${join("mine", "index.ts")} imports tsips/modules/clusterer/api.ts (another module's api.ts: import type only)`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
