/** The cfg parser: statement shapes, locations, recovery, includes, code frames, discovery, speed. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TsipsError } from "../../core/errors.ts";
import { MAX_CFG_ERRORS, discoverCfg, formatCfgError, parseCfgFile, parseCfgText, type Statement } from "../../core/cfg/index.ts";

const F = "/virtual/opensips.cfg";
const codes = (r: { errors: TsipsError[] }) => r.errors.map((e) => `${e.code}@${e.location?.line}:${e.location?.col}`);

let tmp: string;
beforeAll(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "tsips-cfg-")));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Write files under a fresh folder in the temp dir; returns the folder. */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

describe("statements", () => {
  it("records every top-level statement in order with its location", () => {
    const text = [
      "log_level = -1",
      'mpath = "/opt/mods/"',
      "socket = bin:127.0.0.1:5601 tag cl",
      'loadmodule "proto_bin.so"',
      'modparam("proto_bin", "bin_port", 5555)',
      "\tstartup_route { xlog(\"up\"); }",
    ].join("\n");
    const r = parseCfgText(text, F);
    expect(r.errors).toEqual([]);
    expect(r.cfg).toEqual({
      mainFile: F,
      files: [F],
      statements: [
        { kind: "global", name: "log_level", value: { kind: "int", value: -1 }, loc: { file: F, line: 1, col: 1, endCol: 10 } },
        { kind: "mpath", path: "/opt/mods/", loc: { file: F, line: 2, col: 1, endCol: 6 } },
        {
          kind: "socket",
          keyword: "socket",
          loc: { file: F, line: 3, col: 1, endCol: 7 },
          socket: {
            proto: "bin", host: "127.0.0.1", port: 5601, tag: "cl", raw: "bin:127.0.0.1:5601 tag cl",
            loc: { file: F, line: 3, col: 10, endCol: 28 }, declLoc: { file: F, line: 3, col: 1, endCol: 7 },
          },
        },
        { kind: "loadmodule", path: "proto_bin.so", loc: { file: F, line: 4, col: 1, endCol: 11 } },
        {
          kind: "modparam", module: "proto_bin", param: "bin_port", value: { kind: "int", value: 5555 },
          loc: { file: F, line: 5, col: 1, endCol: 9 }, valueLoc: { file: F, line: 5, col: 35, endCol: 39 },
        },
        { kind: "route", routeType: "startup_route", loc: { file: F, line: 6, col: 2, endCol: 15 } },
      ] satisfies Statement[],
    });
  });

  it("types global values: numbers, booleans as 1/0, strings, names", () => {
    const r = parseCfgText(
      "log_level=-3\ndebug_mode=yes\nsyslog_enabled=off\nlog_prefix=\"n1\"\nsyslog_facility=LOG_LOCAL0\nuser=opensips\nudp_workers=0x4",
      F,
    );
    expect(r.errors).toEqual([]);
    expect(r.cfg.statements.map((s) => (s.kind === "global" ? [s.name, s.value] : s.kind))).toEqual([
      ["log_level", { kind: "int", value: -3 }],
      ["debug_mode", { kind: "int", value: 1 }],
      ["syslog_enabled", { kind: "int", value: 0 }],
      ["log_prefix", { kind: "str", value: "n1" }],
      ["syslog_facility", { kind: "id", value: "LOG_LOCAL0" }],
      ["user", { kind: "id", value: "opensips" }],
      ["udp_workers", { kind: "int", value: 4 }],
    ]);
  });

  it("folds adjacent modparam strings; valueLoc covers them and a leading '-'", () => {
    const r = parseCfgText('modparam("m", "p", "a" "b" \'c\')\nmodparam("m", "q", - 7)\nmodparam("m", "r", "x"\n  "y")', F);
    expect(r.errors).toEqual([]);
    const mp = r.cfg.statements.filter((s): s is Extract<Statement, { kind: "modparam" }> => s.kind === "modparam");
    expect(mp.map((s) => [s.value, s.valueLoc.col, s.valueLoc.endCol])).toEqual([
      [{ kind: "str", value: "abc" }, 20, 31],
      [{ kind: "int", value: -7 }, 20, 23],
      [{ kind: "str", value: "xy" }, 20, 23],
    ]);
  });

  it("parses socket forms without filling in a default port", () => {
    const r = parseCfgText(
      [
        "socket = bin:10.0.0.1",
        "socket = udp:[2001:db8::1]:5060 as 192.0.2.1:5080",
        "socket = tcp:2001:db8::2",
        "socket = UDP:*:5062 as sip.example.com use_workers 2 reuse_port",
      ].join("\n"),
      F,
    );
    expect(r.errors).toEqual([]);
    const sockets = r.cfg.statements.map((s) => (s.kind === "socket" ? s.socket : undefined));
    expect(sockets.map((s) => s && { proto: s.proto, host: s.host, port: s.port, as: s.as })).toEqual([
      { proto: "bin", host: "10.0.0.1", port: undefined, as: undefined },
      { proto: "udp", host: "2001:db8::1", port: 5060, as: { host: "192.0.2.1", port: 5080 } },
      { proto: "tcp", host: "2001:db8::2", port: undefined, as: undefined },
      { proto: "udp", host: "*", port: 5062, as: { host: "sip.example.com", port: undefined } },
    ]);
  });

  it("keeps route names and warns once per skipped block", () => {
    const r = parseCfgText(
      'route { ; }\nroute[relay] { ; }\nroute["q n"] { ; }\ntimer_route[tick, 5] { ; }\nevent_route[E_CORE_THRESHOLD, async] { ; }',
      F,
    );
    expect(r.errors).toEqual([]);
    expect(r.cfg.statements.map((s) => (s.kind === "route" ? [s.routeType, s.name] : s.kind))).toEqual([
      ["route", undefined],
      ["route", "relay"],
      ["route", "q n"],
      ["timer_route", "tick"],
      ["event_route", "E_CORE_THRESHOLD"],
    ]);
    expect(r.warnings.map((w) => w.message)).toEqual([
      "route block 'route' skipped: tsips does not route SIP",
      "route block 'route[relay]' skipped: tsips does not route SIP",
      "route block 'route[q n]' skipped: tsips does not route SIP",
      "route block 'timer_route[tick]' skipped: tsips does not route SIP",
      "route block 'event_route[E_CORE_THRESHOLD]' skipped: tsips does not route SIP",
    ]);
    expect(r.warnings.every((w) => w.level === "warning" && w.code === "TSIPS_ERR_CFG_ROUTE_SKIPPED")).toBe(true);
  });

  it("warns for deprecated keywords and still records them", () => {
    const r = parseCfgText("listen = udp:127.0.0.1:5060\nlog_stderror = yes", F);
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => [w.code, w.message, w.loc.line])).toEqual([
      ["TSIPS_ERR_CFG_DEPRECATED", "'listen' is deprecated, use 'socket' instead", 1],
      ["TSIPS_ERR_CFG_DEPRECATED", "'log_stderror' is deprecated, use 'stderror_enabled' and/or 'syslog_enabled' instead", 2],
    ]);
    expect(r.cfg.statements.map((s) => (s.kind === "socket" ? s.keyword : s.kind))).toEqual(["listen", "global"]);
  });
});

describe("errors and recovery", () => {
  it("reports every error and keeps the good statements around them", () => {
    const r = parseCfgText(
      [
        "log_level=3;", // 1
        'loadmodule "a.so"', // 2
        "modparam(\"a\", \"p\" 1)", // 3
        'loadmodule "b.so"', // 4
        "loglevel = 2", // 5
        "route {", // 6
        "  if (x) { exit; }", // 7
        "}", // 8
        "udp_workers = many", // 9
        'loadmodule "c.so"', // 10
      ].join("\n"),
      F,
    );
    expect(codes(r)).toEqual([
      "TSIPS_ERR_CFG_SYNTAX@1:12",
      "TSIPS_ERR_CFG_SYNTAX@3:19",
      "TSIPS_ERR_CFG_UNKNOWN_GLOBAL@5:1",
      "TSIPS_ERR_CFG_VALUE@9:15",
    ]);
    expect(r.errors[2]?.message).toBe("unknown config variable 'loglevel' (did you mean 'log_level'?)");
    expect(r.cfg.statements.map((s) => (s.kind === "loadmodule" ? s.path : s.kind))).toEqual([
      "global", "a.so", "b.so", "route", "c.so",
    ]);
  });

  it("skips a whole block after an unknown keyword instead of cascading", () => {
    const r = parseCfgText("rout {\n  log_level = 3\n  foo();\n}\nxlog_level = 2", F);
    expect(codes(r)).toEqual(["TSIPS_ERR_CFG_SYNTAX@1:1"]);
    expect(r.cfg.statements.map((s) => s.kind)).toEqual(["global"]);
  });

  it(`stops after ${MAX_CFG_ERRORS} errors with one TSIPS_ERR_CFG_TOO_MANY_ERRORS`, () => {
    const text = Array.from({ length: 40 }, (_, i) => `nope${i} = 1`).join("\n");
    const r = parseCfgText(text, F);
    expect(r.errors).toHaveLength(MAX_CFG_ERRORS + 1);
    expect(r.errors.at(-1)?.code).toBe("TSIPS_ERR_CFG_TOO_MANY_ERRORS");
    expect(r.errors.at(-1)?.location?.line).toBe(MAX_CFG_ERRORS + 1);
  });

  it("rejects a NUL byte with its position", () => {
    const r = parseCfgText("log_level = 3\nxlog_level\0 = 3\n", F);
    expect(codes(r)).toEqual(["TSIPS_ERR_CFG_SYNTAX@2:11"]);
  });

  it("never throws for an unreadable file: one TSIPS_ERR_CFG_READ", () => {
    const r = parseCfgFile(join(tmp, "does-not-exist.cfg"));
    expect(r.errors.map((e) => e.code)).toEqual(["TSIPS_ERR_CFG_READ"]);
    expect(r.errors[0]?.message).toContain("does-not-exist.cfg");
    expect(r.cfg.statements).toEqual([]);
  });

  it("errors are TsipsErrors with an endCol and a code frame in details", () => {
    const r = parseCfgText("log_level = 3\nlog_target = 1\n", F);
    const e = r.errors[0];
    expect(e).toBeInstanceOf(TsipsError);
    expect(e?.location).toEqual({ file: F, line: 2, col: 1, endCol: 11 });
    expect(e?.details).toEqual(["2 | log_target = 1", "  | ^~~~~~~~~~"]);
  });
});

describe("include_file / import_file", () => {
  it("substitutes lines; locations name the included file's own path and lines", () => {
    const dir = tree("inc-basic", {
      "opensips.cfg": 'log_level = 3\ninclude_file "sub/one.cfg"\nloadmodule "z.so"\n',
      "sub/one.cfg": "\n\nxlog_level = 2\nimport_file 'two.cfg' ignored trailing text\n",
      "sub/two.cfg": "udp_workers = x\n",
    });
    const r = parseCfgFile(join(dir, "opensips.cfg"));
    expect(r.cfg.files).toEqual([join(dir, "opensips.cfg"), join(dir, "sub/one.cfg"), join(dir, "sub/two.cfg")]);
    expect(r.cfg.statements.map((s) => [s.kind, s.loc.file.slice(dir.length + 1), s.loc.line])).toEqual([
      ["global", "opensips.cfg", 1],
      ["global", "sub/one.cfg", 3],
      ["loadmodule", "opensips.cfg", 3],
    ]);
    expect(r.errors.map((e) => [e.code, e.location?.file.slice(dir.length + 1), e.location?.line, e.location?.col])).toEqual([
      ["TSIPS_ERR_CFG_VALUE", "sub/two.cfg", 1, 15],
    ]);
  });

  it("works inside a route body (textual substitution)", () => {
    const dir = tree("inc-route", {
      "opensips.cfg": "route {\n  include_file \"body.inc\"\n}\nlog_level = 1\n",
      // braces balance across the two files; the one in the string does not count
      "body.inc": "if (a) {\n  xlog(\"}\");\n}\n",
    });
    const r = parseCfgFile(join(dir, "opensips.cfg"));
    expect(r.errors).toEqual([]);
    expect(r.cfg.statements.map((s) => s.kind)).toEqual(["route", "global"]);
  });

  it("names the chain of a cycle", () => {
    const dir = tree("inc-cycle", {
      "opensips.cfg": 'include_file "x1.cfg"\n',
      "x1.cfg": 'include_file "x2.cfg"\n',
      "x2.cfg": 'log_level = 1\ninclude_file "x1.cfg"\n',
    });
    const r = parseCfgFile(join(dir, "opensips.cfg"));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.code).toBe("TSIPS_ERR_CFG_INCLUDE_CYCLE");
    expect(r.errors[0]?.message).toBe(`include_file cycle: ${join(dir, "x1.cfg")} -> ${join(dir, "x2.cfg")} -> ${join(dir, "x1.cfg")}`);
    expect(r.errors[0]?.location).toMatchObject({ file: join(dir, "x2.cfg"), line: 2, col: 14 });
    expect(r.cfg.statements).toHaveLength(1);
  });

  it("limits nesting depth to 20 files", () => {
    const files: Record<string, string> = { "opensips.cfg": 'include_file "d1.cfg"\n' };
    for (let i = 1; i <= 25; i++) files[`d${i}.cfg`] = `include_file "d${i + 1}.cfg"\n`;
    const dir = tree("inc-deep", files);
    const r = parseCfgFile(join(dir, "opensips.cfg"));
    expect(r.errors.map((e) => e.code)).toEqual(["TSIPS_ERR_CFG_INCLUDE_CYCLE"]);
    expect(r.errors[0]?.message).toContain("maximum include depth reached (20 nested files)");
    expect(r.errors[0]?.location?.file).toBe(join(dir, "d19.cfg"));
  });

  it("reports a missing file at the include line and goes on", () => {
    const dir = tree("inc-missing", { "opensips.cfg": 'log_level = 1\n  include_file "gone.cfg"\nxlog_level = 2\n' });
    const r = parseCfgFile(join(dir, "opensips.cfg"));
    expect(codes(r)).toEqual(["TSIPS_ERR_CFG_INCLUDE@2:16"]);
    expect(r.errors[0]?.message).toBe(`failed to open ${join(dir, "gone.cfg")}: ENOENT (no such file or directory)`);
    expect(r.cfg.statements).toHaveLength(2);
  });
});

describe("formatCfgError", () => {
  it("prints file:line:col: message [CODE] and a frame with the marker under the token", () => {
    const r = parseCfgText("log_level = 3\n\tsocket = udp:1.2.3.4:5060-5070\n", "node.cfg");
    expect(formatCfgError(r.errors[0]!)).toBe(
      [
        "node.cfg:2:23: port ranges and lists are not supported ('5060-5070'): define one socket per port [TSIPS_ERR_CFG_SOCKET]",
        "2 | \tsocket = udp:1.2.3.4:5060-5070",
        // the TAB is kept so the caret lines up at any tab width; one '~' per further column of the token
        "  | \t" + " ".repeat(21) + "^" + "~".repeat(8),
      ].join("\n"),
    );
  });

  it("builds the frame from a source lookup for errors raised outside the parser", () => {
    const e = new TsipsError("TSIPS_ERR_PARAM_TYPE", 'parameter "bin_port" takes a number', {
      module: "proto_bin",
      location: { file: "x.cfg", line: 12, col: 35, endCol: 41 },
    });
    const lines = Array.from({ length: 11 }, () => "");
    lines.push('modparam("proto_bin", "bin_port", "5555")');
    expect(formatCfgError(e, (f) => (f === "x.cfg" ? lines : undefined))).toBe(
      [
        'x.cfg:12:35: proto_bin: parameter "bin_port" takes a number [TSIPS_ERR_PARAM_TYPE]',
        '12 | modparam("proto_bin", "bin_port", "5555")',
        "   |                                   ^~~~~~",
      ].join("\n"),
    );
  });

  it("reads the file from disk when there is no lookup and no frame in details", () => {
    const dir = tree("frame-disk", { "a.cfg": "one\ntwo three\n" });
    const e = new TsipsError("TSIPS_ERR_MOD_NOT_FOUND", "not found", { location: { file: join(dir, "a.cfg"), line: 2, col: 5 } });
    expect(formatCfgError(e).split("\n").slice(1)).toEqual(["2 | two three", "  |     ^"]);
  });

  it("formats warnings and unlocated errors", () => {
    const w = parseCfgText("listen = bin:127.0.0.1:5555", "w.cfg").warnings[0]!;
    expect(formatCfgError(w).split("\n")[0]).toBe("w.cfg:1:1: warning: 'listen' is deprecated, use 'socket' instead [TSIPS_ERR_CFG_DEPRECATED]");
    expect(formatCfgError(new TsipsError("TSIPS_ERR_CFG_READ", "loading config file x: ENOENT"))).toBe(
      "loading config file x: ENOENT [TSIPS_ERR_CFG_READ]",
    );
  });
});

describe("discoverCfg", () => {
  it("finds the nearest opensips.cfg from cwd upward", async () => {
    const dir = tree("disc", { "opensips.cfg": "log_level = 1\n", "a/b/c/.keep": "", "a/x/opensips.cfg": "" });
    expect(await discoverCfg(join(dir, "a/b/c"))).toBe(join(dir, "opensips.cfg"));
    expect(await discoverCfg(dir)).toBe(join(dir, "opensips.cfg"));
    // nearer wins, and an empty file still counts
    expect(await discoverCfg(join(dir, "a/x"))).toBe(join(dir, "a/x/opensips.cfg"));
  });

  it("returns undefined when there is none up to the root", async () => {
    const dir = tree("disc-none", { "deep/er/.keep": "" });
    expect(await discoverCfg(join(dir, "deep/er"))).toBeUndefined();
  });
});

describe("speed", () => {
  it("parses a 1,000+ line config in a few milliseconds", () => {
    const block = [
      "log_level = 3",
      "socket = bin:127.0.0.1:5601 tag cl",
      'loadmodule "clusterer.so"',
      'modparam("clusterer", "my_node_info", "cluster_id=1,url=bin:127.0.0.1:5601,flags=seed")',
      "# a comment line",
      "/* a block",
      "   comment */",
      "route[r] {",
      '  if (is_method("INVITE") && $(hdr(X){s.int}) > 1) { xlog("L_INFO", "{ $ci }\\n"); }',
      "  exit;",
      "}",
    ];
    const lines: string[] = [];
    while (lines.length < 1100) lines.push(...block);
    const text = lines.join("\n");
    parseCfgText(text, F); // warm up the JIT
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = parseCfgText(text, F);
      best = Math.min(best, performance.now() - t0);
      expect(r.errors).toEqual([]);
    }
    expect(best).toBeLessThan(25);
  });
});
