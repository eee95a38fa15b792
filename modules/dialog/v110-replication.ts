/**
 * OpenSIPS 1.10 dialog replication (spec/bin-1.10.md §5–§6, 1.10.5 dlg_replication.c):
 * CREATED/UPDATED/DELETED datagrams sent straight to every `replicate_dialogs_to` address
 * from the `bin_listen` socket, and — with `accept_replicated_dialogs` — applied on receipt:
 * the receiver takes its own h_id, matches Call-ID + tags in either order, builds an unknown
 * dialog from an UPDATED, adds values and profiles, and runs the lifetime on its own timer.
 * The `*_recv` statistics count datagrams by type, whatever their outcome (as 1.10).
 */
import { coreHash, type BinV110Api, type BinV110Packet, type BinV110ReceiveCtx } from "tsips";
import { applyReplicatedState, emitReplicatedUpdate, isState, type DialogHost } from "./host.ts";
import { DLG_FLAG_CHANGED, DLG_FLAG_NEW, DLG_FLAG_VP_CHANGED, DLG_FLAGS_NOT_SENT, DLG_STATE_DELETED, Dialog } from "./store.ts";
import {
  V110_DIALOG_MODULE, V110_DLG_CREATED, V110_DLG_DELETED, V110_DLG_UPDATED, V110DlgCreated, V110DlgDeleted, V110DlgUpdated,
  type V110DlgRecord,
} from "./v110-messages.ts";
import { parseV110Pairs, serializeV110Pairs } from "./v110-vals.ts";

/** One `replicate_dialogs_to` destination, resolved at startup. */
export interface V110Destination {
  host: string;
  port: number;
}

/** Flags never sent: 1.10 clears NEW, CHANGED, VP_CHANGED; tsips-only bits stay home too. */
const NOT_SENT = DLG_FLAG_NEW | DLG_FLAG_CHANGED | DLG_FLAG_VP_CHANGED | DLG_FLAGS_NOT_SENT;

/** What sends a datagram (the core's `ctx.bin.v110.send`, or a test's in-memory wire). */
export type V110Sender = Pick<BinV110Api, "send">;

export interface V110ReplicationOptions {
  /** Destinations in sending order (1.10 prepends each modparam: reverse cfg order). */
  destinations: readonly V110Destination[];
  /** `accept_replicated_dialogs` is on. */
  accept: boolean;
}

export class V110Replication {
  constructor(
    private readonly host: DialogHost,
    private readonly sender: V110Sender | undefined,
    private readonly opts: V110ReplicationOptions,
  ) {}

  /** This node sends 1.10 datagrams (at least one destination). */
  get sending(): boolean {
    return this.opts.destinations.length > 0;
  }

  get accepting(): boolean {
    return this.opts.accept;
  }

  /** Registers the `dialog` receiver when `accept_replicated_dialogs` is on (1.10 `mod_init`). */
  start(bin: Pick<BinV110Api, "registerCb"> | undefined): void {
    if (this.opts.accept && bin) bin.registerCb(V110_DIALOG_MODULE, (pkt, ctx) => this.onDatagram(pkt, ctx));
  }

  // ── sending (§6.1) ─────────────────────────────────────────────────────

  /** The 25-item record of a dialog (`dlg_replicated_create` push order). */
  record(d: Dialog): V110DlgRecord {
    return {
      callid: d.callid, callerTag: d.callerTag, calleeTag: d.calleeTag, fromUri: d.fromUri, toUri: d.toUri,
      hId: d.hId, startTs: d.startTs, state: d.state,
      callerSocket: d.callerSock?.realName ?? "", calleeSocket: d.calleeSock?.realName ?? "",
      callerCseq: d.callerCseq, calleeCseq: d.calleeCseq,
      callerRouteSet: d.callerRouteSet, calleeRouteSet: d.calleeRouteSet,
      callerContact: d.callerContact, calleeContact: d.calleeContact,
      calleeMangledFrom: d.calleeMangledFrom, calleeMangledTo: d.calleeMangledTo,
      vars: serializeV110Pairs(valuesNewestFirst(d)),
      profiles: serializeV110Pairs((d.links ?? []).map((l) => ({ name: l.profile.repl === "cachedb" ? `${l.profile.name}/s` : l.profile.name, value: l.value }))),
      userFlags: d.userFlags, flags: (d.flags & ~NOT_SENT) >>> 0, timeout: d.expiresAt,
      callerLastGenCseq: d.callerLastGenCseq, calleeLastGenCseq: d.calleeLastGenCseq,
    };
  }

  private sendAll(pkt: BinV110Packet): void {
    if (!this.sender) return;
    for (const dst of this.opts.destinations) {
      if (this.sender.send(pkt, dst.host, dst.port) === "error") this.host.log.warn(`binary packet UDP send to ${dst.host}:${dst.port} failed`);
    }
  }

  /** CREATED: the dialog just became confirmed (1.10: the 2xx went out). Early dialogs never go. */
  sendCreated(d: Dialog): void {
    if (!this.sending || (d.state !== 3 && d.state !== 4)) return;
    d.replicated = true;
    this.sendAll(V110DlgCreated.encode(this.record(d)));
    this.host.st.create_sent.inc();
  }

  /** UPDATED: the ACK (CONFIRMED_NA → CONFIRMED) or an in-dialog request. */
  sendUpdated(d: Dialog): void {
    if (!this.sending || (d.state !== 3 && d.state !== 4)) return;
    this.sendAll(V110DlgUpdated.encode(this.record(d)));
    this.host.st.update_sent.inc();
  }

  /** DELETED: a confirmed dialog ended here (BYE, lifetime, MI). */
  sendDeleted(d: Dialog): void {
    if (!this.sending) return;
    this.sendAll(V110DlgDeleted.encode({ callid: d.callid, callerTag: d.callerTag, calleeTag: d.calleeTag }));
    this.host.st.delete_sent.inc();
  }

  // ── receiving (§6.2–§6.6) ──────────────────────────────────────────────

  /**
   * The `dialog` handler (`receive_binary_packet`). A datagram whose items run short throws
   * (TSIPS_ERR_BIN_SHORT) after its type was counted: the core drops and counts it.
   */
  onDatagram(pkt: BinV110Packet, _ctx?: BinV110ReceiveCtx): void {
    const st = this.host.st;
    switch (pkt.type) {
      case V110_DLG_CREATED: {
        st.create_recv.inc();
        st.processed_dialogs.inc();
        this.applyCreate(V110DlgCreated.decode(pkt));
        return;
      }
      case V110_DLG_UPDATED:
        st.update_recv.inc();
        this.applyUpdate(V110DlgUpdated.decode(pkt));
        return;
      case V110_DLG_DELETED:
        st.delete_recv.inc();
        this.applyDelete(V110DlgDeleted.decode(pkt));
        return;
      default:
        st.repl_dropped.inc();
        this.host.log.error(`Invalid dialog binary packet command: ${pkt.type}`);
        this.host.log.error("Failed to process a binary packet!");
    }
  }

  /** Call-ID + tags in either order, skipping ended dialogs (`get_dlg`). */
  private find(callid: string, tag1: string, tag2: string): Dialog | undefined {
    const d = this.host.table.findByTags(coreHash(callid, this.host.table.size), callid, tag1, tag2);
    return d && d.state !== DLG_STATE_DELETED ? d : undefined;
  }

  /** CREATED: a known dialog is left alone ("already created"). */
  private applyCreate(rec: V110DlgRecord): boolean {
    if (this.find(rec.callid, rec.callerTag, rec.calleeTag)) {
      this.host.log.debug(`dialog ${rec.callid} already created`);
      return true;
    }
    return this.build(rec);
  }

  /** `dlg_replicated_create` from step 3: own h_id, local sockets, legs, values, profiles, own timer. */
  private build(rec: V110DlgRecord): boolean {
    const h = this.host;
    const hEntry = coreHash(rec.callid, h.table.size);
    if (!isState(rec.state) || rec.state === DLG_STATE_DELETED) {
      h.log.error(`replicated dialog ${rec.callid} has an invalid state ${rec.state}`);
      return false;
    }
    // The receiver's id is never the sender's: max(local next_id, sender h_id + 1).
    h.table.bumpNextId(hEntry, rec.hId);
    const hId = h.table.newId(hEntry);
    const callerSock = this.localSocket(rec.callerSocket);
    const calleeSock = this.localSocket(rec.calleeSocket);
    if (!callerSock || !calleeSock) {
      h.log.error(`Dialog ${rec.callid} doesn't match any listening sockets (caller ${rec.callerSocket || "<none>"}, callee ${rec.calleeSocket || "<none>"})`);
      return false;
    }
    const d = new Dialog({
      hEntry, hId, callid: rec.callid, fromUri: rec.fromUri, toUri: rec.toUri, callerTag: rec.callerTag,
      calleeTag: rec.calleeTag, state: rec.state, startTs: rec.startTs, origin: "replicated",
    });
    d.callerSock = callerSock;
    d.calleeSock = calleeSock;
    // The caller leg's CSeq becomes its INVITE CSeq and its r_cseq restarts at "0".
    d.callerCseq = "0";
    d.callerInviteCseq = rec.callerCseq;
    d.calleeCseq = rec.calleeCseq;
    if (rec.callerContact !== "") {
      d.callerContact = rec.callerContact;
      d.callerRouteSet = rec.callerRouteSet;
    }
    if (rec.calleeContact !== "") {
      d.calleeContact = rec.calleeContact;
      d.calleeRouteSet = rec.calleeRouteSet;
    }
    d.calleeMangledFrom = rec.calleeMangledFrom;
    d.calleeMangledTo = rec.calleeMangledTo;
    d.userFlags = rec.userFlags;
    d.flags = rec.flags >>> 0;
    d.callerLastGenCseq = rec.callerLastGenCseq;
    d.calleeLastGenCseq = rec.calleeLastGenCseq;
    const now = h.nowSec();
    // A passed expiry fires on the next tick; the receiver expires replicated dialogs itself.
    d.expiresAt = rec.timeout > now ? rec.timeout : now;
    h.insert(d);
    this.addValues(d, rec.vars);
    this.linkProfiles(d, rec.profiles, false);
    h.arm(d);
    if (h.events.listened("created")) h.events.emit({ kind: "created", dialog: d, origin: "replicated", newState: d.state });
    return true;
  }

  /** `[proto:]host[:port]` of a sender's socket → the local listener it names (§6.3), UDP when no proto. */
  private localSocket(s: string): Dialog["callerSock"] {
    if (s === "") return undefined;
    const found = this.host.sockets.resolve(withProto(s));
    if (!found) this.host.log.warn(`non-local socket <${s}>...ignoring`);
    return found;
  }

  /** UPDATED: an unknown dialog is built from it; a known one takes state, CSeqs, values, new profiles, flags, timeout. */
  private applyUpdate(rec: V110DlgRecord): boolean {
    const h = this.host;
    const d = this.find(rec.callid, rec.callerTag, rec.calleeTag);
    if (!d) {
      h.log.error(`dialog ${rec.callid} not found, building new`);
      h.st.processed_dialogs.inc();
      return this.build(rec);
    }
    const old = applyReplicatedState(h, d, rec.state);
    if (old === false) return false;
    if (old === undefined) return true;
    d.callerCseq = rec.callerCseq;
    d.calleeCseq = rec.calleeCseq;
    this.addValues(d, rec.vars);
    this.linkProfiles(d, rec.profiles, true);
    d.userFlags = rec.userFlags;
    d.flags = rec.flags >>> 0;
    const now = h.nowSec();
    const exp = rec.timeout > now ? rec.timeout : now;
    if (exp !== d.expiresAt) {
      d.expiresAt = exp;
      h.arm(d);
    }
    emitReplicatedUpdate(h, d, old);
    return true;
  }

  /** DELETED: not found is an error without side effects; found ends it (profiles unlinked, timer removed). */
  private applyDelete(rec: { callid: string; callerTag: string; calleeTag: string }): boolean {
    const h = this.host;
    const d = this.find(rec.callid, rec.callerTag, rec.calleeTag);
    if (!d) {
      h.log.error(`dialog not found (callid: |${rec.callid}| ftag: |${rec.callerTag}|)`);
      return false;
    }
    if (!h.terminate(d, "replicated", false)) {
      h.log.error(`duplicate dialog delete request (callid: |${rec.callid}| ftag: |${rec.callerTag}|)`);
      return false;
    }
    return true;
  }

  /** Values are added or replaced by name; empty values are skipped; none is removed. */
  private addValues(d: Dialog, text: string): void {
    if (text === "") return;
    for (const p of parseV110Pairs(text)) if (p.value !== "") d.storeValue(p.name, p.value);
  }

  /** Profiles named in the record; unknown names are created (with value when one is given). */
  private linkProfiles(d: Dialog, text: string, skipLinked: boolean): void {
    if (text === "") return;
    const table = this.host.profilesTable;
    for (const p of parseV110Pairs(text)) {
      let def = table.search(p.name);
      if (!def) {
        this.host.log.warn(`profile <${p.name}> does not exist now, creating it`);
        def = table.createOnTheFly(p.name, p.value !== "");
      }
      if (skipLinked && d.links?.some((l) => l.profile === def)) continue;
      table.link(d, def, def.hasValue ? p.value : "");
    }
  }
}

/** `parse_phostport` shapes: proto:host:port, host:port, proto:host, host — UDP when no proto. */
function withProto(s: string): string {
  if (s.startsWith("[")) return `udp:${s}`;
  const parts = s.split(":");
  if (parts.length >= 3) return s;
  if (parts.length === 2 && !/^\d+$/.test(parts[1]!)) return s;
  return `udp:${s}`;
}

/** A dialog's values, newest first (the order 1.10 writes them). */
function valuesNewestFirst(d: Dialog): { name: string; value: string }[] {
  if (!d.vals) return [];
  const out: { name: string; value: string }[] = [];
  for (const [name, v] of d.vals) out.push({ name, value: typeof v === "number" ? String(v) : v });
  return out.reverse();
}
