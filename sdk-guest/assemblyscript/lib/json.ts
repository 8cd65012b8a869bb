// A small JSON reader that works on the bytes a host call returned, without building a tree:
// a JSONValue is a span of a buffer. It finds members and elements, decodes strings and
// numbers, and hands out the raw bytes of any value, so records can pass from a provider's
// response to records_save exactly as the provider wrote them. It checks structure as it
// skips values (brackets, strings, escapes), not every detail of the grammar: the host
// validates what it stores.

import { utf8 } from "./host";

/** The kind of a JSON value, from its first byte. */
export enum Kind {
  Invalid,
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

/** A JSON value: the bytes buf[start:end]. */
export class JSONValue {
  constructor(
    public readonly buf: Uint8Array,
    public readonly start: i32,
    public readonly end: i32,
  ) {}

  /** Parses the JSON text in buf; null if it is not one well-formed value. */
  static parse(buf: Uint8Array): JSONValue | null {
    const start = skipWS(buf, 0);
    const end = skipValue(buf, start);
    if (end < 0 || skipWS(buf, end) != buf.length) return null;
    return new JSONValue(buf, start, end);
  }

  /** Parses the JSON text s; null if it is not one well-formed value. */
  static parseString(s: string): JSONValue | null {
    return JSONValue.parse(Uint8Array.wrap(String.UTF8.encode(s)));
  }

  get kind(): Kind {
    if (this.start >= this.end) return Kind.Invalid;
    const c = this.buf[this.start];
    if (c == 0x7b) return Kind.Object;
    if (c == 0x5b) return Kind.Array;
    if (c == 0x22) return Kind.String;
    if (c == 0x6e) return Kind.Null;
    if (c == 0x74 || c == 0x66) return Kind.Bool;
    return Kind.Number;
  }

  /** The value's bytes, as they are in the buffer (no copy). */
  raw(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** The value's JSON text. */
  toString(): string {
    return utf8(this.raw());
  }

  /** An object's member named key; null when this is not an object or has no such member. */
  get(key: string): JSONValue | null {
    if (this.kind != Kind.Object) return null;
    const want = Uint8Array.wrap(String.UTF8.encode(key));
    const b = this.buf;
    let i = skipWS(b, this.start + 1);
    while (i < this.end && b[i] != 0x7d) {
      const keyEnd = skipString(b, i);
      if (keyEnd < 0) return null;
      const colon = skipWS(b, keyEnd);
      if (colon >= this.end || b[colon] != 0x3a) return null;
      const vStart = skipWS(b, colon + 1);
      const vEnd = skipValue(b, vStart);
      if (vEnd < 0) return null;
      if (keyEquals(b, i, keyEnd, want)) return new JSONValue(b, vStart, vEnd);
      i = skipWS(b, vEnd);
      if (i < this.end && b[i] == 0x2c) i = skipWS(b, i + 1);
    }
    return null;
  }

  /** The value at a dot-separated path of member names, e.g. "meta.next"; "" is this value. */
  at(path: string): JSONValue | null {
    if (path.length == 0) return this;
    let v: JSONValue | null = this;
    const names = path.split(".");
    for (let i = 0; i < names.length && v !== null; i++) v = v.get(names[i]);
    return v;
  }

  /** An array's elements, or an object's member values; empty for anything else. */
  items(): JSONValue[] {
    const out = new Array<JSONValue>();
    const kind = this.kind;
    if (kind != Kind.Array && kind != Kind.Object) return out;
    const b = this.buf;
    const close: u8 = kind == Kind.Array ? 0x5d : 0x7d;
    let i = skipWS(b, this.start + 1);
    while (i < this.end && b[i] != close) {
      if (kind == Kind.Object) {
        const keyEnd = skipString(b, i);
        if (keyEnd < 0) break;
        i = skipWS(b, skipWS(b, keyEnd) + 1); // past the colon
      }
      const vEnd = skipValue(b, i);
      if (vEnd < 0) break;
      out.push(new JSONValue(b, i, vEnd));
      i = skipWS(b, vEnd);
      if (i < this.end && b[i] == 0x2c) i = skipWS(b, i + 1);
    }
    return out;
  }

  /** An object's member names, in order; empty for anything else. */
  keys(): string[] {
    const out = new Array<string>();
    if (this.kind != Kind.Object) return out;
    const b = this.buf;
    let i = skipWS(b, this.start + 1);
    while (i < this.end && b[i] != 0x7d) {
      const keyEnd = skipString(b, i);
      if (keyEnd < 0) break;
      out.push(decodeString(b, i, keyEnd));
      const vStart = skipWS(b, skipWS(b, keyEnd) + 1);
      const vEnd = skipValue(b, vStart);
      if (vEnd < 0) break;
      i = skipWS(b, vEnd);
      if (i < this.end && b[i] == 0x2c) i = skipWS(b, i + 1);
    }
    return out;
  }

  /** The number of an array's elements; 0 for anything else. */
  count(): i32 {
    return this.kind == Kind.Array ? this.items().length : 0;
  }

  /** A string's value; null when this is not a string. */
  str(): string | null {
    if (this.kind != Kind.String) return null;
    return decodeString(this.buf, this.start, this.end);
  }

  /** A number's value (truncated to an integer); 0 when this is not a number. */
  int(): i64 {
    if (this.kind != Kind.Number) return 0;
    return I64.parseInt(this.toString());
  }

  /** A number's value; NaN when this is not a number. */
  num(): f64 {
    if (this.kind != Kind.Number) return NaN;
    return F64.parseFloat(this.toString());
  }

  /** A bool's value; false for anything else. */
  bool(): bool {
    return this.kind == Kind.Bool && this.buf[this.start] == 0x74;
  }

  get isNull(): bool {
    return this.kind == Kind.Null;
  }
}

function keyEquals(b: Uint8Array, start: i32, end: i32, want: Uint8Array): bool {
  // Keys without escapes compare byte for byte; others are decoded first.
  const n = end - start - 2;
  let plain = true;
  for (let i = start + 1; i < end - 1; i++) {
    if (b[i] == 0x5c) {
      plain = false;
      break;
    }
  }
  if (!plain) return decodeString(b, start, end) == String.UTF8.decode(want.buffer);
  if (n != want.length) return false;
  return memory.compare(b.dataStart + <usize>(start + 1), want.dataStart, <usize>n) == 0;
}

/** The index of the first non-whitespace byte at or after i. */
export function skipWS(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    i++;
  }
  return i;
}

/** The index just past the value that starts at i; -1 if there is none. */
export function skipValue(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  if (i >= n) return -1;
  const c = b[i];
  if (c == 0x22) return skipString(b, i);
  if (c == 0x7b || c == 0x5b) {
    // Containers: track nesting; strings are skipped whole so brackets in them do not count.
    const stack = new Array<u8>();
    while (i < n) {
      const d = b[i];
      if (d == 0x22) {
        i = skipString(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d == 0x7b || d == 0x5b) {
        stack.push(d == 0x7b ? 0x7d : 0x5d);
      } else if (d == 0x7d || d == 0x5d) {
        if (stack.length == 0 || stack.pop() != d) return -1;
        if (stack.length == 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A literal or a number: runs to a delimiter.
  const start = i;
  while (i < n) {
    const d = b[i];
    if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x0a || d == 0x0d || d == 0x09) break;
    i++;
  }
  return i > start ? i : -1;
}

/** The index just past the string that starts at i; -1 if there is none. */
export function skipString(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  if (i >= n || b[i] != 0x22) return -1;
  i++;
  while (i < n) {
    const c = b[i];
    if (c == 0x22) return i + 1;
    if (c == 0x5c) i++;
    i++;
  }
  return -1;
}

/** Decodes the JSON string b[start:end] (quotes included). */
export function decodeString(b: Uint8Array, start: i32, end: i32): string {
  // Fast path: no escapes.
  let escaped = false;
  for (let i = start + 1; i < end - 1; i++) {
    if (b[i] == 0x5c) {
      escaped = true;
      break;
    }
  }
  if (!escaped) return String.UTF8.decodeUnsafe(b.dataStart + <usize>(start + 1), <usize>(end - start - 2));
  const parts = new Array<string>();
  let from = start + 1;
  let i = from;
  while (i < end - 1) {
    if (b[i] != 0x5c) {
      i++;
      continue;
    }
    if (i > from) parts.push(String.UTF8.decodeUnsafe(b.dataStart + <usize>from, <usize>(i - from)));
    const e = b[i + 1];
    i += 2;
    if (e == 0x6e) parts.push("\n");
    else if (e == 0x74) parts.push("\t");
    else if (e == 0x72) parts.push("\r");
    else if (e == 0x62) parts.push("\b");
    else if (e == 0x66) parts.push("\f");
    else if (e == 0x75 && i + 4 <= end - 1) {
      let code = <i32>I32.parseInt(String.UTF8.decodeUnsafe(b.dataStart + <usize>i, 4), 16);
      i += 4;
      // A surrogate pair is two escapes.
      if (code >= 0xd800 && code < 0xdc00 && i + 6 <= end - 1 && b[i] == 0x5c && b[i + 1] == 0x75) {
        const low = <i32>I32.parseInt(String.UTF8.decodeUnsafe(b.dataStart + <usize>(i + 2), 4), 16);
        if (low >= 0xdc00 && low < 0xe000) {
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        }
      }
      parts.push(String.fromCodePoint(code));
    } else parts.push(String.fromCharCode(e)); // \" \\ \/
    from = i;
  }
  if (end - 1 > from) parts.push(String.UTF8.decodeUnsafe(b.dataStart + <usize>from, <usize>(end - 1 - from)));
  return parts.join("");
}

const HEX = "0123456789abcdef";

/**
 * Encodes s as a JSON string, escaping as Go's encoding/json does (including <, > and &), so
 * JSON built here matches what Ferry's Go SDK writes.
 */
export function quote(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x22 || c == 0x5c || c == 0x3c || c == 0x3e || c == 0x26 || c == 0x2028 || c == 0x2029) {
      plain = false;
      break;
    }
  }
  if (plain) return "\"" + s + "\"";
  const parts = new Array<string>();
  parts.push("\"");
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = "\\\"";
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20 || c == 0x3c || c == 0x3e || c == 0x26 || c == 0x2028 || c == 0x2029) {
      esc = "\\u" + HEX.charAt((c >> 12) & 15) + HEX.charAt((c >> 8) & 15) + HEX.charAt((c >> 4) & 15) + HEX.charAt(c & 15);
    }
    if (esc !== null) {
      if (i > from) parts.push(s.substring(from, i));
      parts.push(esc);
      from = i + 1;
    }
  }
  if (s.length > from) parts.push(s.substring(from));
  parts.push("\"");
  return parts.join("");
}

/** Encodes a list of strings as a JSON array. */
export function quoteAll(values: string[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = quote(values[i]);
  return "[" + parts.join(",") + "]";
}

/** Encodes a map of string lists (query parameters, headers) as a JSON object. */
export function encodeLists(m: Map<string, string[]>): string {
  const keys = m.keys();
  const parts = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) parts[i] = quote(keys[i]) + ":" + quoteAll(m.get(keys[i]));
  return "{" + parts.join(",") + "}";
}

/** Decodes a JSON object of string lists (query parameters, headers); null if v is not one. */
export function decodeLists(v: JSONValue | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (v === null || v.kind != Kind.Object) return out;
  const keys = v.keys();
  const values = v.items();
  for (let i = 0; i < keys.length && i < values.length; i++) {
    const list = new Array<string>();
    const items = values[i].items();
    for (let j = 0; j < items.length; j++) {
      const s = items[j].str();
      if (s !== null) list.push(s);
    }
    out.set(keys[i], list);
  }
  return out;
}
