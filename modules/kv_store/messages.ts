/**
 * kv_store's wire messages (capability `kv-store-repl`), declared once each. The sync chunk
 * of one key carries the same fields as KV_SET.
 */
import { defineMessage, binStr } from "tsips";

export const KV_CAPABILITY = "kv-store-repl";
export const KV_VERSION = 1;

/** Type 1: a key was set (or created) on the sender. */
export const KvSet = defineMessage({
  name: "KV_SET", capability: KV_CAPABILITY, type: 1, version: KV_VERSION,
  fields: [binStr("key"), binStr("value")],
});

/** Type 2: a key was deleted on the sender. */
export const KvDelete = defineMessage({
  name: "KV_DELETE", capability: KV_CAPABILITY, type: 2, version: KV_VERSION,
  fields: [binStr("key")],
});

export const kvStoreMessages = [KvSet, KvDelete] as const;
