/**
 * Operational errors: what the machine refused (a port in use, a missing certificate, a
 * folder that cannot be written), turned into one located TsipsError the CLI prints on one
 * line, as OpenSIPS does:
 *
 *   ERROR: node1.cfg:7:1: proto_bin: cannot listen on bin:127.0.0.1:5555: address already in use [TSIPS_ERR_LISTEN]
 *
 * The location is the cfg statement that asked for the thing (the `socket=` line, the
 * modparam naming the file); the original error stays as `cause` for the debug log.
 */
import { readFileSync } from "node:fs";
import { getSystemErrorMap } from "node:util";
import { TsipsError, isTsipsError, type Location } from "./errors.ts";

let systemErrors: Map<number, [string, string]> | undefined;

/**
 * The system's own words for an errno error ("address already in use", "permission denied",
 * "no such file or directory"); the message of any other error.
 */
export function systemErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.errno === "number") {
    systemErrors ??= getSystemErrorMap();
    const known = systemErrors.get(e.errno) ?? systemErrors.get(-e.errno);
    if (known) return known[1];
  }
  return e instanceof Error ? e.message : String(err);
}

export interface OperationalErrorOptions {
  module?: string;
  /** The cfg statement that asked for the resource. */
  location?: Location;
}

/** `cannot listen on <what>: <system text>` (TSIPS_ERR_LISTEN). */
export function listenError(what: string, err: unknown, opts: OperationalErrorOptions = {}): TsipsError {
  return new TsipsError("TSIPS_ERR_LISTEN", `cannot listen on ${what}: ${systemErrorText(err)}`, { ...opts, cause: err });
}

/** `cannot read <what> "<path>": <system text>` (TSIPS_ERR_FILE). */
export function fileError(what: string, path: string, err: unknown, opts: OperationalErrorOptions = {}): TsipsError {
  return new TsipsError("TSIPS_ERR_FILE", `cannot read ${what} "${path}": ${systemErrorText(err)}`, { ...opts, cause: err });
}

/**
 * Reads a file the config names (a certificate, a key, a table dump), or throws TSIPS_ERR_FILE
 * located at the statement that named it. `what` names it for the user, e.g. `tls_cert_file`.
 */
export function readConfiguredFile(path: string, what: string, opts: OperationalErrorOptions = {}): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fileError(what, path, err, opts);
  }
}

/**
 * The one line the CLI prints when a node cannot start. A module whose init failed on an
 * operational error is shown as that error (`proto_bin: cannot listen on ...
 * [TSIPS_ERR_LISTEN]`), located at the statement that caused it, or at the module's
 * `loadmodule` line when the error carries no location; the stack is for the debug log.
 */
export function bootFailureLine(err: unknown, showPath: (file: string) => string = (f) => f): string {
  if (!isTsipsError(err)) return `ERROR: ${err instanceof Error ? err.message : String(err)}`;
  const inner = err.cause;
  const shown = err.code === "TSIPS_ERR_MOD_INIT" && isTsipsError(inner) ? inner : err;
  const module = shown.module ?? err.module;
  const location = shown.location ?? err.location;
  return `ERROR: ${new TsipsError(shown.code, shown.message, {
    ...(module ? { module } : {}),
    ...(location ? { location: { ...location, file: showPath(location.file) } } : {}),
  }).toString()}`;
}
