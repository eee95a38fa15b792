/**
 * dialog: call dialogs kept in a hash table with lifetimes, profiles and values, replicated
 * to the other nodes of a cluster byte-identically to OpenSIPS 3.6.8 (`dialog-dlg-repl`,
 * `dialog-prof-repl`; spec/dialog.md). tsips routes no SIP: dialogs are created and driven
 * through the module API (`api.ts`) and MI (`dlg_create`, `dlg_set_state`, ...).
 */
import { defineModule, need, TsipsError, type DepSpec, type StatDecl } from "tsips";
import type { ClustererApi } from "../clusterer/api.ts";
import { floorPow2 } from "./hash-size.ts";
import { DialogEngine, type DialogStatName } from "./engine.ts";
import { DIALOG_EVENTS, raiseDialogStateEvent } from "./evi.ts";
import { dialogMessages } from "./messages.ts";
import { dialogMi } from "./mi.ts";
import { dialogParams } from "./params.ts";
import { ProfileDefinitionError } from "./profiles.ts";

const stats: Record<DialogStatName, StatDecl> = {
  active_dialogs: { kind: "gauge", doc: "dialogs in state 3 or 4 (confirmed)" },
  early_dialogs: { kind: "gauge", doc: "dialogs in state 2 (early)" },
  processed_dialogs: { doc: "dialogs created here or received from the cluster" },
  expired_dialogs: { doc: "dialogs ended by their lifetime on this node (the owner)" },
  failed_dialogs: { doc: "dialogs ended before they were confirmed" },
  create_sent: { doc: "CREATED packets sent" },
  update_sent: { doc: "UPDATED packets sent" },
  delete_sent: { doc: "DELETED packets sent" },
  create_recv: { doc: "CREATED packets applied" },
  update_recv: { doc: "UPDATED packets applied" },
  delete_recv: { doc: "DELETED packets applied" },
  repl_dropped: { doc: "tsips: dialog/profile packets dropped (bad version, unknown type, malformed, rejected)" },
};

const replicationOn = (p: Record<string, unknown>): boolean =>
  (p["dialog_replication_cluster"] as number) > 0 || (p["profile_replication_cluster"] as number) > 0;

export default defineModule<typeof dialogParams, { clusterer: DepSpec<ClustererApi, true> }, DialogStatName, DialogEngine>({
  name: "dialog",
  version: "1.0.0",
  doc: "dialogs with lifetimes, profiles and values, replicated over the cluster (OpenSIPS 3.6.8 compatible)",
  params: dialogParams,
  deps: { clusterer: need<ClustererApi>("clusterer", { when: replicationOn }) },
  stats,
  messages: dialogMessages,
  events: DIALOG_EVENTS,
  mi: dialogMi,
  init(ctx) {
    const p = ctx.params;
    const hashSize = floorPow2(p.hash_size);
    if (hashSize !== p.hash_size) ctx.log.warn(`hash_size ${p.hash_size} is not a power of 2, using ${hashSize}`);
    const clusterer = ctx.deps.clusterer;
    const adv = ctx.core.globals.get("advertised_address");
    const enable = p.enable_stats !== 0;
    let engine: DialogEngine;
    try {
      engine = new DialogEngine({
        params: { ...p, hash_size: hashSize },
        clusterer,
        log: ctx.log,
        sockets: ctx.core.sockets,
        ...(adv && adv.kind !== "int" ? { advertisedAddress: adv.value } : {}),
        ...(enable ? { stats: Object.fromEntries(Object.keys(stats).map((n) => [n, ctx.stats.get(n as DialogStatName)])) } : {}),
      });
    } catch (err) {
      if (err instanceof ProfileDefinitionError) throw new TsipsError("TSIPS_ERR_PARAM_VALUE", err.message, { module: "dialog", cause: err });
      throw err;
    }
    if (enable) {
      ctx.stats.gauge("active_dialogs", () => engine.counts().active);
      ctx.stats.gauge("early_dialogs", () => engine.counts().early);
    }
    if (clusterer) engine.benchPrefix = `bench-${clusterer.myNodeId()}`;
    engine.on(["state", "terminated"], (ev) => raiseDialogStateEvent(ctx.events, ev));
    engine.start();
    const sip = engine.sockets.defaultSip();
    ctx.log.info({ hash_size: hashSize, profiles: engine.profilesTable.defs.map((d) => d.fullName), socket: sip?.sockStr,
      dialog_replication_cluster: engine.dlgRepl ? p.dialog_replication_cluster : 0,
      profile_replication_cluster: engine.profRepl ? p.profile_replication_cluster : 0 }, "dialog module initialised");
    return engine;
  },
  destroy(_ctx, api) {
    api?.stop();
  },
});
