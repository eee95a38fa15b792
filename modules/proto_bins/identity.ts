/**
 * The opt-in node identity check (tsips, beyond OpenSIPS; spec/bins-tls.md §3.3): with
 * `node_identity` set to a pattern such as `node{node_id}`, a peer certificate names the node
 * ids whose pattern equals its subject CN or one of its DNS/URI subjectAltNames
 * (case-insensitive). A connection may then speak only for those nodes.
 */
import type { PeerCertificate } from "node:tls";

/** Compiles `node{node_id}` into a matcher giving the node id a name stands for. */
export function identityMatcher(pattern: string): (name: string) => number | undefined {
  if (!pattern.includes("{node_id}")) throw new Error(`node_identity "${pattern}" must contain {node_id}`);
  const parts = pattern.split("{node_id}").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`^${parts.join("([0-9]{1,10})")}$`, "i");
  return (name) => {
    const m = re.exec(name);
    if (!m) return undefined;
    const ids = m.slice(1).map(Number);
    return ids.every((x) => x === ids[0]) ? ids[0] : undefined;
  };
}

/** CN and DNS/URI subjectAltNames of a certificate. */
export function certNames(cert: PeerCertificate | undefined): string[] {
  if (!cert || !cert.subject) return [];
  const out: string[] = [];
  const cn = cert.subject.CN;
  if (typeof cn === "string") out.push(cn);
  else if (Array.isArray(cn)) out.push(...(cn as string[]));
  for (const part of (cert.subjectaltname ?? "").split(", ")) {
    const m = /^(DNS|URI):(.*)$/.exec(part);
    if (m) out.push(m[2]!);
  }
  return out;
}

/** The node ids a certificate names under the pattern. */
export function certNodeIds(cert: PeerCertificate | undefined, match: (name: string) => number | undefined): number[] {
  const ids = new Set<number>();
  for (const n of certNames(cert)) {
    const id = match(n);
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}
