/**
 * Full-sharing replication through the clusterer API (spec/usrloc.md §1, §3–§6,
 * OpenSIPS ul_cluster.c): every local change goes out once with `sendAll`; received packets
 * and sync chunks are applied with the receive semantics of §4 and never re-broadcast.
 */
import { coreHash, createVersionGuard, isTsipsError, type BinPacket, type Stat, type TsipsLogger, type VersionGuard } from "tsips";
import type { ClustererApi, ClusterEvent } from "../clusterer/api.ts";
import { CLABEL_MASK, nextClabel, packIdHi, packIdLo } from "./contact-id.ts";
import { kvCanonical, kvParse, kvSerialize } from "./kv.ts";
import {
  UL_CAPABILITY, UL_BIN_VERSION, UL_SYNC_PACKET_TYPE,
  REPL_URECORD_INSERT, REPL_URECORD_DELETE, REPL_UCONTACT_INSERT, REPL_UCONTACT_UPDATE, REPL_UCONTACT_DELETE,
  UlMessages, SyncChunksByVersion,
  type CtMatch, type UcontactInsertRec, type UcontactUpdateRec, type UcontactDeleteRec, type UrecordInsertRec,
  type UrecordDeleteRec, type SyncChunk,
} from "./messages.ts";
import {
  FL_MEM, GC_FOUND, GC_NOT_FOUND, GC_OLDER, GC_SAME, MATCH_CONTACT_CALLID,
  type Ci, type LocationStore, type ReplicationSink, type Ucontact, type Udomain, type Urecord,
} from "./store.ts";
import type { ChangeOrigin } from "./api.ts";

export interface ReplicationStats {
  /** Packets and sync chunks applied. */
  received: Stat;
  /** Packets dropped: bad version, malformed, unknown domain, empty AoR. */
  dropped: Stat;
  /** Packets handed to the clusterer. */
  sent: Stat;
}

export interface ReplicationOptions {
  clusterId: number;
  /** Contact inserts/updates/deletes are replicated (cluster_mode full-sharing). */
  contactRepl: boolean;
  /** Startup sync (restart_persistency sync-from-cluster). */
  startupSync: boolean;
  skipReplicatedDbOps: boolean;
  log: TsipsLogger;
  stats: ReplicationStats;
}

const SYNC_MATCH: CtMatch = MATCH_CONTACT_CALLID;

/** Thrown for packets the handlers reject (logged and counted, like OpenSIPS's LM_ERR + return -1). */
class DropPacket extends Error {}

export class UsrlocReplication implements ReplicationSink {
  private readonly found: { c: Ucontact | null } = { c: null };
  /** The AoR the last AoR insert created (the next contact insert is usually for it). */
  private lastRecord: Urecord | undefined;
  private readonly scratch: UcontactInsertRec = {
    domain: "", aor: "", contact: "", contactId: 0n, callid: "", userAgent: "", path: "", attr: "", received: "",
    instance: "", expires: 0, q: 0, socket: "", cseq: 0, flags: 0, cflags: "", cflagsBits: 0, methods: 0,
    lastModified: 0, kv: "", match: SYNC_MATCH,
  };
  /** Reused contact info for received contacts (the store copies what it keeps). */
  private readonly ci: Ci = {
    hasId: true, idHi: 0, idLo: 0, callid: "", userAgent: "", socket: "", expires: 0, q: 0, cseq: 0, flags: 0,
    cflags: 0, methods: 0, lastModified: 0, path: "", attr: "", received: "", instance: "", kv: "", regId: 0,
  };

  /** Drops packets of a version usrloc does not accept: counted, logged once per version. */
  private readonly versionGuard: VersionGuard;

  constructor(
    private readonly store: LocationStore,
    private readonly cl: ClustererApi,
    private readonly opts: ReplicationOptions,
  ) {
    this.versionGuard = createVersionGuard(opts.log, opts.stats.dropped);
  }

  /** Registers the capability and, with sync-from-cluster, asks for a sync (`ul_init_cluster`). */
  register(): void {
    this.cl.registerCapability({
      capability: UL_CAPABILITY,
      clusterId: this.opts.clusterId,
      onPacket: (pkt, type, src) => this.onPacket(pkt, type, src),
      onEvent: (ev) => this.onEvent(ev),
      startupSync: this.opts.startupSync,
      syncCond: "any",
      digestKeys: () => this.contactKeys(),
    });
    if (this.opts.startupSync && this.cl.requestSync(UL_CAPABILITY, this.opts.clusterId) < 0) {
      this.opts.log.error("Sync request failed");
    }
  }

  /** One key per contact (domain, AoR, contact URI): what clusterer_cap_digest hashes. */
  private *contactKeys(): Generator<string> {
    for (const d of this.store.domains) {
      for (let i = 0; i < d.size; i++) {
        if (!d.slots[i]) continue;
        for (const r of d.slotRecords(i)) for (let c = r.contacts; c; c = c.next) yield `${d.name}\u0000${r.aor}\u0000${c.uri}`;
      }
    }
  }

  /** MI ul_cluster_sync. */
  requestSync(): 0 | 1 | -1 {
    return this.cl.requestSync(UL_CAPABILITY, this.opts.clusterId);
  }

  // ── sending ─────────────────────────────────────────────────────────

  private send(pkt: BinPacket, what: string): void {
    const rc = this.cl.sendAll(pkt, this.opts.clusterId);
    this.opts.stats.sent.inc();
    if (rc === 0) return;
    const log = this.opts.log;
    if (rc === 1) log.info(`Current node is disabled in cluster: ${this.opts.clusterId}`);
    else if (rc === -1) log.info(`All destinations in cluster: ${this.opts.clusterId} are down or probing`);
    else log.error(`Error sending in cluster: ${this.opts.clusterId}`);
    log.error(`replicate ${what} failed`);
  }

  aorInsert(d: Udomain, r: Urecord): void {
    this.send(UlMessages.UrecordInsert.encode(aorValues(d, r)), "urecord insert");
  }

  aorDelete(d: Udomain, r: Urecord): void {
    this.send(UlMessages.UrecordDelete.encode({ domain: d.name, aor: r.aor }), "urecord delete");
  }

  contactInsert(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): void {
    if (!this.opts.contactRepl) return;
    this.send(UlMessages.UcontactInsert.encode(this.contactValues(d, r, c, match)), "ucontact insert");
  }

  contactUpdate(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): void {
    if (!this.opts.contactRepl) return;
    this.send(UlMessages.UcontactUpdate.encode(this.contactValues(d, r, c, match)), "ucontact update");
  }

  contactDelete(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): void {
    if (!this.opts.contactRepl) return;
    this.send(UlMessages.UcontactDelete.encode({ domain: d.name, aor: r.aor, contact: c.uri, callid: c.callid, cseq: c.cseq, match }),
      "ucontact delete");
  }

  /**
   * The fields of `bin_push_contact` for a stored contact, in one reused object (encoding
   * reads it synchronously).
   */
  contactValues(d: Udomain, r: Urecord, c: Ucontact, match: CtMatch): UcontactInsertRec {
    const x = c.ext;
    const v = this.scratch;
    v.domain = d.name;
    v.aor = r.aor;
    v.contact = c.uri;
    v.contactId = c.contactId;
    v.callid = c.callid;
    v.userAgent = c.userAgent;
    v.path = x ? x.path : "";
    v.attr = x ? x.attr : "";
    v.received = x ? x.received : "";
    v.instance = x ? x.instance : "";
    v.expires = c.expires;
    v.q = c.q;
    v.socket = c.socket;
    v.cseq = c.cseq;
    v.flags = c.flags;
    v.cflags = this.store.cfg.flags.toNames(c.cflags);
    v.cflagsBits = c.cflags;
    v.methods = c.methods;
    v.lastModified = c.lastModified;
    v.kv = x ? x.kv : "";
    v.match = match;
    return v;
  }

  // ── sync (donor) ─────────────────────────────────────────────────────

  /**
   * Answers a sync request (`receive_sync_request`): for every domain, slot and AoR (empty
   * ones and expired contacts included) one AoR chunk, then one chunk per contact.
   */
  pushSync(nodeId: number): number {
    const chunk = SyncChunksByVersion.get(UL_BIN_VERSION)!;
    const cl = this.cl;
    const cid = this.opts.clusterId;
    let n = 0;
    // One reusable holder; pushFields reads it synchronously.
    const holder: { chunk: SyncChunk } = { chunk: { kind: "aor", record: { domain: "", aor: "", label: 0, nextClabel: 0, kv: "" } } };
    for (const d of this.store.domains) {
      for (let i = 0; i < d.size; i++) {
        if (!d.slots[i]) continue;
        for (const r of d.slotRecords(i)) {
          holder.chunk = { kind: "aor", record: aorValues(d, r) };
          chunk.pushFields(cl.syncChunkStart(UL_CAPABILITY, cid, nodeId, UL_BIN_VERSION), holder);
          n++;
          for (let c = r.contacts; c; c = c.next) {
            holder.chunk = { kind: "contact", record: this.contactValues(d, r, c, SYNC_MATCH) };
            chunk.pushFields(cl.syncChunkStart(UL_CAPABILITY, cid, nodeId, UL_BIN_VERSION), holder);
            n++;
          }
        }
      }
    }
    return n;
  }

  private onEvent(ev: ClusterEvent): void {
    if (ev.kind === "sync-request") {
      try {
        const n = this.pushSync(ev.nodeId);
        this.opts.log.debug({ node: ev.nodeId, chunks: n }, "usrloc sync data sent");
      } catch (err) {
        this.opts.log.error({ err }, `Failed to send sync data to node: ${ev.nodeId}`);
      }
    } else if (ev.kind === "sync-done") {
      this.opts.log.info({ node: ev.nodeId, chunks: ev.chunks }, "usrloc sync from cluster done");
    }
  }

  // ── receiving ────────────────────────────────────────────────────────

  /** `receive_binary_packets`. */
  onPacket(pkt: BinPacket, type: number, src: number): void {
    const version = pkt.version;
    // Every usrloc type accepts versions 2..5 (receive_binary_packets).
    if (!this.versionGuard.check(pkt, UlMessages.UcontactInsert)) return;
    try {
      switch (type) {
        case REPL_URECORD_INSERT:
          this.recvUrecordInsert(UlMessages.UrecordInsert.decode(pkt), version, "replicated");
          break;
        case REPL_URECORD_DELETE:
          this.recvUrecordDelete(UlMessages.UrecordDelete.decode(pkt));
          break;
        case REPL_UCONTACT_INSERT:
          this.recvUcontactInsert(UlMessages.UcontactInsert.decode(pkt), version, "replicated");
          break;
        case REPL_UCONTACT_UPDATE:
          this.recvUcontactUpdate(UlMessages.UcontactUpdate.decode(pkt), version);
          break;
        case REPL_UCONTACT_DELETE:
          this.recvUcontactDelete(UlMessages.UcontactDelete.decode(pkt));
          break;
        case UL_SYNC_PACKET_TYPE:
          this.recvSync(pkt, version, src);
          return;
        default:
          throw new DropPacket(`invalid usrloc binary packet type: ${type}`);
      }
      this.opts.stats.received.inc();
    } catch (err) {
      this.drop(err, type, src);
    }
  }

  private drop(err: unknown, type: number, src: number): void {
    this.opts.stats.dropped.inc();
    if (err instanceof DropPacket) this.opts.log.error({ type, src }, `failed to process usrloc packet: ${err.message}`);
    else if (isTsipsError(err)) this.opts.log.error({ type, src, code: err.code }, `dropped usrloc packet: ${err.message}`);
    else this.opts.log.error({ type, src, err }, "failed to process usrloc packet");
  }

  /** Type 101: one AoR or contact per chunk; a bad chunk is skipped, the others applied. */
  private recvSync(pkt: BinPacket, version: number, src: number): void {
    const decl = SyncChunksByVersion.get(version)!;
    while (this.cl.syncChunkIter(pkt)) {
      try {
        const { chunk } = decl.popFields(pkt, version);
        if (chunk.kind === "aor") this.recvUrecordInsert(chunk.record, version, "sync");
        else this.recvUcontactInsert(chunk.record, version, "sync");
        this.opts.stats.received.inc();
      } catch (err) {
        this.drop(err, UL_SYNC_PACKET_TYPE, src);
      }
    }
  }

  private domainFor(name: string, aor: string): Udomain {
    if (aor.length === 0) throw new DropPacket("the AoR URI is missing the 'username' part!");
    const d = this.store.domain(name);
    if (!d) throw new DropPacket(`domain '${name}' is not local`);
    return d;
  }

  /** AoR insert: nothing if the AoR exists; else created with the sender's labels (and v5 kv store). */
  recvUrecordInsert(rec: UrecordInsertRec, version: number, origin: ChangeOrigin): void {
    const d = this.domainFor(rec.domain, rec.aor);
    const h = coreHash(rec.aor);
    if (d.getH(rec.aor, h)) return;
    const r = this.store.insertRecord(d, rec.aor, origin, rec.label, rec.nextClabel, h);
    this.lastRecord = r;
    if (version >= 5 && rec.kv.length > 0) {
      const o = kvParse(rec.kv);
      if (o) r.kvJson = kvSerialize(o);
      // OpenSIPS logs "bad JSON input or oom" for the usual empty store and goes on.
    }
  }

  recvUrecordDelete(rec: UrecordDeleteRec): void {
    const d = this.domainFor(rec.domain, rec.aor);
    this.store.deleteRecord(d, rec.aor, "replicated");
  }

  private ciFrom(rec: UcontactInsertRec | UcontactUpdateRec, version: number): Ci {
    const cfg = this.store.cfg;
    const ci = this.ci;
    const id = rec.contactId;
    ci.hasId = true;
    ci.idHi = Number(id >> 32n) | 0;
    ci.idLo = Number(id & 0xffffffffn) | 0;
    ci.callid = rec.callid;
    ci.userAgent = rec.userAgent;
    ci.socket = cfg.sockets.resolve(rec.socket);
    ci.expires = rec.expires;
    ci.q = rec.q;
    ci.cseq = rec.cseq;
    ci.flags = this.opts.skipReplicatedDbOps ? rec.flags | FL_MEM : rec.flags;
    ci.cflags = version <= 3 ? rec.cflagsBits : cfg.flags.toMask(rec.cflags);
    ci.methods = rec.methods;
    ci.lastModified = rec.lastModified;
    ci.path = rec.path;
    ci.attr = rec.attr;
    ci.received = rec.received;
    ci.instance = rec.instance;
    ci.kv = rec.kv.length > 0 ? kvCanonical(rec.kv) : "";
    ci.regId = 0;
    return ci;
  }

  /** Contact insert (also every contact sync chunk), spec §4. */
  recvUcontactInsert(rec: UcontactInsertRec, version: number, origin: ChangeOrigin): void {
    const d = this.domainFor(rec.domain, rec.aor);
    const ci = this.ciFrom(rec, version);
    const clabel = ci.idLo & CLABEL_MASK;
    const store = this.store;
    // In a sync the contact chunks follow their AoR's chunk: reuse its hash.
    const last = this.lastRecord;
    const h = last && last.aor === rec.aor ? last.aorhash : coreHash(rec.aor);
    let r = d.getH(rec.aor, h);
    if (!r) {
      if (origin !== "sync") this.opts.log.info(`failed to fetch local urecord - creating new one (ci: '${rec.callid}')`);
      r = store.insertRecord(d, rec.aor, origin, rlabelOf(ci), 0, h);
    }
    const found = this.found;
    const rc = store.getContact(r, rec.contact, rec.callid, rec.cseq, rec.match, found);
    if (rc === GC_FOUND) {
      setId(ci, r, found.c!.clabel);
      store.updateContact(d, r, found.c!, ci, rec.match, origin);
    } else if (rc === GC_NOT_FOUND) {
      let cl = clabel;
      if (cl >= r.nextClabel) {
        r.nextClabel = nextClabel(cl);
      } else {
        cl = r.nextClabel;
        r.nextClabel = nextClabel(r.nextClabel);
      }
      setId(ci, r, cl);
      store.insertContact(d, r, rec.contact, ci, rec.match, origin);
    }
    // GC_SAME / GC_OLDER: consistent with or older than what we have.
    found.c = null;
  }

  /** Contact update, spec §4: an unknown AoR or contact is inserted with the received id. */
  recvUcontactUpdate(rec: UcontactUpdateRec, version: number): void {
    const d = this.domainFor(rec.domain, rec.aor);
    const ci = this.ciFrom(rec, version);
    const clabel = ci.idLo & CLABEL_MASK;
    const store = this.store;
    const h = coreHash(rec.aor);
    let r = d.getH(rec.aor, h);
    if (!r) {
      this.opts.log.info(`failed to fetch local urecord - create new record and contact (ci: '${rec.callid}')`);
      r = store.insertRecord(d, rec.aor, "replicated", rlabelOf(ci), 0, h);
      store.insertContact(d, r, rec.contact, ci, rec.match, "replicated");
      if (r.nextClabel <= clabel) r.nextClabel = nextClabel(clabel);
      return;
    }
    const found = this.found;
    const rc = store.getContact(r, rec.contact, rec.callid, rec.cseq + 1, rec.match, found);
    if (rc === GC_NOT_FOUND) {
      this.opts.log.info(`contact '${rec.contact}' not found, inserting new (ci: '${rec.callid}')`);
      store.insertContact(d, r, rec.contact, ci, rec.match, "replicated");
      if (r.nextClabel <= clabel) r.nextClabel = nextClabel(clabel);
    } else if (rc === GC_FOUND) {
      store.updateContact(d, r, found.c!, ci, rec.match, "replicated");
    }
    found.c = null;
  }

  /** Contact delete, spec §4 (matched with CSeq+1). */
  recvUcontactDelete(rec: UcontactDeleteRec): void {
    const d = this.domainFor(rec.domain, rec.aor);
    const r = d.get(rec.aor);
    if (!r) {
      this.opts.log.info(`failed to fetch local urecord - ignoring request (ci: '${rec.callid}')`);
      return;
    }
    const found = this.found;
    const rc = this.store.getContact(r, rec.contact, rec.callid, rec.cseq + 1, rec.match, found);
    const c = found.c;
    found.c = null;
    if (rc === GC_OLDER || rc === GC_SAME) {
      this.opts.log.error(`contact '${rec.contact}' found, but DEL too old: (rc: ${rc}, ci: '${rec.callid}')`);
      return;
    }
    if (rc === GC_NOT_FOUND || !c) {
      this.opts.log.debug(`contact '${rec.contact}' already deleted: (ci: '${rec.callid}')`);
      return;
    }
    if (this.opts.skipReplicatedDbOps) c.flags |= FL_MEM;
    this.store.deleteContact(d, r, c, rec.match, "replicated");
  }
}

/** Record label bits of a contact id held as halves. */
function rlabelOf(ci: Ci): number {
  return ((ci.idLo >>> 14) | ((ci.idHi & 0x3fff) << 18)) >>> 0;
}

/** Contact id rebuilt from the local aorhash, the record label and `clabel`. */
function setId(ci: Ci, r: Urecord, clabel: number): void {
  ci.idHi = packIdHi(r.aorhash, r.label);
  ci.idLo = packIdLo(r.label, clabel);
}

function aorValues(d: Udomain, r: Urecord): UrecordInsertRec {
  return { domain: d.name, aor: r.aor, label: r.label | 0, nextClabel: r.nextClabel, kv: r.kvJson };
}
