/**
 * Finding opensips.cfg when no -f is given: cosmiconfig, searching `opensips.cfg` from the
 * working directory up to the filesystem root (OpenSIPS itself only has a compiled-in
 * default path; looking upward is tsips's convenience, like other Node tools).
 */
import { cosmiconfig } from "cosmiconfig";
import { basename, parse, resolve } from "node:path";

const CFG_NAME = "opensips.cfg";

/** The path of the nearest opensips.cfg at or above `cwd`, or undefined. */
export async function discoverCfg(cwd: string): Promise<string | undefined> {
  const from = resolve(cwd);
  const explorer = cosmiconfig("opensips", {
    searchPlaces: [CFG_NAME],
    // The cfg language is ours to parse; cosmiconfig only finds the file. Keep path + text.
    loaders: { ".cfg": (filepath: string, content: string) => ({ path: filepath, text: content }) },
    searchStrategy: "global",
    // cosmiconfig's "global" stops at the home directory by default; go on to the root.
    stopDir: parse(from).root,
    // An empty opensips.cfg is still the config file (it then fails or passes on its own).
    ignoreEmptySearchPlaces: false,
    cache: false,
  });
  const found = await explorer.search(from);
  // "global" ends with the user's config dir (config.json & co.): not an opensips.cfg.
  if (!found || basename(found.filepath) !== CFG_NAME) return undefined;
  return found.filepath;
}
