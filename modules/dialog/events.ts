/**
 * Dialog callbacks (OpenSIPS `register_dlgcb`): listeners by event kind; a throwing listener
 * is logged and never breaks the dialog code that raised the event.
 */
import type { TsipsLogger } from "tsips";
import type { DialogEvent, DialogEventKind } from "./api.ts";

export class DialogEvents {
  private readonly listeners = new Map<DialogEventKind, Set<(ev: DialogEvent) => void>>();

  constructor(private readonly log: TsipsLogger) {}

  on(kinds: DialogEventKind | readonly DialogEventKind[], cb: (ev: DialogEvent) => void): () => void {
    const list = typeof kinds === "string" ? [kinds] : kinds;
    for (const k of list) {
      let s = this.listeners.get(k);
      if (!s) this.listeners.set(k, s = new Set());
      s.add(cb);
    }
    return () => {
      for (const k of list) this.listeners.get(k)?.delete(cb);
    };
  }

  /** Cheap check so the hot paths build an event object only when someone listens. */
  listened(kind: DialogEventKind): boolean {
    const s = this.listeners.get(kind);
    return s !== undefined && s.size > 0;
  }

  emit(ev: DialogEvent): void {
    const s = this.listeners.get(ev.kind);
    if (!s || s.size === 0) return;
    for (const cb of s) {
      try {
        cb(ev);
      } catch (err) {
        this.log.error({ err, event: ev.kind }, "dialog callback threw");
      }
    }
  }
}
