/**
 * mi_fifo request framing (spec/mi.md §6): optional whitespace, `:reply-name:`, then one
 * JSON-RPC request object; several requests may follow each other in the stream.
 */
import { JSON_INCOMPLETE, JSON_NOT_OBJECT, jsonObjectEnd } from "tsips";

export interface FifoRequest {
  /** Reply file name ("" = no reply wanted). */
  replyName: string;
  /** The JSON text of the request object. */
  body: string;
}

/** A bad frame: the parser drops the buffered text up to the next line. */
export interface FifoFrameError {
  error: string;
}

/**
 * Pulls every complete request out of `buf`; returns them and the unconsumed rest
 * (an incomplete request waits for more bytes).
 */
export function takeRequests(buf: string): { requests: (FifoRequest | FifoFrameError)[]; rest: string } {
  const requests: (FifoRequest | FifoFrameError)[] = [];
  let i = 0;
  for (;;) {
    while (i < buf.length && /\s/.test(buf[i]!)) i++;
    if (i >= buf.length) return { requests, rest: "" };
    const start = i;
    if (buf[i] !== ":") {
      const nl = buf.indexOf("\n", i);
      requests.push({ error: `request must start with ':<reply-name>:', got ${JSON.stringify(buf.slice(i, Math.min(i + 20, buf.length)))}` });
      if (nl < 0) return { requests, rest: "" };
      i = nl + 1;
      continue;
    }
    const close = buf.indexOf(":", i + 1);
    if (close < 0) return { requests, rest: buf.slice(start) };
    const replyName = buf.slice(i + 1, close);
    const end = jsonObjectEnd(buf, close + 1);
    if (end === JSON_INCOMPLETE) return { requests, rest: buf.slice(start) };
    if (end === JSON_NOT_OBJECT) {
      const nl = buf.indexOf("\n", close);
      requests.push({ error: "request body is not a JSON object" });
      if (nl < 0) return { requests, rest: "" };
      i = nl + 1;
      continue;
    }
    if (/[./\\]/.test(replyName)) requests.push({ error: `reply name "${replyName}" must not contain '.', '/' or '\\'` });
    else requests.push({ replyName, body: buf.slice(close + 1, end) });
    i = end;
  }
}

