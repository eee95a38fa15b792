/**
 * The clusterer's status/report group (OpenSIPS clusterer: `node_states`, `sharing_tags` and
 * one `cap:<capability>` per capability, each keeping 200 reports). Node and tag reports are
 * written from the events the engine raises; capability statuses come from the sync code:
 * -3 not synced, -2 sync pending, -1 sync in progress, 1 synced.
 */
import type { SrGroup, SrIdentifier } from "tsips";

export const CAP_SR = { notSynced: -3, syncPending: -2, syncing: -1, synced: 1 } as const;
export type CapSrStatus = (typeof CAP_SR)[keyof typeof CAP_SR];

const DETAILS: Record<CapSrStatus, string> = { [-3]: "not synced", [-2]: "sync pending", [-1]: "sync in progress", 1: "synced" };
const HISTORY = 200;

export class ClustererReports {
  private readonly nodeStates: SrIdentifier;
  private readonly shtags: SrIdentifier;

  constructor(private readonly group: SrGroup) {
    this.nodeStates = group.identifier("node_states", { maxReports: HISTORY });
    this.shtags = group.identifier("sharing_tags", { maxReports: HISTORY });
  }

  /** Writes the report an event stands for (the engine raises both through here). */
  onEvent(name: string, p: Readonly<Record<string, string | number>>): void {
    if (name === "E_CLUSTERER_NODE_STATE_CHANGED") {
      this.nodeStates.report(`Node [${p["node_id"]}], cluster [${p["cluster_id"]}] is ${p["new_state"] === 1 ? "UP" : "DOWN"}`);
    } else if (name === "E_CLUSTERER_SHARING_TAG_CHANGED") {
      this.shtags.report(`TAG <${p["name"]}>, cluster ${p["cluster"]}, became ${p["state"]} due to ${p["reason"]}`);
    }
  }

  /** Sets a capability's sync status (its identifier is created on first use) and adds a report. */
  capStatus(capability: string, status: CapSrStatus, report?: string): void {
    const name = `cap:${capability}`;
    const id = this.group.find(name) ?? this.group.identifier(name, { status, details: DETAILS[status], maxReports: HISTORY });
    id.setStatus(status, DETAILS[status]);
    if (report) id.report(report);
  }
}
