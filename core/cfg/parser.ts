/**
 * The opensips.cfg parser (spec/cfg.md §3, §6; OpenSIPS cfg.y) for the top level: global
 * assignments, socket/listen, mpath, loadmodule, modparam, and route blocks (parsed as
 * balanced bodies and skipped). It records statements in file order and applies nothing:
 * the loader does, in that order.
 *
 * Unlike OpenSIPS, which stops at the first error, it recovers: after a syntax error it
 * resumes at the next line that begins with an identifier (skipping whole `{ }` blocks on
 * the way), so one run reports every mistake.
 */
import type { ErrorCode, Location } from "../errors.ts";
import type { AutoScalingUse, CfgValue, ModparamValue, SocketDef, Statement } from "./ast.ts";
import { checkAutoScaling, continuesProfile, readAutoScalingProfile, readProfileUse, type ProfileCursor } from "./auto-scaling.ts";
import { TooManyErrors, type CfgReport } from "./diag.ts";
import { KNOWN_GLOBALS, REMOVED_GLOBALS, suggestGlobal, type GlobalDef } from "./globals.ts";
import type { FlatSource } from "./include.ts";
import { Lexer, describeToken, type Token } from "./lexer.ts";
import { parseHostPort, parseSocketWord, SOCKET_PROTOS, type WordError } from "./socket.ts";

/** Route block keywords and whether their `[name]` header is required, optional or absent. */
const ROUTE_KINDS: ReadonlyMap<string, "required" | "optional" | "none"> = new Map([
  ["route", "optional"],
  ["onreply_route", "optional"],
  ["failure_route", "required"],
  ["branch_route", "required"],
  ["timer_route", "required"],
  ["event_route", "required"],
  ["error_route", "none"],
  ["local_route", "none"],
  ["startup_route", "none"],
]);

/** Socket options that take no argument. */
const SOCKET_FLAGS: ReadonlySet<string> = new Set(["anycast", "frag", "reuse_port", "accept_subdomain"]);
/** Socket options followed by one argument. */
const SOCKET_ARG_OPTIONS: ReadonlySet<string> = new Set(["as", "use_workers", "tos", "tag", "use_auto_scaling_profile"]);

/** The worker group each workers global sizes (deprecated spellings included). */
const WORKER_GROUPS: Readonly<Record<string, AutoScalingUse["group"]>> = {
  udp_workers: "udp_workers", children: "udp_workers",
  tcp_workers: "tcp_workers", tcp_children: "tcp_workers",
  timer_workers: "timer_workers",
};

const LOG_FORMATS: ReadonlySet<string> = new Set(["plain_text", "json", "json_cee"]);

/** Unwinds the current statement after a syntax error has been reported. */
class Bail extends Error {}
const BAIL = new Bail();


export class Parser {
  private readonly lx: Lexer;
  private readonly src: FlatSource;
  private readonly report: CfgReport;
  private readonly out: Statement[] = [];
  /** error_route, local_route, startup_route: where each was first defined (they may appear once). */
  private readonly onceRoutes = new Map<string, Location>();
  /** Every auto_scaling_profile and every use of one, checked against each other at the end. */
  private readonly profiles: { name: string; loc: Location }[] = [];
  private readonly profileUses: AutoScalingUse[] = [];
  private readonly cursor: ProfileCursor;
  /** Where the one `bin_listen` was defined (1.10 allows a single binary packet interface). */
  private binListenAt: Location | undefined;

  constructor(src: FlatSource, report: CfgReport) {
    this.src = src;
    this.report = report;
    this.lx = new Lexer(src, report);
    this.cursor = {
      lx: this.lx,
      report,
      loc: (tok) => this.loc(tok),
      sameLine: (a, b) => this.sameLine(a, b),
      fail: (code, message, tok) => this.fail(code, message, tok),
      declare: (name, loc) => void this.profiles.push({ name, loc }),
    };
  }

  /** Parse everything; stops early only when the error cap is reached. */
  parse(): Statement[] {
    try {
      for (;;) {
        const first = this.lx.peek();
        if (first.kind === "eof") break;
        try {
          this.statement();
        } catch (e) {
          if (!(e instanceof Bail)) throw e;
          this.recover(first);
        }
      }
      checkAutoScaling(this.profiles, this.profileUses, this.report);
    } catch (e) {
      if (!(e instanceof TooManyErrors)) throw e;
    }
    return this.out;
  }

  // ── helpers ────────────────────────────────────────────────────────────

  private loc(tok: Token): Location {
    return this.src.loc(tok.start, tok.end);
  }

  private span(start: number, end: number): Location {
    return this.src.loc(start, end);
  }

  private error(code: ErrorCode, message: string, tok: Token): void {
    this.report.error(code, message, this.loc(tok));
  }

  /** Report and abandon the statement (recovery follows). */
  private fail(code: ErrorCode, message: string, tok: Token): never {
    this.error(code, message, tok);
    throw BAIL;
  }

  private isPunct(tok: Token, ch: string): boolean {
    return tok.kind === "punct" && tok.text === ch;
  }

  private sameLine(a: Token, b: Token): boolean {
    return b.kind !== "eof" && this.lx.lineOf(a.start) === this.lx.lineOf(b.start);
  }

  private expectPunct(ch: string, what: string): Token {
    const tok = this.lx.next();
    if (!this.isPunct(tok, ch)) this.fail("TSIPS_ERR_CFG_SYNTAX", `'${ch}' expected ${what}, found ${describeToken(tok)}`, tok);
    return tok;
  }

  /**
   * After a syntax error: resume at the next token that begins a line and is an identifier
   * (a plausible statement start), skipping whole `{ }` blocks on the way.
   */
  private recover(stmt: Token): void {
    this.lx.seek(stmt.end);
    for (;;) {
      const tok = this.lx.next();
      if (tok.kind === "eof") {
        this.lx.seek(tok.start);
        return;
      }
      if (this.isPunct(tok, "{")) {
        if (!this.lx.skipBlock(tok.start)) return;
        continue;
      }
      if (tok.bol && tok.kind === "id" && !continuesProfile(tok)) {
        this.lx.seek(tok.start);
        return;
      }
    }
  }

  // ── statements ─────────────────────────────────────────────────────────

  private statement(): void {
    const tok = this.lx.next();
    if (tok.kind === "id") {
      const word = tok.text;
      if (word === "loadmodule") return this.loadmodule(tok);
      if (word === "modparam") return this.modparam(tok);
      if (ROUTE_KINDS.has(word)) return this.route(tok);
      if (this.isPunct(this.lx.peek(), "=")) return this.global(tok);
      if (word === "include_file" || word === "import_file") {
        this.fail("TSIPS_ERR_CFG_SYNTAX", `${word} must be the first word on its line`, tok);
      }
      if (KNOWN_GLOBALS.has(word)) {
        const next = this.lx.peek();
        this.fail("TSIPS_ERR_CFG_SYNTAX", `'=' expected after '${word}', found ${describeToken(next)}`, next);
      }
      this.fail(
        "TSIPS_ERR_CFG_SYNTAX",
        `syntax error: unexpected '${word}' (expected name = value, loadmodule, modparam or a route block)`,
        tok,
      );
    }
    if (tok.kind === "punct") {
      const next = this.lx.peek();
      const adjacent = next.start === tok.end;
      if (tok.text === ";") {
        this.fail("TSIPS_ERR_CFG_SYNTAX", "syntax error: unexpected ';' (top-level statements do not end with ';')", tok);
      }
      if (tok.text === "/" && adjacent && this.isPunct(next, "/")) {
        this.fail("TSIPS_ERR_CFG_SYNTAX", "'//' is not a comment in opensips.cfg; use '#' or /* ... */", tok);
      }
      if (tok.text === "*" && adjacent && this.isPunct(next, "/")) {
        this.fail("TSIPS_ERR_CFG_SYNTAX", "'*/' without a matching '/*'", tok);
      }
      if (tok.text === "{") {
        this.error("TSIPS_ERR_CFG_SYNTAX", "syntax error: a '{ }' block needs a route keyword before it", tok);
        this.lx.skipBlock(tok.start);
        return;
      }
    }
    this.fail("TSIPS_ERR_CFG_SYNTAX", `syntax error: unexpected ${describeToken(tok)}`, tok);
  }

  // ── global assignments ────────────────────────────────────────────────

  private global(name: Token): void {
    const eq = this.lx.next(); // '='
    const def = KNOWN_GLOBALS.get(name.text);
    if (!def) {
      const removed = REMOVED_GLOBALS.get(name.text);
      const hint = removed ?? (suggestGlobal(name.text) ? `did you mean '${suggestGlobal(name.text)}'?` : undefined);
      this.fail("TSIPS_ERR_CFG_UNKNOWN_GLOBAL", `unknown config variable '${name.text}'${hint ? ` (${hint})` : ""}`, name);
    }
    if (def.deprecated) this.report.warn("TSIPS_ERR_CFG_DEPRECATED", def.deprecated, this.loc(name));
    const loc = this.loc(name);
    switch (def.type) {
      case "socket":
        return this.socket(name, eq);
      case "binListen":
        return this.binListen(name, eq);
      case "mpath": {
        const v = this.valueToken(eq);
        if (v.kind !== "str") return this.badValue(v, "string value expected (mpath = \"/path/to/modules/\")");
        this.out.push({ kind: "mpath", path: v.value as string, loc });
        return;
      }
      case "workers":
        return this.workers(name, eq);
      case "autoScalingProfile": {
        const r = readAutoScalingProfile(this.cursor);
        if (r.valid) this.out.push({ kind: "autoScalingProfile", profile: r.profile, loc });
        return;
      }
      default: {
        const value = this.globalValue(def, name, eq);
        if (value) this.out.push({ kind: "global", name: name.text, value, loc });
      }
    }
  }

  /** The token after '=', which must be on the same line (else "value expected"). */
  private valueToken(eq: Token): Token {
    const v = this.lx.peek();
    if (!this.sameLine(eq, v)) this.fail("TSIPS_ERR_CFG_SYNTAX", "value expected after '='", eq);
    return this.lx.next();
  }

  /**
   * Report a value of the wrong type and go on after it (the statement is dropped). A value
   * that is a punctuation mark (other than the '-' of a negative number) abandons the statement.
   */
  private badValue(tok: Token, message: string): void {
    const negative = this.isPunct(tok, "-") && this.lx.peek().kind === "num";
    if (tok.kind === "punct" && !negative) this.fail("TSIPS_ERR_CFG_VALUE", message, tok);
    if (negative) this.lx.next();
    this.error("TSIPS_ERR_CFG_VALUE", message, tok);
  }

  private globalValue(def: GlobalDef, name: Token, eq: Token): CfgValue | undefined {
    const n = name.text;
    switch (def.type) {
      case "int": {
        const v = this.valueToken(eq);
        if (v.kind !== "num") return void this.badValue(v, `number expected for '${n}'`);
        return { kind: "int", value: v.value as number };
      }
      case "sint": {
        const v = this.valueToken(eq);
        if (this.isPunct(v, "-") && this.lx.peek().kind === "num") {
          const num = this.lx.next();
          return { kind: "int", value: -(num.value as number) };
        }
        if (v.kind !== "num") return void this.badValue(v, `number expected for '${n}'`);
        return { kind: "int", value: v.value as number };
      }
      case "bool": {
        const v = this.valueToken(eq);
        if (v.kind !== "num") return void this.badValue(v, `boolean value expected for '${n}' (yes/no, on/off, true/false, 1/0)`);
        return { kind: "int", value: v.value as number };
      }
      case "str": {
        const v = this.valueToken(eq);
        if (v.kind !== "str") return void this.badValue(v, `string value expected for '${n}'`);
        return { kind: "str", value: v.value as string };
      }
      case "strIdNum": {
        const v = this.valueToken(eq);
        if (v.kind === "str") return { kind: "str", value: v.value as string };
        if (v.kind === "id") return { kind: "id", value: v.text };
        if (v.kind === "num") return { kind: "int", value: v.value as number };
        return void this.badValue(v, `string, name or number expected for '${n}'`);
      }
      case "id": {
        const v = this.valueToken(eq);
        if (v.kind !== "id") return void this.badValue(v, `name expected for '${n}' (e.g. LOG_LOCAL0)`);
        return { kind: "id", value: v.text };
      }
      case "logFormat": {
        const v = this.valueToken(eq);
        if (v.kind !== "str" && v.kind !== "id") return void this.badValue(v, `log format expected for '${n}'`);
        const f = String(v.value);
        if (!LOG_FORMATS.has(f)) return void this.badValue(v, `unknown log format '${f}' (plain_text, json or json_cee)`);
        return { kind: "str", value: f };
      }
      case "host": {
        const v = this.lx.peek();
        if (v.kind === "str") {
          this.lx.next();
          return { kind: "str", value: v.value as string };
        }
        const w = this.rawWord(eq);
        const hp = parseHostPort(w.text);
        if (!hp.ok || hp.value.port !== undefined) {
          this.wordError("TSIPS_ERR_CFG_VALUE", w.start, hp.ok ? { message: `address expected for '${n}', without a port`, offset: 0, length: w.text.length } : hp.error);
          return undefined;
        }
        return { kind: "id", value: hp.value.host };
      }
      case "alias": {
        const q = this.lx.peek();
        if (q.kind === "str" && this.sameLine(eq, q)) {
          this.lx.next();
          return { kind: "str", value: q.value as string };
        }
        const w = this.rawWord(eq);
        return { kind: "str", value: w.text };
      }
      case "braced": {
        const id = this.valueToken(eq);
        const colon = this.lx.next();
        const open = this.lx.next();
        if (id.kind !== "id" || !this.isPunct(colon, ":") || !this.isPunct(open, "{")) {
          this.fail("TSIPS_ERR_CFG_SYNTAX", `'${n}' expects name:{ rules }`, id);
        }
        const r = this.lx.skipBlock(open.start);
        if (!r) return undefined;
        return { kind: "str", value: this.src.text.slice(id.start, r.end) };
      }
      default:
        return undefined;
    }
  }

  /** `udp_workers = 4 [use_auto_scaling_profile NAME]` (also tcp_workers, timer_workers and the deprecated names). */
  private workers(name: Token, eq: Token): void {
    const v = this.valueToken(eq);
    if (v.kind !== "num") return void this.badValue(v, `number expected for '${name.text}'`);
    const stmt: Extract<Statement, { kind: "global" }> = { kind: "global", name: name.text, value: { kind: "int", value: v.value as number }, loc: this.loc(name) };
    const use = readProfileUse(this.cursor, v);
    const group = WORKER_GROUPS[name.text];
    if (use && group) {
      stmt.autoScaling = { group, profile: use.text, loc: this.loc(use) };
      this.profileUses.push(stmt.autoScaling);
    }
    this.out.push(stmt);
  }

  private rawWord(eq: Token): { text: string; start: number; end: number } {
    const w = this.lx.readWord();
    if (w.text === "") this.fail("TSIPS_ERR_CFG_SYNTAX", "value expected after '='", eq);
    return w;
  }

  private wordError(code: ErrorCode, wordStart: number, e: WordError): void {
    const start = wordStart + e.offset;
    this.report.error(code, e.message, this.span(start, start + e.length));
  }

  // ── bin_listen (OpenSIPS 1.10) ─────────────────────────────────────────

  /**
   * `bin_listen = HOST:PORT` (cfg.y `listen_id ':' port`): always UDP, so no protocol; the
   * port is mandatory (`any` = 5060, the default SIP port, as 1.10); one per config.
   */
  private binListen(kw: Token, eq: Token): void {
    const loc = this.loc(kw);
    const w = this.rawWord(eq);
    if (this.binListenAt) {
      const f = this.binListenAt;
      this.report.error("TSIPS_ERR_CFG_SOCKET", `can only define one binary packet interface (bin_listen already set at ${f.file}:${f.line}:${f.col})`, loc);
      return;
    }
    this.binListenAt = loc;
    const proto = /^([A-Za-z][A-Za-z_]*):(?=[^:]*:|\[)/.exec(w.text);
    if (proto && !w.text.startsWith("[") && (SOCKET_PROTOS.has(proto[1]!.toLowerCase()))) {
      this.wordError("TSIPS_ERR_CFG_SOCKET", w.start, {
        message: `bin_listen takes no protocol: the 1.10 BIN socket is always UDP (write bin_listen = ${w.text.slice(proto[0].length)})`,
        offset: 0, length: proto[1]!.length,
      });
      return;
    }
    const hp = parseHostPort(w.text);
    if (!hp.ok) return this.wordError("TSIPS_ERR_CFG_SOCKET", w.start, hp.error);
    if (hp.value.port === undefined) {
      this.wordError("TSIPS_ERR_CFG_SOCKET", w.start, {
        message: `bin_listen needs a port: HOST:PORT (e.g. bin_listen = ${hp.value.host.includes(":") ? `[${hp.value.host}]` : hp.value.host}:5062)`,
        offset: 0, length: w.text.length,
      });
      return;
    }
    if (hp.value.host === "*") {
      this.wordError("TSIPS_ERR_CFG_SOCKET", w.start, { message: "bin_listen needs an address, not '*'", offset: 0, length: 1 });
      return;
    }
    const port = hp.value.port === 0 ? 5060 : hp.value.port;
    const host = hp.value.host.includes(":") ? `[${hp.value.host}]` : hp.value.host;
    this.out.push({ kind: "global", name: "bin_listen", value: { kind: "str", value: `${host}:${port}` }, loc });
  }

  // ── socket / listen ───────────────────────────────────────────────────

  private socket(kw: Token, eq: Token): void {
    const w = this.lx.readWord();
    if (w.text === "") this.fail("TSIPS_ERR_CFG_SOCKET", "socket definition expected: proto:host[:port]", eq);
    const parsed = parseSocketWord(w.text);
    if (!parsed.ok) this.wordError("TSIPS_ERR_CFG_SOCKET", w.start, parsed.error);
    let ok = parsed.ok;
    let end = w.end;
    let as: { host: string; port: number | undefined } | undefined;
    let tag: string | undefined;
    let workers: number | undefined;
    let profile: Token | undefined;
    for (;;) {
      const opt = this.lx.peek();
      if (opt.kind !== "id" || this.isPunct(this.lx.peek(1), "=")) break;
      const name = opt.text.toLowerCase();
      if (SOCKET_FLAGS.has(name)) {
        this.lx.next();
        end = opt.end;
        continue;
      }
      if (!SOCKET_ARG_OPTIONS.has(name)) {
        if (!this.sameLine(kw, opt)) break;
        this.fail("TSIPS_ERR_CFG_SOCKET", `unknown socket option '${opt.text}'`, opt);
      }
      this.lx.next();
      if (name === "as") {
        const a = this.lx.readWord();
        if (a.text === "") this.fail("TSIPS_ERR_CFG_SOCKET", "address expected after 'as'", opt);
        const hp = parseHostPort(a.text);
        if (hp.ok) as = hp.value;
        else {
          this.wordError("TSIPS_ERR_CFG_SOCKET", a.start, hp.error);
          ok = false;
        }
        end = a.end;
        continue;
      }
      const wantsNumber = name === "use_workers";
      const arg = this.lx.next();
      if (!this.sameLine(opt, arg)) {
        this.fail("TSIPS_ERR_CFG_SOCKET", `${wantsNumber ? "number" : "name"} expected after '${opt.text}'`, opt);
      }
      const good = wantsNumber
        ? arg.kind === "num"
        : name === "tag"
          ? arg.kind === "id" || arg.kind === "str"
          : name === "tos"
            ? arg.kind === "num" || arg.kind === "id"
            : arg.kind === "id";
      if (!good) {
        this.fail("TSIPS_ERR_CFG_SOCKET", `${wantsNumber ? "number" : "name"} expected after '${opt.text}', found ${describeToken(arg)}`, arg);
      }
      if (name === "tag") tag = String(arg.value);
      else if (name === "use_workers") workers = arg.value as number;
      else if (name === "use_auto_scaling_profile") profile = arg;
      end = arg.end;
    }
    if (!ok || !parsed.ok) return;
    const socket: SocketDef = {
      proto: parsed.value.proto,
      host: parsed.value.host,
      port: parsed.value.port,
      // Options continued with a trailing backslash read as one line.
      raw: this.src.text.slice(w.start, end).replace(/[ \t]*\\\r?\n[ \t]*/g, " "),
      loc: this.span(w.start, w.end),
    };
    if (as) socket.as = as;
    if (tag !== undefined) socket.tag = tag;
    if (workers !== undefined) socket.workers = workers;
    socket.declLoc = this.loc(kw);
    const stmt: Extract<Statement, { kind: "socket" }> = { kind: "socket", socket, keyword: kw.text === "listen" ? "listen" : "socket", loc: this.loc(kw) };
    if (profile) {
      socket.autoScalingProfile = profile.text;
      stmt.autoScaling = { group: "socket", socket: socket.raw, profile: profile.text, loc: this.loc(profile) };
      this.profileUses.push(stmt.autoScaling);
    }
    this.out.push(stmt);
  }

  // ── loadmodule / modparam ─────────────────────────────────────────────

  private loadmodule(kw: Token): void {
    const s = this.lx.next();
    if (s.kind !== "str") {
      this.fail("TSIPS_ERR_CFG_SYNTAX", `string expected after loadmodule (loadmodule "name.so"), found ${describeToken(s)}`, s);
    }
    this.out.push({ kind: "loadmodule", path: s.value as string, loc: this.loc(kw) });
  }

  private modparam(kw: Token): void {
    this.expectPunct("(", "after modparam");
    const mod = this.lx.next();
    if (mod.kind !== "str") this.fail("TSIPS_ERR_CFG_SYNTAX", `string expected (the module name), found ${describeToken(mod)}`, mod);
    this.expectPunct(",", "after the module name");
    const param = this.lx.next();
    if (param.kind !== "str") this.fail("TSIPS_ERR_CFG_SYNTAX", `string expected (the parameter name), found ${describeToken(param)}`, param);
    this.expectPunct(",", "after the parameter name");
    const first = this.lx.next();
    let value: ModparamValue;
    let last = first;
    if (first.kind === "str") {
      // Adjacent strings are folded into one value (spec §3.4).
      let s = first.value as string;
      while (this.lx.peek().kind === "str") {
        last = this.lx.next();
        s += last.value as string;
      }
      value = { kind: "str", value: s };
    } else if (first.kind === "num") {
      value = { kind: "int", value: first.value as number };
    } else if (this.isPunct(first, "-") && this.lx.peek().kind === "num") {
      last = this.lx.next();
      value = { kind: "int", value: -(last.value as number) };
    } else if (first.kind === "null") {
      this.fail("TSIPS_ERR_CFG_SYNTAX", "Invalid arguments: null is not accepted as a modparam value", first);
    } else if (first.kind === "id" || first.kind === "ip") {
      this.fail("TSIPS_ERR_CFG_SYNTAX", `Invalid arguments: unquoted '${first.text}' (strings must be quoted: "${first.text}")`, first);
    } else {
      this.fail("TSIPS_ERR_CFG_SYNTAX", `Invalid arguments: string or number expected, found ${describeToken(first)}`, first);
    }
    const close = this.lx.next();
    if (!this.isPunct(close, ")")) {
      // A string that swallowed a newline usually means a missing closing quote above.
      const hint = value.kind === "str" && value.value.includes("\n") ? " (the string value spans lines: is a closing quote missing?)" : "";
      this.fail("TSIPS_ERR_CFG_SYNTAX", `')' expected to close modparam(...), found ${describeToken(close)}${hint}`, close);
    }
    this.out.push({
      kind: "modparam",
      module: mod.value as string,
      param: param.value as string,
      value,
      loc: this.loc(kw),
      valueLoc: this.span(first.start, last.end),
    });
  }

  // ── route blocks ──────────────────────────────────────────────────────

  private route(kw: Token): void {
    const type = kw.text;
    const headerRule = ROUTE_KINDS.get(type) ?? "optional";
    let parts: Token[] | undefined;
    if (this.isPunct(this.lx.peek(), "[")) {
      const open = this.lx.next();
      parts = [];
      for (;;) {
        const tok = this.lx.next();
        if (this.isPunct(tok, "]")) break;
        if (tok.kind === "eof" || this.isPunct(tok, "{") || !this.sameLine(open, tok)) {
          this.fail("TSIPS_ERR_CFG_SYNTAX", `']' expected to close ${type}[...]`, tok);
        }
        if (!this.isPunct(tok, ",")) parts.push(tok);
      }
      if (parts.length === 0) this.fail("TSIPS_ERR_CFG_SYNTAX", `route name expected inside ${type}[ ]`, open);
      if (headerRule === "none") this.fail("TSIPS_ERR_CFG_SYNTAX", `${type} takes no [name]`, open);
    } else if (headerRule === "required") {
      const example = type === "timer_route" ? "timer_route[name, seconds]" : `${type}[name]`;
      this.fail("TSIPS_ERR_CFG_SYNTAX", `${type} needs a name: ${example} { ... }`, kw);
    }
    if (type === "timer_route" && parts && (parts.length < 2 || parts[1]?.kind !== "num")) {
      this.fail("TSIPS_ERR_CFG_SYNTAX", "timer_route needs [name, seconds]", parts[0] ?? kw);
    }
    const brace = this.lx.next();
    if (!this.isPunct(brace, "{")) this.fail("TSIPS_ERR_CFG_SYNTAX", `'{' expected to open the ${type} body, found ${describeToken(brace)}`, brace);
    const body = this.lx.skipBlock(brace.start);
    if (!body) return;
    if (body.empty) {
      // OpenSIPS's grammar needs at least one action in a body ('{ ; }' is fine).
      this.report.error(
        "TSIPS_ERR_CFG_SYNTAX",
        `syntax error: empty ${type} body (write '{ ; }' for a block that does nothing)`,
        this.span(body.close, body.close + 1),
      );
      return;
    }
    if (headerRule === "none") {
      const first = this.onceRoutes.get(type);
      if (first) {
        const where = first.file === this.loc(kw).file ? `line ${first.line}` : `${first.file}:${first.line}`;
        this.error("TSIPS_ERR_CFG_SYNTAX", `re-definition of ${type} (first defined at ${where})`, kw);
        return;
      }
      this.onceRoutes.set(type, this.loc(kw));
    }
    const nameTok = parts?.[0];
    const name = nameTok === undefined ? undefined : nameTok.kind === "str" ? String(nameTok.value) : nameTok.text;
    const shown = name === undefined ? type : `${type}[${name}]`;
    const stmt: Extract<Statement, { kind: "route" }> = { kind: "route", routeType: type, loc: this.loc(kw) };
    if (name !== undefined) stmt.name = name;
    this.out.push(stmt);
    this.report.warn("TSIPS_ERR_CFG_ROUTE_SKIPPED", `route block '${shown}' skipped: tsips does not route SIP`, this.loc(kw));
  }
}

/** Parse the flattened source into statements; errors and warnings go to `report`. */
export function parseStatements(src: FlatSource, report: CfgReport): Statement[] {
  return new Parser(src, report).parse();
}
