// Ferry's host functions for AssemblyScript plugins built with Extism's PDK (@extism/as-pdk).
// See README.md, and docs/abi.md for the ABI underneath.

export { abortWith, bytes, call, Op, Reply, utf8 } from "./lib/host";
export { decodeLists, decodeString, encodeLists, JSONValue, Kind, quote, quoteAll } from "./lib/json";
export { HTTPResult, pathEscape, Request, Response } from "./lib/http";
export {
  Checkpoint,
  fail,
  input,
  lastSyncTime,
  Link,
  Links,
  Log,
  Metadata,
  output,
  Records,
  Result,
  run,
  SaveResult,
  triggerSync,
} from "./lib/ferry";
export { WebhookRequest, webhookRequest } from "./lib/webhook";

import { abortWith } from "./lib/host";

/**
 * An abort handler for AssemblyScript (an assertion, an array index out of range...): it sets
 * the message as the Extism error and traps, so the run fails with the message in its log.
 * Build with `--use abort=~lib/@ferrysync/ferry-as/index/abort`.
 */
export function abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let msg = "abort: " + (message === null ? "(no message)" : message);
  if (fileName !== null) msg += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  abortWith(msg);
}
