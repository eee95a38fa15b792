/**
 * The usrloc key-value store (kv_store.c): a map of string keys to strings or integers,
 * serialized as compact JSON with the keys in OpenSIPS's AVL-map order (byte order, shorter
 * first on a common prefix), as cJSON prints it. Contacts and AoRs keep the serialized text
 * ("" = empty store) and parse it only when a key is read or written.
 */

import { jsonObjectEnd } from "tsips";
export type KvValue = string | number;
export type KvObject = Record<string, KvValue>;

/** Key holding a contact's sharing tag. */
export const KV_SHTAG_KEY = "_st";
/** Key (in one contact's store) carrying the AoR's own store as a JSON string. */
export const KV_UREC_KEY = "_urec_kvs";

function byteOrder(a: string, b: string): number {
  // AVL map order: strncmp over the common length, then the shorter first. For the UTF-8
  // bytes this equals code point order; UTF-16 order differs only for astral characters.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Serializes a store (`store_serialize`): "" for an empty store. */
export function kvSerialize(obj: Readonly<KvObject>): string {
  const keys = Object.keys(obj);
  if (keys.length === 0) return "";
  keys.sort(byteOrder);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = obj[k]!;
    if (i > 0) out += ",";
    out += JSON.stringify(k) + ":" + (typeof v === "number" ? String(Math.trunc(v) | 0) : JSON.stringify(v));
  }
  return out + "}";
}

/**
 * Parses a serialized store (`store_deserialize`): one JSON object read from the start of
 * the text; string members are kept, numbers become integers, other members are skipped.
 * Returns undefined for anything that is not an object (the caller keeps its old store).
 */
export function kvParse(text: string): KvObject | undefined {
  if (text.length === 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    const end = jsonObjectEnd(text);
    if (end < 0) return undefined;
    try {
      v = JSON.parse(text.slice(0, end));
    } catch {
      return undefined;
    }
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: KvObject = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === "string") out[k] = x;
    else if (typeof x === "number" && Number.isFinite(x)) out[k] = Math.trunc(x) | 0;
  }
  return out;
}

/** Normalizes a serialized store to canonical form ("" when empty or invalid). */
export function kvCanonical(text: string): string {
  const o = kvParse(text);
  return o ? kvSerialize(o) : "";
}

export function kvGet(text: string, key: string): KvValue | undefined {
  if (text.length === 0) return undefined;
  return kvParse(text)?.[key];
}

/** Returns the serialized store with `key` set (or removed when `value` is undefined). */
export function kvPut(text: string, key: string, value: KvValue | undefined): string {
  const o = kvParse(text) ?? {};
  if (value === undefined) delete o[key];
  else o[key] = value;
  return kvSerialize(o);
}
