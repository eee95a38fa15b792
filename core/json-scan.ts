/**
 * Finding where a JSON object ends in text that may hold more after it (a FIFO stream of
 * requests, a serialized store followed by garbage) without parsing it: brace depth,
 * string-aware.
 */

/** Returned by `jsonObjectEnd` when the text ends before the object does. */
export const JSON_INCOMPLETE = -1;
/** Returned by `jsonObjectEnd` when the first non-blank character is not `{`. */
export const JSON_NOT_OBJECT = -2;

/** Index just past the JSON object that starts (after blanks) at `from`, or JSON_INCOMPLETE / JSON_NOT_OBJECT. */
export function jsonObjectEnd(s: string, from = 0): number {
  let i = from;
  while (i < s.length && /\s/.test(s[i]!)) i++;
  if (i >= s.length) return JSON_INCOMPLETE;
  if (s[i] !== "{") return JSON_NOT_OBJECT;
  let depth = 0;
  let inStr = false;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return JSON_INCOMPLETE;
}
