/**
 * The tsips command line, after OpenSIPS's (spec/cfg.md §8):
 *   tsx core/main.ts [-f FILE] [-c] [-V] [-h] [-L LEVEL] [-m DIR]...
 * Without -f the config is found with cosmiconfig (opensips.cfg here or in a parent).
 */
import { parseArgs } from "node:util";
import { relative } from "node:path";
import { discoverCfg, formatCfgError } from "./cfg/index.ts";
import { bootNode, checkConfig, type TsipsNode } from "./boot.ts";
import { TsipsAggregateError, TsipsError } from "./errors.ts";
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

function printErrors(errors: TsipsError[]): void {
  for (const e of errors) process.stderr.write(`${formatCfgError(e)}\n`);
  process.stderr.write(`ERROR: bad config file (${errors.length} error${errors.length === 1 ? "" : "s"})\n`);
}

async function main(): Promise<void> {
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
    const e = err as Error & { cause?: unknown };
    process.stderr.write(`ERROR: ${err instanceof TsipsError ? err.toString() : e.message}\n`);
    // An operational error (a TsipsError cause: database down, port taken) is one line; a bug keeps its stack.
    if (e.cause && !(e.cause instanceof TsipsError)) process.stderr.write(`  cause: ${(e.cause as Error)?.stack ?? String(e.cause)}\n`);
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
