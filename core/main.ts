/**
 * The tsips command line, after OpenSIPS's (spec/cfg.md §8):
 *   tsx core/main.ts [-f FILE] [-c] [-V] [-h] [-L LEVEL] [-m DIR]...
 * Without -f the config is found with cosmiconfig (opensips.cfg here or in a parent).
 */
import { parseArgs } from "node:util";
import { isAbsolute, relative } from "node:path";
import { discoverCfg, formatAutoScaling, formatCfgError } from "./cfg/index.ts";
import { bootNode, checkConfig, type TsipsNode } from "./boot.ts";
import { dieWithTsxLauncher } from "./launcher.ts";
import { resolveTsipsByName } from "./loader/by-name.ts";
import { TsipsAggregateError, TsipsError, isTsipsError } from "./errors.ts";
import { bootFailureLine } from "./os-errors.ts";
import { OPENSIPS_COMPAT, TSIPS_VERSION } from "./version.ts";

const EXIT_CFG = 255;

const USAGE = `version: tsips ${TSIPS_VERSION} (OpenSIPS ${OPENSIPS_COMPAT} compatible, node ${process.version})
Usage: tsx core/main.ts [options]
Options:
    -f file      Configuration file (default: opensips.cfg found from the working directory upward)
    -c           Check configuration file for errors (parse, load modules, validate params, resolve deps) and exit
    -V           Version number and the modules it would load
    -h           This help message
    -L level     Log level override, OpenSIPS style -3..4 (2 notice, 3 info, 4 debug)
    -d           Raise the log level by one (repeatable)
    -m dir       Extra module folder, searched after the config's mpath (repeatable)
`;

function usageError(msg: string): never {
  process.stderr.write(`ERROR: ${msg}\n${USAGE}`);
  process.exit(1);
}

/** A config path as the user sees it: relative to the working directory when it is below it (as given to -f). */
function showPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

/** Config errors as OpenSIPS prints them: each located with a code frame, then a count. */
function printErrors(errors: TsipsError[]): void {
  const only = errors.length === 1 ? errors[0] : undefined;
  if (only && !only.location) {
    // Nothing to point at (the file itself is unreadable): one line.
    process.stderr.write(`ERROR: ${only.toString()}\n`);
    return;
  }
  for (const e of errors) {
    const shown = e.location
      ? new TsipsError(e.code, e.message, { ...(e.module ? { module: e.module } : {}), location: { ...e.location, file: showPath(e.location.file) }, details: e.details })
      : e;
    process.stderr.write(`${formatCfgError(shown)}\n`);
  }
  process.stderr.write(`ERROR: bad config file (${errors.length} error${errors.length === 1 ? "" : "s"})\n`);
}

async function main(): Promise<void> {
  resolveTsipsByName(); // modules in any folder import "tsips" (core/loader/by-name.ts)
  let args;
  try {
    args = parseArgs({
      options: {
        f: { type: "string" },
        c: { type: "boolean" },
        V: { type: "boolean" },
        h: { type: "boolean" },
        L: { type: "string" },
        d: { type: "boolean", multiple: true },
        m: { type: "string", multiple: true },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    usageError((err as Error).message);
  }
  const o = args.values;
  if (o.h) {
    process.stdout.write(USAGE);
    return;
  }
  let logLevel: number | undefined;
  if (o.L !== undefined) {
    if (!/^-?[0-4]$/.test(o.L) || Number(o.L) < -3) usageError(`-L takes a level from -3 to 4, got "${o.L}"`);
    logLevel = Number(o.L);
  }
  if (o.d?.length) logLevel = Math.min(4, (logLevel ?? 2) + o.d.length);

  let cfgPath = o.f;
  if (cfgPath === undefined) {
    cfgPath = await discoverCfg(process.cwd());
    if (!cfgPath) {
      process.stderr.write(`ERROR: no config file given (-f) and no opensips.cfg found from ${process.cwd()} upward [TSIPS_ERR_CFG_NOT_FOUND]\n`);
      process.exit(EXIT_CFG);
    }
    process.stderr.write(`using config file ${relative(process.cwd(), cfgPath) || cfgPath}\n`);
  }
  const modulePaths = o.m ?? [];

  if (o.V || o.c) {
    const r = await checkConfig(cfgPath, { modulePaths });
    if (o.V) {
      process.stdout.write(`version: tsips ${TSIPS_VERSION} (OpenSIPS ${OPENSIPS_COMPAT} compatible, node ${process.version} ${process.arch}/${process.platform})\n`);
      if (r.plan) {
        process.stdout.write("modules:\n");
        for (const m of r.plan.modules) process.stdout.write(`    ${m.name} ${m.def.version}${m.def.doc ? ` - ${m.def.doc}` : ""}\n`);
      }
      if (!o.c) return;
    }
    if (!r.ok) {
      printErrors(r.errors);
      process.exit(EXIT_CFG);
    }
    process.stdout.write("Listening on\n");
    for (const s of r.plan?.sockets ?? []) process.stdout.write(`             ${s.raw}\n`);
    for (const line of r.plan ? formatAutoScaling(r.plan.autoScaling) : []) process.stdout.write(`${line}\n`);
    const binListen = r.plan?.globals.get("bin_listen");
    if (binListen && binListen.kind !== "int") process.stdout.write(`             udp:${binListen.value} (bin_listen)\n`);
    process.stdout.write(`config file ok, exiting... (${r.plan?.modules.length ?? 0} modules, init order: ${r.plan?.order.join(", ")})\n`);
    return;
  }

  let node: TsipsNode | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`second ${sig}: forcing exit\n`);
      process.exit(1);
    }
    if (!node) process.exit(0);
    void node.stop(sig).then(() => process.exit(0), () => process.exit(1));
  };
  // A node serves until told to stop, even one with no listeners (like OpenSIPS's attendant).
  const keepAlive = setInterval(() => {}, 1 << 30);
  process.once("exit", () => clearInterval(keepAlive));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  dieWithTsxLauncher(); // SIGKILL of `tsx core/main.ts` kills the node too (core/launcher.ts)
  try {
    node = await bootNode(cfgPath, {
      modulePaths,
      ...(logLevel !== undefined ? { logLevel } : {}),
      onShutdownRequest: (reason) => {
        void node?.stop(reason).then(() => process.exit(0));
      },
    });
  } catch (err) {
    if (err instanceof TsipsAggregateError) {
      printErrors(err.errors);
      process.exit(EXIT_CFG);
    }
    // One located line, as OpenSIPS prints it; the stack is in the debug log (-L 4 / -d).
    process.stderr.write(`${bootFailureLine(err, showPath)}\n`);
    if ((logLevel ?? 2) >= 4 && !isTsipsError(err)) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT_CFG);
  }
}

process.on("uncaughtException", (err) => {
  // Nothing should get here; log it and keep serving rather than crash a cluster node.
  process.stderr.write(`uncaught exception (node keeps running): ${err.stack ?? err}\n`);
});
process.on("unhandledRejection", (err) => {
  process.stderr.write(`unhandled rejection (node keeps running): ${(err as Error)?.stack ?? String(err)}\n`);
});

await main();
