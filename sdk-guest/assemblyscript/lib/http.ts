// HTTP to the provider through the host's proxy: the host injects the connection's
// credentials, applies its rate limit and timeout, and retries 429, 5xx and network errors.

import { Result } from "./ferry";
import { bytes, call, Op, utf8 } from "./host";
import { decodeLists, encodeLists, JSONValue, quote } from "./json";

/** An HTTP request to the provider. */
export class Request {
  /** The HTTP method; "GET" by default. */
  method: string = "GET";
  /** A path resolved against the connection's base URL, e.g. "/contacts"; may carry a query. */
  path: string = "";
  /** An absolute URL instead of path; allowed only to the manifest's allowed_hosts. */
  url: string = "";
  /** Query parameters, added to the URL's own. */
  query: Map<string, string[]> = new Map<string, string[]>();
  /** Headers. Those that would carry credentials are dropped: the host injects its own. */
  headers: Map<string, string[]> = new Map<string, string[]>();
  /** The body, sent as is; set a Content-Type header to match. */
  body: Uint8Array | null = null;

  /** A GET request for a path relative to the base URL. */
  static get(path: string): Request {
    const r = new Request();
    r.path = path;
    return r;
  }

  /**
   * A request with method for a path relative to the base URL, e.g. an action's
   * `Request.to("PATCH", "/contacts/" + pathEscape(id)).json(body)`.
   */
  static to(method: string, path: string): Request {
    const r = new Request();
    r.method = method;
    r.path = path;
    return r;
  }

  /** A request for an absolute URL, such as a next-page link. */
  static url(method: string, url: string): Request {
    const r = new Request();
    r.method = method;
    r.url = url;
    return r;
  }

  /** Sets query parameter name to value, replacing its values; returns the request. */
  param(name: string, value: string): Request {
    this.query.set(name, [value]);
    return this;
  }

  /** Sets header name to value, replacing its values; returns the request. */
  header(name: string, value: string): Request {
    this.headers.set(name, [value]);
    return this;
  }

  /** Sets a JSON body and its Content-Type; returns the request. */
  json(body: string): Request {
    this.body = bytes(body);
    return this.header("Content-Type", "application/json");
  }

  /** The request's path or URL with its query, for messages. */
  target(): string {
    let t = this.url.length > 0 ? this.url : this.path;
    const keys = this.query.keys();
    for (let i = 0; i < keys.length; i++) {
      const values = this.query.get(keys[i]);
      for (let j = 0; j < values.length; j++) {
        t += (t.includes("?") ? "&" : "?") + keys[i] + "=" + values[j];
      }
    }
    return t;
  }

  /** The REQUEST_JSON line of the http host function. */
  encode(): string {
    let head = "{\"method\":" + quote(this.method);
    if (this.url.length > 0) head += ",\"url\":" + quote(this.url);
    else head += ",\"path\":" + quote(this.path);
    head += ",\"query\":" + encodeLists(this.query) + ",\"headers\":" + encodeLists(this.headers) + "}";
    return head;
  }

  /**
   * Sends the request. A response with any status is a success; the call fails only when no
   * response could be had (host not allowed, network error after retries, timeout).
   */
  send(): HTTPResult {
    const reply = call(Op.HTTP, this.encode() + "\n", this.body);
    const where = this.method + " " + this.target();
    if (!reply.ok) return new HTTPResult(null, "ferry: " + where + ": " + (reply.error as string));
    const data = reply.data;
    if (data === null) return new HTTPResult(null, "ferry: " + where + ": the host returned no response");
    const nl = data.indexOf(0x0a);
    const head = JSONValue.parse(nl < 0 ? data : data.subarray(0, nl));
    if (head === null) return new HTTPResult(null, "ferry: " + where + ": bad response head from the host");
    const status = head.get("status");
    const resp = new Response(
      where,
      status === null ? 0 : <i32>status.int(),
      decodeLists(head.get("headers")),
      nl < 0 ? new Uint8Array(0) : data.subarray(nl + 1),
    );
    return new HTTPResult(resp, null);
  }
}

/** A response from the provider. */
export class Response {
  constructor(
    /** The request's method and target, for messages. */
    public readonly request: string,
    /** The HTTP status code. */
    public readonly status: i32,
    /** The response's headers, by their canonical names (e.g. "Content-Type"). */
    public readonly headers: Map<string, string[]>,
    /** The whole body. */
    public readonly body: Uint8Array,
  ) {}

  /** Whether the status is 2xx. The host already retried 429 and 5xx. */
  get ok(): bool {
    return this.status >= 200 && this.status < 300;
  }

  /** An error message for a status other than 2xx, naming the request; null for 2xx. */
  error(): string | null {
    if (this.ok) return null;
    let msg = this.request + ": status " + this.status.toString();
    let body = this.text().trim();
    if (body.length > 512) body = body.substring(0, 512) + "...";
    if (body.length > 0) msg += ": " + body;
    return msg;
  }

  /** The body as text. */
  text(): string {
    return utf8(this.body);
  }

  /** The body as JSON; null if it is not JSON. */
  json(): JSONValue | null {
    return JSONValue.parse(this.body);
  }

  /**
   * The body as JSON, or an error naming the request, the status and the start of the body
   * when it is not JSON (an empty body is not), as Ferry's Go SDK words it.
   */
  decode(): Result<JSONValue> {
    const v = this.json();
    if (v !== null) return new Result<JSONValue>(v, null);
    let body = this.text();
    if (body.length > 80) body = body.substring(0, 80) + "...";
    return new Result<JSONValue>(
      new JSONValue(new Uint8Array(0), 0, 0),
      "ferry: " + this.request + ": decode " + this.status.toString() + " response body " + body + ": not JSON",
    );
  }

  /** The first value of header name (case-insensitive); null if absent. */
  header(name: string): string | null {
    const values = this.headerValues(name);
    return values.length > 0 ? values[0] : null;
  }

  /** Every value of header name (case-insensitive). */
  headerValues(name: string): string[] {
    return headerValues(this.headers, name);
  }

  /**
   * The target of the rel="next" link in the Link headers (RFC 8288), as GitHub and many
   * others paginate; null on the last page.
   */
  nextLink(): string | null {
    const values = this.headerValues("Link");
    for (let v = 0; v < values.length; v++) {
      const links = splitLinks(values[v]);
      for (let i = 0; i < links.length; i++) {
        const link = links[i];
        const open = link.indexOf("<");
        const close = link.indexOf(">", open + 1);
        if (open < 0 || close < 0) continue;
        const params = link.substring(close + 1).split(";");
        for (let p = 0; p < params.length; p++) {
          const eq = params[p].indexOf("=");
          if (eq < 0 || params[p].substring(0, eq).trim().toLowerCase() != "rel") continue;
          let rel = params[p].substring(eq + 1).trim();
          if (rel.startsWith("\"")) rel = rel.substring(1, rel.endsWith("\"") ? rel.length - 1 : rel.length);
          const rels = rel.split(" ");
          for (let r = 0; r < rels.length; r++) {
            if (rels[r].toLowerCase() == "next") return link.substring(open + 1, close);
          }
        }
      }
    }
    return null;
  }

  /**
   * The request for the page the next link points to, or null on the last page. An absolute
   * link becomes the request's URL (its host must be allowed); a relative one, its path.
   */
  nextRequest(): Request | null {
    const link = this.nextLink();
    if (link === null) return null;
    if (link.startsWith("http://") || link.startsWith("https://")) return Request.url("GET", link);
    return Request.get(link);
  }
}

/** Every value of header name in headers, matched case-insensitively. */
export function headerValues(headers: Map<string, string[]>, name: string): string[] {
  const lower = name.toLowerCase();
  const keys = headers.keys();
  for (let i = 0; i < keys.length; i++) {
    if (keys[i].toLowerCase() == lower) return headers.get(keys[i]);
  }
  return [];
}

const HEX_UPPER = "0123456789ABCDEF";

/**
 * Escapes s for use as one segment of a URL path, as Go's url.PathEscape does: UTF-8 bytes
 * other than letters, digits and `-_.~$&+:=@` become %XX, so an id with a slash or a space
 * stays one segment: `"/contacts/" + pathEscape(id)`.
 */
export function pathEscape(s: string): string {
  const b = bytes(s);
  let plain = true;
  for (let i = 0; i < b.length; i++) {
    if (!pathSafe(b[i])) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const parts = new Array<string>();
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (pathSafe(c)) parts.push(String.fromCharCode(c));
    else parts.push("%" + HEX_UPPER.charAt(c >> 4) + HEX_UPPER.charAt(c & 15));
  }
  return parts.join("");
}

function pathSafe(c: u8): bool {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  // - _ . ~ $ & + : = @
  return c == 0x2d || c == 0x5f || c == 0x2e || c == 0x7e || c == 0x24 || c == 0x26 || c == 0x2b ||
    c == 0x3a || c == 0x3d || c == 0x40;
}

/** Splits a Link header value at the commas between links (not those inside quotes). */
function splitLinks(s: string): string[] {
  const out = new Array<string>();
  let quoted = false;
  let inURL = false;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x3c) inURL = true;
    else if (c == 0x3e) inURL = false;
    else if (c == 0x22 && !inURL) quoted = !quoted;
    else if (c == 0x2c && !quoted && !inURL) {
      out.push(s.substring(from, i));
      from = i + 1;
    }
  }
  out.push(s.substring(from));
  return out;
}

/** The outcome of sending a request: a response, or why none could be had. */
export class HTTPResult {
  constructor(
    public readonly response: Response | null,
    public readonly error: string | null,
  ) {}

  get ok(): bool {
    return this.error === null;
  }

  /**
   * The response when it came and has a 2xx status; else null, with the reason in err(). A
   * shorthand for the common case where any other status is an error.
   */
  success(): Response | null {
    const r = this.response;
    return r !== null && r.ok ? r : null;
  }

  /** Why success() is null: the host's error, or the status and body; null on success. */
  err(): string | null {
    if (this.error !== null) return this.error;
    const r = this.response;
    return r === null ? "no response" : r.error();
  }
}
