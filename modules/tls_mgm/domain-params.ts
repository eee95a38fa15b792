/**
 * tls_mgm's per-domain modparams (spec/bins-tls.md §4.2): `"[NAME]VALUE"`, checked where the
 * modparam stands. Each value carries a sequence number so init can replay all of them in
 * file order (a domain must be defined before its parameters, as in OpenSIPS).
 */
let sequence = 0;

/** One `[name]value` (or a domain definition) in the order the cfg gave it. */
export interface DomainSetting {
  seq: number;
  domain: string;
  value: string;
}

/** Parses `"[NAME]VALUE"` as tls_mgm's `split_param_val` does; throws with OpenSIPS's reason. */
export function parseDomainValue(s: string): DomainSetting {
  const t = s.replace(/^[ \t\r\n]+/, "");
  if (!t.startsWith("[")) throw new Error(`No TLS domain name in "${s}" (write "[domain]value")`);
  const close = t.indexOf("]");
  if (close < 0) throw new Error(`no mathcing ']' in "${s}"`);
  const domain = t.slice(1, close);
  if (domain === "") throw new Error(`Empty TLS domain name in "${s}"`);
  const value = t.slice(close + 1);
  if (value === "") throw new Error(`Empty value in "${s}"`);
  return { seq: sequence++, domain, value };
}

/** `server_domain` / `client_domain`: the name itself. */
export function parseDomainName(s: string): DomainSetting {
  if (s === "") throw new Error("empty TLS domain name");
  return { seq: sequence++, domain: s, value: s };
}

/** A numeric option (verify_cert, require_cert, crl_check_all): plain unsigned integer. */
export function flagValue(v: string, param: string): boolean {
  if (!/^[0-9]+$/.test(v)) throw new Error(`${param}: option is not a number ("${v}")`);
  return Number(v) !== 0;
}
