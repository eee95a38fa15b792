/** Printing benchmark figures: a readable line, or one JSON object per line with --json. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Extra context (goal, runs) shown in text mode and kept in JSON. */
  note?: string;
}

export function report(json: boolean, f: Figure): void {
  if (json) process.stdout.write(`${JSON.stringify(f)}\n`);
  else process.stdout.write(`${f.name.padEnd(42)} ${formatValue(f.value).padStart(12)} ${f.unit}${f.note ? `   (${f.note})` : ""}\n`);
}

function formatValue(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
