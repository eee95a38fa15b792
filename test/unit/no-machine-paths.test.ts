/**
 * The project stands on its own: no file of it names a folder outside the checkout — no
 * `../shared`, no absolute path of a developer's machine (`/work/…`, `/home/…`, `/root/…`,
 * `/Users/…`), not this checkout's own path nor the home folder of whoever runs the test.
 * Docs use neutral paths (`~/tsips/…`, `/srv/mods/…`); code finds the repo from
 * `import.meta.url`. Files are those git tracks (plus new, not ignored ones); binary files
 * (pcap captures) are skipped.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
/** This file names the forbidden paths to test the check itself. */
const SELF = "test/unit/no-machine-paths.test.ts";

/** Patterns that name a place outside the checkout, each with why it is wrong. */
const FORBIDDEN: { re: RegExp; why: string }[] = [
  { re: /\.\.\/+shared\b/, why: "a sibling folder of the checkout" },
  { re: /(^|[^\w.~-])\/(work|home|root|Users)\/[\w.…-]/, why: "an absolute path of a machine" },
  { re: /[A-Za-z]:\\Users\\/, why: "an absolute path of a machine" },
];

function projectFiles(): string[] {
  const r = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  return r.stdout.split("\0").filter((f) => f && f !== SELF);
}

/** `file:line: text` for every line naming a forbidden place or one of `literal`. */
export function machinePaths(files: Record<string, string>, literal: readonly string[]): string[] {
  const out: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    text.split("\n").forEach((line, i) => {
      const hit = FORBIDDEN.find((f) => f.re.test(line)) ?? (literal.some((l) => line.includes(l)) ? { why: "this machine's path" } : undefined);
      if (hit) out.push(`${file}:${i + 1}: ${hit.why}: ${line.trim().slice(0, 160)}`);
    });
  }
  return out;
}

describe("no path outside the checkout", () => {
  it("no tracked file names ../shared or an absolute path of a machine", () => {
    const files: Record<string, string> = {};
    for (const f of projectFiles()) {
      let buf: Buffer;
      try {
        buf = readFileSync(resolve(REPO, f));
      } catch {
        continue; // deleted in the working tree
      }
      if (buf.includes(0)) continue; // binary
      files[f] = buf.toString("utf8");
    }
    expect(Object.keys(files).length).toBeGreaterThan(100);
    // This checkout, the folder holding it, and the home folder, spelled out by whoever runs this.
    const literal = [REPO, dirname(REPO), homedir()].filter((p) => p.split("/").filter(Boolean).length >= 2);
    expect(machinePaths(files, literal)).toEqual([]);
  });

  it("catches each kind of path, and leaves neutral ones alone", () => {
    const found = machinePaths({
      "a.ts": 'const v = "../shared/vectors";',
      "b.md": "log /work/main/.tsips-run/cluster/node1.log",
      "c.md": 'loadmodule "/home/you/mods/x.so"',
      "d.ts": "const p = '/srv/checkout/x';",
      "e.md": "~/tsips/.tsips-run/cluster/node1.log, /srv/mods/hits.so, /usr/lib/opensips/modules/, ./work/x, src/home/y",
    }, ["/srv/checkout"]);
    expect(found.map((f) => f.split(":").slice(0, 2).join(":"))).toEqual(["a.ts:1", "b.md:1", "c.md:1", "d.ts:1"]);
  });
});
