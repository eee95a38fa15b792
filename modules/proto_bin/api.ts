/**
 * The API `proto_bin` returns from init (types only; dependents and tests `import type` it).
 * Sending and receiving go through the core (`ctx.bin.send`, `ctx.bin.registerCb`); this API
 * is for inspection, tests and orderly flushing. The shapes are the core's BIN stream
 * transport's (shared with proto_bins).
 */
import type { BinStreamApi } from "tsips";

export type { BinListenerInfo, BinConnectionInfo } from "tsips";

export type ProtoBinApi = BinStreamApi;
