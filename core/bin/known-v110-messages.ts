/**
 * The declared OpenSIPS 1.10 BIN messages tools (scripts/bin-dump.ts) decode field by field,
 * by module name and type. One import and one `add` line per module:
 *
 * ```ts
 * import { dialogV110Messages } from "../../modules/dialog/v110-messages.ts";
 * knownV110Messages.add(...dialogV110Messages);
 * ```
 */
import { V110MessageRegistry } from "./schema.ts";

export const knownV110Messages = new V110MessageRegistry();

import { dialogV110Messages } from "../../modules/dialog/v110-messages.ts";
knownV110Messages.add(...dialogV110Messages);
