/**
 * Every ```ts block of the module-author docs compiles.
 *
 * Convention (also stated in docs/writing-modules.md):
 * - each ```ts block is one complete file;
 * - its first line may be a comment naming where the file would live in the repo, e.g.
 *   `// modules/hits/index.ts` or `// test/unit/hits.test.ts`; its imports are written as
 *   they would be there (`"tsips"`, `"tsips/testing"`, `../clusterer/api.ts`, `./messages.ts`;
 *   under test/.snippets, inside the package, "tsips" is a self-reference).
 *   Blocks without that line are placed at `modules/snippet_<n>/index.ts`;
 * - blocks of one folder see each other (index.ts can import ./messages.ts from an
 *   earlier block); a path is used by one block only.
 *
 * The blocks are written under test/.snippets/ (gitignored; `*.test.ts` renamed
 * `*.test-snippet.ts` so vitest does not collect them) and compiled in one program with the
 * repo's tsconfig options plus `rootDirs: [repo, test/.snippets]`, which makes the relative
 * imports resolve as if the files were in the repo. The test asserts zero diagnostics.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const OUT = join(REPO, "test/.snippets");
const DOCS = ["docs/writing-modules.md"];

export interface Snippet {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Path relative to the repo, as the block names it. */
  path: string;
  code: string;
}

/** The ```ts blocks of a markdown text, with the path each names (or a generated one). */
export function extractSnippets(doc: string, text: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    const code = `${body.join("\n")}\n`;
    const named = /^\/\/ ((?:modules|test|scripts|examples)\/[\w./-]+\.ts)\b/.exec(body[0] ?? "");
    out.push({ doc, line: start + 1, path: named?.[1] ?? `modules/snippet_${out.length + 1}/index.ts`, code });
  }
  return out;
}

function compile(snippets: Snippet[]): { files: string[]; diagnostics: string[] } {
  rmSync(OUT, { recursive: true, force: true });
  const files: string[] = [];
  const where = new Map<string, Snippet>();
  for (const s of snippets) {
    const file = join(OUT, s.path.replace(/\.test\.ts$/, ".test-snippet.ts"));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, s.code);
    files.push(file);
    where.set(file, s);
  }
  const cfg = ts.readConfigFile(join(REPO, "tsconfig.json"), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, REPO);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, rootDirs: [REPO, OUT] });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return msg;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const s = where.get(resolve(d.file.fileName));
    const at = s ? `${s.doc}:${s.line + 1 + line}:${character + 1} (${s.path})` : `${d.file.fileName}:${line + 1}:${character + 1}`;
    return `${at}: ${msg}`;
  });
  return { files, diagnostics };
}

describe("docs snippets", () => {
  const all = DOCS.flatMap((d) => extractSnippets(d, readFileSync(join(REPO, d), "utf8")));

  it("extracts named blocks and places unnamed ones in their own folder", () => {
    const s = extractSnippets("x.md", "text\n```ts\n// modules/a/index.ts\nexport const a = 1;\n```\n\n```ts\nexport const b = 2;\n```\n```sh\nls\n```\n");
    expect(s.map((x) => [x.path, x.line])).toEqual([["modules/a/index.ts", 2], ["modules/snippet_2/index.ts", 7]]);
  });

  it("the docs have ts blocks, each path used once", () => {
    expect(all.length).toBeGreaterThan(5);
    const paths = all.map((s) => s.path);
    expect(paths.filter((p, i) => paths.indexOf(p) !== i)).toEqual([]);
  });

  it("every ts block compiles with the repo's compiler options", () => {
    const { files, diagnostics } = compile(all);
    expect(files.length).toBe(all.length);
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it("a block with a type error is reported at its line in the doc", () => {
    const bad = extractSnippets("bad.md", "# t\n\n```ts\n// modules/bad_probe/index.ts\nimport { int } from \"../../core/index.ts\";\nconst n: string = int({ doc: \"x\" });\nexport { n };\n```\n");
    const { diagnostics } = compile(bad);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatch(/^bad\.md:6:7 \(modules\/bad_probe\/index\.ts\): Type 'ParamSpec<number>' is not assignable to type 'string'/);
  }, 60_000);
});
