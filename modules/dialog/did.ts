/**
 * Dialog ids as OpenSIPS prints and parses them (spec dialog.md §2): the MI `ID` /
 * `$DLG_did` / rr `did` form is reverse-hex(h_entry) "." reverse-hex(h_id), where
 * reverse hex writes lowercase nibbles least significant first, with no padding
 * (0xf30 → "03f", 0 → "0"). `db_id` is the decimal of (h_entry << 32) + h_id.
 */

const HEX = "0123456789abcdef";

/** @opensips int2reverse_hex */
export function reverseHex(n: number): string {
  let v = n >>> 0;
  if (v === 0) return "0";
  let s = "";
  while (v !== 0) {
    s += HEX[v & 0xf];
    v >>>= 4;
  }
  return s;
}

/** Parses a reverse-hex string (upper or lower case); undefined if not valid or over 32 bits. @opensips reverse_hex2int */
export function parseReverseHex(s: string): number | undefined {
  if (s.length === 0 || s.length > 8) return undefined;
  let v = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return undefined;
    v = v * 16 + d;
  }
  return v >>> 0;
}

/** The `ID` string: `hentry.hid` in reverse hex. @opensips dlg_get_did_buf */
export function formatDid(hEntry: number, hId: number): string {
  return `${reverseHex(hEntry)}.${reverseHex(hId)}`;
}

/** Parses an `ID` string; undefined when it is not of the `hex.hex` form. @opensips parse_dlg_did */
export function parseDid(s: string): { hEntry: number; hId: number } | undefined {
  const dot = s.indexOf(".");
  if (dot <= 0 || dot !== s.lastIndexOf(".")) return undefined;
  const hEntry = parseReverseHex(s.slice(0, dot));
  const hId = parseReverseHex(s.slice(dot + 1));
  if (hEntry === undefined || hId === undefined) return undefined;
  return { hEntry, hId };
}

/** The MI `db_id`: decimal of (h_entry << 32) + h_id as an unsigned 64-bit number. */
export function dbId(hEntry: number, hId: number): string {
  return ((BigInt(hEntry >>> 0) << 32n) + BigInt(hId >>> 0)).toString();
}
