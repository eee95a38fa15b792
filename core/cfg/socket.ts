/**
 * Socket definitions (spec/cfg.md §3.2): `proto:host[:port]` and the `as host[:port]` option,
 * parsed from the raw word so IPv6, hostnames with '-' and `*` need no token juggling. Port
 * ranges/lists are valid OpenSIPS but rejected here (one listener per socket statement).
 */
import { isIPv4, isIPv6 } from "node:net";

/** Protocols OpenSIPS 3.6 accepts in a socket definition (case-insensitive). */
export const SOCKET_PROTOS: ReadonlySet<string> = new Set([
  "udp", "tcp", "tls", "sctp", "ws", "wss", "ipsec", "bin", "bins",
  "hep_udp", "hep_tcp", "hep_tls", "smpp", "msrp", "msrps",
]);

/** A failure, located relative to the start of the parsed word. */
export interface WordError {
  message: string;
  offset: number;
  length: number;
}

export type WordResult<T> = { ok: true; value: T } | { ok: false; error: WordError };

export interface HostPort {
  host: string;
  port: number | undefined;
}

const HOSTNAME_RE = /^[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*$/;

const fail = <T>(message: string, offset: number, length: number): WordResult<T> => ({
  ok: false,
  error: { message, offset, length: Math.max(1, length) },
});

function checkHost(host: string, at: number): WordError | undefined {
  if (host === "") return { message: "host expected (an IP address, a hostname or *)", offset: at, length: 1 };
  if (host === "*" || isIPv4(host)) return undefined;
  if (/^[\d.]+$/.test(host)) return { message: `invalid IPv4 address '${host}'`, offset: at, length: host.length };
  if (!HOSTNAME_RE.test(host)) return { message: `invalid host '${host}'`, offset: at, length: host.length };
  return undefined;
}

function parsePort(text: string, at: number): WordResult<number> {
  if (text === "") return fail("port expected after ':'", at, 1);
  if (text === "any") return { ok: true, value: 0 };
  if (/^\d+$/.test(text)) {
    const port = Number(text);
    if (port > 65535) return fail(`port ${text} is out of range (0-65535)`, at, text.length);
    return { ok: true, value: port };
  }
  if (/^[\d,\s-]+$/.test(text)) {
    return fail(
      `port ranges and lists are not supported ('${text}'): define one socket per port`,
      at,
      text.length,
    );
  }
  return fail(`invalid port '${text}'`, at, text.length);
}

/** `host[:port]` where host is IPv4, `[IPv6]`, bare IPv6 (then no port), hostname, "quoted" or `*`. */
export function parseHostPort(word: string, base = 0): WordResult<HostPort> {
  let host: string;
  let rest: string;
  let restAt: number;
  if (word.startsWith("[")) {
    const close = word.indexOf("]");
    if (close < 0) return fail("missing ']' after IPv6 address", base, word.length);
    host = word.slice(1, close);
    if (!isIPv6(host)) return fail(`invalid IPv6 address '${host}'`, base + 1, host.length);
    rest = word.slice(close + 1);
    restAt = base + close + 1;
  } else if (word.startsWith('"')) {
    const close = word.indexOf('"', 1);
    if (close < 0) return fail("missing '\"' after quoted host", base, word.length);
    host = word.slice(1, close);
    if (host === "") return fail("host expected (an IP address, a hostname or *)", base, 2);
    rest = word.slice(close + 1);
    restAt = base + close + 1;
  } else if ((word.match(/:/g)?.length ?? 0) >= 2) {
    // Unbracketed IPv6: OpenSIPS's lexer takes the whole thing as the address (no port).
    if (!isIPv6(word)) return fail(`invalid IPv6 address '${word}' (write [addr]:port to give a port)`, base, word.length);
    return { ok: true, value: { host: word, port: undefined } };
  } else {
    const colon = word.indexOf(":");
    host = colon < 0 ? word : word.slice(0, colon);
    const bad = checkHost(host, base);
    if (bad) return { ok: false, error: bad };
    rest = colon < 0 ? "" : word.slice(colon);
    restAt = base + (colon < 0 ? word.length : colon);
  }
  if (rest === "") return { ok: true, value: { host, port: undefined } };
  if (!rest.startsWith(":")) return fail(`unexpected '${rest}' after host`, restAt, rest.length);
  const port = parsePort(rest.slice(1), restAt + 1);
  if (!port.ok) return port;
  return { ok: true, value: { host, port: port.value } };
}

/** `proto:host[:port]`; the protocol is mandatory. */
export function parseSocketWord(word: string): WordResult<{ proto: string } & HostPort> {
  const colon = word.indexOf(":");
  const proto = colon < 0 ? "" : word.slice(0, colon);
  if (colon < 0 || !/^[A-Za-z][A-Za-z_]*$/.test(proto)) {
    return fail(
      `protocol expected: write proto:host[:port] (e.g. udp:127.0.0.1:5060 or bin:127.0.0.1:5555)`,
      0,
      colon < 0 ? word.length : colon,
    );
  }
  if (!SOCKET_PROTOS.has(proto.toLowerCase())) return fail(`cannot handle protocol '${proto}'`, 0, proto.length);
  const hp = parseHostPort(word.slice(colon + 1), colon + 1);
  if (!hp.ok) return hp;
  return { ok: true, value: { proto: proto.toLowerCase(), ...hp.value } };
}
