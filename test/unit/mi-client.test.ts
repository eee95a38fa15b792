import { describe, expect, it } from "vitest";
import { parseCommandLine, UsageError } from "../../scripts/mi-client.ts";

const env = {};
describe("mi-client command line", () => {
  it("defaults the URL and sends no params for a bare command", () => {
    expect(parseCommandLine(["uptime"], env)).toEqual({ url: "http://127.0.0.1:8888/mi", json: false, method: "uptime", params: undefined });
    expect(parseCommandLine(["uptime"], { TSIPS_MI_URL: "http://h:1/x" })).toMatchObject({ url: "http://h:1/x" });
  });

  it("takes -u/--url and --json before the command", () => {
    expect(parseCommandLine(["-u", "http://127.0.0.1:9/mi", "--json", "ps"], env)).toMatchObject({ url: "http://127.0.0.1:9/mi", json: true, method: "ps" });
    expect(parseCommandLine(["--url=http://x/mi", "ps"], env)).toMatchObject({ url: "http://x/mi" });
    expect(parseCommandLine(["-h"], env)).toBe("help");
  });

  it("sends values as positional strings, name=value as named strings, name:=JSON raw", () => {
    expect(parseCommandLine(["which", "uptime"], env)).toMatchObject({ params: ["uptime"] });
    expect(parseCommandLine(["log_level", "4", "-1"], env)).toMatchObject({ params: ["4", "-1"] });
    expect(parseCommandLine(["help", "mi_cmd=uptime"], env)).toMatchObject({ params: { mi_cmd: "uptime" } });
    expect(parseCommandLine(["ul_add", "expires:=3600", "aor=a=b"], env)).toMatchObject({ params: { expires: 3600, aor: "a=b" } });
    expect(parseCommandLine(["get_statistics", 'statistics:=["core:"]'], env)).toMatchObject({ params: { statistics: ["core:"] } });
  });

  it("wraps positional values of the statistics commands into one array, like opensips-cli", () => {
    expect(parseCommandLine(["get_statistics", "all"], env)).toMatchObject({ params: [["all"]] });
    expect(parseCommandLine(["reset_statistics", "rcv_requests", "fwd_requests"], env)).toMatchObject({ params: [["rcv_requests", "fwd_requests"]] });
  });

  it("rejects mixing, unknown options, a missing command and bad JSON", () => {
    expect(() => parseCommandLine(["help", "a", "b=c"], env)).toThrow(UsageError);
    expect(() => parseCommandLine(["--nope", "uptime"], env)).toThrow(/unknown option/);
    expect(() => parseCommandLine([], env)).toThrow(/no command/);
    expect(() => parseCommandLine(["x", "a:={"], env)).toThrow(/JSON/);
    expect(() => parseCommandLine(["-u"], env)).toThrow(/needs a URL/);
  });
});
