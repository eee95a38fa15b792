/**
 * The API `proto_bins` returns from init (types only): the BIN stream inspection API
 * (listeners, connections, flush), as proto_bin's, plus the tls_trace state.
 */
import type { BinStreamApi } from "tsips";

export type { BinListenerInfo, BinConnectionInfo } from "tsips";

export interface ProtoBinsApi extends BinStreamApi {
  /** MI tls_trace state (tsips keeps the switch; there is no HEP tracing). */
  trace: { on: boolean };
}
