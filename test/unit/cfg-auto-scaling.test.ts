/**
 * auto_scaling_profile and use_auto_scaling_profile (OpenSIPS 3.6): the typed values the
 * parser records, what the load plan hands the core, and the `-c` listing. Bad forms are
 * fixture folders (test/fixtures/cfg/auto-scaling-*).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCfgFile, parseCfgText, type Statement } from "../../core/cfg/index.ts";
import { checkConfig } from "../../core/boot.ts";

const FORMS = fileURLToPath(new URL("../fixtures/cfg/auto-scaling-forms/opensips.cfg", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

const profilesOf = (st: Statement[]) => st.flatMap((s) => (s.kind === "autoScalingProfile" ? [s.profile] : []));

describe("auto_scaling_profile", () => {
  it("records every field of profiles spread over lines, with and without the optional parts", () => {
    const r = parseCfgFile(FORMS);
    expect(r.errors).toEqual([]);
    const [sip, tcp, timer] = profilesOf(r.cfg.statements);
    expect(sip).toEqual({
      name: "PROFILE_SIP", maxProcs: 6, upThreshold: 70, upCyclesNeeded: 4, upCyclesToCheck: 5,
      minProcs: 2, downThreshold: 18, downCyclesToCheck: 10, downCyclesDelay: 100,
      loc: { file: FORMS, line: 8, col: 24, endCol: 35 },
    });
    // No `within`: the window is the cycle count; no scale-down part: never shrinks.
    expect(tcp).toMatchObject({ name: "PROFILE_TCP", maxProcs: 8, upThreshold: 80, upCyclesNeeded: 3, upCyclesToCheck: 3,
      minProcs: 0, downThreshold: 0, downCyclesToCheck: 0, downCyclesDelay: 0 });
    expect(timer).toMatchObject({ name: "PROFILE_TIMER", maxProcs: 4, upThreshold: 90, upCyclesNeeded: 2, upCyclesToCheck: 3,
      minProcs: 1, downThreshold: 10, downCyclesToCheck: 5, downCyclesDelay: 50 });
  });

  it("scale down to 0 means no downscaling, as in OpenSIPS", () => {
    const r = parseCfgText("auto_scaling_profile = P scale up to 3 on 50% for 2 cycles scale down to 0 on 99% for 300 cycles\n", "/v.cfg");
    expect(r.errors).toEqual([]);
    expect(profilesOf(r.cfg.statements)[0]).toMatchObject({ minProcs: 0, downThreshold: 0, downCyclesToCheck: 0, downCyclesDelay: 0 });
  });

  it("records the worker groups and sockets that use a profile, keeping the workers number as an int global", () => {
    const r = parseCfgFile(FORMS);
    const globals = r.cfg.statements.filter((s) => s.kind === "global");
    const udp = globals.find((s) => s.name === "udp_workers");
    expect(udp).toMatchObject({ value: { kind: "int", value: 4 }, autoScaling: { group: "udp_workers", profile: "PROFILE_SIP", loc: { line: 3, col: 42 } } });
    expect(globals.find((s) => s.name === "tcp_workers")).toMatchObject({ value: { kind: "int", value: 2 }, autoScaling: { group: "tcp_workers", profile: "profile_tcp" } });
    const sock = r.cfg.statements.find((s) => s.kind === "socket");
    expect(sock?.kind === "socket" && sock.socket).toMatchObject({ proto: "udp", port: 25060, workers: 2, autoScalingProfile: "PROFILE_SIP" });
  });

  it("maps the deprecated children/tcp_children to their worker groups", () => {
    const r = parseCfgText("children = 4 use_auto_scaling_profile P\ntcp_children = 2 use_auto_scaling_profile p\n" +
      "auto_scaling_profile = P scale up to 6 on 70% for 4 cycles\n", "/v.cfg");
    expect(r.errors).toEqual([]);
    const groups = r.cfg.statements.flatMap((s) => (s.kind === "global" && s.autoScaling ? [s.autoScaling.group] : []));
    expect(groups).toEqual(["udp_workers", "tcp_workers"]);
  });

  it("hands the core the profiles and their uses (LoadPlan.autoScaling, ctx.core.autoScaling)", async () => {
    const r = await checkConfig(FORMS);
    expect(r.ok).toBe(true);
    expect(r.plan?.autoScaling.profiles.map((p) => p.name)).toEqual(["PROFILE_SIP", "PROFILE_TCP", "PROFILE_TIMER"]);
    expect(r.plan?.autoScaling.uses.map((u) => `${u.group}:${u.profile}`)).toEqual([
      "udp_workers:PROFILE_SIP", "tcp_workers:profile_tcp", "timer_workers:PROFILE_TIMER", "socket:PROFILE_SIP",
    ]);
    expect(r.plan?.globals.has("auto_scaling_profile")).toBe(false);
    expect(r.plan?.globals.get("auto_scaling_cycle")).toEqual({ kind: "int", value: 1 });
  });

  it("-c lists each profile with the groups that use it", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "core/main.ts", "-c", "-f", FORMS], { cwd: REPO, encoding: "utf8" });
    expect(out).toContain([
      "Auto-scaling profiles",
      "             PROFILE_SIP: scale up to 6 on 70% for 4 cycles within 5, scale down to 2 on 18% for 10 cycles (used by udp_workers, socket udp:127.0.0.1:25060 use_workers 2 use_auto_scaling_profile PROFILE_SIP)",
      "             PROFILE_TCP: scale up to 8 on 80% for 3 cycles within 3, no scale down (used by tcp_workers)",
      "             PROFILE_TIMER: scale up to 4 on 90% for 2 cycles within 3, scale down to 1 on 10% for 5 cycles (used by timer_workers)",
    ].join("\n"));
  }, 20_000);
});
