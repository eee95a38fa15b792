/**
 * The opensips.cfg lexer (spec/cfg.md §2, OpenSIPS cfg.lex), pull-based: the parser asks for
 * tokens, or switches to raw scanning for the few places where OpenSIPS's grammar is not
 * token-shaped for us (socket definitions, route bodies that are skipped).
 *
 * It works on the flattened text (include.ts) and reports offsets; FlatSource turns them into
 * file:line:col.
 */
import type { ErrorCode } from "../errors.ts";
import type { CfgReport } from "./diag.ts";
import type { FlatSource } from "./include.ts";

export type TokenKind =
  /** letter followed by letters/digits/underscores */
  | "id"
  /** decimal, hex, octal, or yes/no/true/false/on/off/enable/disable */
  | "num"
  /** "..." (escapes applied) or '...' (literal) */
  | "str"
  /** null / NULL */
  | "null"
  /** a.b.c.d, optionally /mask */
  | "ip"
  /** any other single character: = ( ) , ; : [ ] { } - . * / and so on */
  | "punct"
  | "eof";

export interface Token {
  kind: TokenKind;
  /** The source text of the token. */
  text: string;
  /** Identifier / punctuation text, string value, or number value. */
  value: string | number;
  /** Offsets in the flattened text. */
  start: number;
  end: number;
  /** Nothing but blanks precedes the token on its line. */
  bol: boolean;
  /** For booleans written as words (`yes`, `off`, ...). */
  isBool?: boolean;
}

/** A token as error messages name it: `'x'`, `number 4`, `string "..."`, `end of file`. */
export function describeToken(tok: Token): string {
  switch (tok.kind) {
    case "eof": return "end of file";
    case "str": return `string ${tok.text.length > 30 ? tok.text.slice(0, 27) + "...\"" : tok.text}`;
    case "num": return `number ${tok.text}`;
    default: return `'${tok.text}'`;
  }
}

/** Word spellings that OpenSIPS lexes as the NUMBER token. */
const BOOL_WORDS: Record<string, number> = {
  yes: 1, true: 1, on: 1, enable: 1,
  no: 0, false: 0, off: 0, disable: 0,
};

const INT32_MAX = 2147483647;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isIdChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 95;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isOctal = (c: number): boolean => c >= 48 && c <= 55;
/** Blanks OpenSIPS eats: space, TAB, backspace, CR, and LF (not a token either). */
const isBlank = (c: number): boolean => c === 32 || c === 9 || c === 8 || c === 13 || c === 10;

const CH_NL = 10;
const CH_HASH = 35;
const CH_SLASH = 47;
const CH_STAR = 42;
const CH_BSLASH = 92;
const CH_DQ = 34;
const CH_SQ = 39;
const CH_DOLLAR = 36;
const CH_LPAREN = 40;
const CH_RPAREN = 41;
const CH_LBRACE = 123;
const CH_RBRACE = 125;

export class Lexer {
  readonly src: FlatSource;
  private readonly text: string;
  private readonly report: CfgReport;
  private pos = 0;
  private readonly ahead: Token[] = [];

  constructor(src: FlatSource, report: CfgReport) {
    this.src = src;
    this.text = src.text;
    this.report = report;
  }

  private error(code: ErrorCode, message: string, start: number, end?: number): void {
    this.report.error(code, message, this.src.loc(start, end ?? start + 1));
  }

  // ── token stream ──────────────────────────────────────────────────────

  peek(n = 0): Token {
    while (this.ahead.length <= n) this.ahead.push(this.lex());
    return this.ahead[n] as Token;
  }

  next(): Token {
    return this.ahead.length > 0 ? (this.ahead.shift() as Token) : this.lex();
  }

  /** Continue lexing at `pos`, dropping any looked-ahead tokens. */
  seek(pos: number): void {
    this.ahead.length = 0;
    this.pos = pos;
  }

  /** Offset where the next raw scan starts: before any looked-ahead token. */
  private rawStart(): number {
    const first = this.ahead[0];
    this.ahead.length = 0;
    if (first) this.pos = first.start;
    return this.pos;
  }

  /** Line index (flattened) of an offset, for "same line" checks. */
  lineOf(pos: number): number {
    return this.src.lineIndex(pos);
  }

  private isBol(start: number): boolean {
    const t = this.text;
    let p = start - 1;
    while (p >= 0) {
      const c = t.charCodeAt(p);
      if (c === CH_NL) return true;
      if (c !== 32 && c !== 9 && c !== 13 && c !== 8) return false;
      p--;
    }
    return true;
  }

  /** Skip blanks, line continuations and comments. Reports an unterminated block comment. */
  private skipTrivia(): void {
    const t = this.text;
    const n = t.length;
    while (this.pos < n) {
      const c = t.charCodeAt(this.pos);
      if (isBlank(c)) {
        this.pos++;
      } else if (c === CH_BSLASH && t.charCodeAt(this.pos + 1) === CH_NL) {
        this.pos += 2; // line continuation
      } else if (c === CH_BSLASH && t.charCodeAt(this.pos + 1) === 13 && t.charCodeAt(this.pos + 2) === CH_NL) {
        this.pos += 3;
      } else if (c === CH_HASH) {
        this.skipLineComment();
      } else if (c === CH_SLASH && t.charCodeAt(this.pos + 1) === CH_STAR) {
        this.skipBlockComment();
      } else {
        return;
      }
    }
  }

  private skipLineComment(): void {
    const nl = this.text.indexOf("\n", this.pos);
    this.pos = nl < 0 ? this.text.length : nl;
  }

  /** `/* ... *\/` comments nest in OpenSIPS: `/* a /* b *\/ c *\/` is one comment. */
  private skipBlockComment(): boolean {
    const t = this.text;
    const n = t.length;
    const start = this.pos;
    let depth = 0;
    let p = this.pos;
    while (p < n) {
      const c = t.charCodeAt(p);
      if (c === CH_SLASH && t.charCodeAt(p + 1) === CH_STAR) {
        depth++;
        p += 2;
      } else if (c === CH_STAR && t.charCodeAt(p + 1) === CH_SLASH) {
        depth--;
        p += 2;
        if (depth === 0) {
          this.pos = p;
          return true;
        }
      } else {
        p++;
      }
    }
    this.error(
      "TSIPS_ERR_CFG_UNTERMINATED",
      `unterminated comment: end of file with ${depth} comment${depth === 1 ? "" : "s"} open`,
      start,
      start + 2,
    );
    this.pos = n;
    return false;
  }

  private lex(): Token {
    this.skipTrivia();
    const t = this.text;
    const start = this.pos;
    if (start >= t.length) return { kind: "eof", text: "", value: "", start, end: start, bol: true };
    const bol = this.isBol(start);
    const c = t.charCodeAt(start);
    if (isLetter(c)) {
      let p = start + 1;
      while (p < t.length && isIdChar(t.charCodeAt(p))) p++;
      this.pos = p;
      const word = t.slice(start, p);
      const b = BOOL_WORDS[word];
      if (b !== undefined) return { kind: "num", text: word, value: b, start, end: p, bol, isBool: true };
      if (word === "null" || word === "NULL") return { kind: "null", text: word, value: word, start, end: p, bol };
      return { kind: "id", text: word, value: word, start, end: p, bol };
    }
    if (isDigit(c)) return this.lexNumber(start, bol);
    if (c === CH_DQ) return this.lexDoubleQuoted(start, bol);
    if (c === CH_SQ) return this.lexSingleQuoted(start, bol);
    this.pos = start + 1;
    const ch = t[start] as string;
    return { kind: "punct", text: ch, value: ch, start, end: start + 1, bol };
  }

  private lexNumber(start: number, bol: boolean): Token {
    const t = this.text;
    // IPv4 (optionally with /mask) is its own token, as in OpenSIPS.
    const ip = /^(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?/.exec(t.slice(start, start + 19));
    if (ip && !isIdChar(t.charCodeAt(start + ip[0].length)) && t.charCodeAt(start + ip[0].length) !== 46) {
      this.pos = start + ip[0].length;
      return { kind: "ip", text: ip[0], value: ip[0], start, end: this.pos, bol };
    }
    let p = start;
    let value: number;
    if (t.charCodeAt(p) === 48 && (t.charCodeAt(p + 1) === 120 || t.charCodeAt(p + 1) === 88) && isHex(t.charCodeAt(p + 2))) {
      p += 2;
      while (p < t.length && isHex(t.charCodeAt(p))) p++;
      value = parseInt(t.slice(start + 2, p), 16);
    } else {
      while (p < t.length && isDigit(t.charCodeAt(p))) p++;
      const digits = t.slice(start, p);
      if (digits.length > 1 && digits.charCodeAt(0) === 48) {
        // 0[0-7]+ is octal (0666 = 438); a leading zero before 8 or 9 is no number at all.
        if (![...digits].every((d) => isOctal(d.charCodeAt(0)))) {
          this.pos = p;
          this.error("TSIPS_ERR_CFG_SYNTAX", `invalid number '${digits}' (a leading 0 means octal: digits 0-7 only)`, start, p);
          return { kind: "num", text: digits, value: 0, start, end: p, bol };
        }
        value = parseInt(digits, 8);
      } else {
        value = parseInt(digits, 10);
      }
    }
    this.pos = p;
    const text = t.slice(start, p);
    if (value > INT32_MAX) {
      this.error("TSIPS_ERR_CFG_VALUE", `number ${text} is out of range (largest is ${INT32_MAX})`, start, p);
    }
    return { kind: "num", text, value, start, end: p, bol };
  }

  /**
   * Double-quoted string: `\n \r \a \t \" \\`, `\x` + 1-2 hex digits, `\` + 2-3 octal digits;
   * any other backslash sequence is kept as written (both characters). Raw newlines are kept.
   */
  private lexDoubleQuoted(start: number, bol: boolean): Token {
    const t = this.text;
    const n = t.length;
    let p = start + 1;
    let out = "";
    let chunk = p;
    while (p < n) {
      const c = t.charCodeAt(p);
      if (c === CH_DQ) {
        out += t.slice(chunk, p);
        this.pos = p + 1;
        return { kind: "str", text: t.slice(start, p + 1), value: out, start, end: p + 1, bol };
      }
      if (c !== CH_BSLASH) {
        p++;
        continue;
      }
      out += t.slice(chunk, p);
      const e = t[p + 1];
      let used = 2;
      switch (e) {
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "a": out += "\x07"; break;
        case "t": out += "\t"; break;
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "x": {
          let h = p + 2;
          while (h < p + 4 && isHex(t.charCodeAt(h))) h++;
          if (h > p + 2) {
            out += String.fromCharCode(parseInt(t.slice(p + 2, h), 16));
            used = h - p;
          } else {
            out += "\\x";
          }
          break;
        }
        case "\n":
        case "\r": {
          // 3.6.8 leaks its `__OSSPP_LINE__ n` marker into the value here (spec §2): reject.
          this.error(
            "TSIPS_ERR_CFG_SYNTAX",
            "backslash-newline inside a string is not supported (OpenSIPS 3.6.8 corrupts the value); keep the string on one line",
            p,
            p + 1,
          );
          used = e === "\r" && t[p + 2] === "\n" ? 3 : 2;
          break;
        }
        default: {
          let o = p + 1;
          while (o < p + 4 && isOctal(t.charCodeAt(o))) o++;
          if (o - (p + 1) >= 2) {
            out += String.fromCharCode(parseInt(t.slice(p + 1, o), 8) & 0xff);
            used = o - p;
          } else if (e === undefined) {
            used = 1;
            out += "\\";
          } else {
            out += "\\" + e;
          }
        }
      }
      p += used;
      chunk = p;
    }
    this.error("TSIPS_ERR_CFG_UNTERMINATED", "unterminated string: end of file inside a \"...\" string", start, start + 1);
    this.pos = n;
    return { kind: "str", text: t.slice(start), value: out + t.slice(chunk), start, end: n, bol };
  }

  /** Single-quoted string: completely literal, newlines kept. */
  private lexSingleQuoted(start: number, bol: boolean): Token {
    const t = this.text;
    const close = t.indexOf("'", start + 1);
    if (close < 0) {
      this.error("TSIPS_ERR_CFG_UNTERMINATED", "unterminated string: end of file inside a '...' string", start, start + 1);
      this.pos = t.length;
      return { kind: "str", text: t.slice(start), value: t.slice(start + 1), start, end: t.length, bol };
    }
    this.pos = close + 1;
    return { kind: "str", text: t.slice(start, close + 1), value: t.slice(start + 1, close), start, end: close + 1, bol };
  }

  // ── raw scanning ──────────────────────────────────────────────────────

  /**
   * A blank-delimited word on the current line (socket `proto:host:port`, hostnames with `-`),
   * starting after blanks but not across a newline. Stops at blanks, `#`, `;`, `/*` and
   * parentheses. Empty when the line has nothing more.
   */
  readWord(): { text: string; start: number; end: number } {
    const t = this.text;
    let p = this.rawStart();
    while (p < t.length && (t.charCodeAt(p) === 32 || t.charCodeAt(p) === 9 || t.charCodeAt(p) === 13)) p++;
    const start = p;
    let inQuote = false;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      if (c === CH_DQ) inQuote = !inQuote;
      else if (!inQuote) {
        if (isBlank(c) || c === CH_HASH || c === 59 || c === CH_LPAREN || c === CH_RPAREN) break;
        if (c === CH_SLASH && t.charCodeAt(p + 1) === CH_STAR) break;
      } else if (c === CH_NL) break;
      p++;
    }
    this.pos = p;
    return { text: t.slice(start, p), start, end: p };
  }

  /**
   * Skip a balanced `{ ... }` body whose `{` is at `open` (route bodies, spec §6): braces inside
   * strings, `#` and nested `/* *\/` comments, and `$( ... )` script variables (parentheses
   * nest) do not count. Returns the offset after the closing `}` and whether the body had any
   * content besides blanks and comments; undefined (after reporting) when it never closes.
   */
  skipBlock(open: number): { end: number; empty: boolean; close: number } | undefined {
    this.ahead.length = 0;
    const t = this.text;
    const n = t.length;
    let depth = 1;
    let p = open + 1;
    let empty = true;
    while (p < n) {
      const c = t.charCodeAt(p);
      if (isBlank(c)) {
        p++;
      } else if (c === CH_HASH) {
        const nl = t.indexOf("\n", p);
        p = nl < 0 ? n : nl;
      } else if (c === CH_SLASH && t.charCodeAt(p + 1) === CH_STAR) {
        this.pos = p;
        if (!this.skipBlockComment()) return undefined;
        p = this.pos;
      } else if (c === CH_DQ || c === CH_SQ) {
        empty = false;
        const end = this.skipQuoted(p, c);
        if (end < 0) return undefined;
        p = end;
      } else if (c === CH_DOLLAR && t.charCodeAt(p + 1) === CH_LPAREN) {
        empty = false;
        const end = this.skipScriptVar(p);
        if (end < 0) return undefined;
        p = end;
      } else if (c === CH_LBRACE) {
        empty = false;
        depth++;
        p++;
      } else if (c === CH_RBRACE) {
        depth--;
        if (depth === 0) {
          this.pos = p + 1;
          return { end: p + 1, empty, close: p };
        }
        p++;
      } else {
        empty = false;
        p++;
      }
    }
    this.error("TSIPS_ERR_CFG_UNTERMINATED", "unterminated block: this '{' has no matching '}'", open, open + 1);
    this.pos = n;
    return undefined;
  }

  /** End offset of the string starting at `p`, or -1 after reporting it unterminated. */
  private skipQuoted(p: number, quote: number): number {
    const t = this.text;
    let q = p + 1;
    while (q < t.length) {
      const c = t.charCodeAt(q);
      if (c === quote) return q + 1;
      q += quote === CH_DQ && c === CH_BSLASH ? 2 : 1;
    }
    this.error("TSIPS_ERR_CFG_UNTERMINATED", "unterminated string: end of file inside a string", p, p + 1);
    this.pos = t.length;
    return -1;
  }

  /** `$( ... )`: OpenSIPS only counts parentheses inside (quotes and braces are plain text). */
  private skipScriptVar(p: number): number {
    const t = this.text;
    let depth = 0;
    let q = p + 1;
    while (q < t.length) {
      const c = t.charCodeAt(q);
      if (c === CH_LPAREN) depth++;
      else if (c === CH_RPAREN && --depth === 0) return q + 1;
      q++;
    }
    this.error("TSIPS_ERR_CFG_UNTERMINATED", "unterminated script variable: '$(' has no matching ')'", p, p + 2);
    this.pos = t.length;
    return -1;
  }
}
