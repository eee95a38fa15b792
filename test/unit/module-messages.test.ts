/**
 * Modules declare their BIN messages in defineModule; tools find them through the loader
 * (repo modules/, -m DIR, a config's mpath). The core imports no module.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { discoverMessages } from "../../core/loader/messages.ts";
import { main } from "../../scripts/bin-dump.ts";
import { importsOf } from "../helpers/imports.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const USER_MODS = resolve(import.meta.dirname, "../fixtures/user-mods");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("module-declared messages", () => {
  const tmp = mkdtempSync(join(tmpdir(), "tsips-msgs-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("no core file imports a module", () => {
    const bad = tsFiles(join(ROOT, "core")).flatMap((f) =>
      importsOf(readFileSync(f, "utf8")).filter((i) => i.spec.includes("modules/")).map((i) => `${f}: ${i.spec}`));
    expect(bad).toEqual([]);
  });

  it("finds the repo modules' messages through the loader", async () => {
    const { registry, modules } = await discoverMessages();
    expect(modules.map((m) => m.name)).toEqual(expect.arrayContaining(["clusterer", "dialog", "kv_store", "usrloc"]));
    expect(registry.find("usrloc-contact-repl", 3, 5)?.name).toBe("UCONTACT_INSERT");
    expect(registry.find("my-counter-repl", 1, 3)).toBeUndefined();
  });

  it("adds a user's module folder (-m DIR) and a config's mpath", async () => {
    const viaM = await discoverMessages({ modulePaths: [USER_MODS] });
    expect(viaM.registry.find("my-counter-repl", 1, 3)?.name).toBe("COUNTER_BUMP");
    expect(viaM.modules[0]).toMatchObject({ name: "my_counter", messages: 1 });
    const cfg = join(tmp, "opensips.cfg");
    writeFileSync(cfg, `mpath="${USER_MODS}"\nloadmodule "my_counter.so"\n`);
    const viaCfg = await discoverMessages({ cfgFile: cfg });
    expect(viaCfg.registry.find("my-counter-repl", 1, 3)?.name).toBe("COUNTER_BUMP");
    const missing = await discoverMessages({ modulePaths: [join(tmp, "nope")] });
    expect(missing.problems).toEqual([`${join(tmp, "nope")}: no such folder`]);
  });

  it("bin-dump -m DIR decodes a user module's packet by field name", async () => {
    const { CounterBump } = await import("../fixtures/user-mods/my_counter/index.ts");
    const pkt = CounterBump.encode({ counter: "calls", delta: 7 });
    pkt.pushInt(1).pushInt(1).pushInt(2); // clusterer trailer: cluster 1, node 1 → node 2
    const hex = join(tmp, "counter.hex");
    writeFileSync(hex, `${Buffer.from(pkt.bytes()).toString("hex")}\n`);
    const without: string[] = [];
    await main([hex], (s) => without.push(s));
    expect(without.join("\n")).not.toContain("COUNTER_BUMP");
    const out: string[] = [];
    expect(await main(["-m", USER_MODS, hex], (s) => out.push(s))).toBe(0);
    const text = out.join("\n");
    expect(text).toContain("COUNTER_BUMP:");
    expect(text).toContain('counter = "calls"');
    expect(text).toContain("delta = 7");
  });
});
