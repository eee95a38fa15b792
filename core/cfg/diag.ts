/**
 * Collects the errors and warnings of one config parse. Parsing never throws for a config
 * mistake: every error is recorded here (with its code frame, while the text is at hand) and
 * the parser goes on, until the cap is reached (then one TSIPS_ERR_CFG_TOO_MANY_ERRORS).
 */
import { TsipsError, type ErrorCode, type Location } from "../errors.ts";
import type { CfgDiagnostic } from "./ast.ts";
import { codeFrame } from "./frame.ts";

/** OpenSIPS stops at the first error; we report up to this many, then stop. */
export const MAX_CFG_ERRORS = 20;

/** Thrown (and caught by the parser's entry point) once the error cap is reached. */
export class TooManyErrors extends Error {}

export class CfgReport {
  readonly errors: TsipsError[] = [];
  readonly warnings: CfgDiagnostic[] = [];
  /** Lines of every file read (for code frames). */
  readonly sources = new Map<string, string[]>();
  /** Same error at the same place reported once (recovery may re-lex a token). */
  private readonly seen = new Set<string>();

  error(code: ErrorCode, message: string, loc: Location): void {
    const key = `${code}\0${loc.file}\0${loc.line}\0${loc.col}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.errors.length >= MAX_CFG_ERRORS) {
      this.errors.push(
        new TsipsError("TSIPS_ERR_CFG_TOO_MANY_ERRORS", `too many errors (more than ${MAX_CFG_ERRORS}); stopped here`, {
          location: loc,
          details: codeFrame(this.sources.get(loc.file), loc),
        }),
      );
      throw new TooManyErrors();
    }
    this.errors.push(new TsipsError(code, message, { location: loc, details: codeFrame(this.sources.get(loc.file), loc) }));
  }

  warn(code: ErrorCode, message: string, loc: Location): void {
    this.warnings.push({ code, message, loc, level: "warning" });
  }
}
