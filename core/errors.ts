/**
 * The one error catalog of tsips. Every failure the runtime reports has a stable
 * code here, a one-line summary and a fix hint; `docs/errors.md` has one row per
 * code and `test/unit/errors-doc.test.ts` keeps both in step (as Fastify does).
 *
 * Errors carry the module and, where one exists, the config location
 * (`file:line:col`), so every message can point at the line to change.
 */

/** A position in a config file. Lines and columns are 1-based; a TAB counts as one column. */
export interface Location {
  file: string;
  line: number;
  col: number;
  /** Column just after the offending token, when known. */
  endCol?: number;
}

export function formatLocation(loc: Location): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

interface CatalogEntry {
  /** What went wrong, in a few words. */
  summary: string;
  /** What the user should do about it. */
  fix: string;
}

function entries<const T extends Record<string, CatalogEntry>>(t: T): T {
  return t;
}

/** Every error code, with its summary and fix. Add new codes here and in docs/errors.md. */
export const ERROR_CATALOG = entries({
  // ── config language (core/cfg) ──────────────────────────────────────────
  TSIPS_ERR_CFG_READ: { summary: "the config file cannot be read", fix: "check the path given with -f and its permissions" },
  TSIPS_ERR_CFG_NOT_FOUND: { summary: "no config file was given and none was found", fix: "pass -f FILE or create opensips.cfg in this directory or a parent" },
  TSIPS_ERR_CFG_SYNTAX: { summary: "the config file has a syntax error", fix: "fix the statement at the reported line:col" },
  TSIPS_ERR_CFG_UNTERMINATED: { summary: "a string, comment or block is not closed", fix: "close it; the location is where it started" },
  TSIPS_ERR_CFG_UNKNOWN_GLOBAL: { summary: "unknown config variable", fix: "check the spelling of the global parameter" },
  TSIPS_ERR_CFG_VALUE: { summary: "a global parameter has a value of the wrong type", fix: "use the type the parameter expects (number, string, boolean)" },
  TSIPS_ERR_CFG_AUTO_SCALING: { summary: "an auto_scaling_profile is invalid, defined twice, or used but not defined", fix: "fix the number the message points at, or define the profile named in use_auto_scaling_profile (names are case-insensitive)" },
  TSIPS_ERR_CFG_SOCKET: { summary: "a socket/listen definition is invalid", fix: "write it as proto:host[:port], e.g. bin:127.0.0.1:5555 (port ranges are not supported)" },
  TSIPS_ERR_CFG_INCLUDE: { summary: "an included file cannot be read", fix: "check the include_file/import_file path (relative to the including file)" },
  TSIPS_ERR_CFG_INCLUDE_CYCLE: { summary: "include_file/import_file forms a cycle or nests too deep", fix: "remove the include that points back to a file already being included" },
  TSIPS_ERR_CFG_DEPRECATED: { summary: "a deprecated config keyword was used (warning)", fix: "use the replacement the warning names" },
  TSIPS_ERR_CFG_ROUTE_SKIPPED: { summary: "a route block was skipped: tsips does not route SIP (warning)", fix: "nothing to do; remove the block to silence the warning" },
  TSIPS_ERR_CFG_TOO_MANY_ERRORS: { summary: "too many errors; stopped reporting", fix: "fix the errors reported first" },
  // ── modules and parameters (core/loader) ───────────────────────────────
  TSIPS_ERR_MOD_NOT_FOUND: { summary: "a loadmodule names a module that cannot be found", fix: "check the name and the mpath; the message lists where it looked" },
  TSIPS_ERR_MOD_INVALID: { summary: "a module file does not default-export defineModule({...})", fix: "export default defineModule({ name, version, ... }) from the module's index.ts" },
  TSIPS_ERR_MOD_DROPPED: { summary: "the module was dropped from OpenSIPS", fix: "load the replacement module the message names" },
  TSIPS_ERR_MODPARAM_ORDER: { summary: "modparam for a module that is loaded only later in the config", fix: "put the loadmodule line before its modparam lines" },
  TSIPS_ERR_PARAM_MODULE: { summary: "modparam names a module that is not loaded at all", fix: "add loadmodule for it, or fix the module name (a case-insensitive regex)" },
  TSIPS_ERR_PARAM_UNKNOWN: { summary: "the module has no such parameter", fix: "check the parameter name in the module's README" },
  TSIPS_ERR_PARAM_TYPE: { summary: "the parameter got a string where it takes a number, or the reverse", fix: "quote strings, leave numbers unquoted" },
  TSIPS_ERR_PARAM_VALUE: { summary: "the parameter's value was rejected", fix: "use a value in the range or form the message names" },
  TSIPS_ERR_DEP_MISSING: { summary: "a module needs another module that is not loaded", fix: "add loadmodule for the module named in the message" },
  TSIPS_ERR_DEP_CYCLE: { summary: "module dependencies form a cycle", fix: "break the cycle named in the message" },
  TSIPS_ERR_MOD_INIT: { summary: "a module failed to initialise", fix: "see the cause; the node did not start and what had started was destroyed" },
  TSIPS_ERR_MOD_INIT_TIMEOUT: { summary: "a module's init did not settle in time", fix: "the module hangs in init; check what it waits for" },
  TSIPS_ERR_MOD_DESTROY: { summary: "a module failed while being destroyed", fix: "see the cause; shutdown went on with the other modules" },
  TSIPS_ERR_HOOK_TAP: { summary: "a hook tap is not allowed", fix: "modules tap hooks under their own name, before or during init" },
  TSIPS_ERR_HOOK_CALLBACK: { summary: "a hook callback threw", fix: "see the cause; other callbacks were still called" },
  // ── command line ───────────────────────────────────────────────────────
  TSIPS_ERR_CLI_USAGE: { summary: "unknown or malformed command-line option", fix: "run with -h for the usage" },
  // ── BIN (core/bin) ─────────────────────────────────────────────────────
  TSIPS_ERR_BIN_TOO_BIG: { summary: "a BIN packet would exceed 65535 bytes", fix: "send less per packet (e.g. lower sync_packet_size)" },
  TSIPS_ERR_BIN_MALFORMED: { summary: "a received BIN packet is malformed", fix: "the peer sent bad data; it was dropped and counted" },
  TSIPS_ERR_BIN_SHORT: { summary: "a BIN packet ended before all its fields were read", fix: "the peer's packet does not match the declared message; it was dropped" },
  TSIPS_ERR_BIN_CRC: { summary: "a 1.10 BIN datagram's checksum does not match its bytes", fix: "the sender is not OpenSIPS 1.10-compatible or the datagram was damaged; it was dropped and counted" },
  TSIPS_ERR_BIN_VERSION: { summary: "a BIN packet has a version this node does not accept", fix: "upgrade the older node; the packet was dropped and counted" },
  TSIPS_ERR_BIN_NO_TRANSPORT: { summary: "no transport serves BIN sends", fix: "loadmodule \"proto_bin.so\" and define a socket=bin:IP:PORT" },
  TSIPS_ERR_BIN_SEND: { summary: "a BIN packet could not be sent", fix: "check that the destination is reachable" },
  // ── transports and network ─────────────────────────────────────────────
  TSIPS_ERR_LISTEN: { summary: "a listener (socket, HTTP port, FIFO) could not be opened", fix: "free the port (another node or process holds it), use an address this host has, or a port/path this user may open; the location is the statement that asked for it" },
  TSIPS_ERR_FILE: { summary: "a file the config names (certificate, key, folder) cannot be read", fix: "check the path in the modparam at the reported location, and its permissions" },
  // ── clusterer ──────────────────────────────────────────────────────────
  TSIPS_ERR_TLS_DOMAIN: { summary: "a TLS domain could not be loaded or is missing", fix: "check the tls_mgm modparams: files readable, key matching the certificate, a server and a client domain defined" },
  TSIPS_ERR_CLUSTER_CONFIG: { summary: "the clusterer configuration is invalid", fix: "see the message; node-info strings follow OpenSIPS's syntax" },
  TSIPS_ERR_CLUSTER_UNKNOWN: { summary: "unknown cluster or node id", fix: "use an id defined with my_node_info/neighbor_node_info" },
  // ── dialog ─────────────────────────────────────────────────────────────
  TSIPS_ERR_DLG_NOT_FOUND: { summary: "no dialog with that id or Call-ID", fix: "check the id with MI dlg_list (ID is hentry.hid in reverse hex)" },
  TSIPS_ERR_DLG_BACKUP: { summary: "this node is backup for the dialog's sharing tag", fix: "run the action on the node where the tag is active" },
  TSIPS_ERR_DLG_STATE: { summary: "a dialog state change that OpenSIPS does not allow", fix: "states only move forward (1 unconfirmed .. 5 deleted)" },
  TSIPS_ERR_DLG_ARG: { summary: "invalid dialog data (missing Call-ID/URI, unknown profile, no SIP socket)", fix: "see the message; define the profile or add a socket=udp:IP:PORT line" },
  // ── MI ─────────────────────────────────────────────────────────────────
  TSIPS_ERR_MI_DUPLICATE: { summary: "two modules register the same MI command", fix: "rename one of the commands" },
  TSIPS_ERR_MI_COMMAND: { summary: "an MI command failed", fix: "see the JSON-RPC error message and data" },
  // ── module-specific ────────────────────────────────────────────────────
  TSIPS_ERR_DB_URL: { summary: "db_url is missing, malformed or names a backend tsips has no module for", fix: "write sqlite:///abs/path.db or postgres://user:pass@host:port/db and load db_sqlite/db_postgres" },
  TSIPS_ERR_DB_CONNECT: { summary: "the database cannot be opened or reached at start-up", fix: "check the file's folder and permissions, or that the PostgreSQL server runs and accepts the user" },
  TSIPS_ERR_DB_VERSION: { summary: "a table is missing from the version table or has another version", fix: "create the tables with `npm run db -- init <db_url>` or migrate them to the version named" },
  TSIPS_ERR_DB_QUERY: { summary: "a database statement failed at start-up (load)", fix: "see the cause; check that the table has OpenSIPS's columns" },
  TSIPS_ERR_MODULE: { summary: "a module reported an error", fix: "see the message and its cause" },
});

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface TsipsErrorOptions {
  module?: string;
  location?: Location;
  cause?: unknown;
  /** Extra lines (hints, a code frame) printed after the message. */
  details?: string[];
}

/** The error type of tsips: a catalog code, a message, and where it happened. */
export class TsipsError extends Error {
  readonly code: ErrorCode;
  readonly module: string | undefined;
  readonly location: Location | undefined;
  readonly details: string[];

  constructor(code: ErrorCode, message: string, opts: TsipsErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "TsipsError";
    this.code = code;
    this.module = opts.module;
    this.location = opts.location;
    this.details = opts.details ?? [];
  }

  /** `file:line:col: message [CODE]` as OpenSIPS-style tools print it. */
  override toString(): string {
    const where = this.location ? `${formatLocation(this.location)}: ` : "";
    const mod = this.module ? `${this.module}: ` : "";
    return `${where}${mod}${this.message} [${this.code}]`;
  }
}

export function isTsipsError(e: unknown): e is TsipsError {
  // Duck-typed so two copies of core (e.g. a module outside the repo) still match.
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string" &&
    (e as unknown as { code: string }).code in ERROR_CATALOG;
}

/** Several errors reported together (a config with more than one mistake). */
export class TsipsAggregateError extends Error {
  readonly errors: TsipsError[];
  constructor(errors: TsipsError[], message = `${errors.length} error(s)`) {
    super(message);
    this.name = "TsipsAggregateError";
    this.errors = errors;
  }
}
