// The Extism variant of Ferry's host ABI (docs/abi.md, "The Extism ABI"): every Ferry host
// function is ferry_<name> in extism:host/user, takes the offset of an argument block in
// Extism memory (0 for none) and returns the offset of a result block (0 for "no result"):
// one status byte, 0 (ok) or 1 (error), then the result or the error message. Argument
// blocks stay the guest's to free; result blocks become the guest's, and are freed here once
// copied.

import { alloc, error_set, free, length, load_u64, load_u8, store_u64, store_u8 } from "@extism/as-pdk/lib/env";

@external("extism:host/user", "ferry_log")
declare function ferry_log(arg: u64): u64;
@external("extism:host/user", "ferry_input")
declare function ferry_input(arg: u64): u64;
@external("extism:host/user", "ferry_http")
declare function ferry_http(arg: u64): u64;
@external("extism:host/user", "ferry_records_save")
declare function ferry_records_save(arg: u64): u64;
@external("extism:host/user", "ferry_records_update")
declare function ferry_records_update(arg: u64): u64;
@external("extism:host/user", "ferry_records_delete")
declare function ferry_records_delete(arg: u64): u64;
@external("extism:host/user", "ferry_records_get")
declare function ferry_records_get(arg: u64): u64;
@external("extism:host/user", "ferry_checkpoint_get")
declare function ferry_checkpoint_get(arg: u64): u64;
@external("extism:host/user", "ferry_checkpoint_save")
declare function ferry_checkpoint_save(arg: u64): u64;
@external("extism:host/user", "ferry_checkpoint_clear")
declare function ferry_checkpoint_clear(arg: u64): u64;
@external("extism:host/user", "ferry_metadata_get")
declare function ferry_metadata_get(arg: u64): u64;
@external("extism:host/user", "ferry_metadata_set")
declare function ferry_metadata_set(arg: u64): u64;
@external("extism:host/user", "ferry_last_sync_time")
declare function ferry_last_sync_time(arg: u64): u64;
@external("extism:host/user", "ferry_output")
declare function ferry_output(arg: u64): u64;
@external("extism:host/user", "ferry_fail")
declare function ferry_fail(arg: u64): u64;
@external("extism:host/user", "ferry_links_get")
declare function ferry_links_get(arg: u64): u64;
@external("extism:host/user", "ferry_links_put")
declare function ferry_links_put(arg: u64): u64;
@external("extism:host/user", "ferry_links_delete")
declare function ferry_links_delete(arg: u64): u64;
@external("extism:host/user", "ferry_trigger_sync")
declare function ferry_trigger_sync(arg: u64): u64;

/** A Ferry host function. */
export enum Op {
  Log,
  Input,
  HTTP,
  RecordsSave,
  RecordsUpdate,
  RecordsDelete,
  RecordsGet,
  CheckpointGet,
  CheckpointSave,
  CheckpointClear,
  MetadataGet,
  MetadataSet,
  LastSyncTime,
  Output,
  Fail,
  LinksGet,
  LinksPut,
  LinksDelete,
  TriggerSync,
}

function invoke(op: Op, arg: u64): u64 {
  switch (op) {
    case Op.Log: return ferry_log(arg);
    case Op.Input: return ferry_input(arg);
    case Op.HTTP: return ferry_http(arg);
    case Op.RecordsSave: return ferry_records_save(arg);
    case Op.RecordsUpdate: return ferry_records_update(arg);
    case Op.RecordsDelete: return ferry_records_delete(arg);
    case Op.RecordsGet: return ferry_records_get(arg);
    case Op.CheckpointGet: return ferry_checkpoint_get(arg);
    case Op.CheckpointSave: return ferry_checkpoint_save(arg);
    case Op.CheckpointClear: return ferry_checkpoint_clear(arg);
    case Op.MetadataGet: return ferry_metadata_get(arg);
    case Op.MetadataSet: return ferry_metadata_set(arg);
    case Op.LastSyncTime: return ferry_last_sync_time(arg);
    case Op.Output: return ferry_output(arg);
    case Op.Fail: return ferry_fail(arg);
    case Op.LinksGet: return ferry_links_get(arg);
    case Op.LinksPut: return ferry_links_put(arg);
    case Op.LinksDelete: return ferry_links_delete(arg);
    case Op.TriggerSync: return ferry_trigger_sync(arg);
  }
  unreachable();
  return 0;
}

/** What a host function answered. */
export class Reply {
  constructor(
    /** The error message when the call failed, else null. */
    public readonly error: string | null,
    /** The result; null for "no result" (and on error). */
    public readonly data: Uint8Array | null,
  ) {}

  get ok(): bool {
    return this.error === null;
  }

  /** The result as UTF-8 text; null for "no result". */
  text(): string | null {
    const data = this.data;
    if (data === null) return null;
    return utf8(data);
  }
}

/**
 * Calls host function op with the argument head + body (either may be null) and returns its
 * reply. The argument is copied into Extism memory once, and the result out of it once.
 */
export function call(op: Op, head: string | null, body: Uint8Array | null = null): Reply {
  let headBytes: Uint8Array | null = null;
  let n = 0;
  if (head !== null) {
    headBytes = bytes(head);
    n += headBytes.length;
  }
  if (body !== null) n += body.length;
  let arg: u64 = 0;
  if (headBytes !== null || body !== null) {
    arg = alloc(n);
    if (arg == 0 && n > 0) abortWith("ferry: out of Extism memory for a " + n.toString() + "-byte argument");
    let at = arg;
    if (headBytes !== null) {
      storeBytes(at, headBytes);
      at += <u64>headBytes.length;
    }
    if (body !== null) storeBytes(at, body);
  }
  const res = invoke(op, arg);
  if (arg != 0) free(arg);
  if (res == 0) return new Reply(null, null);
  const block = loadBlock(res);
  if (block.length == 0) abortWith("ferry: empty result block from the host");
  const data = block.subarray(1);
  if (block[0] != 0) return new Reply(utf8(data), null);
  return new Reply(null, data);
}

/** Copies data into Extism memory at offset, eight bytes a kernel call. */
function storeBytes(offset: u64, data: Uint8Array): void {
  const n = data.length;
  const src = data.dataStart;
  let i = 0;
  for (; i + 8 <= n; i += 8) store_u64(offset + <u64>i, load<u64>(src + <usize>i));
  for (; i < n; i++) store_u8(offset + <u64>i, load<u8>(src + <usize>i));
}

/** Copies the Extism memory block at offset out and frees it. */
function loadBlock(offset: u64): Uint8Array {
  const n = <i32>length(offset);
  const out = new Uint8Array(n);
  const dst = out.dataStart;
  let i = 0;
  for (; i + 8 <= n; i += 8) store<u64>(dst + <usize>i, load_u64(offset + <u64>i));
  for (; i < n; i++) store<u8>(dst + <usize>i, load_u8(offset + <u64>i));
  free(offset);
  return out;
}

/** Decodes UTF-8 bytes into a string. */
export function utf8(data: Uint8Array): string {
  return String.UTF8.decodeUnsafe(data.dataStart, <usize>data.length);
}

/** Encodes a string as UTF-8 bytes. */
export function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/**
 * Sets message as the Extism error and traps. Ferry reports a trapped run's Extism error
 * beside the trap, so the message reaches the run's log.
 */
let aborting = false;

export function abortWith(message: string): void {
  if (aborting) unreachable(); // failing while failing: no more allocations
  aborting = true;
  const b = bytes(message);
  const offset = alloc(b.length);
  if (offset != 0) {
    storeBytes(offset, b);
    error_set(offset);
  }
  unreachable();
}
