/**
 * The API `tls_mgm` returns from init (types only; proto_bins `import type`s it). A domain
 * is OpenSIPS's TLS domain (spec/bins-tls.md §4): a named bundle of certificate, key, CAs,
 * method and checks, for connections this node accepts (server) or opens (client).
 */
import type { SecureContext, SecureContextOptions } from "node:tls";

export type TlsDomainType = "server" | "client";
export type TlsVersionName = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** One TLS domain, as loaded (certificates read, context built). */
export interface TlsDomain {
  readonly name: string;
  readonly type: TlsDomainType;
  /** `*` or normalised `IP:port` filters (match_ip_address). */
  readonly addresses: readonly string[];
  /** Shell patterns (match_sip_domain), `*` or `none` included. */
  readonly sipDomains: readonly string[];
  readonly verifyCert: boolean;
  readonly requireCert: boolean;
  /** Version bounds from tls_method (undefined = library default). */
  readonly minVersion: TlsVersionName | undefined;
  readonly maxVersion: TlsVersionName | undefined;
  /** The built context; replaced by tls_reload (connections already open keep theirs). */
  readonly context: SecureContext;
  /** What the context was built from (a tls.Server takes options, not a context). */
  readonly contextOptions: SecureContextOptions;
  /** Our certificate's expiry, when one is loaded. */
  readonly certNotAfter: Date | undefined;
  /** Our certificate's subject (for logs). */
  readonly certSubject: string | undefined;
}

export interface TlsMgmApi {
  /** The server domain for a connection accepted on `localHost:localPort` (exact address first, then `*`) and SNI (`undefined` = none sent). */
  serverDomain(localHost: string, localPort: number, sni?: string): TlsDomain | undefined;
  /** The client domain for a connection opened to `host:port` (exact address first, then `*`; sip domain `*`). */
  clientDomain(host: string, port: number): TlsDomain | undefined;
  /** Every domain, client domains first (as tls_list). */
  domains(): readonly TlsDomain[];
  /** tls_mgm `cert_expiry_warn_days` in ms: a certificate closer than this to its end is "expiring". */
  readonly expiryWarnMs: number;
  /** Called after a successful tls_reload (listeners take the new contexts). */
  onReload(cb: () => void): void;
}
