/** The captured 1.10.5 datagrams for the v110 benchmark (the repo's test/vectors copy). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { v110VectorsRoot } from "../../core/bin/vectors.ts";

export function loadV110VectorBytes(file: string): Buffer {
  return Buffer.from(readFileSync(join(v110VectorsRoot(), file), "utf8").trim(), "hex");
}
