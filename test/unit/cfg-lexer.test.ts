/** The cfg lexer: strings and escapes, numbers, comments, columns, raw scanning of route bodies. */
import { describe, expect, it } from "vitest";
import { CfgReport } from "../../core/cfg/diag.ts";
import { flattenCfg } from "../../core/cfg/include.ts";
import { Lexer, type Token } from "../../core/cfg/lexer.ts";

function setup(text: string): { lx: Lexer; report: CfgReport; loc: (t: Token) => { line: number; col: number; endCol?: number } } {
  const report = new CfgReport();
  const { src } = flattenCfg("/virtual/t.cfg", text, report);
  const lx = new Lexer(src, report);
  const loc = (t: Token) => {
    const l = src.loc(t.start, t.end);
    return l.endCol === undefined ? { line: l.line, col: l.col } : { line: l.line, col: l.col, endCol: l.endCol };
  };
  return { lx, report, loc };
}

function lexAll(text: string): { toks: Token[]; report: CfgReport } {
  const { lx, report } = setup(text);
  const toks: Token[] = [];
  for (let t = lx.next(); t.kind !== "eof"; t = lx.next()) toks.push(t);
  return { toks, report };
}

const values = (text: string) => lexAll(text).toks.map((t) => [t.kind, t.value]);

describe("strings", () => {
  it.each([
    [String.raw`"a\nb"`, "a\nb"],
    [String.raw`"\t\r\a"`, "\t\r\x07"],
    [String.raw`"say \"hi\""`, 'say "hi"'],
    [String.raw`"back\\slash"`, "back\\slash"],
    [String.raw`"\x41\x4a\x7"`, "AJ\x07"],
    [String.raw`"\101\60"`, "A0"],
    [String.raw`"\0 single octal digit is no escape"`, "\\0 single octal digit is no escape"],
    [String.raw`"\q \{ unknown escapes stay"`, "\\q \\{ unknown escapes stay"],
    [String.raw`"\x no hex digits"`, "\\x no hex digits"],
    ['"raw\nnewline kept"', "raw\nnewline kept"],
    [String.raw`'single \n quotes are literal'`, "single \\n quotes are literal"],
    ["'it''s'", "it"],
  ])("%s", (src, want) => {
    const { toks, report } = lexAll(src);
    expect(report.errors).toEqual([]);
    expect(toks[0]).toMatchObject({ kind: "str", value: want });
  });

  it("reports an unterminated string where it starts", () => {
    const { report } = lexAll('a = 1\nb = "open\nmore\n');
    expect(report.errors.map((e) => [e.code, e.location?.line, e.location?.col])).toEqual([["TSIPS_ERR_CFG_UNTERMINATED", 2, 5]]);
  });

  it("rejects backslash-newline inside a double-quoted string", () => {
    const { report } = lexAll('x = "a \\\nb"\n');
    expect(report.errors.map((e) => [e.code, e.location?.line, e.location?.col])).toEqual([["TSIPS_ERR_CFG_SYNTAX", 1, 8]]);
  });
});

describe("numbers and words", () => {
  it("lexes decimal, hex, octal and the boolean words as numbers", () => {
    expect(values("0 42 0x1F 0XfF 0666 yes true on enable no false off disable")).toEqual([
      ["num", 0], ["num", 42], ["num", 31], ["num", 255], ["num", 438],
      ["num", 1], ["num", 1], ["num", 1], ["num", 1], ["num", 0], ["num", 0], ["num", 0], ["num", 0],
    ]);
  });

  it("has no sign in the lexer: -5 is '-' then 5", () => {
    expect(values("-5")).toEqual([["punct", "-"], ["num", 5]]);
  });

  it("lexes null, identifiers, IPv4 (with mask) and punctuation", () => {
    expect(values("null NULL log_level x1_y 10.0.0.1 10.0.0.0/8 = ( ) , ;")).toEqual([
      ["null", "null"], ["null", "NULL"], ["id", "log_level"], ["id", "x1_y"], ["ip", "10.0.0.1"], ["ip", "10.0.0.0/8"],
      ["punct", "="], ["punct", "("], ["punct", ")"], ["punct", ","], ["punct", ";"],
    ]);
  });

  it("does not take identifiers with '-' or '.' (hostnames are assembled by the grammar)", () => {
    expect(values("my-host.example")).toEqual([["id", "my"], ["punct", "-"], ["id", "host"], ["punct", "."], ["id", "example"]]);
  });

  it("rejects a leading zero before 8 or 9 and numbers past 32 bits", () => {
    const { report } = lexAll("a 089\nb 2147483648\nc 2147483647\n");
    expect(report.errors.map((e) => [e.code, e.location?.line, e.location?.col])).toEqual([
      ["TSIPS_ERR_CFG_SYNTAX", 1, 3],
      ["TSIPS_ERR_CFG_VALUE", 2, 3],
    ]);
  });
});

describe("comments and blanks", () => {
  it("skips # comments anywhere outside strings, including #!define and #include", () => {
    expect(values('#!define X 1\n#include_file "x"\na # c\n"#not a comment"')).toEqual([["id", "a"], ["str", "#not a comment"]]);
  });

  it("nests /* */ comments", () => {
    expect(values("/* a /* b */ c */ x /* /* */ */ y")).toEqual([["id", "x"], ["id", "y"]]);
  });

  it("reports an unterminated comment at the outermost /* with the open count", () => {
    const { report } = lexAll("x\n  /* a /* b\n */\n");
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]?.message).toContain("1 comment open");
    expect(report.errors[0]?.location).toMatchObject({ line: 2, col: 3, endCol: 5 });
    const two = lexAll("/* /* never closed\n").report.errors[0];
    expect(two?.message).toContain("2 comments open");
  });

  it("treats // as two '/' tokens, not a comment", () => {
    expect(values("// x")).toEqual([["punct", "/"], ["punct", "/"], ["id", "x"]]);
  });

  it("skips a backslash-newline line continuation", () => {
    const { toks } = lexAll("a \\\n  b");
    expect(toks.map((t) => t.value)).toEqual(["a", "b"]);
  });
});

describe("locations", () => {
  it("counts columns from 1 with a TAB as one column, and sets endCol", () => {
    const { lx, loc } = setup("\t\tname = 12\n x");
    expect(loc(lx.next())).toEqual({ line: 1, col: 3, endCol: 7 });
    expect(loc(lx.next())).toEqual({ line: 1, col: 8, endCol: 9 });
    expect(loc(lx.next())).toEqual({ line: 1, col: 10, endCol: 12 });
    expect(loc(lx.next())).toEqual({ line: 2, col: 2, endCol: 3 });
  });

  it("marks the first token of a line (bol), after blanks only", () => {
    const { toks } = lexAll("a b\n   c\n/* x */ d");
    expect(toks.map((t) => [t.value, t.bol])).toEqual([["a", true], ["b", false], ["c", true], ["d", false]]);
  });

  it("points end of file just after the last line's text", () => {
    const { lx, loc } = setup("abc");
    lx.next();
    expect(loc(lx.next())).toEqual({ line: 1, col: 4 });
  });
});

describe("skipBlock (route bodies)", () => {
  function skip(body: string): { rest: string; empty: boolean | undefined; errors: string[] } {
    const { lx, report } = setup(body);
    const open = lx.next();
    expect(open.value).toBe("{");
    const r = lx.skipBlock(open.start);
    const rest = lx.next();
    return { rest: String(rest.value), empty: r?.empty, errors: report.errors.map((e) => `${e.code}@${e.location?.line}:${e.location?.col}`) };
  }

  it("skips nested braces", () => {
    expect(skip("{ if (a) { b(); } else { c(); } } after")).toEqual({ rest: "after", empty: false, errors: [] });
  });

  it("ignores braces in strings, comments and $( ) script variables", () => {
    const body = [
      "{",
      '  xlog("}}} \\" }");',
      "  xlog('}');",
      "  # }",
      "  /* } /* { */ } */",
      "  $var(a) = $(hdr(X){s.int}) + $(var(x){re.subst,/}/x/});",
      "}",
      "after",
    ].join("\n");
    expect(skip(body)).toEqual({ rest: "after", empty: false, errors: [] });
  });

  it("says whether the body had anything besides blanks and comments", () => {
    expect(skip("{ } z").empty).toBe(true);
    expect(skip("{ # c\n /* d */ } z").empty).toBe(true);
    expect(skip("{ ; } z").empty).toBe(false);
  });

  it("reports an unbalanced block at its '{'", () => {
    expect(skip("\n  { a { b }\n").errors).toEqual(["TSIPS_ERR_CFG_UNTERMINATED@2:3"]);
  });

  it("reports an unterminated string or $( inside a body where it starts", () => {
    expect(skip('{\n xlog("x);\n}\n').errors).toEqual(["TSIPS_ERR_CFG_UNTERMINATED@2:7"]);
    expect(skip("{\n $(var(x);\n}\n").errors).toEqual(["TSIPS_ERR_CFG_UNTERMINATED@2:2"]);
  });
});

describe("raw words", () => {
  it("reads a blank-delimited word on the current line, stopping at # and ;", () => {
    const { lx } = setup("= udp:[::1]:5060#c\n= bin:h:1;");
    lx.next();
    expect(lx.readWord().text).toBe("udp:[::1]:5060");
    lx.next();
    expect(lx.readWord().text).toBe("bin:h:1");
    expect(lx.next().value).toBe(";");
  });

  it("does not cross a newline", () => {
    const { lx } = setup("=\nnext");
    lx.next();
    expect(lx.readWord().text).toBe("");
  });
});
