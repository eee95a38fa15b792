/**
 * The test kit for tsips and for module authors: in-process hosts, real node processes
 * from config text, local clusters on loopback, a fault-injecting TCP proxy, polling.
 */
export { createTestHost } from "./host.ts";
export type { TestHost, TestHostOptions } from "./host.ts";
export { NodeProcess, MiCallError, killAllNodes } from "./node-process.ts";
export type { LogLine, NodeProcessOptions, ExitInfo, MiCall } from "./node-process.ts";
export { LocalCluster, buildNodeCfg, tlsCfgLines } from "./cluster.ts";
export type { ClusterNodeSpec, ClusterOptions, NodeCfgOptions, NodeTlsOptions } from "./cluster.ts";
export { TcpProxy } from "./tcp-proxy.ts";
export type { ProxyMode } from "./tcp-proxy.ts";
export { freePort, freePorts } from "./ports.ts";
export { waitFor } from "./wait.ts";
export { startV110Pair, v110NodeCfg } from "./v110-pair.ts";
export type { V110Pair, V110PairPorts } from "./v110-pair.ts";
