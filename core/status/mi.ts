/**
 * The status/report MI commands (module `core`, OpenSIPS status_report.c): sr_get_status,
 * sr_list_status, sr_list_reports and sr_list_identifiers, with OpenSIPS's reply shapes
 * (`Readiness`/`Status`/`Details`, `Name`/`Reports` with `Timestamp`/`Date`/`Log`) and errors.
 */
import { ctime } from "../mi/core-commands.ts";
import type { MiRegistry } from "../mi/registry.ts";
import { MiError, type JsonValue, type MiCommandDecl } from "../mi/types.ts";
import type { SrGroup, SrIdentifier, StatusReports } from "./registry.ts";

function statusOf(id: SrIdentifier): Record<string, JsonValue> {
  return { Readiness: id.status > 0, Status: id.status, ...(id.details !== undefined ? { Details: id.details } : {}) };
}

function reportsOf(id: SrIdentifier): JsonValue[] {
  return id.history().map((r) => ({ Timestamp: r.ts, Date: ctime(r.ts * 1000), Log: r.log }));
}

function groupOf(sr: StatusReports, name: string): SrGroup {
  const g = sr.find(name);
  if (!g) throw new MiError(404, "Group not found");
  return g;
}

export function statusReportCommands(sr: StatusReports): Record<string, MiCommandDecl<undefined>> {
  const listStatus = (g: SrGroup): JsonValue[] => g.identifiers.map((id) => ({ Name: id.name, ...statusOf(id) }));
  const listReports = (g: SrGroup): JsonValue[] => g.identifiers.map((id) => ({ Name: id.name, Reports: reportsOf(id) }));
  return {
    sr_get_status: {
      help: "status of an identifier of a group (default `main`; `all` aggregates the group)",
      params: [["group"], ["group", "identifier"]],
      run(p): JsonValue {
        const g = groupOf(sr, p.str("group"));
        const name = p.optStr("identifier");
        if (name !== undefined && name.toLowerCase() === "all") {
          const status = g.identifiers.some((i) => i.status < 0) ? -1 : 1;
          return { Readiness: status > 0, Status: status, Details: "aggregated" };
        }
        const id = g.find(name ?? "main");
        if (!id) throw new MiError(404, "Identity not found");
        return statusOf(id);
      },
    },
    sr_list_status: {
      help: "status of every identifier, of every group or of one",
      params: [[], ["group"]],
      run(p): JsonValue {
        if (p.has("group")) return listStatus(groupOf(sr, p.str("group")));
        return sr.groups.map((g) => ({ Name: g.name, Identifiers: listStatus(g) }));
      },
    },
    sr_list_reports: {
      help: "report history of every identifier, of a group, or of one identifier",
      params: [[], ["group"], ["group", "identifier"]],
      run(p): JsonValue {
        if (!p.has("group")) return sr.groups.map((g) => ({ Name: g.name, Identifiers: listReports(g) }));
        const g = groupOf(sr, p.str("group"));
        if (!p.has("identifier")) return listReports(g);
        const id = g.find(p.str("identifier"));
        if (!id) throw new MiError(404, "Identifier not found");
        return reportsOf(id);
      },
    },
    sr_list_identifiers: {
      help: "identifier names of every group or of one",
      params: [[], ["group"]],
      run(p): JsonValue {
        const one = (g: SrGroup): JsonValue => ({ Group: g.name, Identifiers: g.identifiers.map((i) => i.name) });
        if (p.has("group")) return one(groupOf(sr, p.str("group")));
        return sr.groups.map(one);
      },
    },
  };
}

export function registerStatusReportCommands(registry: MiRegistry, sr: StatusReports): void {
  registry.registerAll("core", statusReportCommands(sr), undefined);
}
