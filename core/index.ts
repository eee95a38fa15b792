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
export { listenError, fileError, readConfiguredFile, systemErrorText, type OperationalErrorOptions } from "./os-errors.ts";
export { BinPacket, readBinHeader, BIN_MAX_PACKET_SIZE, BIN_MIN_PACKET_SIZE } from "./bin/packet.ts";
export type { BinHeader } from "./bin/packet.ts";
export { defineV110Message, V110MessageRegistry, uint as binUint } from "./bin/schema.ts";
export type { V110Message, BinItems } from "./bin/schema.ts";
export { BinV110Packet, readV110Header, V110DatagramError, V110_MIN_PACKET_SIZE, V110_MAX_PACKET_SIZE } from "./bin/v110/packet.ts";
export type { V110Header, V110DropReason } from "./bin/v110/packet.ts";
export { crc32NoFinalXor } from "./bin/v110/crc.ts";
export type { BinV110Api, BinV110Callback } from "./bin/v110/dispatch.ts";
export { defineMessage, int as binInt, str as binStr, bytes as binBytes, strAs as binStrAs, intList as binIntList, custom as binCustom, MessageRegistry } from "./bin/schema.ts";
export type { BinMessage, FieldDef, MessageValues } from "./bin/schema.ts";
export type { BinApi, BinCallback, BinSendTarget } from "./bin/dispatch.ts";
export { BinFramer, BinFramingError } from "./bin/framer.ts";
export { BinStreamTransport } from "./bin/stream-transport.ts";
export type { BinStreamFactory, BinStreamDest, BinSocketOptions, ListenSpec as BinListenSpec, BinListenerInfo, BinConnectionInfo, TransportOptions as BinStreamOptions } from "./bin/stream-transport.ts";
export { BIN_STREAM_STATS, binStreamOptions, startBinStream, stopBinStream } from "./bin/stream-module.ts";
export type { BinStreamApi, BinStreamHost, BinStreamParams, BinStreamStatName } from "./bin/stream-module.ts";
export { normHost, hostPort } from "./bin/stream-addr.ts";
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
export type { BinSource, BinReceiveCtx, BinSendStatus, BinPeerEvent, CoreHooks, EventCtx, BinV110Source, BinV110ReceiveCtx } from "./hooks.ts";
export { MiError, miStream, isMiError } from "./mi/types.ts";
export type {
  MiCommandDecl, MiParams, MiResult, JsonValue, MiStreamedReply, MiHost, MiCommandInfo, JsonRpcOutcome, JsonRpcOptions,
} from "./mi/types.ts";
export { printJson as printMiJson, printString as printMiString, printNumber as printMiNumber } from "./mi/json.ts";
export { miParams } from "./mi/params.ts";
export type { Stat, StatDecl, ModuleStats, StatsRegistry } from "./stats.ts";
export type { TsipsLogger } from "./log.ts";
export type { SocketDef, CfgValue, AutoScalingProfile, AutoScalingSettings, AutoScalingUse } from "./cfg/ast.ts";
export { jsonObjectEnd, JSON_INCOMPLETE, JSON_NOT_OBJECT } from "./json-scan.ts";
export { coreHash } from "./hash.ts";
export { LocalSockets, parseSocketString, SIP_PROTOS } from "./sip-sockets.ts";
export type { LocalSocket } from "./sip-sockets.ts";
export * from "./db/index.ts";
