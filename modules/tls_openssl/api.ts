/** What a TLS library module (tls_openssl, tls_wolfssl) tells tls_mgm (types only). */
export interface TlsLibraryApi {
  /** The library the config asked for. */
  readonly library: "openssl" | "wolfssl";
  /** The library that really runs: Node's bundled OpenSSL, e.g. "OpenSSL 3.0.17". */
  readonly runtime: string;
}
