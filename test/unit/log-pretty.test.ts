/**
 * The TTY log renders one line per event: extra fields (`version`, `ms`) stay on the
 * message's line and `module` shows once, as the `[module]` prefix. Rendered through the
 * very options core/log.ts hands pino-pretty.
 */
import { prettyFactory } from "pino-pretty";
import { describe, expect, it } from "vitest";
import { prettyOptions } from "../../core/log.ts";

const render = prettyFactory(prettyOptions(false));

describe("pretty log (TTY)", () => {
  it("keeps a module-loaded event with version and ms on one line, module once", () => {
    const out = render({ level: 35, time: Date.UTC(2026, 0, 1, 10, 0, 0, 5), pid: 42, hostname: "h", module: "proto_bin",
      version: "1.0.0", ms: 2.4, msg: "module proto_bin 1.0.0 loaded" }) as string;
    const lines = out.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] NOTICE: \[proto_bin\] module proto_bin 1\.0\.0 loaded \{"version":"1\.0\.0","ms":2\.4\}$/);
    expect(lines[0]!.split("proto_bin]").length).toBe(2);
    expect(lines[0]).not.toMatch(/"module"|"pid"|"hostname"/);
  });

  it("prints an event without extra fields and without a module as the bare message", () => {
    const out = render({ level: 30, time: 0, pid: 1, hostname: "h", msg: "ready" }) as string;
    expect(out.trimEnd()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ready$/);
  });

  it("names every level, notice included", () => {
    const names = [[20, "DEBUG"], [30, "INFO"], [35, "NOTICE"], [40, "WARN"], [50, "ERROR"], [60, "FATAL"]] as const;
    for (const [level, name] of names) expect(render({ level, time: 0, msg: "x" })).toContain(` ${name}: x`);
  });

  it("renders a nested field compactly on the same line", () => {
    const out = render({ level: 40, time: 0, module: "clusterer", peer: { node: 2, url: "bin:127.0.0.1:5601" }, msg: "link down" }) as string;
    expect(out.trimEnd().split("\n")).toHaveLength(1);
    expect(out).toContain('[clusterer] link down {"peer":{"node":2,"url":"bin:127.0.0.1:5601"}}');
  });
});
