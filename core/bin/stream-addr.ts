/** Address helpers for proto_bin. */
import { isIP } from "node:net";

/**
 * The form used for connection keys and packet sources: brackets stripped, IPv6 lower-cased,
 * an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack listener reports) shown as
 * the IPv4 address, because OpenSIPS peers and the clusterer compare node IPs as IPv4.
 */
export function normHost(host: string): string {
  let h = host;
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.includes(":")) {
    h = h.toLowerCase();
    if (h.startsWith("::ffff:") && isIP(h.slice(7)) === 4) h = h.slice(7);
  }
  return h;
}

/** `host:port`, IPv6 in brackets (as OpenSIPS prints socket URLs). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "*" || host === "";
}

/** Address family of an IP literal (4 or 6), 0 for a host name. */
export function family(host: string): 0 | 4 | 6 {
  return isIP(host) as 0 | 4 | 6;
}
