/**
 * The one import surface for module authors:
 * `import { defineModule, int, str, need, defineMessage, ... } from "../../core/index.ts"`.
 */
export { defineModule, int, str, strList, need } from "./module.ts";
export type {
  ModuleDef, ModuleContext, TsipsModule, ParamSpec, ParamValues, DepSpec, DepValues, CoreInfo, MiRunner, MissingPolicy,
} from "./module.ts";
export { TsipsError, isTsipsError, formatLocation } from "./errors.ts";
export type { ErrorCode, Location } from "./errors.ts";
export { BinPacket, readBinHeader, BIN_MAX_PACKET_SIZE, BIN_MIN_PACKET_SIZE } from "./bin/packet.ts";
export type { BinHeader } from "./bin/packet.ts";
export { defineMessage, int as binInt, str as binStr, bytes as binBytes, strAs as binStrAs, intList as binIntList, custom as binCustom, MessageRegistry } from "./bin/schema.ts";
export type { BinMessage, FieldDef, MessageValues } from "./bin/schema.ts";
export type { BinApi, BinCallback } from "./bin/dispatch.ts";
export { BinFramer, BinFramingError } from "./bin/framer.ts";
export { createVersionGuard } from "./bin/version-guard.ts";
export { defineReplication } from "./replication/declare.ts";
export type { Replication, ReplicationDecl, ReplicationStat, ValueOf, ValueFields } from "./replication/declare.ts";
export { ReplicatedMap } from "./replication/collection.ts";
export type { KeyedStore, ReplicationCounters, ReplicatedMapOptions, ConflictCtx } from "./replication/collection.ts";
export { startReplication, replicationMi, replicationCounters } from "./replication/module-parts.ts";
export type { ReplicationInitCtx } from "./replication/module-parts.ts";
export { buildPayload as buildEventPayload, DEFAULT_EVENT_EXPIRE } from "./events/interface.ts";
export type { EventTransport, EventSink, EventPayload, EventParams, ModuleEvents } from "./events/types.ts";
export { SrGroup, SrIdentifier } from "./status/registry.ts";
export type { SrReport } from "./status/registry.ts";
export type { ClusterLink, ClusterBinding, ClusterLinkEvent, ClusterLinkRegistration } from "./replication/link.ts";
export type { VersionGuard, VersionedMessage } from "./bin/version-guard.ts";
export type { BinSource, BinReceiveCtx, BinSendStatus, BinPeerEvent, CoreHooks, EventCtx } from "./hooks.ts";
export { MiError, miStream, isMiError } from "./mi/types.ts";
export type {
  MiCommandDecl, MiParams, MiResult, JsonValue, MiStreamedReply, MiHost, MiCommandInfo, JsonRpcOutcome, JsonRpcOptions,
} from "./mi/types.ts";
export { printJson as printMiJson, printString as printMiString, printNumber as printMiNumber } from "./mi/json.ts";
export { miParams } from "./mi/params.ts";
export type { Stat, StatDecl, ModuleStats, StatsRegistry } from "./stats.ts";
export type { TsipsLogger } from "./log.ts";
export type { SocketDef, CfgValue } from "./cfg/ast.ts";
export { jsonObjectEnd, JSON_INCOMPLETE, JSON_NOT_OBJECT } from "./json-scan.ts";
export { coreHash } from "./hash.ts";
export { LocalSockets, parseSocketString, SIP_PROTOS } from "./sip-sockets.ts";
export type { LocalSocket } from "./sip-sockets.ts";
