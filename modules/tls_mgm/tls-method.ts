/**
 * `tls_method` (spec/bins-tls.md §4.6): `SSLv23` (alias `TLSany`), `TLSv1`, `TLSv1_2`,
 * `TLSv1_3` or `LOW-HIGH`; case-insensitive prefix of the given text; `TLSv1_1` is refused.
 */
import type { TlsVersionName } from "./api.ts";

export interface TlsMethod {
  min: TlsVersionName | undefined;
  max: TlsVersionName | undefined;
  /** As tls_list shows it. */
  display: string;
}

const NAMES: readonly [string, TlsVersionName | undefined][] = [
  ["SSLv23", undefined], ["TLSany", undefined], ["TLSv1", "TLSv1"], ["TLSv1_2", "TLSv1.2"], ["TLSv1_3", "TLSv1.3"],
];
const DISPLAY: Record<TlsVersionName, string> = { "TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3" };

function one(text: string, whole: string): [string, TlsVersionName | undefined] {
  const t = text.toLowerCase();
  const hit = NAMES.find(([n]) => n.toLowerCase().startsWith(t));
  if (!hit) throw new Error(`unsupported method "${text}" in tls_method "${whole}" (SSLv23, TLSv1, TLSv1_2, TLSv1_3 or LOW-HIGH)`);
  return hit;
}

export function parseTlsMethod(v: string): TlsMethod {
  const dash = v.indexOf("-");
  if (dash < 0) {
    const [, ver] = one(v, v);
    return { min: ver, max: ver, display: ver === undefined ? "SSLv23" : DISPLAY[ver] };
  }
  const lo = v.slice(0, dash);
  const hi = v.slice(dash + 1);
  const min = lo === "" ? "TLSv1" : one(lo, v)[1] ?? "TLSv1";
  const max = hi === "" ? "TLSv1.3" : one(hi, v)[1] ?? "TLSv1.3";
  if (lo === "" && hi === "") return { min: undefined, max: undefined, display: "SSLv23" };
  return { min, max, display: min === max ? DISPLAY[min] : `${DISPLAY[min]}-${DISPLAY[max]}` };
}
