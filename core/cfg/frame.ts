/**
 * Code frames and OpenSIPS-style error lines: `file:line:col: message [CODE]`, then the
 * offending line and a `^~~~` marker under the offending token (spec/cfg.md §7; OpenSIPS
 * puts the `^` after the line's indentation, we put it under the column, which is more
 * useful and still reads the same).
 */
import { readFileSync } from "node:fs";
import { formatLocation, type Location, type TsipsError } from "../errors.ts";
import type { CfgDiagnostic } from "./ast.ts";

/**
 * The two-line frame for `loc` in `lines` (the file's lines, 0-based array, 1-based `loc.line`):
 * `  12 | text` and `     | ^~~~`. Tabs before the column are kept in the marker line so the
 * caret lines up whatever the terminal's tab width is. Empty when the line is unknown.
 */
export function codeFrame(lines: readonly string[] | undefined, loc: Location): string[] {
  const text = lines?.[loc.line - 1];
  if (text === undefined) return [];
  const shown = text.replace(/\r$/, "");
  const gutter = String(loc.line);
  const pad = " ".repeat(gutter.length);
  const col = Math.max(1, Math.min(loc.col, shown.length + 1));
  const indent = shown.slice(0, col - 1).replace(/[^\t]/g, " ");
  const end = loc.endCol !== undefined && loc.endCol > col ? Math.min(loc.endCol, shown.length + 1) : col + 1;
  const marker = "^" + "~".repeat(Math.max(0, end - col - 1));
  return [`${gutter} | ${shown}`, `${pad} | ${indent}${marker}`];
}

/** Lines of a file on disk, or undefined when it cannot be read (the frame is then left out). */
function readLines(file: string): string[] | undefined {
  try {
    return readFileSync(file, "utf8").split("\n");
  } catch {
    return undefined;
  }
}

function isDiagnostic(e: TsipsError | CfgDiagnostic): e is CfgDiagnostic {
  return "level" in e && "loc" in e;
}

/**
 * `file:line:col: message [CODE]` plus a short code frame. The frame comes from
 * `sourceLookup(file)` when given, else from the error's own `details` (the parser puts the
 * frame there while it still has the text, so errors from `parseCfgText` format without a
 * lookup), else from the file on disk. Warnings (`CfgDiagnostic`) format the same way with a
 * `warning:` prefix before the message.
 */
export function formatCfgError(
  err: TsipsError | CfgDiagnostic,
  sourceLookup?: (file: string) => string[] | undefined,
): string {
  const diag = isDiagnostic(err);
  const loc = diag ? err.loc : err.location;
  const prefix = diag && err.level === "warning" ? "warning: " : "";
  const mod = !diag && err.module ? `${err.module}: ` : "";
  const head = `${loc ? `${formatLocation(loc)}: ` : ""}${prefix}${mod}${err.message} [${err.code}]`;
  if (!loc) return [head, ...(diag ? [] : err.details)].join("\n");
  let frame = sourceLookup ? codeFrame(sourceLookup(loc.file), loc) : [];
  if (frame.length === 0 && !diag && err.details.length > 0) frame = err.details;
  if (frame.length === 0) frame = codeFrame(readLines(loc.file), loc);
  return [head, ...frame].join("\n");
}
