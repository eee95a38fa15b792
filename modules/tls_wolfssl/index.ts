/**
 * tls_wolfssl: accepted so OpenSIPS 3.6 configs that load it run unchanged (spec/bins-tls.md
 * §5). OpenSIPS links a bundled wolfSSL here; tsips has no wolfSSL: every TLS connection
 * runs on Node's own OpenSSL (node:tls). Nothing on the wire says which library a node uses.
 */
import { versions } from "node:process";
import { defineModule } from "tsips";
import type { TlsLibraryApi } from "../tls_openssl/api.ts";

export default defineModule({
  name: "tls_wolfssl",
  version: "1.0.0",
  doc: "TLS library selection for tls_mgm (tsips: Node's OpenSSL stands in for wolfSSL)",
  init(ctx): TlsLibraryApi {
    const api: TlsLibraryApi = { library: "wolfssl", runtime: `OpenSSL ${versions.openssl}` };
    ctx.log.info(`tls_wolfssl: TLS runs on Node's ${api.runtime} (node:tls); wolfSSL is not used`);
    return api;
  },
});
