/**
 * The GENERIC_MSG part of the clusterer API for the in-process fake clusterers: they cannot
 * send generic messages, so every call answers "destination unreachable" (-2), as the real
 * clusterer does for a node it cannot reach.
 */
export const noGenericMessages = {
  sendReq: (): { rc: -2; tag: string } => ({ rc: -2, tag: "" }),
  sendRpl: (): -2 => -2,
  broadcastReq: (): { rc: -2; tag: string } => ({ rc: -2, tag: "" }),
} as const;
