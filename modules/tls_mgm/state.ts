/** The running state behind one tls_mgm instance (several test hosts may run in one process). */
import type { TlsDomain, TlsMgmApi } from "./api.ts";
import type { DomainConfig, DomainMap } from "./domains.ts";

/** The running state behind one instance's API (tls_list, tls_reload). */
export interface TlsMgmState {
  configs: DomainConfig[];
  loaded: TlsDomain[];
  /** Matching maps of the server and of the client domains. */
  servers: DomainMap;
  clients: DomainMap;
  reloadListeners: (() => void)[];
  reload(): void;
  reloads: number;
}

const states = new WeakMap<TlsMgmApi, TlsMgmState>();
export function setState(api: TlsMgmApi, s: TlsMgmState): void {
  states.set(api, s);
}

export function stateOf(api: TlsMgmApi): TlsMgmState {
  const s = states.get(api);
  if (!s) throw new Error("tls_mgm is not initialised");
  return s;
}

