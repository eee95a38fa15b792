/** Reading a TypeScript file's import specifiers (boundary tests). */

/** Every import/export-from in a file: its specifier and whether it is type-only. */
export function importsOf(src: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const m of src.matchAll(re)) out.push({ spec: m[4]!, typeOnly: Boolean(m[2]) });
  for (const m of src.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}
