/**
 * tls_openssl: loaded beside tls_mgm by OpenSIPS 3.6 TLS configs (spec/bins-tls.md §5). In
 * tsips every TLS connection runs on Node's own OpenSSL (node:tls), so this module only
 * tells tls_mgm that a TLS library was loaded: configs written for OpenSIPS run unchanged.
 */
import { versions } from "node:process";
import { defineModule } from "tsips";
import type { TlsLibraryApi } from "./api.ts";

export type { TlsLibraryApi } from "./api.ts";

export default defineModule({
  name: "tls_openssl",
  version: "1.0.0",
  doc: "TLS library selection for tls_mgm (tsips: always Node's OpenSSL)",
  init(ctx): TlsLibraryApi {
    const api: TlsLibraryApi = { library: "openssl", runtime: `OpenSSL ${versions.openssl}` };
    ctx.log.debug(`TLS library: ${api.runtime} (node:tls)`);
    return api;
  },
});
