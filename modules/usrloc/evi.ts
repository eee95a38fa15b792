/**
 * usrloc's events (OpenSIPS ul_evi.c): every AoR and contact change of the store becomes an
 * E_UL_* event with OpenSIPS's parameter names, whatever its origin (local, replicated, sync,
 * expiry), as OpenSIPS raises them from the insert/update/delete functions themselves.
 * E_UL_CONTACT_REFRESH belongs to push-notification refreshes, which tsips does not do: it is
 * published, so subscriptions to it are accepted, and never raised.
 */
import type { ModuleEvents } from "tsips";
import type { UlChange, UlContact } from "./api.ts";

export const USRLOC_EVENTS = [
  "E_UL_AOR_INSERT", "E_UL_AOR_DELETE", "E_UL_CONTACT_INSERT", "E_UL_CONTACT_UPDATE", "E_UL_CONTACT_DELETE", "E_UL_CONTACT_REFRESH",
] as const;

const EVENT_OF: Record<UlChange["type"], string> = {
  "aor-insert": "E_UL_AOR_INSERT",
  "aor-delete": "E_UL_AOR_DELETE",
  "aor-expire": "E_UL_AOR_DELETE",
  "contact-insert": "E_UL_CONTACT_INSERT",
  "contact-update": "E_UL_CONTACT_UPDATE",
  "contact-delete": "E_UL_CONTACT_DELETE",
  "contact-expire": "E_UL_CONTACT_DELETE",
};

/** The contact event parameters, in OpenSIPS's order (`ul_raise_contact_event`). */
export function contactEventParams(domain: string, aor: string, c: UlContact): Record<string, string | number> {
  return {
    domain, aor, uri: c.uri, received: c.received, path: c.path, qval: c.q, user_agent: c.userAgent, socket: c.socket,
    bflags: c.cflags, expires: c.expires, callid: c.callid, cseq: c.cseq, attr: c.attr, latency: 0, shtag: c.sharingTag,
  };
}

/** Raises the E_UL_* event of one store change. */
export function raiseUsrlocEvent(events: ModuleEvents, ev: UlChange): void {
  const name = EVENT_OF[ev.type];
  if (!events.wanted(name)) return;
  if (ev.type.startsWith("aor-")) events.raise(name, { domain: ev.domain, aor: ev.aor });
  else if (ev.contact) events.raise(name, contactEventParams(ev.domain, ev.aor, ev.contact));
}
