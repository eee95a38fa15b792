/**
 * The registry of every declared BIN message that tools (scripts/bin-dump.ts) know how to
 * decode field by field. Modules declare their messages in their own files (e.g.
 * `modules/usrloc/messages.ts`) and add them here, one import and one `add` line each:
 *
 * ```ts
 * import { usrlocMessages } from "../../modules/usrloc/messages.ts";
 * knownMessages.add(...usrlocMessages);
 * ```
 *
 * bin-dump imports module message files only through this file.
 */
import { MessageRegistry } from "./schema.ts";

export const knownMessages = new MessageRegistry();

import { clustererMessages } from "../../modules/clusterer/messages.ts";
knownMessages.add(...clustererMessages);
import { dialogMessages } from "../../modules/dialog/messages.ts";
knownMessages.add(...dialogMessages);
import { usrlocMessages } from "../../modules/usrloc/messages.ts";
knownMessages.add(...usrlocMessages);
import { kvStoreMessages } from "../../modules/kv_store/messages.ts";
knownMessages.add(...kvStoreMessages);
