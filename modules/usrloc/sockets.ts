/**
 * Local SIP sockets as usrloc sees them: a contact's socket travels as its internal name
 * (`proto:tag` if tagged, else `proto:ip:port`; spec/usrloc.md §2.5, dialog.md §3.2). A
 * received name that is not a local socket means "no socket".
 */
import type { SocketDef } from "../../core/index.ts";

const DEFAULT_PORTS: Record<string, number> = { udp: 5060, tcp: 5060, sctp: 5060, tls: 5061, ws: 80, wss: 443, bin: 5555, hep_udp: 9060, hep_tcp: 9060, smpp: 2775 };

function hostText(h: string): string {
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

interface LocalSocket {
  /** Internal name sent on the wire. */
  internal: string;
  /** What MI shows: the advertised `proto:host:port` if any, else the real one. */
  display: string;
}

export class SocketTable {
  private readonly byName = new Map<string, LocalSocket>();

  constructor(defs: readonly SocketDef[]) {
    for (const d of defs) {
      if (d.proto === "bin") continue;
      const port = d.port ?? DEFAULT_PORTS[d.proto] ?? 0;
      const real = `${d.proto}:${hostText(d.host)}:${port}`;
      const internal = d.tag ? `${d.proto}:${d.tag}` : real;
      const display = d.as ? `${d.proto}:${hostText(d.as.host)}:${d.as.port ?? port}` : real;
      const s: LocalSocket = { internal, display };
      if (!this.byName.has(internal)) this.byName.set(internal, s);
      if (!this.byName.has(real)) this.byName.set(real, s);
    }
  }

  /** The local socket's internal name for a received name, or "" when not local. @opensips parse_sock_info */
  resolve(name: string): string {
    if (name.length === 0) return "";
    return this.byName.get(name)?.internal ?? "";
  }

  display(internal: string): string {
    return this.byName.get(internal)?.display ?? internal;
  }
}
