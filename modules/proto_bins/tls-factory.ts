/**
 * The TLS side of the BIN stream transport (spec/bins-tls.md §1, §2.4, §4.4, §4.5, §6): a
 * tls.Server per `bins:` listener with the server domain of its address, `tls.connect` with
 * the client domain of the destination, every handshake counted by outcome, and the
 * optional node identity check.
 *
 * node:tls differences worth knowing: Node verifies the peer's chain after OpenSSL's
 * handshake, so an untrusted, expired or wrong-purpose certificate is refused by closing the
 * connection, without the alert (48/45/43) OpenSIPS sends; a missing client certificate
 * (116) and a refused version (70) get their alerts from OpenSSL as in OpenSIPS. No host
 * name is checked (`checkServerIdentity` is a no-op): OpenSIPS checks none either.
 */
import type { Socket } from "node:net";
import { connect as tlsConnect, createServer as tlsCreateServer, type PeerCertificate, type TLSSocket, type Server as TlsServer } from "node:tls";
import { TsipsError, hostPort, normHost, type BinStreamFactory, type Stat } from "tsips";
import type { TlsDomain, TlsMgmApi } from "../tls_mgm/api.ts";
import { classify, FailureLog, REASON_TEXT, type FailReason } from "./failures.ts";
import { certNodeIds } from "./identity.ts";

export interface TlsStats {
  handshakes_done: Stat;
  handshakes_failed: Stat;
  plaintext_refused: Stat;
  peer_certs_expiring: Stat;
  byReason: Record<FailReason, Stat>;
}

export interface TlsFactoryOptions {
  /** ms an incoming handshake may take (silent and stalled clients are dropped). */
  acceptTimeoutMs: number;
  /** node_identity matcher, when the check is on. */
  identity: ((name: string) => number | undefined) | undefined;
}

function peerCert(socket: TLSSocket): PeerCertificate | undefined {
  const c = socket.getPeerCertificate();
  return c && Object.keys(c).length > 0 ? c : undefined;
}

function serverOptions(d: TlsDomain) {
  return {
    ...d.contextOptions,
    requestCert: d.verifyCert,
    // verify_cert=1, require_cert=0: ask, check what comes, accept none (checked in onSecure)
    rejectUnauthorized: d.verifyCert && d.requireCert,
  };
}

export function tlsFactory(tls: TlsMgmApi, stats: TlsStats, log: FailureLog, opts: TlsFactoryOptions): BinStreamFactory & { servers: Set<TlsServer> } {
  const servers = new Set<TlsServer>();

  const failed = (peer: string, reason: FailReason, detail: string): void => {
    stats.handshakes_failed.inc();
    stats.byReason[reason].inc();
    if (reason === "plaintext") stats.plaintext_refused.inc();
    log.note(peer, reason, detail);
  };
  const noteExpiry = (cert: PeerCertificate | undefined): void => {
    if (cert?.valid_to && new Date(cert.valid_to).getTime() - Date.now() < tls.expiryWarnMs) stats.peer_certs_expiring.inc();
  };
  const peerOf = (s: Socket): string => normHost(s.remoteAddress ?? "?");

  return {
    proto: "bins",
    readyEvent: "secureConnect",
    servers,

    createServer(onStream, sockOpts, at) {
      const d = tls.serverDomain(at.host, at.port, undefined);
      if (!d) {
        throw new TsipsError("TSIPS_ERR_TLS_DOMAIN",
          `no TLS server domain matches bins:${hostPort(at.host, at.port)} (${at.raw}): define modparam("tls_mgm", "server_domain", …) with match_ip_address * or ${at.host}:${at.port}`,
          { module: "proto_bins" });
      }
      const server = tlsCreateServer({
        ...sockOpts,
        ...serverOptions(d),
        handshakeTimeout: opts.acceptTimeoutMs,
        SNICallback: (servername, cb) => {
          const sd = tls.serverDomain(at.host, at.port, servername);
          if (sd) cb(null, sd.context);
          else cb(new Error(`no TLS server domain matches SNI "${servername}"`));
        },
      });
      server.on("secureConnection", (socket: TLSSocket) => {
        const cert = peerCert(socket);
        if (cert && !socket.authorized && socket.authorizationError && d.verifyCert) {
          // verify_cert=1, require_cert=0: a certificate was sent and does not verify
          const code = String(socket.authorizationError);
          failed(peerOf(socket), classify(code), code);
          return void socket.destroy();
        }
        stats.handshakes_done.inc();
        noteExpiry(cert);
        onStream(socket);
      });
      server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
        const code = socket.authorizationError ? String(socket.authorizationError) : err.code;
        failed(peerOf(socket), classify(code), code ?? err.message);
        socket.destroy(); // node:tls leaves that to a tlsClientError listener
      });
      tls.onReload(() => {
        const nd = tls.serverDomain(at.host, at.port, undefined);
        if (nd) server.setSecureContext(nd.contextOptions);
      });
      servers.add(server);
      server.once("close", () => servers.delete(server));
      return server;
    },

    connect(dest, sockOpts) {
      const d = tls.clientDomain(dest.host, dest.port);
      if (!d) throw new TsipsError("TSIPS_ERR_TLS_DOMAIN", `no TLS client domain found for ${hostPort(dest.host, dest.port)}`, { module: "proto_bins" });
      const { localAddress, ...rest } = sockOpts;
      const socket = tlsConnect({
        ...rest,
        ...(localAddress ? { localAddress } : {}),
        host: dest.host,
        port: dest.port,
        secureContext: d.context,
        rejectUnauthorized: d.verifyCert,
        checkServerIdentity: () => undefined,
      });
      let secure = false;
      socket.once("secureConnect", () => {
        secure = true;
        stats.handshakes_done.inc();
        noteExpiry(peerCert(socket));
      });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        if (secure || err.code === "ECONNREFUSED" || err.code === "ETIMEDOUT") return; // no handshake happened
        failed(normHost(dest.host), classify(err.code), err.code ?? err.message);
      });
      return socket;
    },

    acceptOutbound(socket, dest) {
      if (!opts.identity || dest.nodeId === undefined) return undefined;
      const ids = certNodeIds(peerCert(socket as TLSSocket), opts.identity);
      if (ids.includes(dest.nodeId)) return undefined;
      stats.handshakes_done.dec();
      failed(normHost(dest.host), "identity", `expected node ${dest.nodeId}, certificate names ${ids.length ? ids.join(",") : "no node"}`);
      return REASON_TEXT.identity;
    },

    sourceExtras(socket, close) {
      const match = opts.identity;
      if (!match) return {};
      let ids: number[] | undefined;
      return {
        verifyNode: (nodeId: number, relayed = false) => {
          ids ??= certNodeIds(peerCert(socket as TLSSocket), match);
          if (ids.includes(nodeId) || (relayed && ids.length > 0)) return true;
          failed(peerOf(socket), "identity", `claims node ${nodeId}, certificate names ${ids.length ? ids.join(",") : "no node"}`);
          close(REASON_TEXT.identity);
          return false;
        },
      };
    },
  };
}
