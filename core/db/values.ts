/**
 * How OpenSIPS writes and reads values in SQL (db/db_ut.c; spec/db.md §1.3): DATETIME as
 * local-time text, DOUBLE with C's `%.2f` (round-half-even on the exact binary value).
 */
const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `'YYYY-MM-DD HH:MM:SS'` in the process's local time zone (localtime_r + strftime). */
export function dbDatetime(unix: number): string {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Reads a DATETIME back (strptime "%Y-%m-%d %H:%M:%S" or "%Y-%m-%d", mktime in local time). */
export function dbParseDatetime(v: unknown): number {
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (typeof v === "number") return v;
  if (typeof v !== "string") return 0;
  // Fast path for the exact form OpenSIPS writes: the local-time base of each hour is computed
  // once (loading 100k rows calls this 100k times).
  if (v.length >= 19 && v.charCodeAt(4) === 45 && v.charCodeAt(13) === 58 && v.charCodeAt(16) === 58) {
    const hourKey = v.slice(0, 13);
    let base = hourBase.get(hourKey);
    if (base === undefined) {
      base = Math.floor(new Date(+v.slice(0, 4), +v.slice(5, 7) - 1, +v.slice(8, 10), +v.slice(11, 13), 0, 0).getTime() / 1000);
      if (hourBase.size > 4096) hourBase.clear();
      hourBase.set(hourKey, base);
    }
    const mi = (v.charCodeAt(14) - 48) * 10 + (v.charCodeAt(15) - 48);
    const s = (v.charCodeAt(17) - 48) * 10 + (v.charCodeAt(18) - 48);
    if (mi >= 0 && mi < 60 && s >= 0 && s < 62) return base + mi * 60 + s;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?/.exec(v);
  if (!m) return 0;
  const d = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return Math.floor(d.getTime() / 1000);
}

const hourBase = new Map<string, number>();

/**
 * A double as OpenSIPS puts it in SQL text (`%-10.2f`), back as a number. JavaScript's
 * toFixed picks the larger value on an exact tie, C the even one: only the exact binary ties
 * (x.xx5 with x·8 an integer: 0.125, 0.375, 0.625, 0.875 ...) differ.
 */
export function dbDouble2(x: number): number {
  const t = x * 100;
  if (Number.isFinite(t) && t - Math.floor(t) === 0.5 && Number.isInteger(x * 8)) {
    const lo = Math.floor(t);
    return (lo % 2 === 0 ? lo : lo + 1) / 100;
  }
  return Number(x.toFixed(2));
}
