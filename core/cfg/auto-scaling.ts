/**
 * Auto-scaling profiles (OpenSIPS 3.6 cfg.y `auto_scale_profile_def`, pt_scaling.c):
 *
 *   auto_scaling_profile = NAME
 *        scale up to N on P% for C cycles [within W]
 *        [scale down to M on P% for C cycles]
 *
 * and the names that use them (`udp_workers = 4 use_auto_scaling_profile NAME`, the socket
 * option of the same name). The profile may spread over several lines; the keyword groups
 * `scale up to`, `scale down to` and `cycles within` stay on one line, as OpenSIPS's lexer
 * wants. Values are checked as `create_auto_scaling_profile` checks them, each error at the
 * number to change; names are looked up case-insensitively once the whole file is read, so a
 * profile may be defined after its first use (OpenSIPS resolves them at startup).
 */
import type { ErrorCode, Location } from "../errors.ts";
import type { AutoScalingProfile, AutoScalingSettings, AutoScalingUse } from "./ast.ts";
import type { CfgReport } from "./diag.ts";
import { describeToken, type Lexer, type Token } from "./lexer.ts";

/** What the profile grammar needs from the parser. */
export interface ProfileCursor {
  readonly lx: Lexer;
  readonly report: CfgReport;
  loc(tok: Token): Location;
  sameLine(a: Token, b: Token): boolean;
  /** Report and abandon the statement. */
  fail(code: ErrorCode, message: string, tok: Token): never;
  /** A profile name was read: it counts as defined even if the rest of the profile is wrong. */
  declare(name: string, loc: Location): void;
}

/** A line starting with this word continues a profile (`scale down to ...`), never starts a statement. */
export function continuesProfile(tok: Token): boolean {
  return isWord(tok, "scale");
}

/** OpenSIPS keeps the load history of a group in an unsigned char index: 255 cycles at most. */
const MAX_CYCLES = 255;
/** `max_procs >= 1000` is rejected by OpenSIPS. */
const MAX_PROCS = 999;

/** Keywords are matched in lower or upper case only, as OpenSIPS's lexer does. */
function isWord(tok: Token, word: string): boolean {
  if (word === "on") return (tok.kind === "num" && tok.isBool === true && tok.text === "on") || (tok.kind === "id" && tok.text === "ON");
  return tok.kind === "id" && (tok.text === word || tok.text === word.toUpperCase());
}

function expectWords(c: ProfileCursor, words: readonly string[], what: string): Token {
  let prev: Token | undefined;
  for (const w of words) {
    const tok = c.lx.next();
    if (!isWord(tok, w)) c.fail("TSIPS_ERR_CFG_SYNTAX", `'${words.join(" ")}' expected ${what}, found ${describeToken(tok)}`, tok);
    if (prev && !c.sameLine(prev, tok)) {
      c.fail("TSIPS_ERR_CFG_SYNTAX", `'${words.join(" ")}' must be written on one line`, tok);
    }
    prev = tok;
  }
  return prev as Token;
}

function expectNumber(c: ProfileCursor, what: string): Token {
  const tok = c.lx.next();
  if (tok.kind !== "num" || tok.isBool) c.fail("TSIPS_ERR_CFG_SYNTAX", `number expected for ${what}, found ${describeToken(tok)}`, tok);
  return tok;
}

/** `on P% for C cycles`: the threshold and cycle tokens (the `cycles` keyword last). */
function thresholdPart(c: ProfileCursor, part: "up" | "down"): { threshold: Token; cycles: Token; cyclesKw: Token } {
  expectWords(c, ["on"], `after 'scale ${part} to N'`);
  const threshold = expectNumber(c, `the scale-${part} load threshold (on P%)`);
  const pct = c.lx.next();
  if (!(pct.kind === "punct" && pct.text === "%")) {
    c.fail("TSIPS_ERR_CFG_SYNTAX", `'%' expected after the load threshold ${threshold.text}, found ${describeToken(pct)}`, pct);
  }
  expectWords(c, ["for"], `after '${threshold.text}%'`);
  const cycles = expectNumber(c, `the scale-${part} cycles (for C cycles)`);
  const cyclesKw = expectWords(c, ["cycles"], `after 'for ${cycles.text}'`);
  return { threshold, cycles, cyclesKw };
}

function num(tok: Token): number {
  return tok.value as number;
}

/**
 * Reads a profile after `auto_scaling_profile =` and checks its values. Syntax errors abandon
 * the statement (`fail`); a value out of range is reported at its number and `valid` is false
 * (the name still counts as defined, so its uses do not add "unknown profile" errors).
 */
export function readAutoScalingProfile(c: ProfileCursor): { profile: AutoScalingProfile; valid: boolean } {
  const name = c.lx.next();
  if (name.kind !== "id") c.fail("TSIPS_ERR_CFG_SYNTAX", `profile name expected after 'auto_scaling_profile =', found ${describeToken(name)}`, name);
  c.declare(name.text, c.loc(name));
  expectWords(c, ["scale", "up", "to"], `after the profile name '${name.text}'`);
  const max = expectNumber(c, "scale up to N (most workers)");
  const up = thresholdPart(c, "up");
  let within: Token | undefined;
  const w = c.lx.peek();
  if (isWord(w, "within")) {
    if (!c.sameLine(up.cyclesKw, w)) c.fail("TSIPS_ERR_CFG_SYNTAX", "'cycles within' must be written on one line", w);
    c.lx.next();
    within = expectNumber(c, "within W (the cycles window)");
  }
  let down: { min: Token; threshold: Token; cycles: Token } | undefined;
  if (isWord(c.lx.peek(), "scale") && isWord(c.lx.peek(1), "down")) {
    expectWords(c, ["scale", "down", "to"], "after 'scale down'");
    const min = expectNumber(c, "scale down to M (fewest workers)");
    const d = thresholdPart(c, "down");
    down = { min, threshold: d.threshold, cycles: d.cycles };
  }

  let ok = true;
  const bad = (tok: Token, message: string): void => {
    c.report.error("TSIPS_ERR_CFG_AUTO_SCALING", `auto_scaling_profile ${name.text}: ${message}`, c.loc(tok));
    ok = false;
  };
  const maxProcs = num(max);
  const upThreshold = num(up.threshold);
  const upNeeded = num(up.cycles);
  const upCheck = within ? num(within) : upNeeded;
  // As OpenSIPS: no scale-down part, or `scale down to 0`, means no downscaling at all.
  const minProcs = down ? num(down.min) : 0;
  const downThreshold = down && minProcs > 0 ? num(down.threshold) : 0;
  const downCycles = down && minProcs > 0 ? num(down.cycles) : 0;
  const history = `at most ${MAX_CYCLES} (OpenSIPS keeps ${MAX_CYCLES} cycles of load history)`;

  if (maxProcs === 0 || maxProcs > MAX_PROCS) bad(max, `scale up to ${maxProcs}: the number of workers must be 1..${MAX_PROCS}`);
  else if (down && minProcs > 0 && maxProcs <= minProcs) bad(down.min, `scale down to ${minProcs} must be below scale up to ${maxProcs}`);
  if (upThreshold === 0 || upThreshold > 100) bad(up.threshold, `scale-up threshold ${upThreshold}% out of range (1..100)`);
  if (upNeeded === 0) bad(up.cycles, "for 0 cycles: scaling up needs at least 1 cycle");
  else if (within && upCheck < upNeeded) bad(within, `within ${upCheck}: the window must be at least the ${upNeeded} cycles counted in it`);
  if (upCheck > MAX_CYCLES) bad(within ?? up.cycles, `${upCheck} cycles: ${history}`);
  if (down && minProcs > 0) {
    if (downThreshold > 100) bad(down.threshold, `scale-down threshold ${downThreshold}% out of range (0..100)`);
    else if (upThreshold <= downThreshold && upThreshold <= 100) {
      bad(down.threshold, `scale-down threshold ${downThreshold}% must be below the scale-up threshold ${upThreshold}%`);
    }
    if (downCycles > MAX_CYCLES) bad(down.cycles, `for ${downCycles} cycles: ${history}`);
  }
  const profile: AutoScalingProfile = {
    name: name.text,
    maxProcs,
    upThreshold,
    upCyclesNeeded: upNeeded,
    upCyclesToCheck: upCheck,
    minProcs,
    downThreshold,
    downCyclesToCheck: downCycles,
    downCyclesDelay: 10 * downCycles,
    loc: c.loc(name),
  };
  return { profile, valid: ok };
}

/** `use_auto_scaling_profile NAME` after a workers number or in a socket: the name token, or undefined when absent. */
export function readProfileUse(c: ProfileCursor, after: Token): Token | undefined {
  const kw = c.lx.peek();
  if (!isWord(kw, "use_auto_scaling_profile") || !c.sameLine(after, kw)) return undefined;
  c.lx.next();
  const id = c.lx.next();
  if (!c.sameLine(kw, id)) c.fail("TSIPS_ERR_CFG_SYNTAX", "profile name expected after use_auto_scaling_profile, on the same line", kw);
  if (id.kind !== "id") c.fail("TSIPS_ERR_CFG_SYNTAX", `profile name expected after use_auto_scaling_profile, found ${describeToken(id)}`, id);
  return id;
}

/** The profile as OpenSIPS's syntax writes it (for `-c` and logs). */
export function describeProfile(p: AutoScalingProfile): string {
  const up = `scale up to ${p.maxProcs} on ${p.upThreshold}% for ${p.upCyclesNeeded} cycles within ${p.upCyclesToCheck}`;
  return p.minProcs > 0 ? `${up}, scale down to ${p.minProcs} on ${p.downThreshold}% for ${p.downCyclesToCheck} cycles` : `${up}, no scale down`;
}

/**
 * Once the whole file is read: a profile defined twice (names compare case-insensitively)
 * and a use naming no profile are errors at their names.
 */
export function checkAutoScaling(profiles: readonly { name: string; loc: Location }[], uses: readonly AutoScalingUse[], report: CfgReport): void {
  const byName = new Map<string, { name: string; loc: Location }>();
  for (const p of profiles) {
    const first = byName.get(p.name.toLowerCase());
    if (first) {
      const where = first.loc.file === p.loc.file ? `line ${first.loc.line}` : `${first.loc.file}:${first.loc.line}`;
      report.error("TSIPS_ERR_CFG_AUTO_SCALING",
        `auto_scaling_profile ${p.name} is already defined (${where}); profile names are case-insensitive`, p.loc);
    } else byName.set(p.name.toLowerCase(), p);
  }
  const known = [...byName.values()].map((p) => p.name);
  for (const u of uses) {
    if (byName.has(u.profile.toLowerCase())) continue;
    const defined = known.length > 0 ? `defined: ${known.join(", ")}` : "no auto_scaling_profile is defined";
    report.error("TSIPS_ERR_CFG_AUTO_SCALING", `unknown auto-scaling profile '${u.profile}' in ${u.group === "socket" ? `socket ${u.socket}` : u.group} (${defined})`, u.loc);
  }
}

/** The `-c` listing: one line per profile with the worker groups that use it. */
export function formatAutoScaling(settings: AutoScalingSettings): string[] {
  if (settings.profiles.length === 0) return [];
  const lines = ["Auto-scaling profiles"];
  for (const p of settings.profiles) {
    const users = settings.uses
      .filter((u) => u.profile.toLowerCase() === p.name.toLowerCase())
      .map((u) => (u.group === "socket" ? `socket ${u.socket}` : u.group));
    lines.push(`             ${p.name}: ${describeProfile(p)} (${users.length > 0 ? `used by ${users.join(", ")}` : "unused"})`);
  }
  return lines;
}
