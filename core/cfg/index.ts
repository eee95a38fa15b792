/**
 * The public surface of the config parser. `parseCfgFile` reads, flattens includes, lexes and
 * parses; it never throws for a mistake in the config: every error (up to a cap) is returned
 * with its file:line:col, and warnings (deprecated keywords, skipped route blocks) beside them.
 */
import { readFileSync } from "node:fs";
import { TsipsError } from "../errors.ts";
import { systemErrorText } from "../os-errors.ts";
import type { CfgDiagnostic, CfgFile } from "./ast.ts";
import { CfgReport, TooManyErrors } from "./diag.ts";
import { flattenCfg } from "./include.ts";
import { parseStatements } from "./parser.ts";

export type { CfgDiagnostic, CfgFile, CfgValue, ModparamValue, SocketDef, Statement } from "./ast.ts";
export { codeFrame, formatCfgError } from "./frame.ts";
export { discoverCfg } from "./discover.ts";
export { describeProfile, formatAutoScaling } from "./auto-scaling.ts";
export { KNOWN_GLOBALS } from "./globals.ts";
export { MAX_CFG_ERRORS } from "./diag.ts";

export interface CfgParseResult {
  cfg: CfgFile;
  errors: TsipsError[];
  warnings: CfgDiagnostic[];
}

/**
 * Parse config text as if it were the content of `file`. Includes are read from disk and
 * resolved as OpenSIPS does: relative to the working directory first, then to `file`'s folder.
 */
export function parseCfgText(text: string, file: string): CfgParseResult {
  const report = new CfgReport();
  let files: string[] = [file];
  let statements: CfgFile["statements"] = [];
  try {
    const flat = flattenCfg(file, text, report);
    files = flat.files;
    statements = parseStatements(flat.src, report);
  } catch (e) {
    if (!(e instanceof TooManyErrors)) throw e;
  }
  return { cfg: { mainFile: file, statements, files }, errors: report.errors, warnings: report.warnings };
}

/** Read and parse a config file; an unreadable file is one TSIPS_ERR_CFG_READ error. */
export function parseCfgFile(path: string): CfgParseResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return {
      cfg: { mainFile: path, statements: [], files: [] },
      errors: [new TsipsError("TSIPS_ERR_CFG_READ", `cannot read config file ${path}: ${systemErrorText(e)}`, { cause: e })],
      warnings: [],
    };
  }
  return parseCfgText(text, path);
}
