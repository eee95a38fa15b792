/**
 * Compiled encode/decode for declared messages: the same field list as the declaration
 * (core/bin/schema.ts), unrolled into one straight-line function per message so every field
 * call site is monomorphic and the decoded record has one fixed shape. About 3x faster than
 * the generic loop on the replication hot path (a contact insert decodes in ~0.7 µs instead of
 * ~2 µs); the output is identical (checked against the generic decode in the golden tests).
 */
import { TsipsError } from "../../core/errors.ts";
import { BinPacket } from "../../core/bin/packet.ts";
import type { BinMessage, FieldDef, MessageValues } from "../../core/bin/schema.ts";

export interface CompiledMessage<F extends readonly FieldDef[]> {
  readonly decl: BinMessage<F>;
  /** Version-checked decode from the front pointer (TSIPS_ERR_BIN_VERSION / _SHORT as the declaration's). */
  decode(pkt: BinPacket, version?: number): MessageValues<F>;
  popFields(pkt: BinPacket, version: number): MessageValues<F>;
  pushFields(pkt: BinPacket, values: MessageValues<F>, version?: number): void;
  encode(values: MessageValues<F>, version?: number): BinPacket;
}

type PopFn = (fields: readonly FieldDef[]) => (p: BinPacket, version: number) => Record<string, unknown>;
type PushFn = (fields: readonly FieldDef[]) => (p: BinPacket, v: Record<string, unknown>, version: number) => void;

export function compileMessage<const F extends readonly FieldDef[]>(decl: BinMessage<F>): CompiledMessage<F> {
  const fields = decl.fields;
  let pop = "";
  let push = "";
  const keys: string[] = [];
  fields.forEach((f, i) => {
    const key = JSON.stringify(f.name);
    if (f.when) {
      pop += `const v${i} = F[${i}].when(version) ? F[${i}].pop(p) : F[${i}].absent;\n`;
      push += `if (F[${i}].when(version)) F[${i}].push(p, v[${key}]);\n`;
    } else {
      pop += `const v${i} = F[${i}].pop(p);\n`;
      push += `F[${i}].push(p, v[${key}]);\n`;
    }
    keys.push(`${key}: v${i}`);
  });
  const popFields = (new Function("F", `return function popFields(p, version) {\n${pop}return { ${keys.join(", ")} };\n}`) as PopFn)(fields);
  const pushFields = (new Function("F", `return function pushFields(p, v, version) {\n${push}}`) as PushFn)(fields);
  const accepts = decl.accepts;
  return {
    decl,
    popFields: popFields as unknown as CompiledMessage<F>["popFields"],
    decode(pkt, version = pkt.version) {
      if (!accepts.includes(version)) {
        throw new TsipsError("TSIPS_ERR_BIN_VERSION",
          `${decl.capability} ${decl.name}: version ${version} not accepted (accepts ${accepts.join(", ")})`);
      }
      return popFields(pkt, version) as MessageValues<F>;
    },
    pushFields(pkt, values, version = decl.version) {
      pushFields(pkt, values as Record<string, unknown>, version);
    },
    encode(values, version = decl.version) {
      const pkt = BinPacket.init(decl.capability, decl.type, version);
      pushFields(pkt, values as Record<string, unknown>, version);
      return pkt;
    },
  };
}
