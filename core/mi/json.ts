/**
 * JSON text as OpenSIPS 3.6.8 prints it (lib/cJSON.c, spec/mi.md §4), so MI replies match
 * byte for byte: compact output has no whitespace; strings escape exactly like
 * `JSON.stringify` (`\" \\ \b \f \n \r \t`, other control bytes `\u00xx` lowercase, `/`
 * and non-ASCII verbatim), so strings go through the native encoder. Numbers follow
 * cJSON's `print_number`:
 *
 * | value | text |
 * |---|---|
 * | 0 (and -0) | `0` |
 * | integral, within signed 32-bit | `%d` |
 * | other integral, magnitude < 1e60 | `%.0f` (64-bit counters print as plain integers) |
 * | non-integral, 1e-6 ≤ magnitude ≤ 1e9 | `%f` (six decimals) |
 * | other non-integral | `%e` (e.g. `1.500000e+10`) |
 * | NaN, ±Infinity | `null` |
 *
 * "Integral" uses cJSON's DBL_EPSILON comparisons, reproduced as written.
 * Pretty mode (mi_http/mi_fifo `pretty_printing`, classic cJSON `fmt`, unverified against
 * 3.6.8 beyond spec §4): objects put each member on its own line, indented with one TAB per
 * depth, `"name":<TAB>value`; arrays stay on one line with `", "` between items and print
 * their items one depth further (so objects inside arrays indent by two); an empty object
 * prints as `{`, newline, one TAB less than its depth, `}`.
 */
import type { JsonValue } from "./types.ts";

const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/** A number as cJSON prints it. */
export function printNumber(d: number): string {
  if (d === 0) return "0";
  if (!Number.isFinite(d)) return "null";
  const vi = Math.trunc(d);
  if (Math.abs(vi - d) <= Number.EPSILON && d <= INT_MAX && d >= INT_MIN) return String(vi);
  // Beyond 32 bits a double within epsilon of an integer is that integer: %.0f prints its
  // exact decimal expansion.
  if (Math.abs(Math.floor(d) - d) <= Number.EPSILON && Math.abs(d) < 1e60) return BigInt(d).toString();
  const a = Math.abs(d);
  if (a < 1e-6 || a > 1e9) return cExp(d);
  return d.toFixed(6);
}

/** C's `%e`: one digit, six decimals, exponent sign and at least two digits. */
function cExp(d: number): string {
  const s = d.toExponential(6); // "1.500000e+10" / "1.000000e-7"
  const i = s.indexOf("e");
  const mant = s.slice(0, i);
  const sign = s[i + 1]!;
  const exp = s.slice(i + 2);
  return `${mant}e${sign}${exp.length < 2 ? `0${exp}` : exp}`;
}

/** A JSON string literal (cJSON escapes exactly what JSON.stringify escapes). */
export function printString(s: string): string {
  return JSON.stringify(s);
}

/** Compact JSON text of a value, as OpenSIPS prints MI replies. */
export function printJson(v: JsonValue | undefined, pretty = false): string {
  if (pretty) return printPretty(v, 0);
  const out: string[] = [];
  writeCompact(v, out);
  return out.join("");
}

function writeCompact(v: JsonValue | undefined, out: string[]): void {
  switch (typeof v) {
    case "string":
      out.push(JSON.stringify(v));
      return;
    case "number":
      out.push(printNumber(v));
      return;
    case "boolean":
      out.push(v ? "true" : "false");
      return;
    case "object":
      if (v === null) {
        out.push("null");
      } else if (Array.isArray(v)) {
        out.push("[");
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(",");
          writeCompact(v[i], out);
        }
        out.push("]");
      } else {
        out.push("{");
        let first = true;
        for (const k in v) {
          if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
          const item = v[k];
          if (item === undefined) continue;
          if (!first) out.push(",");
          first = false;
          out.push(JSON.stringify(k), ":");
          writeCompact(item, out);
        }
        out.push("}");
      }
      return;
    default:
      // undefined (a missing member) and anything that is not JSON print as null.
      out.push("null");
  }
}

/** cJSON's formatted printing (print_value / print_object / print_array with `fmt`). */
function printPretty(v: JsonValue | undefined, depth: number): string {
  if (v === null || typeof v !== "object") return printJson(v);
  if (Array.isArray(v)) return `[${v.map((x) => printPretty(x, depth + 1)).join(", ")}]`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  if (keys.length === 0) return `{\n${"\t".repeat(Math.max(0, depth - 1))}}`;
  const d = depth + 1;
  const tabs = "\t".repeat(d);
  const lines = keys.map((k) => `${tabs}${JSON.stringify(k)}:\t${printPretty(v[k], d)}`);
  return `{\n${lines.join(",\n")}\n${"\t".repeat(d - 1)}}`;
}
