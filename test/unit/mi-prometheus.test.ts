import { beforeEach, describe, expect, it } from "vitest";
import { StatsRegistry } from "../../core/stats.ts";
import { parseLabelRule, parseSelection, renderMetrics, type PromOptions } from "../../modules/prometheus/format.ts";

let stats: StatsRegistry;
beforeEach(() => {
  stats = new StatsRegistry();
  stats.register("core", "rcv_requests").inc(7);
  stats.register("core", "timestamp", { kind: "gauge" }).set(1700000000);
  stats.register("usrloc", "location-contacts", { kind: "gauge" }).compute = () => 5;
  stats.register("dialog", "active_dialogs", { kind: "gauge" }).set(2);
  stats.register("dialog", "processed_dialogs").inc(9);
});

const opts = (o: Partial<PromOptions> & { statistics?: string[] } = {}): PromOptions => ({
  prefix: "opensips", delimiter: "_", groupPrefix: "", groupLabel: "group", groupMode: 0,
  selection: parseSelection(o.statistics ?? ["all"]), labels: [], ...o,
});

describe("prometheus text format (OpenSIPS prometheus.c)", () => {
  it("prints every statistic with a TYPE line, counter or gauge, and a final empty line", () => {
    expect(renderMetrics(stats, opts())).toBe([
      "# TYPE opensips_rcv_requests counter", "opensips_rcv_requests 7",
      "# TYPE opensips_timestamp gauge", "opensips_timestamp 1700000000",
      "# TYPE opensips_location_contacts gauge", "opensips_location_contacts 5",
      "# TYPE opensips_active_dialogs gauge", "opensips_active_dialogs 2",
      "# TYPE opensips_processed_dialogs counter", "opensips_processed_dialogs 9",
      "", "",
    ].join("\n"));
  });

  it("exports nothing without a statistics selection", () => {
    expect(renderMetrics(stats, opts({ statistics: [] }))).toBe("\n");
  });

  it("exports groups and names from space-separated, repeated values, each statistic once", () => {
    const text = renderMetrics(stats, opts({ statistics: ["dialog:  active_dialogs", "RCV_REQUESTS nope usrloc:location-contacts"] }));
    expect(text.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      "opensips_active_dialogs 2", "opensips_processed_dialogs 9", "opensips_rcv_requests 7", "opensips_location_contacts 5", "", "",
    ]);
  });

  it("group_mode 1 puts group_prefix + group in the name", () => {
    const text = renderMetrics(stats, opts({ groupMode: 1, groupPrefix: "g", delimiter: "__", statistics: ["core:"] }));
    expect(text).toBe("# TYPE opensips__gcore__rcv_requests counter\nopensips__gcore__rcv_requests 7\n" +
      "# TYPE opensips__gcore__timestamp gauge\nopensips__gcore__timestamp 1700000000\n\n");
  });

  it("group_mode 2 adds the group label", () => {
    const text = renderMetrics(stats, opts({ groupMode: 2, groupLabel: "grp", groupPrefix: "os_", statistics: ["rcv_requests"] }));
    expect(text).toBe('# TYPE opensips_rcv_requests counter\nopensips_rcv_requests{grp="os_core"} 7\n\n');
  });

  it("forces a leading _ for a digit-leading name with no prefix, delimiter or group", () => {
    stats.register("tm", "2xx_transactions").inc(4);
    expect(renderMetrics(stats, opts({ prefix: "", delimiter: "", statistics: ["2xx_transactions"] })))
      .toBe("# TYPE _2xx_transactions counter\n_2xx_transactions 4\n\n");
  });

  it("labels rules rename a group's statistics into one metric with labels, printed last with one TYPE line", () => {
    const rule = parseLabelRule('dialog: /^([a-z]+)_dialogs$/dialogs:state="\\1"/');
    const text = renderMetrics(stats, opts({ labels: [rule], groupMode: 2, statistics: ["dialog:", "rcv_requests"] }));
    expect(text).toBe([
      "# TYPE opensips_rcv_requests counter", 'opensips_rcv_requests{group="core"} 7',
      "# TYPE opensips_dialogs gauge",
      'opensips_dialogs{state="active",group="dialog"} 2',
      'opensips_dialogs{state="processed",group="dialog"} 9',
      "", "",
    ].join("\n"));
  });

  it("ignores a labels rule that does not match or does not give name:labels", () => {
    const noMatch = parseLabelRule("dialog: /^zzz$/x:y=\"1\"/");
    const noColon = parseLabelRule("dialog:/_dialogs$/_d/");
    const text = renderMetrics(stats, opts({ labels: [noMatch, noColon], statistics: ["dialog:"] }));
    expect(text).toContain("opensips_active_dialogs 2\n");
    expect(text).toContain("opensips_processed_dialogs 9\n");
  });

  it("parses subst rules with another delimiter, flags and escaped delimiters", () => {
    const r = parseLabelRule("usrloc: #^LOCATION-(.*)$#ul:kind=\"\\1\"#i");
    expect(r.group).toBe("usrloc");
    expect(r.apply("location-contacts")).toBe('ul:kind="contacts"');
    const g = parseLabelRule("x: /a/b/g");
    expect(g.apply("aXa")).toBe("bXb");
    expect(parseLabelRule("x: /\\/y/z/").apply("a/y")).toBe("az");
    expect(() => parseLabelRule("/a/b/")).toThrow(/no group/);
    expect(() => parseLabelRule("x: /(/b/")).toThrow(/bad regex/);
    expect(() => parseLabelRule("x: /a/b")).toThrow(/expected/);
  });

  it("prints non-integral values as Prometheus floats", () => {
    const s = new StatsRegistry();
    s.register("load", "avg", { kind: "gauge" }).compute = () => 1.5;
    s.register("load", "bad", { kind: "gauge" }).compute = () => Number.NaN;
    expect(renderMetrics(s, opts())).toBe("# TYPE opensips_avg gauge\nopensips_avg 1.5\n# TYPE opensips_bad gauge\nopensips_bad NaN\n\n");
  });
});
