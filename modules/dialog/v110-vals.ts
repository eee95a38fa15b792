/**
 * The 1.10 text of dialog values (record field 19) and profiles (field 20), spec/bin-1.10.md
 * §6.5: `NAME '#' VALUE '|'` per entry, each `|`, `#`, `\` in NAME and VALUE escaped with `\`
 * (1.10 has no type char, unlike 3.x). Shared CacheDB profiles are written `NAME/s#VALUE|`.
 */
import { escapeField } from "./vals.ts";

export interface V110Pair {
  name: string;
  value: string;
}

/** Serializes pairs in the given order (the sender's list order: newest first). */
export function serializeV110Pairs(pairs: Iterable<V110Pair>): string {
  let s = "";
  for (const p of pairs) s += `${escapeField(p.name)}#${escapeField(p.value)}|`;
  return s;
}

/**
 * Parses `name#value|…` as 1.10's `read_pair` does: the name runs to an unescaped `#`, the
 * value to an unescaped `|`; a backslash escapes the next `|`, `#` or `\`. A trailing pair
 * without its `|` is dropped.
 */
export function parseV110Pairs(s: string): V110Pair[] {
  const out: V110Pair[] = [];
  let p = 0;
  const n = s.length;
  const field = (stop: string): string | undefined => {
    let v = "";
    while (p < n) {
      const c = s[p]!;
      if (c === "\\" && p + 1 < n && (s[p + 1] === "\\" || s[p + 1] === "#" || s[p + 1] === "|")) {
        v += s[p + 1];
        p += 2;
        continue;
      }
      if (c === stop) {
        p++;
        return v;
      }
      if (stop === "#" && c === "|") return undefined;
      v += c;
      p++;
    }
    return undefined;
  };
  while (p < n) {
    const name = field("#");
    if (name === undefined) break;
    const value = field("|");
    if (value === undefined) break;
    out.push({ name, value });
  }
  return out;
}
