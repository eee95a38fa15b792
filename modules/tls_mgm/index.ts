/**
 * tls_mgm: TLS domains for BIN over TLS (OpenSIPS 3.6.8 `modules/tls_mgm`,
 * spec/bins-tls.md §4). Script domains only: `server_domain` / `client_domain` and the
 * `"[domain]value"` parameters, with OpenSIPS's defaults and domain matching. `tls_list`
 * shows them; `tls_reload` re-reads their files (tsips: OpenSIPS reloads DB domains only).
 */
import { dirname, resolve } from "node:path";
import { defineModule, int, need, str, strList, TsipsError } from "tsips";
import type { TlsDomain, TlsMgmApi } from "./api.ts";
import type { TlsLibraryApi } from "../tls_openssl/api.ts";
import { parseDomainName, parseDomainValue, type DomainSetting } from "./domain-params.ts";
import { DomainMap, loadDomain, replayDomainParams, type DomainParamName } from "./domains.ts";
import { tlsMgmMi } from "./mi.ts";
import { setState, type TlsMgmState } from "./state.ts";
import type { StatDecl } from "tsips";

export type { TlsMgmApi, TlsDomain } from "./api.ts";

const perDomain = (doc: string) => strList<DomainSetting>({ doc: `"[domain]value": ${doc}`, parse: parseDomainValue });
const noDb = "tsips has script domains only (no tls_mgm table)";
const noAvp = "tsips runs no routing script, so no AVP is ever set: client domains are matched by address and the literal \"*\"";

export const tlsMgmParams = {
  server_domain: strList<DomainSetting>({ doc: "defines a server domain (connections this node accepts); repeatable", parse: parseDomainName }),
  client_domain: strList<DomainSetting>({ doc: "defines a client domain (connections this node opens); repeatable", parse: parseDomainName }),
  match_ip_address: perDomain("* or a comma list of IP:port the domain applies to (server: local listener; client: destination); default *"),
  match_sip_domain: perDomain("comma list of shell patterns matched against SNI (server, `none` without SNI) or `*` (client); default *"),
  certificate: perDomain("PEM certificate (optionally followed by its chain); server default CFG_DIR/tls/cert.pem, client: none"),
  private_key: perDomain("PEM private key; default CFG_DIR/tls/ckey.pem"),
  ca_list: perDomain("PEM file of trusted CA certificates"),
  ca_dir: perDomain("directory of trusted CA certificates (PEM files); default /etc/pki/CA/ (a missing directory is fine)"),
  crl_dir: perDomain("directory of PEM CRLs; enables CRL checking"),
  crl_check_all: perDomain("0/1: check CRLs for the whole chain (tsips: Node always checks the whole chain once CRLs are loaded)"),
  verify_cert: perDomain("0/1: verify the peer's certificate chain (default 1)"),
  require_cert: perDomain("0/1, server domains: a client without a certificate is refused (default 1)"),
  tls_method: perDomain("SSLv23 (any), TLSv1, TLSv1_2, TLSv1_3 or LOW-HIGH; default SSLv23"),
  ciphers_list: perDomain("OpenSSL cipher string (TLS <= 1.2 only)"),
  dh_params: perDomain("PEM DH parameters file"),
  ec_curve: perDomain("ECDH curve name, e.g. prime256v1"),
  tls_library: str({ default: "auto", choices: ["auto", "openssl", "wolfssl", "none"], doc: "which TLS library module must be loaded (auto: exactly one of tls_openssl, tls_wolfssl)" }),
  client_tls_domain_avp: str({ default: "", doc: "AVP naming the client domain to use", ignored: noAvp }),
  client_sip_domain_avp: str({ default: "", doc: "AVP holding the SIP domain matched against match_sip_domain", ignored: noAvp }),
  db_url: str({ default: "", doc: "DB URL of the tls_mgm table", ignored: noDb }),
  db_table: str({ default: "tls_mgm", doc: "name of the tls_mgm table", ignored: noDb }),
  // ── tsips additions ──
  cert_expiry_warn_days: int({ default: 30, min: 0, doc: "tsips: a certificate (own or a peer's) expiring within this many days is counted in the *_expiring statistics and logged" }),
} as const;

const DOMAIN_PARAM_NAMES = [
  "match_ip_address", "match_sip_domain", "certificate", "private_key", "ca_list", "ca_dir", "crl_dir",
  "crl_check_all", "verify_cert", "require_cert", "tls_method", "ciphers_list", "dh_params", "ec_curve",
] as const satisfies readonly DomainParamName[];

type StatName = "domains" | "certs_expiring" | "reloads" | "reload_failures";
const tlsMgmStats: Record<StatName, StatDecl> = {
  domains: { kind: "gauge", doc: "TLS domains loaded" },
  certs_expiring: { kind: "gauge", doc: "own domain certificates that expire within cert_expiry_warn_days (or have expired)" },
  reloads: { doc: "successful tls_reload runs" },
  reload_failures: { doc: "tls_reload runs that failed (the previous certificates stay in use)" },
};
const tlsMgmDeps = {
  tls_openssl: need<TlsLibraryApi>("tls_openssl", { missing: "ignore" }),
  tls_wolfssl: need<TlsLibraryApi>("tls_wolfssl", { missing: "ignore" }),
};

export default defineModule<typeof tlsMgmParams, typeof tlsMgmDeps, StatName, TlsMgmApi>({
  name: "tls_mgm",
  version: "1.0.0",
  doc: "TLS domains (certificates, CAs, checks) for bins: connections",
  params: tlsMgmParams,
  deps: tlsMgmDeps,
  stats: tlsMgmStats,
  init(ctx): TlsMgmApi {
    const p = ctx.params;
    const libs = [ctx.deps.tls_openssl, ctx.deps.tls_wolfssl].filter((x) => x !== undefined);
    const hint = "load tls_openssl (or tls_wolfssl) before tls_mgm";
    if (p.tls_library === "auto" && libs.length > 1) throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", "Multiple TLS library modules loaded (tls_openssl and tls_wolfssl): load one", { module: "tls_mgm" });
    if (p.tls_library === "auto" && libs.length === 0) throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", `No TLS library module loaded: ${hint}`, { module: "tls_mgm" });
    if ((p.tls_library === "openssl" || p.tls_library === "wolfssl") && !libs.some((l) => l.library === p.tls_library)) {
      throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", `tls_library=${p.tls_library} but tls_${p.tls_library} is not loaded`, { module: "tls_mgm" });
    }
    const cfgDir = ctx.core.cfgFile ? dirname(resolve(ctx.core.cfgFile)) : process.cwd();
    const byParam = new Map<DomainParamName, readonly DomainSetting[]>(DOMAIN_PARAM_NAMES.map((n) => [n, p[n]]));
    const configs = replayDomainParams(p.server_domain, p.client_domain, byParam, cfgDir);
    const warnMs = p.cert_expiry_warn_days * 86_400_000;

    const build = (): { loaded: TlsDomain[]; servers: DomainMap; clients: DomainMap } => {
      const loaded = configs.map(loadDomain);
      return {
        loaded,
        servers: new DomainMap(loaded.filter((d) => d.type === "server")),
        clients: new DomainMap(loaded.filter((d) => d.type === "client")),
      };
    };
    const first = build();
    const state: TlsMgmState = {
      configs, ...first, reloadListeners: [], reloads: 0,
      reload() {
        const next = build(); // throws before anything changes
        state.loaded = next.loaded;
        state.servers = next.servers;
        state.clients = next.clients;
        state.reloads++;
        for (const cb of state.reloadListeners) cb();
        checkExpiry();
      },
    };
    const checkExpiry = (): void => {
      const now = Date.now();
      for (const d of state.loaded) {
        if (d.certNotAfter && d.certNotAfter.getTime() - now < warnMs) {
          ctx.log.warn({ domain: d.name, notAfter: d.certNotAfter.toISOString() },
            `TLS domain '${d.name}': certificate ${d.certSubject ?? ""} ${d.certNotAfter.getTime() < now ? "expired" : "expires"} ${d.certNotAfter.toISOString()}`);
        }
      }
    };
    checkExpiry();
    for (const d of state.loaded) {
      ctx.log.info({ domain: d.name, type: d.type, verify: d.verifyCert, require: d.requireCert }, `TLS ${d.type} domain '${d.name}' loaded`);
    }
    if (!state.loaded.some((d) => d.type === "server")) ctx.log.warn("no TLS server domain: every accepted bins connection would be refused");
    if (!state.loaded.some((d) => d.type === "client")) ctx.log.warn("no TLS client domain: this node cannot open bins connections");

    ctx.stats.gauge("domains", () => state.loaded.length);
    ctx.stats.gauge("certs_expiring", () => {
      const now = Date.now();
      return state.loaded.filter((d) => d.certNotAfter !== undefined && d.certNotAfter.getTime() - now < warnMs).length;
    });
    const reloadsStat = ctx.stats.get("reloads");
    const failuresStat = ctx.stats.get("reload_failures");
    const api: TlsMgmApi = {
      serverDomain: (host, port, sni) => state.servers.server(host, port, sni),
      clientDomain: (host, port) => state.clients.client(host, port),
      domains: () => [...state.loaded.filter((d) => d.type === "client").reverse(), ...state.loaded.filter((d) => d.type === "server").reverse()],
      onReload: (cb) => void state.reloadListeners.push(cb),
      expiryWarnMs: warnMs,
    };
    const reload = state.reload;
    state.reload = () => {
      try {
        reload();
        reloadsStat.inc();
        ctx.log.info(`tls_reload: ${state.loaded.length} TLS domain(s) reloaded`);
      } catch (err) {
        failuresStat.inc();
        ctx.log.error({ err }, `tls_reload failed, the previous certificates stay in use: ${(err as Error).message}`);
        throw err;
      }
    };
    setState(api, state);
    return api;
  },
  mi: tlsMgmMi,
});
