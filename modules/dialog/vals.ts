/**
 * The escaped text of dialog values (record field 25) and dialog profiles (field 26),
 * spec dialog.md §4 (dlg_db_handler.c `write_dialog_vars`, `write_dialog_profiles`,
 * `read_dialog_vars`, `read_dialog_profiles`, `read_pair`).
 *
 *   values:   ESC(name) '#' T '#' VALUE '|'      T = 1 string, 2 integer
 *   profiles: ESC(name)SUFFIX '#' '1' '#' ESC(value) '|'
 *
 * ESC prefixes every `|`, `#` and `\` with a `\`. Both lists go out newest first.
 */

/** A dialog value: a string (type 1) or an integer (type 2). */
export type DlgValue = string | number;

/** Value type codes on the wire (dlg_vals.h). */
export const DLG_VAL_NONE = 0;
export const DLG_VAL_STR = 1;
export const DLG_VAL_INT = 2;

/** @opensips the escaping of write_pair */
export function escapeField(s: string): string {
  if (!/[|#\\]/.test(s)) return s;
  return s.replace(/[|#\\]/g, (c) => `\\${c}`);
}

/**
 * Values as OpenSIPS serialises them. `vals` iterates oldest first (a JS Map keeps
 * insertion order and a replaced value keeps its place, as OpenSIPS replaces in place);
 * the wire wants newest first.
 */
export function serializeValues(vals: ReadonlyMap<string, DlgValue> | undefined): string {
  if (!vals || vals.size === 0) return "";
  const parts: string[] = [];
  for (const [name, v] of vals) {
    parts.push(typeof v === "number" ? `${escapeField(name)}#2#${Math.trunc(v)}|` : `${escapeField(name)}#1#${escapeField(v)}|`);
  }
  parts.reverse();
  return parts.join("");
}

/** One profile link as serialised: the profile name with its replication suffix, and the value ("" for none). */
export interface ProfileLinkText {
  /** Name with suffix, e.g. `calls/b`. */
  name: string;
  value: string;
}

/** Profile links, given newest first. */
export function serializeProfiles(links: readonly ProfileLinkText[] | undefined): string {
  if (!links || links.length === 0) return "";
  let s = "";
  for (const l of links) s += `${escapeField(l.name)}#1#${escapeField(l.value)}|`;
  return s;
}

/** One parsed pair: name, type char (1 or 2) and the unescaped value text. */
export interface ParsedPair {
  name: string;
  type: 1 | 2;
  value: string;
}

/**
 * Parses `name#T#value|...` as OpenSIPS's read_pair does: the name runs to an unescaped
 * `#` or `|`, the type char must be `1` or `2` (anything else stops the whole parse),
 * then `#`, then the value to an unescaped `|` (a last pair without its `|` is dropped).
 * Backslash escapes are removed only in front of `\`, `#` and `|`. Pairs come back in
 * string order.
 */
export function parsePairs(s: string): ParsedPair[] {
  const out: ParsedPair[] = [];
  const n = s.length;
  let p = 0;
  while (p < n) {
    // name
    let name = "";
    let stop = -1;
    while (p < n) {
      const c = s[p]!;
      if (c === "\\" && p + 1 < n && (s[p + 1] === "\\" || s[p + 1] === "#" || s[p + 1] === "|")) {
        name += s[p + 1];
        p += 2;
        continue;
      }
      if (c === "#" || c === "|") {
        stop = p;
        break;
      }
      name += c;
      p++;
    }
    if (stop < 0 || s[stop] !== "#") return out;
    p = stop + 1;
    const t = s[p];
    if (t !== "1" && t !== "2") return out;
    p++;
    if (s[p] !== "#") return out;
    p++;
    let value = "";
    let closed = false;
    while (p < n) {
      const c = s[p]!;
      if (c === "\\" && p + 1 < n && (s[p + 1] === "\\" || s[p + 1] === "#" || s[p + 1] === "|")) {
        value += s[p + 1];
        p += 2;
        continue;
      }
      if (c === "|") {
        closed = true;
        break;
      }
      value += c;
      p++;
    }
    if (!closed) return out; // read_pair needs the closing '|'
    p++;
    out.push({ name, type: t === "1" ? 1 : 2, value });
  }
  return out;
}

/**
 * Parses field 25: (name, value) in string order. Empty values are skipped (read_dialog_vars
 * does), and so are integer values that do not parse.
 */
export function parseValues(s: string): [string, DlgValue][] {
  const out: [string, DlgValue][] = [];
  for (const pr of parsePairs(s)) {
    if (pr.value === "") continue;
    if (pr.type === 1) out.push([pr.name, pr.value]);
    else if (/^[+-]?\d+$/.test(pr.value)) out.push([pr.name, Number.parseInt(pr.value, 10) | 0]);
  }
  return out;
}

/** Parses field 26: profile links in string order (newest first as sent). */
export function parseProfiles(s: string): ProfileLinkText[] {
  return parsePairs(s).map((p) => ({ name: p.name, value: p.value }));
}
