/**
 * `db_url` parsing as OpenSIPS does it (db/db_id.c `parse_db_url`; spec/db.md §1.1–§1.2):
 * `scheme://[user[:password]@]host[:port]/database[?parameters]`, every part %-unescaped.
 * db_sqlite's file name is everything after the first 8 bytes `sqlite:/`, taken verbatim.
 */
export interface DbUrl {
  scheme: string;
  user: string;
  password: string;
  host: string;
  /** 0 = the driver's default. */
  port: number;
  database: string;
  /** Text after the first `?` of the database part (driver specific), "" if none. */
  parameters: string;
  /** The URL with the password replaced by `***` (for logs and errors). */
  safe: string;
}

export class DbUrlError extends Error {}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The module an URL binds to: `db_<scheme>` (db.c `db_bind_mod`); "" when there is no `:`. */
export function dbUrlScheme(url: string): string {
  const i = url.indexOf(":");
  return i > 0 ? url.slice(0, i) : "";
}

export function hidePassword(url: string): string {
  const m = /^([^:]+:\/\/[^:@/]*:)([^@]*)@/.exec(url);
  return m ? `${m[1]}***@${url.slice(m[0].length)}` : url;
}

/** @opensips parse_db_url. Throws DbUrlError("error while parsing database URL ...") like OpenSIPS. */
export function parseDbUrl(url: string): DbUrl {
  const bad = (why: string): never => {
    throw new DbUrlError(`error while parsing database URL '${hidePassword(url)}': ${why}`);
  };
  if (url.length < 7) bad("too short (the shortest is s://a/b)");
  const colon = url.indexOf(":");
  if (colon <= 0) bad("no scheme");
  const scheme = url.slice(0, colon);
  if (url.slice(colon + 1, colon + 3) !== "//") bad("the scheme must be followed by '//'");
  let rest = url.slice(colon + 3);
  let user = "";
  let password = "";
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const cred = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const c = cred.indexOf(":");
    if (c >= 0) {
      user = cred.slice(0, c);
      password = cred.slice(c + 1);
    } else user = cred;
  }
  let hostPort: string;
  let dbPart: string;
  if (rest.startsWith("unix(")) {
    const close = rest.indexOf(")");
    if (close < 0) bad("unix( without )");
    let after = rest.slice(close + 1);
    // tsips: `unix(/dir):port` picks the socket file .s.PGSQL.<port> in that folder.
    const pm = /^:(\d+)/.exec(after);
    hostPort = rest.slice(0, close + 1);
    if (pm) {
      hostPort += pm[0];
      after = after.slice(pm[0].length);
    }
    if (!after.startsWith("/")) bad("no '/' before the database name");
    dbPart = after.slice(1);
  } else {
    const slash = rest.indexOf("/", rest.startsWith("[") ? rest.indexOf("]") : 0);
    if (slash < 0) bad("no '/' before the database name");
    hostPort = rest.slice(0, slash);
    dbPart = rest.slice(slash + 1);
  }
  let host = hostPort;
  let port = 0;
  const unix = /^unix\((.*)\)(?::(\d+))?$/.exec(hostPort);
  if (unix) {
    host = unix[1]!;
    if (unix[2]) port = Number(unix[2]);
  }
  else {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
    if (!m) bad(`bad host '${hostPort}'`);
    host = m![1]!;
    if (m![2]) port = Number(m![2]);
    if (port > 65535) bad(`bad port ${port}`);
  }
  let parameters = "";
  const q = dbPart.indexOf("?");
  if (q >= 0) {
    parameters = dbPart.slice(q + 1);
    dbPart = dbPart.slice(0, q);
  }
  return {
    scheme,
    user: unescape(user),
    password: unescape(password),
    host: unescape(host),
    port,
    database: unescape(dbPart),
    parameters,
    safe: hidePassword(url),
  };
}

/**
 * db_sqlite's file: the URL after its first 8 bytes (`sqlite:/`), verbatim, so
 * `sqlite:///var/x.db` opens `//var/x.db` (= `/var/x.db`). The generic parser must accept the URL too.
 */
export function sqliteFile(url: string): string {
  parseDbUrl(url);
  if (!url.startsWith("sqlite:/")) throw new DbUrlError(`'${url}' is not an sqlite:// URL`);
  const file = url.slice(8);
  // POSIX treats a leading "//" as "/"; node does too, but say it plainly in logs.
  return file.startsWith("//") ? file.slice(1) : file;
}
