// The Extism test plugin: each export exercises one part of the Extism variant of the host ABI
// (runtime/abi_extism.go) with nothing but Extism's kernel functions and ferry_* imports, so
// it needs no package. Build it with ./build.sh.

@external("extism:host/env", "alloc")
declare function alloc(n: u64): u64;
@external("extism:host/env", "free")
declare function free(offset: u64): void;
@external("extism:host/env", "length")
declare function length(offset: u64): u64;
@external("extism:host/env", "load_u8")
declare function load_u8(offset: u64): u8;
@external("extism:host/env", "store_u8")
declare function store_u8(offset: u64, b: u8): void;
@external("extism:host/env", "input_length")
declare function input_length(): u64;
@external("extism:host/env", "input_load_u8")
declare function input_load_u8(offset: u64): u8;
@external("extism:host/env", "output_set")
declare function output_set(offset: u64, n: u64): void;
@external("extism:host/env", "error_set")
declare function error_set(offset: u64): void;
@external("extism:host/env", "log_info")
declare function log_info(offset: u64): void;
@external("extism:host/env", "log_warn")
declare function log_warn(offset: u64): void;
@external("extism:host/env", "log_debug")
declare function log_debug(offset: u64): void;
@external("extism:host/env", "http_request")
declare function http_request(req: u64, body: u64): u64;

@external("extism:host/user", "ferry_log")
declare function ferry_log(arg: u64): u64;
@external("extism:host/user", "ferry_records_save")
declare function ferry_records_save(arg: u64): u64;
@external("extism:host/user", "ferry_checkpoint_get")
declare function ferry_checkpoint_get(arg: u64): u64;
@external("extism:host/user", "ferry_checkpoint_save")
declare function ferry_checkpoint_save(arg: u64): u64;
@external("extism:host/user", "ferry_output")
declare function ferry_output(arg: u64): u64;

function put(s: string): u64 {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  const offset = alloc(b.length);
  for (let i = 0; i < b.length; i++) store_u8(offset + i, b[i]);
  return offset;
}

function get(offset: u64): Uint8Array {
  const n = <i32>length(offset);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = load_u8(offset + i);
  return out;
}

function text(b: Uint8Array): string {
  return String.UTF8.decode(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function setOutput(s: string): void {
  const offset = put(s);
  output_set(offset, length(offset));
}

/** Traps with the message as the Extism error, as a PDK's abort handler does. */
function testAbort(message: string | null, file: string | null, line: u32, col: u32): void {
  error_set(put(message === null ? "abort" : message));
  unreachable();
}

/** Copies Extism's input to Extism's output. */
export function echo(): i32 {
  const n = <i32>input_length();
  const offset = alloc(n);
  for (let i = 0; i < n; i++) store_u8(offset + i, input_load_u8(i));
  output_set(offset, n);
  return 0;
}

/** Fails through Extism's error. */
export function extism_error(): i32 {
  error_set(put("provider said no"));
  return 1;
}

/** Sets an Extism error but returns 0: the call fails all the same. */
export function extism_error_zero(): i32 {
  error_set(put("failed quietly"));
  return 0;
}

/** Logs with Extism's log functions and with ferry_log. */
export function logs(): i32 {
  log_info(put("info through extism"));
  log_warn(put("warn through extism"));
  log_debug(put("debug through extism"));
  const r = ferry_log(put("error\nerror through ferry"));
  return r == 0 ? 0 : 1;
}

/** Describes a result block: "none" for 0, else its status byte and content. */
function describe(offset: u64): string {
  if (offset == 0) return "none";
  const block = get(offset);
  free(offset);
  if (block.length == 0) return "empty block";
  return "status " + block[0].toString() + ": " + text(block.subarray(1));
}

/**
 * Exercises result blocks: a refused batch answers with status 1 and the host's message, a
 * missing checkpoint with no block, a saved one with status 0 and its bytes. Reports what it
 * saw as its Extism output.
 */
export function blocks(): i32 {
  let report = "save: " + describe(ferry_records_save(put("Item\n[{\"no\":\"id\"}]")));
  report += "\ncheckpoint before: " + describe(ferry_checkpoint_get(0));
  report += "\nsave checkpoint: " + describe(ferry_checkpoint_save(put("{\"n\":1}")));
  report += "\ncheckpoint after: " + describe(ferry_checkpoint_get(0));
  setOutput(report);
  return 0;
}

/** Sets the output through ferry_output: the Ferry way works under Extism too. */
export function ferry_way(): i32 {
  ferry_output(put("{\"via\":\"ferry\"}"));
  return 0;
}

/** Spins forever. */
export function spin(): i32 {
  let n: u64 = 0;
  while (true) n++;
  return <i32>n;
}

/** Aborts with a message. */
export function boom(): i32 {
  assert(false, "boom from plugin");
  return 0;
}

/** Tries Extism's own HTTP, which Ferry offers no host for. */
export function extism_http(): i32 {
  const res = http_request(put("{\"method\":\"GET\",\"url\":\"http://127.0.0.1:1/\"}"), 0);
  return res == 0 ? 0 : 1;
}

/** Grows its memory without end. */
export function grow(): i32 {
  const keep = new Array<Uint8Array>();
  while (true) keep.push(new Uint8Array(1 << 20));
  return keep.length;
}

/** Passes an argument one byte over the host's 64 MiB limit; reports the answer. */
export function oversize(): i32 {
  const offset = alloc((64 << 20) + 1);
  setOutput(describe(ferry_records_save(offset)));
  free(offset);
  return 0;
}
