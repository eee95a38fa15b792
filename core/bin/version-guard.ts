/**
 * Version guard for declared BIN messages: a packet whose version the message does not
 * accept is dropped, counted, and logged once per (capability, version) — not once per
 * packet, so a newer peer flooding us does not flood the log (design §6).
 *
 * ```ts
 * const guard = createVersionGuard(ctx.log, ctx.stats.get("version_drops"));
 * ctx.bin.registerCb(cap, (pkt) => {
 *   if (!guard.check(pkt, UcontactInsert)) return;   // dropped, counted, logged once
 *   const rec = UcontactInsert.popFields(pkt, pkt.version);
 * });
 * ```
 */
import type { TsipsLogger } from "../log.ts";
import type { BinPacket } from "./packet.ts";

/** What the guard needs of a message declaration (a BinMessage has it). */
export interface VersionedMessage {
  readonly name: string;
  readonly capability: string;
  readonly accepts: readonly number[];
  isAccepted(version: number): boolean;
}

export interface VersionGuard {
  /**
   * True when `pkt.version` (or `version`) is accepted by `msg`. Otherwise counts the drop,
   * logs a warning the first time this (capability, version) is seen, and returns false.
   */
  check(pkt: Pick<BinPacket, "version" | "capability" | "type">, msg: VersionedMessage, version?: number): boolean;
  /** Drops counted so far. */
  readonly dropped: number;
  /** (capability, version) pairs already logged. */
  logged(): { capability: string; version: number }[];
}

export function createVersionGuard(log: Pick<TsipsLogger, "warn">, stat?: { inc(n?: number): void }): VersionGuard {
  const seen = new Set<string>();
  let dropped = 0;
  return {
    check(pkt, msg, version = pkt.version) {
      if (msg.isAccepted(version)) return true;
      dropped++;
      stat?.inc();
      const key = `${msg.capability}\u0000${version}`;
      if (!seen.has(key)) {
        seen.add(key);
        log.warn({ capability: msg.capability, version, type: pkt.type, message: msg.name, accepts: msg.accepts },
          `dropping ${msg.capability} packets of version ${version} (this node accepts ${msg.accepts.join(", ")}); logged once per version`);
      }
      return false;
    },
    get dropped() {
      return dropped;
    },
    logged() {
      return [...seen].map((k) => {
        const [capability = "", v = "0"] = k.split("\u0000");
        return { capability, version: Number(v) };
      });
    },
  };
}
