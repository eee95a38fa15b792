/**
 * include_file / import_file flattening (spec/cfg.md §4, OpenSIPS cfg_pp.c). Like OpenSIPS we
 * substitute whole lines before lexing, so an include works anywhere, even inside a route
 * body. Instead of OpenSIPS's in-band `__OSSPP_LINE__` markers, every flattened line keeps
 * its origin (file, line) on the side, so each location names the included file's own path
 * and line.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Location } from "../errors.ts";
import type { CfgReport } from "./diag.ts";

/** OpenSIPS's lexer keeps at most 20 nested files open (the main file counts). */
export const MAX_INCLUDE_DEPTH = 20;

interface Origin {
  file: string;
  line: number;
}

/** The flattened text plus, per line, where it came from. Offsets map back to file:line:col. */
export class FlatSource {
  readonly text: string;
  private readonly lineStarts: number[];
  private readonly origins: Origin[];

  constructor(lines: string[], origins: Origin[]) {
    this.origins = origins;
    this.lineStarts = new Array<number>(lines.length);
    let off = 0;
    for (let i = 0; i < lines.length; i++) {
      this.lineStarts[i] = off;
      off += (lines[i] as string).length + 1;
    }
    // A missing final newline is added, as OpenSIPS's flattener does.
    this.text = lines.length > 0 ? lines.join("\n") + "\n" : "";
  }

  /** Index of the flattened line holding offset `pos`. */
  lineIndex(pos: number): number {
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Location of offset `start`; `endCol` is set when `end` lies on the same line. Columns are
   * 1-based and a TAB counts as one, as in OpenSIPS.
   */
  loc(start: number, end?: number): Location {
    if (this.origins.length === 0) return { file: "", line: 1, col: 1 };
    // End of file points just after the last line's text (on its final newline).
    if (start >= this.text.length) start = this.text.length - 1;
    const li = this.lineIndex(start);
    const origin = this.origins[li] as Origin;
    const lineStart = this.lineStarts[li] as number;
    const loc: Location = { file: origin.file, line: origin.line, col: start - lineStart + 1 };
    if (end !== undefined && end > start) {
      const lineEnd = lineStart + this.lineLength(li);
      const endCol = Math.min(end, lineEnd) - lineStart + 1;
      if (endCol > loc.col) loc.endCol = endCol;
    }
    return loc;
  }

  private lineLength(li: number): number {
    const next = this.lineStarts[li + 1];
    return (next === undefined ? this.text.length : next) - (this.lineStarts[li] as number) - 1;
  }
}

/** `include_file "path"` / `import_file 'path'`; anything after the closing quote is ignored. */
const INCLUDE_RE = /^([ \t]*)(include_file|import_file)(?=[ \t"']|$)[ \t]*(?:(["'])(.*?)\3)?/;

export type ReadFile = (path: string) => string;

const defaultRead: ReadFile = (p) => readFileSync(p, "utf8");

function identity(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** Relative paths: as given (i.e. from the CWD) first, then next to the including file. */
function resolveInclude(path: string, includer: string): string {
  if (isAbsolute(path) || existsSync(path)) return path;
  return join(dirname(includer), path);
}

function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} (${err.message.replace(/^[A-Z]+: /, "").replace(/, open .*$/, "")})` : String(e);
}

/**
 * Flatten `mainText` (the content of `mainFile`) and everything it includes. Errors (missing
 * file, cycle, depth, malformed directive, NUL byte) go to `report`; the offending line is
 * dropped and flattening goes on.
 */
export function flattenCfg(
  mainFile: string,
  mainText: string,
  report: CfgReport,
  read: ReadFile = defaultRead,
): { src: FlatSource; files: string[] } {
  const lines: string[] = [];
  const origins: Origin[] = [];
  const files: string[] = [];
  const stack: { file: string; id: string }[] = [];

  const visit = (file: string, text: string): void => {
    const own = splitLines(text);
    if (!report.sources.has(file)) {
      report.sources.set(file, own);
      files.push(file);
    }
    stack.push({ file, id: identity(file) });
    for (let i = 0; i < own.length; i++) {
      let line = own[i] as string;
      const lineNo = i + 1;
      const nul = line.indexOf("\0");
      if (nul >= 0) {
        report.error("TSIPS_ERR_CFG_SYNTAX", "NUL byte in the config file", { file, line: lineNo, col: nul + 1, endCol: nul + 2 });
        line = line.replace(/\0/g, " ");
      }
      const m = INCLUDE_RE.exec(line);
      if (!m) {
        lines.push(line);
        origins.push({ file, line: lineNo });
        continue;
      }
      const indent = (m[1] as string).length;
      const keyword = m[2] as string;
      const kwLoc: Location = { file, line: lineNo, col: indent + 1, endCol: indent + 1 + keyword.length };
      const target = m[4];
      if (target === undefined || target.length < 2) {
        report.error(
          "TSIPS_ERR_CFG_SYNTAX",
          target === undefined
            ? `malformed ${keyword}: expected ${keyword} "path" (a quoted path)`
            : `malformed ${keyword}: the path "${target}" is too short`,
          kwLoc,
        );
        continue;
      }
      const quoteCol = m[0].length - target.length - 1; // 1-based column of the opening quote
      const pathLoc: Location = { file, line: lineNo, col: quoteCol, endCol: m[0].length + 1 };
      const resolved = resolveInclude(target, file);
      const id = identity(resolved);
      const onStack = stack.findIndex((s) => s.id === id);
      if (onStack >= 0) {
        const chain = [...stack.slice(onStack).map((s) => s.file), resolved].join(" -> ");
        report.error("TSIPS_ERR_CFG_INCLUDE_CYCLE", `${keyword} cycle: ${chain}`, pathLoc);
        continue;
      }
      if (stack.length >= MAX_INCLUDE_DEPTH) {
        report.error(
          "TSIPS_ERR_CFG_INCLUDE_CYCLE",
          `maximum include depth reached (${MAX_INCLUDE_DEPTH} nested files) at ${resolved}`,
          pathLoc,
        );
        continue;
      }
      let content: string;
      try {
        content = read(resolved);
      } catch (e) {
        report.error("TSIPS_ERR_CFG_INCLUDE", `failed to open ${resolved}: ${describe(e)}`, pathLoc);
        continue;
      }
      visit(resolved, content);
    }
    stack.pop();
  };

  visit(mainFile, mainText);
  return { src: new FlatSource(lines, origins), files };
}
