/**
 * proto_bins: BIN over TLS (OpenSIPS 3.6.8 `modules/proto_bins`, spec/bins-tls.md). The
 * same framing, queues and send hook as proto_bin (the core's BIN stream transport), inside
 * TLS from node:tls with certificates from tls_mgm domains. Serves the core's sends for
 * `bins:` URLs and listens on every `socket=bins:IP[:PORT]` (port defaults to `bins_port`).
 *
 * tsips additions: statistics for handshakes by outcome, a bound on incoming handshakes
 * (`bins_accept_timeout`; OpenSIPS holds a silent client for tcp_connection_lifetime), and the
 * opt-in `node_identity` check binding node ids to certificates.
 */
import { defineModule, int, need, str, MiError, BIN_STREAM_STATS, binStreamOptions, startBinStream, stopBinStream, type StatDecl } from "tsips";
import type { TlsMgmApi } from "../tls_mgm/api.ts";
import type { ProtoBinsApi } from "./api.ts";
import { FailureLog, type FailReason } from "./failures.ts";
import { identityMatcher } from "./identity.ts";
import { tlsFactory } from "./tls-factory.ts";

export type { ProtoBinsApi } from "./api.ts";

const NEVER_BLOCKS = "tsips never blocks a sender: connects, handshakes and writes always run in the background";
const REASONS: readonly FailReason[] = ["no_cert", "untrusted", "expired", "purpose", "version", "timeout", "identity", "sni", "plaintext", "other"];
type ReasonStat = `handshakes_failed_${FailReason}`;
type TlsStatName = "handshakes_done" | "handshakes_failed" | "plaintext_refused" | "peer_certs_expiring" | ReasonStat;
type StatName = keyof typeof BIN_STREAM_STATS | TlsStatName;

const REASON_DOCS: Record<FailReason, string> = {
  no_cert: "the client sent no certificate (require_cert=1; alert 116)",
  untrusted: "the peer's certificate does not chain to a trusted CA",
  expired: "the peer's certificate is expired or not yet valid",
  purpose: "the peer's certificate lacks the extendedKeyUsage for its role (serverAuth/clientAuth)",
  version: "the peer's TLS version is outside tls_method (alert 70)",
  timeout: "the client did not finish its handshake within bins_accept_timeout",
  identity: "the certificate does not name the node id the peer claims (node_identity)",
  sni: "no server domain matches the client's SNI",
  plaintext: "non-TLS bytes (e.g. plaintext BIN) sent to a bins listener",
  other: "any other handshake failure (reset, EOF, bad record)",
};

const protoBinsStats = {
  ...BIN_STREAM_STATS,
  handshakes_done: { doc: "TLS handshakes completed (both directions)" },
  handshakes_failed: { doc: "TLS handshakes refused or failed (both directions); by reason in handshakes_failed_*" },
  plaintext_refused: { doc: "connections refused because they did not speak TLS (plaintext BIN, garbage)" },
  peer_certs_expiring: { doc: "handshakes whose peer certificate expires within tls_mgm cert_expiry_warn_days" },
  ...Object.fromEntries(REASONS.map((r) => [`handshakes_failed_${r}`, { doc: REASON_DOCS[r] }])),
} as Record<StatName, StatDecl>;

const protoBinsParams = {
  // ── OpenSIPS 3.6.8 proto_bins parameters (spec/bins-tls.md §2.2) ──
  bins_port: int({ default: 5556, min: 1, max: 65535, doc: "Default port of bins: listeners and URLs that give none" }),
  bins_send_timeout: int({ default: 100, min: 0, doc: "ms; with bins_async=0, output that makes no progress for this long closes the connection" }),
  bins_max_msg_chunks: int({ default: 32, min: 0, doc: "Reads one packet may take before the connection is dropped (0 = no limit)" }),
  bins_handshake_timeout: int({ default: 100, min: 0, doc: "ms OpenSIPS drives one outgoing handshake attempt", ignored: `${NEVER_BLOCKS} (see bins_connect_timeout, bins_accept_timeout)` }),
  bins_async: int({ default: 1, min: 0, max: 1, doc: "1: connect+handshake bounded by bins_connect_timeout; 0: by tcp_connect_timeout, writes by bins_send_timeout" }),
  bins_async_max_postponed_chunks: int({ default: 32, min: 1, doc: "Packets a destination may queue while its connection is being set up; more are dropped" }),
  bins_async_local_connect_timeout: int({ default: 100, min: 0, doc: "ms the sending worker waits on a connect in OpenSIPS", ignored: NEVER_BLOCKS }),
  bins_async_handshake_timeout: int({ default: 10, min: 0, doc: "ms the sending worker drives a client handshake in OpenSIPS", ignored: NEVER_BLOCKS }),
  trace_destination: str({ default: "", doc: "proto_hep trace destination", ignored: "tsips has no HEP tracing; tls_trace only keeps the on/off state" }),
  trace_on: int({ default: 0, min: 0, max: 1, doc: "initial tls_trace state" }),
  // ── tsips additions ──
  bins_accept_timeout: int({ default: 5000, min: 1, doc: "tsips: ms an incoming TLS handshake may take; silent or stalled clients are dropped and counted (OpenSIPS keeps them for tcp_connection_lifetime)" }),
  bins_connect_timeout: int({ default: 3000, min: 1, doc: "tsips: ms an outbound connect plus TLS handshake may take with bins_async=1" }),
  bins_queue_limit: int({ default: 32 * 1024 * 1024, min: 65535, doc: "tsips: bytes of output one destination may hold; packets beyond are dropped and counted" }),
  bins_read_timeout: int({ default: 0, min: 0, doc: "tsips: ms one packet may take to arrive; 0 = the core tcp_max_msg_time (seconds, default 4)" }),
  node_identity: str({
    default: "",
    doc: "tsips: bind node ids to certificates, e.g. \"node{node_id}\": a peer's certificate CN or DNS/URI subjectAltName must equal the pattern for the node id it speaks for (and, when this node connects, for the node it dials); empty = off (OpenSIPS: any trusted certificate may claim any node id)",
    parse: (s) => {
      if (s !== "") identityMatcher(s);
      return s;
    },
  }),
};

const deps = { tls_mgm: need<TlsMgmApi>("tls_mgm") };

export default defineModule<typeof protoBinsParams, typeof deps, StatName, ProtoBinsApi>({
  name: "proto_bins",
  version: "1.0.0",
  doc: "BIN (OpenSIPS binary internal interface) over TLS, certificates from tls_mgm",
  params: protoBinsParams,
  deps,
  stats: protoBinsStats,

  async init(ctx): Promise<ProtoBinsApi> {
    const p = ctx.params;
    const opts = binStreamOptions(ctx.core.globals, {
      maxChunks: p.bins_max_msg_chunks,
      readTimeoutMs: p.bins_read_timeout,
      async: p.bins_async === 1,
      connectTimeoutMs: p.bins_connect_timeout,
      sendTimeoutMs: p.bins_send_timeout,
      queueLimitBytes: p.bins_queue_limit,
      maxPostponed: p.bins_async_max_postponed_chunks,
    });
    const s = ctx.stats;
    const byReason = Object.fromEntries(REASONS.map((r) => [r, s.get(`handshakes_failed_${r}`)])) as Record<FailReason, ReturnType<typeof s.get>>;
    const factory = tlsFactory(ctx.deps.tls_mgm, {
      handshakes_done: s.get("handshakes_done"),
      handshakes_failed: s.get("handshakes_failed"),
      plaintext_refused: s.get("plaintext_refused"),
      peer_certs_expiring: s.get("peer_certs_expiring"),
      byReason,
    }, new FailureLog(ctx.log), {
      acceptTimeoutMs: p.bins_accept_timeout,
      identity: p.node_identity === "" ? undefined : identityMatcher(p.node_identity),
    });
    if (p.node_identity !== "") ctx.log.info(`node identity check on: a peer speaking for node N must present a certificate naming "${p.node_identity.replace("{node_id}", "N")}"`);
    const { api } = await startBinStream(ctx, factory, opts, p.bins_port);
    const full: ProtoBinsApi = Object.assign(api, { trace: { on: p.trace_on === 1 } }); // the same object: stopBinStream finds it
    return full;
  },

  destroy: (_ctx, api) => stopBinStream(api),

  mi: {
    tls_trace: {
      help: "shows or sets the BINS tracing state (trace_mode on|off)",
      params: [[], ["trace_mode"]],
      run: (params, api) => {
        const mode = params.optStr("trace_mode");
        if (mode === undefined) return { "BINS tracing": api.trace.on ? "on" : "off" };
        const m = mode.toLowerCase(); // OpenSIPS compares only the first 2 or 3 letters
        if (m.startsWith("off")) api.trace.on = false;
        else if (m.startsWith("on")) api.trace.on = true;
        else throw new MiError(500, "Bad parameter value", "trace_mode should be 'on' or 'off'");
        return "OK";
      },
    },
  },
});
