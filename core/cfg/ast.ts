/**
 * The parsed shape of an opensips.cfg (the subset in spec/cfg.md). Plain data only:
 * the loader (core/loader) decides what each statement means, in file order, because
 * OpenSIPS applies statements while it parses (a `modparam` must follow its `loadmodule`).
 */
import type { ErrorCode, Location } from "../errors.ts";

/** One `socket=` / `listen=` definition: `proto:host[:port] [as host[:port]] [tag ID] ...`. */
export interface SocketDef {
  /** Lower-cased protocol (`udp`, `bin`, ...). */
  proto: string;
  /** IPv4, IPv6 (without brackets), hostname, or `*`. */
  host: string;
  /** Undefined when omitted: the transport picks its default (bin: 5555). `any` is 0. */
  port: number | undefined;
  /** Advertised address (`as host[:port]`). */
  as?: { host: string; port: number | undefined };
  /** `tag ID`: the socket is also known as `proto:ID`. */
  tag?: string;
  /** The definition as written, options included (e.g. `bin:127.0.0.1:5601 tag cl`). */
  raw: string;
  /** Where the `proto:host` part starts. */
  loc: Location;
}

/** A global's value. `yes/no/true/false/on/off/enable/disable` are numbers (1/0) as in OpenSIPS. */
export type CfgValue =
  | { kind: "int"; value: number }
  | { kind: "str"; value: string }
  | { kind: "id"; value: string };

export type ModparamValue = { kind: "int"; value: number } | { kind: "str"; value: string };

export type Statement =
  /** Every `name = value` except socket/listen/mpath. */
  | { kind: "global"; name: string; value: CfgValue; loc: Location }
  | { kind: "socket"; socket: SocketDef; keyword: "socket" | "listen"; loc: Location }
  | { kind: "mpath"; path: string; loc: Location }
  /** `path` exactly as written, e.g. "proto_bin.so" or "/abs/x.so". */
  | { kind: "loadmodule"; path: string; loc: Location }
  | { kind: "modparam"; module: string; param: string; value: ModparamValue; loc: Location; valueLoc: Location }
  /** A route block that was parsed as a balanced `{ }` body and skipped. */
  | { kind: "route"; routeType: string; name?: string; loc: Location };

export interface CfgFile {
  mainFile: string;
  statements: Statement[];
  /** Every file read, main first (included files in the order they were first read). */
  files: string[];
}

/** A warning (or an error in diagnostic form) with its location. */
export interface CfgDiagnostic {
  code: ErrorCode;
  message: string;
  loc: Location;
  level: "error" | "warning";
}
