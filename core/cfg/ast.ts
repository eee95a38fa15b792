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
  /** `use_workers N`: this socket's own worker count. */
  workers?: number;
  /** `use_auto_scaling_profile NAME`: this socket's workers scale with that profile. */
  autoScalingProfile?: string;
  /** The definition as written, options included (e.g. `bin:127.0.0.1:5601 tag cl`). */
  raw: string;
  /** Where the `proto:host` part starts. */
  loc: Location;
  /** The `socket=`/`listen=` statement (where a listener that cannot open is reported). */
  declLoc?: Location;
}

/** A global's value. `yes/no/true/false/on/off/enable/disable` are numbers (1/0) as in OpenSIPS. */
export type CfgValue =
  | { kind: "int"; value: number }
  | { kind: "str"; value: string }
  | { kind: "id"; value: string };

/**
 * `auto_scaling_profile = NAME scale up to N on P% for C cycles [within W]
 *  [scale down to M on P% for C cycles]` (OpenSIPS cfg.y `auto_scale_profile_def`; the
 * fields are those of OpenSIPS's `struct scaling_profile`, validated as
 * `create_auto_scaling_profile` does).
 */
export interface AutoScalingProfile {
  /** As written; OpenSIPS looks profiles up case-insensitively. */
  name: string;
  /** `scale up to N`: most workers the group may grow to (1..999, above minProcs). */
  maxProcs: number;
  /** `on P%`: average load (percent) over which a cycle counts towards scaling up. */
  upThreshold: number;
  /** `for C cycles`: overloaded cycles needed to fork one more worker. */
  upCyclesNeeded: number;
  /** `within W`: the window those cycles are counted in (C when omitted). */
  upCyclesToCheck: number;
  /** `scale down to M`: fewest workers; 0 (no `scale down` part) = never scale down. */
  minProcs: number;
  /** `on P%` of the scale-down part: load under which a cycle counts towards scaling down. */
  downThreshold: number;
  /** `for C cycles` of the scale-down part: consecutive idle cycles needed to stop one worker. */
  downCyclesToCheck: number;
  /** Cycles to wait after start or an upscale before scaling down (OpenSIPS: 10 × downCyclesToCheck). */
  downCyclesDelay: number;
  loc: Location;
}

/** A worker group bound to a profile: `udp_workers = 4 use_auto_scaling_profile NAME`, or a socket's option. */
export interface AutoScalingUse {
  /** `udp_workers`, `tcp_workers`, `timer_workers` (deprecated aliases resolved), or `socket`. */
  group: "udp_workers" | "tcp_workers" | "timer_workers" | "socket";
  /** For a socket: its definition as written. */
  socket?: string;
  profile: string;
  /** The profile name in the use. */
  loc: Location;
}

/** What the core knows of auto-scaling: the profiles and the worker groups bound to them. */
export interface AutoScalingSettings {
  /** Every valid `auto_scaling_profile`, in cfg order (look names up case-insensitively). */
  readonly profiles: readonly AutoScalingProfile[];
  /** Every `use_auto_scaling_profile`, in cfg order; each names a defined profile. */
  readonly uses: readonly AutoScalingUse[];
}

export type ModparamValue = { kind: "int"; value: number } | { kind: "str"; value: string };

export type Statement =
  /** Every `name = value` except socket/listen/mpath/auto_scaling_profile. */
  | { kind: "global"; name: string; value: CfgValue; loc: Location; autoScaling?: AutoScalingUse }
  | { kind: "autoScalingProfile"; profile: AutoScalingProfile; loc: Location }
  | { kind: "socket"; socket: SocketDef; keyword: "socket" | "listen"; loc: Location; autoScaling?: AutoScalingUse }
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
