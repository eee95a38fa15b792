/**
 * tls_mgm's MI (spec/bins-tls.md §4.7): `tls_list` in OpenSIPS's reply shape, `tls_reload`.
 */
import { MiError, type JsonValue, type MiCommandDecl } from "tsips";
import type { TlsMgmApi } from "./api.ts";
import type { DomainConfig } from "./domains.ts";
import { stateOf } from "./state.ts";

function listDomain(d: DomainConfig): JsonValue {
  return {
    name: d.name,
    type: d.type === "server" ? "TLS_DOMAIN_SRV" : "TLS_DOMAIN_CLI",
    "IP ADDRESS FILTERS": [...d.addresses],
    "SIP DOMAIN FILTERS": [...d.sipDomains],
    METHOD: d.method.display,
    VERIFY_CERT: d.verifyCert,
    REQ_CLI_CERT: d.requireCert,
    CRL_CHECKALL: d.crlCheckAll,
    CERT_FILE: d.certFile,
    CRL_DIR: d.crlDir,
    CA_FILE: d.caFile,
    CA_DIR: d.caDir,
    PKEY_FILE: d.keyFile,
    CIPHER_LIST: d.ciphers,
    DH_PARAMS_FILE: d.dhParams,
    EC_CURVE: d.ecCurve,
  };
}

export const tlsMgmMi: Record<string, MiCommandDecl<TlsMgmApi>> = {
  tls_list: {
    help: "lists the TLS domains (client domains first, each list from the last defined)",
    run: (_p, api) => {
      const cfgs = stateOf(api).configs;
      const order = [...cfgs.filter((d) => d.type === "client").reverse(), ...cfgs.filter((d) => d.type === "server").reverse()];
      return { Domains: order.map(listDomain) };
    },
  },
  tls_reload: {
    help: "re-reads every domain's certificate, key, CA and CRL files; open connections keep theirs (tsips: OpenSIPS reloads DB domains only)",
    run: (_p, api) => {
      try {
        stateOf(api).reload();
      } catch (err) {
        throw new MiError(500, "Failed to reload", (err as Error).message);
      }
      return "OK";
    },
  },
};
