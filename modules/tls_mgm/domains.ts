/**
 * Script TLS domains (spec/bins-tls.md §4.1–4.5): replaying the modparams in file order,
 * OpenSIPS's defaults, loading the files into a node:tls SecureContext, and the matching
 * maps that pick a domain for a connection.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute, join, resolve } from "node:path";
import { X509Certificate, constants } from "node:crypto";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { TsipsError, normHost } from "tsips";
import type { TlsDomain, TlsDomainType } from "./api.ts";
import { flagValue, type DomainSetting } from "./domain-params.ts";
import { parseTlsMethod, type TlsMethod } from "./tls-method.ts";

/** A domain's settings before its files are read (what tls_list shows). */
export interface DomainConfig {
  name: string;
  type: TlsDomainType;
  addresses: string[];
  sipDomains: string[];
  certFile: string;
  keyFile: string;
  caFile: string;
  caDir: string;
  crlDir: string;
  crlCheckAll: boolean;
  verifyCert: boolean;
  requireCert: boolean;
  method: TlsMethod;
  ciphers: string;
  dhParams: string;
  ecCurve: string;
  /** Which settings were given (defaults are filled in after the replay). */
  given: Set<string>;
}

/** The per-domain modparams, by name, in their parsed form. */
export type DomainParamName =
  "match_ip_address" | "match_sip_domain" | "certificate" | "private_key" | "ca_list" | "ca_dir" | "crl_dir" |
  "crl_check_all" | "verify_cert" | "require_cert" | "tls_method" | "ciphers_list" | "dh_params" | "ec_curve";

export const DOMAIN_PARAMS: readonly DomainParamName[] = [
  "match_ip_address", "match_sip_domain", "certificate", "private_key", "ca_list", "ca_dir", "crl_dir",
  "crl_check_all", "verify_cert", "require_cert", "tls_method", "ciphers_list", "dh_params", "ec_curve",
];

const DEFAULT_CA_DIR = "/etc/pki/CA/";

function newDomain(name: string, type: TlsDomainType): DomainConfig {
  return {
    name, type, addresses: ["*"], sipDomains: ["*"], certFile: "", keyFile: "", caFile: "", caDir: DEFAULT_CA_DIR,
    crlDir: "", crlCheckAll: false, verifyCert: true, requireCert: type === "server",
    method: { min: undefined, max: undefined, display: "SSLv23" }, ciphers: "", dhParams: "", ecCurve: "", given: new Set(),
  };
}

/** `IP:port` split at the last `:` (IPv6 with or without brackets), in normal text form. */
export function parseAddressFilter(entry: string): string {
  const e = entry.trim();
  if (e.startsWith("*")) return "*";
  const colon = e.lastIndexOf(":");
  if (colon <= 0) throw new Error(`match_ip_address "${entry}": expected IP:port or *`);
  const ip = normHost(e.slice(0, colon));
  const port = e.slice(colon + 1);
  if (isIP(ip) === 0) throw new Error(`match_ip_address "${entry}": "${ip}" is not an IP address`);
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) throw new Error(`match_ip_address "${entry}": bad port "${port}"`);
  return `${ip}:${Number(port)}`;
}

function applySetting(d: DomainConfig, param: DomainParamName, v: string): void {
  d.given.add(param);
  switch (param) {
    case "match_ip_address": d.addresses = v.trim().startsWith("*") ? ["*"] : v.split(",").map(parseAddressFilter); break;
    case "match_sip_domain": d.sipDomains = v.split(",").map((x) => x.trim()).filter((x) => x !== ""); break;
    case "certificate": d.certFile = v; break;
    case "private_key": d.keyFile = v; break;
    case "ca_list": d.caFile = v; break;
    case "ca_dir": d.caDir = v; break;
    case "crl_dir": d.crlDir = v; break;
    case "crl_check_all": d.crlCheckAll = flagValue(v, param); break;
    case "verify_cert": d.verifyCert = flagValue(v, param); break;
    case "require_cert": d.requireCert = flagValue(v, param); break;
    case "tls_method": d.method = parseTlsMethod(v); break;
    case "ciphers_list": d.ciphers = v; break;
    case "dh_params": d.dhParams = v; break;
    case "ec_curve": d.ecCurve = v; break;
  }
}

/**
 * Replays `server_domain`, `client_domain` and every `[name]value` in file order. A parameter
 * for a domain not yet defined, or a name defined twice in one list, is an error; a name
 * defined as both server and client gets its parameters on the server domain (as OpenSIPS).
 */
export function replayDomainParams(
  servers: readonly DomainSetting[], clients: readonly DomainSetting[],
  params: ReadonlyMap<DomainParamName, readonly DomainSetting[]>, cfgDir: string,
): DomainConfig[] {
  type Step = { seq: number; run: () => void };
  const srv = new Map<string, DomainConfig>();
  const cli = new Map<string, DomainConfig>();
  const steps: Step[] = [];
  const define = (list: Map<string, DomainConfig>, type: TlsDomainType) => (s: DomainSetting) => steps.push({
    seq: s.seq,
    run: () => {
      if (list.has(s.domain)) throw new Error(`Domain name: [${s.domain}] already defined`);
      list.set(s.domain, newDomain(s.domain, type));
    },
  });
  servers.forEach(define(srv, "server"));
  clients.forEach(define(cli, "client"));
  for (const [param, settings] of params) {
    for (const s of settings) {
      steps.push({
        seq: s.seq,
        run: () => {
          const d = srv.get(s.domain) ?? cli.get(s.domain);
          if (!d) throw new Error(`${param} "[${s.domain}]${s.value}": TLS domain [${s.domain}] not defined (define it with server_domain or client_domain first)`);
          applySetting(d, param, s.value);
        },
      });
    }
  }
  steps.sort((a, b) => a.seq - b.seq);
  for (const s of steps) {
    try {
      s.run();
    } catch (err) {
      throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", (err as Error).message, { module: "tls_mgm" });
    }
  }
  const all = [...srv.values(), ...cli.values()];
  // relative file names are taken from the cfg file's folder (configs move with their certs)
  const abs = (f: string): string => (f === "" || isAbsolute(f) ? f : resolve(cfgDir, f));
  for (const d of all) {
    for (const k of ["certFile", "keyFile", "caFile", "caDir", "crlDir", "dhParams"] as const) d[k] = abs(d[k]);
    if (d.type === "server") {
      if (!d.given.has("certificate")) d.certFile = join(cfgDir, "tls", "cert.pem");
      if (!d.given.has("private_key")) d.keyFile = join(cfgDir, "tls", "ckey.pem");
    } else if (d.certFile !== "" && !d.given.has("private_key")) {
      d.keyFile = join(cfgDir, "tls", "ckey.pem");
    }
  }
  return all;
}

function readFile(domain: string, what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TsipsError("TSIPS_ERR_TLS_DOMAIN",
      `Failed to init TLS domain '${domain}': unable to load ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { module: "tls_mgm", cause: err });
  }
}

/** PEM files of a directory (ca_dir in OpenSSL hashed form, crl_dir); a missing directory is not an error. */
function dirFiles(path: string): Buffer[] {
  if (path === "" || !existsSync(path) || !statSync(path).isDirectory()) return [];
  return readdirSync(path).sort().map((f) => join(path, f)).filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f)).filter((b) => b.includes("-----BEGIN"));
}

/** Reads a domain's files and builds its context (startup and tls_reload). */
export function loadDomain(d: DomainConfig): TlsDomain {
  // OpenSIPS never renegotiates; refusing it closes a renegotiation flood at its first attempt.
  const opts: SecureContextOptions = { secureOptions: constants.SSL_OP_NO_RENEGOTIATION };
  let certNotAfter: Date | undefined;
  let certSubject: string | undefined;
  if (d.certFile !== "") {
    const cert = readFile(d.name, "certificate file", d.certFile);
    opts.cert = cert;
    opts.key = readFile(d.name, "private key file", d.keyFile);
    try {
      const x = new X509Certificate(cert);
      certNotAfter = new Date(x.validTo);
      certSubject = x.subject.replaceAll("\n", "/");
    } catch (err) {
      throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", `Failed to init TLS domain '${d.name}': unable to load certificate file '${d.certFile}': ${(err as Error).message}`,
        { module: "tls_mgm", cause: err });
    }
  }
  const ca: Buffer[] = [];
  if (d.caFile !== "") ca.push(readFile(d.name, "ca", d.caFile));
  ca.push(...dirFiles(d.caDir));
  if (ca.length > 0) opts.ca = ca;
  const crl = dirFiles(d.crlDir);
  if (crl.length > 0) opts.crl = crl;
  if (d.method.min) opts.minVersion = d.method.min;
  if (d.method.max) opts.maxVersion = d.method.max;
  if (d.ciphers !== "") opts.ciphers = d.ciphers;
  if (d.dhParams !== "") opts.dhparam = readFile(d.name, "DH params", d.dhParams);
  if (d.ecCurve !== "") opts.ecdhCurve = d.ecCurve;
  let context;
  try {
    context = createSecureContext(opts);
  } catch (err) {
    const msg = (err as Error).message;
    const why = /key values mismatch|KEY_VALUES_MISMATCH/i.test(msg) ? `key '${d.keyFile}' does not match the public key of the certificate` : msg;
    throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", `Failed to init TLS domain '${d.name}': ${why}`, { module: "tls_mgm", cause: err });
  }
  return {
    name: d.name, type: d.type, addresses: d.addresses, sipDomains: d.sipDomains, verifyCert: d.verifyCert,
    requireCert: d.requireCert, minVersion: d.method.min, maxVersion: d.method.max, context, contextOptions: opts, certNotAfter, certSubject,
  };
}

/** Case-insensitive shell pattern match (`fnmatch` with `*`, `?` and `[...]`). */
export function fnmatch(pattern: string, text: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "is").test(text);
}

/** `(pattern, domain)` pairs per address filter, sorted as tls_domain.c sorts them. */
export class DomainMap {
  private readonly map = new Map<string, { pattern: string; domain: TlsDomain }[]>();

  /** `domains` in definition order: the last defined wins a tie (OpenSIPS prepends). */
  constructor(domains: readonly TlsDomain[]) {
    for (const d of [...domains].reverse()) {
      for (const addr of d.addresses) {
        let list = this.map.get(addr);
        if (!list) this.map.set(addr, (list = []));
        for (const pattern of d.sipDomains) if (!list.some((e) => e.pattern === pattern)) list.push({ pattern, domain: d });
      }
    }
    const rank = (p: string): number => (p === "*" ? 2 : p.includes("*") ? 1 : 0);
    for (const list of this.map.values()) list.sort((a, b) => rank(a.pattern) - rank(b.pattern));
  }

  private list(host: string, port: number): { pattern: string; domain: TlsDomain }[] | undefined {
    return this.map.get(`${normHost(host)}:${port}`) ?? this.map.get("*");
  }

  /** Server: the first entry whose pattern matches the SNI (or `none` without SNI). */
  server(host: string, port: number, sni: string | undefined): TlsDomain | undefined {
    const name = sni === undefined || sni === "" ? "none" : sni;
    return this.list(host, port)?.find((e) => fnmatch(e.pattern, name))?.domain;
  }

  /** Client: no AVP is ever set for clusterer sends, so the name compared is the literal `*`. */
  client(host: string, port: number): TlsDomain | undefined {
    return this.list(host, port)?.find((e) => fnmatch(e.pattern, "*"))?.domain;
  }
}
