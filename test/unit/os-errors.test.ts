/** Operational errors: the system's words for errno errors and the CLI's one line for a failed boot. */
import { constants } from "node:os";
import { describe, expect, it } from "vitest";
import { TsipsError } from "../../core/errors.ts";
import { bootFailureLine, listenError, readConfiguredFile, systemErrorText } from "../../core/os-errors.ts";

const errno = (code: keyof typeof constants.errno): NodeJS.ErrnoException =>
  Object.assign(new Error(`listen ${code}`), { code, errno: -constants.errno[code], syscall: "listen" });

describe("systemErrorText", () => {
  it("names the errors a listener meets in the system's words", () => {
    expect(systemErrorText(errno("EADDRINUSE"))).toBe("address already in use");
    expect(systemErrorText(errno("EACCES"))).toBe("permission denied");
    expect(systemErrorText(errno("EADDRNOTAVAIL"))).toBe("address not available");
    expect(systemErrorText(new Error("plain"))).toBe("plain");
  });
});

describe("listenError / readConfiguredFile", () => {
  const loc = { file: "node1.cfg", line: 7, col: 1 };
  it("formats as OpenSIPS prints it", () => {
    const e = listenError("bin:127.0.0.1:5555", errno("EADDRINUSE"), { module: "proto_bin", location: loc });
    expect(e.toString()).toBe("node1.cfg:7:1: proto_bin: cannot listen on bin:127.0.0.1:5555: address already in use [TSIPS_ERR_LISTEN]");
    expect((e.cause as NodeJS.ErrnoException).code).toBe("EADDRINUSE");
  });

  it("reports an unreadable file at the statement that named it", () => {
    expect(() => readConfiguredFile("/nonexistent/x.pem", "tls_cert_file", { module: "httpd", location: loc })).toThrow(expect.objectContaining({
      code: "TSIPS_ERR_FILE", message: 'cannot read tls_cert_file "/nonexistent/x.pem": no such file or directory', location: loc,
    }));
    expect(() => readConfiguredFile("/", "tls_key_file")).toThrow(/cannot read tls_key_file "\/": illegal operation on a directory/);
  });
});

describe("bootFailureLine", () => {
  const at = { file: "/abs/node1.cfg", line: 3, col: 1 };
  it("shows a module's operational error itself, located at its statement, never the stack", () => {
    const cause = listenError("bin:127.0.0.1:5555", errno("EADDRINUSE"), { module: "proto_bin", location: { ...at, line: 7 } });
    const wrapped = new TsipsError("TSIPS_ERR_MOD_INIT", "module proto_bin failed to initialise: ...", { module: "proto_bin", location: at, cause });
    const line = bootFailureLine(wrapped, (f) => f.replace("/abs/", ""));
    expect(line).toBe("ERROR: node1.cfg:7:1: proto_bin: cannot listen on bin:127.0.0.1:5555: address already in use [TSIPS_ERR_LISTEN]");
    expect(line).not.toContain("\n");
  });

  it("falls back to the loadmodule line when the module's error has no location", () => {
    const wrapped = new TsipsError("TSIPS_ERR_MOD_INIT", "x", { module: "httpd", location: at,
      cause: new TsipsError("TSIPS_ERR_LISTEN", "cannot listen on http:*:8888: permission denied") });
    expect(bootFailureLine(wrapped)).toBe("ERROR: /abs/node1.cfg:3:1: httpd: cannot listen on http:*:8888: permission denied [TSIPS_ERR_LISTEN]");
  });

  it("keeps a plain init failure as TSIPS_ERR_MOD_INIT, and any other error as its message", () => {
    const wrapped = new TsipsError("TSIPS_ERR_MOD_INIT", "module m failed to initialise: boom", { module: "m", location: at, cause: new Error("boom") });
    expect(bootFailureLine(wrapped)).toBe("ERROR: /abs/node1.cfg:3:1: m: module m failed to initialise: boom [TSIPS_ERR_MOD_INIT]");
    expect(bootFailureLine(new Error("odd"))).toBe("ERROR: odd");
  });
});
