/**
 * Local listening sockets as OpenSIPS names and matches them (core socket_info.h/.c; spec
 * dialog.md §3.2, usrloc.md §2.5). tsips routes no SIP: a `socket=udp:…` line is recorded
 * (not bound) so replicated dialogs and contacts can name the same listener a real OpenSIPS
 * peer has, and their socket strings can be matched against ours as OpenSIPS does.
 *
 * Internal name (dialog record fields 9/10, usrloc contact socket): `proto:tag` for a tagged
 * socket, else `proto:address:port` (IPv6 in brackets). Real name (MI `*_bind_addr`):
 * always `proto:address:port`.
 */
import type { SocketDef } from "./cfg/ast.ts";

/** Protocols that carry SIP (a dialog's legs live on one of these). */
export const SIP_PROTOS: ReadonlySet<string> = new Set(["udp", "tcp", "tls", "sctp", "ws", "wss", "ipsec"]);

const DEFAULT_PORTS: Record<string, number> = {
  udp: 5060, tcp: 5060, sctp: 5060, ipsec: 5060, tls: 5061, ws: 80, wss: 443, bin: 5555, bins: 5556,
  hep_udp: 9060, hep_tcp: 9060, hep_tls: 9061, smpp: 2775, msrp: 2855, msrps: 2856,
};

export interface LocalSocket {
  proto: string;
  /** Address as configured (no brackets for IPv6). */
  host: string;
  port: number;
  tag: string | undefined;
  advHost: string | undefined;
  advPort: number | undefined;
  /** `proto:tag` or `proto:host:port` (record fields 9/10). @opensips sock_str */
  sockStr: string;
  /** `proto:host:port` (MI bind_addr). */
  realName: string;
  /** What MI shows for a contact's socket: the advertised `proto:host:port` if any, else the real name. */
  display: string;
}

function hostPart(h: string): string {
  return h.includes(":") ? `[${h}]` : h;
}

function stripBrackets(h: string): string {
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

/** Splits `proto:host[:port]` (IPv6 host in brackets); undefined when malformed. @opensips parse_phostport */
export function parseSocketString(s: string): { proto: string; host: string; port: number } | undefined {
  const c = s.indexOf(":");
  if (c <= 0) return undefined;
  const proto = s.slice(0, c).toLowerCase();
  const rest = s.slice(c + 1);
  if (rest.length === 0) return undefined;
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0) return undefined;
    const host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after === "") return { proto, host, port: 0 };
    if (!/^:\d{1,5}$/.test(after)) return undefined;
    return { proto, host, port: Number(after.slice(1)) };
  }
  const colons = rest.split(":").length - 1;
  if (colons === 0) return { proto, host: rest, port: 0 };
  if (colons === 1) {
    const [host, port] = rest.split(":") as [string, string];
    if (!/^\d{1,5}$/.test(port) || host === "") return undefined;
    return { proto, host, port: Number(port) };
  }
  return { proto, host: rest, port: 0 }; // bare IPv6
}

/** The local listeners, from the config's socket lines. */
export class LocalSockets {
  readonly all: LocalSocket[];
  private readonly cache = new Map<string, LocalSocket | null>();
  /** By internal name, then by real name (first socket wins). */
  private readonly byNameMap = new Map<string, LocalSocket>();

  constructor(defs: readonly SocketDef[], private readonly advertisedAddress?: string) {
    this.all = defs.map((d) => {
      const proto = d.proto.toLowerCase();
      const host = stripBrackets(d.host);
      const port = d.port ?? DEFAULT_PORTS[proto] ?? 5060;
      const realName = `${proto}:${hostPart(host)}:${port}`;
      const advHost = d.as ? stripBrackets(d.as.host) : undefined;
      return {
        proto, host, port, tag: d.tag, advHost, advPort: d.as?.port,
        sockStr: d.tag ? `${proto}:${d.tag}` : realName, realName,
        display: advHost !== undefined ? `${proto}:${hostPart(advHost)}:${d.as?.port ?? port}` : realName,
      };
    });
    for (const si of this.all) if (!this.byNameMap.has(si.sockStr)) this.byNameMap.set(si.sockStr, si);
    for (const si of this.all) if (!this.byNameMap.has(si.realName)) this.byNameMap.set(si.realName, si);
  }

  /** The socket whose internal or real name is exactly `name`. @opensips parse_sock_info */
  byName(name: string): LocalSocket | undefined {
    return this.byNameMap.get(name);
  }

  /** The first SIP socket: what a locally created dialog's legs use by default. */
  defaultSip(): LocalSocket | undefined {
    return this.all.find((s) => SIP_PROTOS.has(s.proto));
  }

  /**
   * Matches a socket string from a replicated dialog against the local listeners
   * (`grep_sock_info`): same proto; host equal (case-insensitive) to the socket's address,
   * its advertised name or the global advertised address; port equal to the socket's or its
   * advertised port, or absent; with no port, a tag equal to the host also matches.
   */
  resolve(s: string): LocalSocket | undefined {
    const hit = this.cache.get(s);
    if (hit !== undefined) return hit ?? undefined;
    const found = this.match(s);
    if (this.cache.size < 1024) this.cache.set(s, found ?? null);
    return found;
  }

  private match(s: string): LocalSocket | undefined {
    if (s.length === 0) return undefined;
    const p = parseSocketString(s);
    if (!p) return undefined;
    const host = p.host.toLowerCase();
    for (const si of this.all) {
      if (si.proto !== p.proto) continue;
      if (p.port === 0 && si.tag !== undefined && si.tag.toLowerCase() === host) return si;
      if (p.port !== 0 && si.port !== p.port && si.advPort !== p.port) continue;
      if (si.host.toLowerCase() === host) return si;
      if (si.advHost !== undefined && si.advHost.toLowerCase() === host) return si;
      if (this.advertisedAddress !== undefined && this.advertisedAddress.toLowerCase() === host) return si;
    }
    return undefined;
  }
}
