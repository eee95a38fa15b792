/**
 * Local SIP sockets as usrloc sees them: a contact's socket travels as its internal name
 * (`proto:tag` if tagged, else `proto:ip:port`; spec/usrloc.md §2.5). A received name that
 * is not exactly a local socket's internal or real name means "no socket". BIN listeners
 * never carry contacts.
 */
import { LocalSockets, type SocketDef } from "tsips";

export class SocketTable {
  private readonly local: LocalSockets;

  constructor(defs: readonly SocketDef[]) {
    this.local = new LocalSockets(defs.filter((d) => d.proto !== "bin"));
  }

  /** The local socket's internal name for a received name, or "" when not local. @opensips parse_sock_info */
  resolve(name: string): string {
    if (name.length === 0) return "";
    return this.local.byName(name)?.sockStr ?? "";
  }

  display(internal: string): string {
    return this.local.byName(internal)?.display ?? internal;
  }
}
