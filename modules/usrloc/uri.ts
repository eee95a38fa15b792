/**
 * SIP URI comparison for contact matching (RFC 3261 §19.1.4, as OpenSIPS `compare_uris`
 * applies it): scheme and host case-insensitive, user/password exact, ports equal, the
 * `user`, `ttl`, `method`, `maddr` and `transport` parameters must match when either URI has
 * them, other parameters only when both have them, and headers must be identical.
 */

interface ParsedUri {
  scheme: string;
  user: string;
  password: string;
  host: string;
  port: string;
  params: Map<string, string>;
  headers: string;
}

const STRICT_PARAMS = ["user", "ttl", "method", "maddr", "transport"];

export function parseUri(s: string): ParsedUri | undefined {
  const colon = s.indexOf(":");
  if (colon <= 0) return undefined;
  const scheme = s.slice(0, colon).toLowerCase();
  let rest = s.slice(colon + 1);
  let headers = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const at = rest.lastIndexOf("@", rest.indexOf(";") >= 0 ? rest.indexOf(";") : rest.length);
  let user = "";
  let password = "";
  if (at >= 0) {
    const ui = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = ui.indexOf(":");
    if (pc >= 0) {
      user = ui.slice(0, pc);
      password = ui.slice(pc + 1);
    } else user = ui;
  }
  const semi = rest.indexOf(";");
  const hostport = semi >= 0 ? rest.slice(0, semi) : rest;
  const paramText = semi >= 0 ? rest.slice(semi + 1) : "";
  let host = hostport;
  let port = "";
  if (hostport.startsWith("[")) {
    const end = hostport.indexOf("]");
    if (end < 0) return undefined;
    host = hostport.slice(0, end + 1);
    if (hostport[end + 1] === ":") port = hostport.slice(end + 2);
  } else {
    const pc = hostport.lastIndexOf(":");
    if (pc >= 0) {
      host = hostport.slice(0, pc);
      port = hostport.slice(pc + 1);
    }
  }
  if (host.length === 0) return undefined;
  const params = new Map<string, string>();
  if (paramText.length > 0) {
    for (const p of paramText.split(";")) {
      if (p.length === 0) continue;
      const eq = p.indexOf("=");
      const name = (eq >= 0 ? p.slice(0, eq) : p).toLowerCase();
      params.set(name, eq >= 0 ? p.slice(eq + 1) : "");
    }
  }
  return { scheme, user, password, host: host.toLowerCase(), port, params, headers };
}

/** True when the two URIs are equivalent. @opensips compare_uris */
export function urisMatch(a: string, b: string): boolean {
  if (a === b) return true;
  // Cheap rejection: equivalent URIs have the same user part, and these differ.
  const pa = parseUri(a);
  const pb = parseUri(b);
  if (!pa || !pb) return false;
  if (pa.scheme !== pb.scheme || pa.user !== pb.user || pa.password !== pb.password) return false;
  if (pa.host !== pb.host || pa.port !== pb.port) return false;
  if (pa.headers !== pb.headers) return false;
  for (const name of STRICT_PARAMS) {
    const x = pa.params.get(name);
    const y = pb.params.get(name);
    if (x === undefined && y === undefined) continue;
    if (x === undefined || y === undefined || x.toLowerCase() !== y.toLowerCase()) return false;
  }
  for (const [name, x] of pa.params) {
    if (STRICT_PARAMS.includes(name)) continue;
    const y = pb.params.get(name);
    if (y !== undefined && x.toLowerCase() !== y.toLowerCase()) return false;
  }
  return true;
}

/** Value of a URI parameter (`get_uri_param_val`), undefined when absent. */
export function uriParam(uri: string, name: string): string | undefined {
  return parseUri(uri)?.params.get(name.toLowerCase());
}
