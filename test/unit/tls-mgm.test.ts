/**
 * tls_mgm's parameter syntax, defaults, tls_method and domain matching (spec/bins-tls.md
 * §4.2–4.7), and proto_bins's node_identity patterns.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDomainValue, parseDomainName, type DomainSetting } from "../../modules/tls_mgm/domain-params.ts";
import { DomainMap, fnmatch, loadDomain, parseAddressFilter, replayDomainParams, type DomainParamName } from "../../modules/tls_mgm/domains.ts";
import { parseTlsMethod } from "../../modules/tls_mgm/tls-method.ts";
import { identityMatcher } from "../../modules/proto_bins/identity.ts";
import { createTestHost } from "../../core/testing/host.ts";
import tlsOpenssl from "../../modules/tls_openssl/index.ts";
import tlsWolfssl from "../../modules/tls_wolfssl/index.ts";
import tlsMgm from "../../modules/tls_mgm/index.ts";
import { makeTestCerts, type TestCerts } from "../helpers/tls-certs.ts";
import { domainParams } from "../helpers/bins-host.ts";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs?.cleanup());

describe("tls_mgm [domain]value syntax (§4.2)", () => {
  it("splits name and value; leading blanks skipped, value kept as is", () => {
    expect(parseDomainValue("  [srv]/a b.pem ")).toMatchObject({ domain: "srv", value: "/a b.pem " });
  });
  it.each([
    ["/x.pem", "No TLS domain name"],
    ["[srv/x.pem", "no mathcing ']'"],
    ["[]x", "Empty TLS domain name"],
    ["[srv]", "Empty value"],
  ])("%s → %s", (v, msg) => {
    expect(() => parseDomainValue(v)).toThrow(msg);
  });
});

describe("replaying the modparams in file order", () => {
  const settings = (entries: [string, string][]): { srv: DomainSetting[]; cli: DomainSetting[]; params: Map<DomainParamName, DomainSetting[]> } => {
    const srv: DomainSetting[] = [];
    const cli: DomainSetting[] = [];
    const params = new Map<DomainParamName, DomainSetting[]>();
    for (const [k, v] of entries) {
      if (k === "server_domain") srv.push(parseDomainName(v));
      else if (k === "client_domain") cli.push(parseDomainName(v));
      else params.set(k as DomainParamName, [...(params.get(k as DomainParamName) ?? []), parseDomainValue(v)]);
    }
    return { srv, cli, params };
  };

  it("fills OpenSIPS's defaults: server cert/key under CFG_DIR/tls, verify 1, require 1 (server) / 0 (client), SSLv23", () => {
    const s = settings([["server_domain", "s"], ["client_domain", "c"]]);
    const [srv, cli] = replayDomainParams(s.srv, s.cli, s.params, "/etc/tsips");
    expect(srv).toMatchObject({ certFile: "/etc/tsips/tls/cert.pem", keyFile: "/etc/tsips/tls/ckey.pem", verifyCert: true, requireCert: true, addresses: ["*"], sipDomains: ["*"], caDir: "/etc/pki/CA/" });
    expect(srv!.method.display).toBe("SSLv23");
    expect(cli).toMatchObject({ certFile: "", keyFile: "", verifyCert: true, requireCert: false });
  });

  it("a parameter before its domain is defined is refused, as is a name defined twice", () => {
    const early = settings([["certificate", "[s]/x.pem"], ["server_domain", "s"]]);
    expect(() => replayDomainParams(early.srv, early.cli, early.params, "/")).toThrow("TLS domain [s] not defined");
    const twice = settings([["server_domain", "s"], ["server_domain", "s"]]);
    expect(() => replayDomainParams(twice.srv, twice.cli, twice.params, "/")).toThrow("Domain name: [s] already defined");
  });

  it("a server and a client domain of the same name: parameters go to the server domain", () => {
    const s = settings([["server_domain", "d"], ["client_domain", "d"], ["verify_cert", "[d]0"]]);
    const [srv, cli] = replayDomainParams(s.srv, s.cli, s.params, "/");
    expect(srv!.verifyCert).toBe(false);
    expect(cli!.verifyCert).toBe(true);
  });

  it("numbers must be plain unsigned integers", () => {
    const s = settings([["server_domain", "s"], ["verify_cert", "[s]yes"]]);
    expect(() => replayDomainParams(s.srv, s.cli, s.params, "/")).toThrow("option is not a number");
  });
});

describe("tls_method (§4.6)", () => {
  it.each([
    ["SSLv23", "SSLv23", undefined, undefined],
    ["TLSany", "SSLv23", undefined, undefined],
    ["t", "SSLv23", undefined, undefined],
    ["tlsv1", "TLSv1", "TLSv1", "TLSv1"],
    ["TLSv1_2", "TLSv1_2", "TLSv1.2", "TLSv1.2"],
    ["TLSv1_2-TLSv1_3", "TLSv1_2-TLSv1_3", "TLSv1.2", "TLSv1.3"],
    ["-TLSv1_2", "TLSv1-TLSv1_2", "TLSv1", "TLSv1.2"],
    ["TLSv1_3-", "TLSv1_3", "TLSv1.3", "TLSv1.3"],
    ["-", "SSLv23", undefined, undefined],
  ])("%s → %s", (v, display, min, max) => {
    expect(parseTlsMethod(v)).toEqual({ display, min, max });
  });
  it("TLSv1_1 is not accepted", () => {
    expect(() => parseTlsMethod("TLSv1_1")).toThrow("unsupported method");
  });
});

describe("domain matching (§4.4)", () => {
  const dom = (name: string, addresses: string[], sipDomains: string[]) =>
    ({ name, type: "server", addresses, sipDomains }) as unknown as Parameters<typeof DomainMap.prototype.server>[0] & never;
  it("match_ip_address entries are normalised; * stands for any", () => {
    expect(parseAddressFilter("[::1]:5556")).toBe("::1:5556");
    expect(parseAddressFilter("::1:5556")).toBe("::1:5556");
    expect(parseAddressFilter("*anything")).toBe("*");
    expect(() => parseAddressFilter("host:1")).toThrow("not an IP address");
  });
  it("exact address before *, exact names before patterns before *, the last defined wins a tie, no SNI matches `none`", () => {
    const m = new DomainMap([
      dom("any1", ["*"], ["*"]),
      dom("any2", ["*"], ["*"]),
      dom("exact", ["127.0.0.1:5556"], ["*.example.com", "none"]),
    ]);
    expect(m.server("127.0.0.1", 5556, undefined)!.name).toBe("exact");
    expect(m.server("127.0.0.1", 5556, "a.example.com")!.name).toBe("exact");
    expect(m.server("127.0.0.1", 5556, "other.org")).toBeUndefined();
    expect(m.server("127.0.0.1", 9999, undefined)!.name).toBe("any2");
    expect(m.client("127.0.0.1", 9999)!.name).toBe("any2");
  });
  it("a client domain with a sip domain other than * never matches (no AVP is set)", () => {
    const m = new DomainMap([dom("named", ["*"], ["foo.com"])]);
    expect(m.client("10.0.0.1", 5556)).toBeUndefined();
    expect(fnmatch("*.EXAMPLE.com", "a.example.COM")).toBe(true);
  });
});

describe("loading domains", () => {
  it("builds a context and reads the certificate's expiry; a key that does not match is refused at load", () => {
    const base = { name: "s", type: "server" as const, addresses: ["*"], sipDomains: ["*"], caFile: certs.ca, caDir: "", crlDir: "", crlCheckAll: false,
      verifyCert: true, requireCert: true, method: parseTlsMethod("TLSv1_2-TLSv1_3"), ciphers: "", dhParams: "", ecCurve: "", given: new Set<string>() };
    const d = loadDomain({ ...base, certFile: certs.cert("node1"), keyFile: certs.key("node1") });
    expect(d.certNotAfter!.getTime()).toBeGreaterThan(Date.now());
    expect(d.certSubject).toContain("CN=node1");
    expect(() => loadDomain({ ...base, certFile: certs.cert("node1"), keyFile: certs.key("node2") })).toThrow(/Failed to init TLS domain 's'/);
    expect(() => loadDomain({ ...base, certFile: "/nonexistent.pem", keyFile: certs.key("node2") })).toThrow(/unable to load certificate file '\/nonexistent.pem': ENOENT/);
  });
});

describe("tls_mgm MI and library modules", () => {
  it("tls_list has OpenSIPS's shape (client domains first); tls_reload re-reads the files", async () => {
    const host = await createTestHost({ modules: [{ def: tlsOpenssl }, { def: tlsMgm, params: domainParams(certs, "node1") }] });
    try {
      const list = (await host.mi.run("tls_list")) as { Domains: Record<string, unknown>[] };
      expect(list.Domains.map((d) => [d["name"], d["type"]])).toEqual([["bins_cli", "TLS_DOMAIN_CLI"], ["bins_srv", "TLS_DOMAIN_SRV"]]);
      expect(list.Domains[1]).toMatchObject({ "IP ADDRESS FILTERS": ["*"], "SIP DOMAIN FILTERS": ["*"], METHOD: "TLSv1_2-TLSv1_3", VERIFY_CERT: true, REQ_CLI_CERT: true, CRL_CHECKALL: false, CERT_FILE: certs.cert("node1"), CIPHER_LIST: "", EC_CURVE: "" });
      expect(list.Domains[0]).toMatchObject({ REQ_CLI_CERT: false });
      expect(await host.mi.run("tls_reload")).toBe("OK");
      expect(host.stats.find("tls_mgm:reloads")!.get()).toBe(1);
    } finally {
      await host.stop();
    }
  });

  it("both TLS library modules loaded is refused, as OpenSIPS does", async () => {
    await expect(createTestHost({ modules: [{ def: tlsOpenssl }, { def: tlsWolfssl }, { def: tlsMgm, params: domainParams(certs, "node1") }] }))
      .rejects.toThrow("Multiple TLS library modules loaded");
    await expect(createTestHost({ modules: [{ def: tlsMgm, params: domainParams(certs, "node1") }] })).rejects.toThrow("No TLS library module loaded");
  });
});

describe("node_identity patterns (proto_bins)", () => {
  it("maps a certificate name to the node id it stands for", () => {
    const m = identityMatcher("node{node_id}.cluster.example");
    expect(m("node12.cluster.example")).toBe(12);
    expect(m("NODE3.Cluster.Example")).toBe(3);
    expect(m("node3xcluster.example")).toBeUndefined();
    expect(m("rogue")).toBeUndefined();
    expect(() => identityMatcher("node")).toThrow("{node_id}");
  });
});
