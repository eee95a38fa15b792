/**
 * Test certificates, made at test time with the `openssl` CLI in a temp folder (nothing
 * committed, so nothing expires in the repo): the example CA and node certificates
 * (examples/tls/make-certs.sh), plus the bad ones the failure tests need — a certificate
 * from another CA, an expired one (dates in the past, via `openssl ca -startdate/-enddate`,
 * which OpenSSL 3.0 supports; `x509 -not_before` needs 3.4), and a serverAuth-only one.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const MAKE_CERTS = resolve(import.meta.dirname, "../../examples/tls/make-certs.sh");

export interface TestCerts {
  dir: string;
  ca: string;
  /** `<name>.pem` / `<name>.key` paths. */
  cert(name: string): string;
  key(name: string): string;
  cleanup(): void;
}

function ossl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** Signs `name` with the example CA using `openssl ca` (lets the dates and EKU be chosen). */
function caSign(dir: string, name: string, opts: { eku: string; startdate?: string; enddate?: string }): void {
  const db = join(dir, "cadb");
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, "index.txt"), "");
  writeFileSync(join(db, "serial"), `${Date.now().toString(16).padStart(16, "0")}\n`);
  writeFileSync(join(dir, `${name}.cnf`), [
    "[ca]", "default_ca=tca", "[tca]", `dir=${db}`, "database=$dir/index.txt", "serial=$dir/serial",
    `new_certs_dir=${db}`, "default_md=sha256", "policy=any", "unique_subject=no", "copy_extensions=none",
    "default_days=3650", "x509_extensions=ext",
    "[any]", "O=optional", "CN=supplied",
    "[ext]", "basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", `extendedKeyUsage=${opts.eku}`,
    `subjectAltName=DNS:${name},IP:127.0.0.1`, "",
  ].join("\n"));
  ossl(dir, ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/O=tsips test/CN=${name}`]);
  ossl(dir, ["ca", "-batch", "-config", `${name}.cnf`, "-cert", "ca.pem", "-keyfile", "ca.key", "-in", `${name}.csr`,
    "-out", `${name}.pem`, "-notext",
    ...(opts.startdate ? ["-startdate", opts.startdate] : []), ...(opts.enddate ? ["-enddate", opts.enddate] : [])]);
}

/**
 * node1..node3 (+ extra names) from the example CA; `rogue` from its own CA; `expired`
 * (valid 2020-01-01..2020-01-02); `serveronly` (EKU serverAuth only).
 */
export function makeTestCerts(extraNodes: string[] = []): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "tsips-certs-"));
  execFileSync("sh", [MAKE_CERTS, dir, "node1", "node2", "node3", ...extraNodes], { stdio: ["ignore", "ignore", "pipe"] });
  const rogue = join(dir, "rogue");
  execFileSync("sh", [MAKE_CERTS, rogue, "rogue"], { stdio: ["ignore", "ignore", "pipe"] });
  for (const ext of ["pem", "key"]) writeFileSync(join(dir, `rogue.${ext}`), readFileSync(join(rogue, `rogue.${ext}`)));
  caSign(dir, "expired", { eku: "serverAuth,clientAuth", startdate: "20200101000000Z", enddate: "20200102000000Z" });
  caSign(dir, "serveronly", { eku: "serverAuth" });
  return {
    dir,
    ca: join(dir, "ca.pem"),
    cert: (n) => join(dir, `${n}.pem`),
    key: (n) => join(dir, `${n}.key`),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
