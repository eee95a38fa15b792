/**
 * MI commands that send a generic message (tsips: OpenSIPS offers these only as script
 * functions; here they let an operator or a test exchange GENERIC_MSG packets by hand).
 * Requests answer with the tag, so the reply (E_CLUSTERER_RPL_RECEIVED) can be matched.
 */
import { MiError, type MiCommandDecl } from "tsips";
import {
  CLUSTERER_CURR_DISABLED, CLUSTERER_DEST_DOWN, CLUSTERER_SEND_SUCCESS, type ClusterSendResult, type ClustererApi,
} from "./api.ts";

const bad = (what: string): MiError => new MiError(400, `Bad value for '${what}'`);

function outcome(rc: ClusterSendResult, tag?: string): { tag: string } | string {
  if (rc === CLUSTERER_SEND_SUCCESS) return tag === undefined ? "OK" : { tag };
  if (rc === CLUSTERER_CURR_DISABLED) return "Local node disabled";
  if (rc === CLUSTERER_DEST_DOWN) throw new MiError(400, "Destination down");
  throw new MiError(400, "Send error");
}

function ids(p: Parameters<MiCommandDecl<ClustererApi>["run"]>[0], api: ClustererApi, withDest: boolean): { cid: number; dest: number } {
  const cid = p.int("cluster_id");
  if (cid < 1) throw bad("cluster_id");
  if (!withDest) return { cid, dest: -1 };
  const dest = p.int("destination");
  if (dest < 1) throw bad("destination");
  if (dest === api.myNodeId()) throw new MiError(400, "Local node specified as destination");
  return { cid, dest };
}

export const genericMi: Record<string, MiCommandDecl<ClustererApi>> = {
  cluster_send_req: {
    help: "send a request-like generic message (GENERIC_MSG) to a node; answers with its tag",
    params: [["cluster_id", "destination", "msg"], ["cluster_id", "destination", "msg", "tag"]],
    run(p, api) {
      const { cid, dest } = ids(p, api, true);
      const r = api.sendReq(cid, dest, p.str("msg"), p.optStr("tag"));
      return outcome(r.rc, r.tag);
    },
  },
  cluster_send_rpl: {
    help: "send a reply-like generic message with the request's tag to a node",
    params: [["cluster_id", "destination", "msg", "tag"]],
    run(p, api) {
      const { cid, dest } = ids(p, api, true);
      return outcome(api.sendRpl(cid, dest, p.str("msg"), p.str("tag")));
    },
  },
  cluster_broadcast_req: {
    help: "send a request-like generic message to every node of the cluster; answers with its tag",
    params: [["cluster_id", "msg"], ["cluster_id", "msg", "tag"]],
    run(p, api) {
      const { cid } = ids(p, api, false);
      const r = api.broadcastReq(cid, p.str("msg"), { ...(p.has("tag") ? { tag: p.str("tag") } : {}) });
      return outcome(r.rc, r.tag);
    },
  },
};
