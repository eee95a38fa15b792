/**
 * Tap ownership: an interceptor on every core hook records which module tapped what,
 * so a module's taps are removed before its `destroy` runs (OpenSIPS once crashed at
 * shutdown because a destroyed module's callbacks stayed registered). Modules get a
 * tap-only view whose taps are always named after the module.
 */
import type { HookMap } from "tapable";
import { TsipsError } from "./errors.ts";
import type { CoreHooks } from "./hooks.ts";

/** The part of a tapable hook this file touches (tapable's types hide `taps`). */
interface AnyHook {
  taps: { name: string }[];
  intercept(i: { register?: (t: { name: string }) => { name: string } }): void;
  tap(opts: string | { name: string; stage?: number; before?: string }, fn: (...a: never[]) => unknown): void;
  tapAsync?: (opts: string | { name: string }, fn: (...a: never[]) => unknown) => void;
  tapPromise?: (opts: string | { name: string }, fn: (...a: never[]) => unknown) => void;
  _resetCompilation?: () => void;
}
interface AnyHookMap {
  for(key: string): AnyHook;
  intercept(i: { factory?: (key: string, hook: AnyHook) => AnyHook }): void;
}

function isHookMap(x: unknown): x is AnyHookMap {
  return typeof x === "object" && x !== null && typeof (x as AnyHookMap).for === "function" && !("taps" in x);
}
function isHook(x: unknown): x is AnyHook {
  return typeof x === "object" && x !== null && Array.isArray((x as AnyHook).taps);
}

/** Records taps per module name and removes them on request. */
export class TapOwnership {
  private readonly owned = new Map<string, Set<AnyHook>>();

  /** Installs the recording interceptor on every hook (and every hook a HookMap creates later). */
  constructor(hooks: CoreHooks) {
    const watch = (hook: AnyHook): AnyHook => {
      hook.intercept({
        register: (tap) => {
          let set = this.owned.get(tap.name);
          if (!set) this.owned.set(tap.name, (set = new Set()));
          set.add(hook);
          return tap;
        },
      });
      return hook;
    };
    const walk = (node: unknown): void => {
      if (isHookMap(node)) node.intercept({ factory: (_key, hook) => watch(hook) });
      else if (isHook(node)) watch(node);
      else if (typeof node === "object" && node !== null) for (const v of Object.values(node)) walk(v);
    };
    walk(hooks);
  }

  /** Number of taps a module holds (tests, diagnostics). */
  count(module: string): number {
    let n = 0;
    for (const h of this.owned.get(module) ?? []) n += h.taps.filter((t) => t.name === module).length;
    return n;
  }

  /** Removes every tap the module made. */
  removeAll(module: string): void {
    for (const hook of this.owned.get(module) ?? []) {
      const kept = hook.taps.filter((t) => t.name !== module);
      hook.taps.length = 0;
      hook.taps.push(...kept);
      // tapable compiles `call` from `taps`; make it recompile.
      hook._resetCompilation?.();
    }
    this.owned.delete(module);
  }
}

// ── the tap-only view handed to modules ────────────────────────────────

type Fn<H> = H extends { tap(o: never, fn: infer F): void } ? F : never;
type PromiseFn<H> = H extends { tapPromise(o: never, fn: infer F): void } ? F : never;

/** A hook as a module sees it: tap only, no call, tap name fixed to the module. */
export type TapOnly<H> = (H extends { tapPromise(o: never, fn: never): void }
  ? { tapPromise(fn: PromiseFn<H>): void; tap(fn: Fn<H>): void }
  : { tap(fn: Fn<H>): void });

/** A HookMap as a module sees it. */
export interface TapOnlyMap<H> {
  for(key: string): TapOnly<H>;
}

export type TapView<T> = {
  readonly [K in keyof T]: T[K] extends HookMap<infer H> ? TapOnlyMap<H> : T[K] extends { taps: unknown } ? TapOnly<T[K]> : TapView<T[K]>;
};

/** The tap-only view of the hook table for `module`. Taps are named after the module. */
export function tapView(hooks: CoreHooks, module: string, isOpen: () => boolean): TapView<CoreHooks> {
  const guard = (): void => {
    if (!isOpen()) throw new TsipsError("TSIPS_ERR_HOOK_TAP", `module ${module} tapped a hook after it was destroyed`, { module });
  };
  const wrapHook = (h: AnyHook): unknown => ({
    tap: (fn: (...a: never[]) => unknown) => {
      guard();
      h.tap({ name: module }, fn);
    },
    ...(h.tapPromise ? { tapPromise: (fn: (...a: never[]) => unknown) => (guard(), h.tapPromise!({ name: module }, fn)) } : {}),
  });
  const wrap = (node: unknown): unknown => {
    if (isHookMap(node)) return Object.freeze({ for: (key: string) => wrapHook(node.for(key)) });
    if (isHook(node)) return Object.freeze(wrapHook(node));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as object)) out[k] = wrap(v);
    return Object.freeze(out);
  };
  return wrap(hooks) as TapView<CoreHooks>;
}
