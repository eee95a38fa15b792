/**
 * Logging: one pino root logger, a child per module (`module` field). Pretty on a TTY,
 * JSON lines otherwise. OpenSIPS log levels (-3..4) map onto pino levels, with a custom
 * `notice` level between info and warn so `log_level=2` (OpenSIPS's default) means what
 * it means there.
 */
import { pino, type Logger, type DestinationStream } from "pino";
import type { PrettyOptions } from "pino-pretty";

export type { Logger };

/** pino level names ordered as OpenSIPS levels -3..4. */
const OPENSIPS_TO_PINO: Record<number, string> = {
  [-3]: "fatal", // L_ALERT
  [-2]: "fatal", // L_CRIT
  [-1]: "error", // L_ERR
  0: "warn",
  1: "warn", // L_WARN
  2: "notice", // L_NOTICE
  3: "info", // L_INFO
  4: "debug", // L_DBG
};

const PINO_TO_OPENSIPS: Record<string, number> = {
  fatal: -2, error: -1, warn: 1, notice: 2, info: 3, debug: 4, trace: 4, silent: -3,
};

export const CUSTOM_LEVELS = { notice: 35 } as const;

/** pino level for an OpenSIPS log_level (clamped to -3..4). */
export function opensipsLevelToPino(level: number): string {
  const l = Math.max(-3, Math.min(4, Math.trunc(level)));
  return OPENSIPS_TO_PINO[l] ?? "notice";
}

/** OpenSIPS log_level for a pino level name. */
export function pinoLevelToOpensips(level: string): number {
  return PINO_TO_OPENSIPS[level] ?? 2;
}

export interface RootLoggerOptions {
  /** OpenSIPS log level, -3..4 (default 2, notice). */
  level?: number;
  /** Write to stderr (OpenSIPS stderror_enabled, default) or stdout. */
  toStderr?: boolean;
  /** Pretty-print (default: when the target is a TTY). */
  pretty?: boolean;
  /** Explicit destination (tests). */
  destination?: DestinationStream;
}

/**
 * How the pretty (TTY) log looks: one line per event. `module` is shown once, as the
 * `[module]` prefix; any other field (`version`, `ms`, `peer`...) follows the message on the
 * same line as compact JSON instead of taking a line each. Errors keep their stack below.
 */
export function prettyOptions(colorize = true): PrettyOptions {
  return {
    colorize,
    singleLine: true,
    ignore: "pid,hostname,module",
    translateTime: "SYS:HH:MM:ss.l",
    customLevels: "notice:35",
    customColors: "notice:cyan",
    // Add notice to pino's own levels; without this every other level prints as USERLVL.
    useOnlyCustomProps: false,
    messageFormat: "{if module}[{module}] {end}{msg}",
  };
}

/**
 * Builds the root logger. Pretty printing loads pino-pretty lazily so a JSON-logging
 * node (the usual case under a supervisor or in tests) does not pay for it at boot.
 */
export async function createRootLogger(opts: RootLoggerOptions = {}): Promise<Logger<"notice">> {
  const fd = opts.toStderr === false ? 1 : 2;
  const isTty = fd === 2 ? process.stderr.isTTY : process.stdout.isTTY;
  const level = opensipsLevelToPino(opts.level ?? 2);
  let dest: DestinationStream;
  if (opts.destination) dest = opts.destination;
  else if (opts.pretty ?? isTty) {
    const { default: pretty } = await import("pino-pretty");
    dest = pretty({ ...prettyOptions(), destination: fd, sync: true });
  } else dest = pino.destination({ fd, sync: true });
  return pino<"notice">({ level, customLevels: CUSTOM_LEVELS, base: { pid: process.pid } }, dest);
}

/** A logger that drops everything (unit tests, -c runs with errors printed separately). */
export function silentLogger(): Logger<"notice"> {
  return pino<"notice">({ level: "silent", customLevels: CUSTOM_LEVELS });
}

export type TsipsLogger = Logger<"notice">;
