/**
 * prometheus: `GET /<root>` (default `/metrics`) on the httpd server, the selected
 * statistics in the Prometheus text format (OpenSIPS modules/prometheus).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { defineModule, int, need, str, strList, type StatsRegistry } from "tsips";
import type { HttpdApi } from "../httpd/api.ts";
import { parseLabelRule, parseSelection, renderMetrics, type LabelRule, type PromOptions } from "./format.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The request handler (exported for tests). */
export function prometheusHandler(stats: StatsRegistry, opts: PromOptions, collect: () => void = () => {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== "GET") {
      res.writeHead(405, { Allow: "GET", "Content-Length": 0 });
      res.end();
      return;
    }
    collect();
    const page = renderMetrics(stats, opts);
    res.writeHead(200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Content-Length": Buffer.byteLength(page) });
    res.end(page);
  };
}

export default defineModule({
  name: "prometheus",
  version: "1.0.0",
  doc: "statistics for Prometheus on GET /metrics",
  params: {
    root: str({ default: "metrics", doc: "URL root: Prometheus scrapes http://<ip>:<port>/<root>" }),
    prefix: str({ default: "opensips", doc: "first part of every metric name" }),
    delimiter: str({ default: "_", doc: "separator after the prefix (and after the group in group_mode 1)" }),
    group_prefix: str({ default: "", doc: "put before the group name (group_mode 1 and 2)" }),
    group_label: str({ default: "group", doc: "label name carrying the group in group_mode 2" }),
    group_mode: int({ default: 0, min: 0, max: 2, doc: "0 = no group, 1 = group in the metric name, 2 = group as a label" }),
    statistics: strList({
      doc: "what to export, space separated: `all`, `group:` for a whole group, or statistic names; repeatable. Empty = nothing",
    }),
    labels: strList<LabelRule>({
      doc: "`group: /regex/subst/flags` turning a statistic name into `name:label=\"v\",...`; repeatable, first match wins",
      parse: parseLabelRule,
    }),
    script_route: str({ default: "", doc: "route building extra metrics", ignored: "tsips has no script routes" }),
  },
  deps: { httpd: need<HttpdApi>("httpd") },
  init(ctx): { unmount: () => void } {
    const p = ctx.params;
    const opts: PromOptions = {
      prefix: p.prefix,
      delimiter: p.delimiter,
      groupPrefix: p.group_prefix,
      groupLabel: p.group_label,
      groupMode: p.group_mode as 0 | 1 | 2,
      selection: parseSelection(p.statistics),
      labels: p.labels,
    };
    if (!opts.selection.all && opts.selection.groups.length === 0 && opts.selection.names.length === 0) {
      ctx.log.warn('prometheus: no "statistics" set, the page is empty (set it to "all" or list groups/names)');
    }
    const unmount = ctx.deps.httpd.mount(p.root, prometheusHandler(ctx.statsRegistry, opts, () => ctx.collectStats(["all"])), { module: "prometheus" });
    return { unmount };
  },
  destroy(_ctx, api) {
    api?.unmount();
  },
});
