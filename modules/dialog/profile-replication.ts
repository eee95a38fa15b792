/**
 * Profile counter replication through the clusterer (`dialog-prof-repl`, OpenSIPS 3.6.8
 * dlg_repl_profile.h): the periodic broadcast of the local `/b` counters, immediate removal
 * records, and the received counters handed to the profile table.
 */
import { BinPacket as Packet, type BinPacket } from "tsips";
import type { ClustererApi } from "../clusterer/api.ts";
import { dropPacket, type DialogHost } from "./host.ts";
import { DLG_BIN_V4, DlgProfile, PROF_REPL_CAP, pushProfileRecord, REPLICATION_DLG_PROFILE, type ProfileCounterRecord } from "./messages.ts";

export class ProfileReplication {
  private readonly intervals: NodeJS.Timeout[] = [];

  constructor(private readonly host: DialogHost, private readonly cl: ClustererApi) {}

  private get cluster(): number {
    return this.host.params.profile_replication_cluster;
  }

  /** Registers `dialog-prof-repl` (no startup sync). */
  start(): void {
    this.cl.registerCapability({
      capability: PROF_REPL_CAP, clusterId: this.cluster, startupSync: false, syncCond: "any",
      onPacket: (pkt, type, src) => this.onProfilePacket(pkt, type, src),
    });
  }

  /** The broadcast (`replicate_profiles_timer` ms) and cleanup (`replicate_profiles_check` s) timers. */
  startTimers(): void {
    if (!this.host.profilesTable.hasBin) return;
    const p = this.host.params;
    const b = setInterval(() => this.broadcastProfiles(), Math.max(1, p.replicate_profiles_timer));
    b.unref();
    const c = setInterval(() => this.host.profilesTable.cleanup(), Math.max(1, p.replicate_profiles_check) * 1000);
    c.unref();
    this.intervals.push(b, c);
  }

  stop(): void {
    for (const t of this.intervals) clearInterval(t);
    this.intervals.length = 0;
  }

  /** One periodic broadcast of the local `/b` counters (`broadcast_profiles`). Returns the packets sent. */
  broadcastProfiles(): number {
    const table = this.host.profilesTable;
    if (!table.hasBin) return 0;
    let sent = 0;
    let pkt = Packet.init(PROF_REPL_CAP, REPLICATION_DLG_PROFILE, DLG_BIN_V4);
    let n = 0;
    for (const group of table.broadcastGroups()) {
      for (const r of group) {
        pushProfileRecord(pkt, r);
        n++;
      }
      if (pkt.length > this.host.params.replicate_profiles_buffer) {
        this.sendProfilePacket(pkt);
        sent++;
        pkt = Packet.init(PROF_REPL_CAP, REPLICATION_DLG_PROFILE, DLG_BIN_V4);
        n = 0;
      }
    }
    if (n > 0) {
      this.sendProfilePacket(pkt);
      sent++;
    }
    return sent;
  }

  private sendProfilePacket(pkt: BinPacket): void {
    const rc = this.cl.sendAll(pkt, this.cluster);
    if (rc === -1) this.host.log.debug("profile replication: all destinations down");
    else if (rc === -2) this.host.log.error("profile replication: failed to send");
  }

  /** Immediate removal packets (`repl_prof_remove`): one record, counter 0. */
  sendRemovals(removals: readonly ProfileCounterRecord[]): void {
    for (const r of removals) this.sendProfilePacket(DlgProfile.encode({ records: [r] }));
  }

  /** The `dialog-prof-repl` packet callback (`receive_prof_repl`): type 4 only, version not checked. */
  onProfilePacket(pkt: BinPacket, type: number, src: number): void {
    if (type !== REPLICATION_DLG_PROFILE) {
      this.host.st.repl_dropped.inc();
      this.host.log.warn(`Invalid dialog profile binary packet command: ${type} (from node: ${src})`);
      return;
    }
    try {
      this.host.profilesTable.receive(DlgProfile.popFields(pkt, pkt.version).records, src);
    } catch (err) {
      dropPacket(this.host, type, src, err);
    }
  }
}
