/**
 * Dialog ownership by sharing tag (dlg_replication.c, clusterer shtags): a tagged dialog's
 * timers and owner-only actions run on the node where its tag is active; on a backup a
 * passed lifetime waits ("overdue") until the tag becomes active here.
 */
import type { ClustererApi } from "../clusterer/api.ts";
import type { Dialog } from "./store.ts";

export class Ownership {
  /** Tag state cache (clusterer shtagGet), invalidated by the clusterer's change callbacks. */
  private readonly tagActive = new Map<string, boolean>();
  /** Tags this module has seen (on dialogs or in callbacks): what `shtag_sync_all_backup` walks. */
  readonly knownTags = new Set<string>();
  /** Tagged dialogs whose lifetime passed while this node was backup: tag → dialogs. */
  private readonly overdue = new Map<string, Set<Dialog>>();

  /**
   * @param cl the clusterer, when dialog replication is on (tags only matter then)
   * @param clusterId `dialog_replication_cluster`
   */
  constructor(private readonly cl: ClustererApi | undefined, private readonly clusterId: number) {}

  /** Tags count only with 3.6 dialog replication on. */
  get enabled(): boolean {
    return this.cl !== undefined;
  }

  isTagActive(tag: string): boolean {
    let a = this.tagActive.get(tag);
    if (a === undefined) {
      a = this.cl !== undefined && this.cl.shtagGet(tag, this.clusterId) === "active";
      this.tagActive.set(tag, a);
      this.knownTags.add(tag);
    }
    return a;
  }

  /** This node runs the dialog's timers and owner-only actions. */
  mine(d: Dialog): boolean {
    return !this.enabled || d.shtag === undefined || this.isTagActive(d.shtag);
  }

  know(tag: string): void {
    this.knownTags.add(tag);
  }

  markOverdue(d: Dialog): void {
    const tag = d.shtag!;
    let s = this.overdue.get(tag);
    if (!s) this.overdue.set(tag, s = new Set());
    s.add(d);
    d.overdue = true;
  }

  clearOverdue(d: Dialog): void {
    if (!d.overdue) return;
    d.overdue = false;
    for (const [tag, s] of this.overdue) {
      if (s.delete(d) && s.size === 0) this.overdue.delete(tag);
    }
  }

  /**
   * Records a tag's new state. When it became active here, returns the dialogs that were
   * overdue under it (no longer marked), for the engine to end; else nothing.
   */
  setTagState(tag: string, active: boolean): Dialog[] {
    this.tagActive.set(tag, active);
    this.knownTags.add(tag);
    if (!active) return [];
    const waiting = this.overdue.get(tag);
    if (!waiting) return [];
    this.overdue.delete(tag);
    for (const d of waiting) d.overdue = false;
    return [...waiting];
  }
}
