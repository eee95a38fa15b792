/**
 * Why a TLS handshake failed, as a statistic name, and a log that says it once per peer per
 * minute (a flood of bad handshakes from one address must not flood the log).
 */
import type { TsipsLogger } from "tsips";

export type FailReason = "no_cert" | "untrusted" | "expired" | "purpose" | "version" | "timeout" | "identity" | "sni" | "plaintext" | "other";

/** OpenSSL verify results (Node's `authorizationError`) and node:tls error codes. */
const BY_CODE: Record<string, FailReason> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "no_cert",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "no_cert",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT: "untrusted",
  SELF_SIGNED_CERT_IN_CHAIN: "untrusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "untrusted",
  CERT_SIGNATURE_FAILURE: "untrusted",
  CERT_UNTRUSTED: "untrusted",
  CERT_REJECTED: "untrusted",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "untrusted",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "expired",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "expired",
  INVALID_PURPOSE: "purpose",
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: "purpose",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "version",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: "version",
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: "version",
  ERR_TLS_HANDSHAKE_TIMEOUT: "timeout",
  ERR_SSL_WRONG_VERSION_NUMBER: "plaintext",
  ERR_SSL_HTTP_REQUEST: "plaintext",
  ERR_SSL_PACKET_LENGTH_TOO_LONG: "plaintext",
  ERR_SSL_UNSUPPORTED_PROTOCOL_VERSION: "version",
  ERR_SSL_TLSV1_UNRECOGNIZED_NAME: "sni",
  ERR_SSL_CALLBACK_FAILED: "sni",
};

export function classify(code: string | undefined): FailReason {
  return (code !== undefined ? BY_CODE[code] : undefined) ?? "other";
}

export const REASON_TEXT: Record<FailReason, string> = {
  no_cert: "no certificate presented",
  untrusted: "certificate not signed by a trusted CA",
  expired: "certificate expired or not yet valid",
  purpose: "certificate not valid for this purpose (extendedKeyUsage)",
  version: "TLS version outside tls_method",
  timeout: "handshake not finished within bins_accept_timeout",
  identity: "certificate does not name the node id it claims (node_identity)",
  sni: "no server domain matches the SNI",
  plaintext: "not TLS (plaintext BIN or garbage)",
  other: "handshake failed",
};

/** At most one log line per peer IP per minute; the next line says how many were suppressed. */
export class FailureLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: TsipsLogger, private readonly intervalMs = 60_000) {}

  note(peer: string, reason: FailReason, detail: string): void {
    const now = Date.now();
    const e = this.last.get(peer);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return;
    }
    if (this.last.size >= 10_000) this.last.clear(); // a flood from many addresses: forget, stay bounded
    const suppressed = e?.suppressed ?? 0;
    this.last.set(peer, { at: now, suppressed: 0 });
    this.log.warn({ peer, reason, detail, ...(suppressed ? { suppressed } : {}) },
      `bins: TLS with ${peer} refused: ${REASON_TEXT[reason]} (${detail})${suppressed ? `; ${suppressed} more failure(s) from this peer in the last minute` : ""}`);
  }
}
