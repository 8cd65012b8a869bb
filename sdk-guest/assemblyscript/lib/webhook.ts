// The provider's request to an inbound webhook handler. The host hands it over as the call's
// input, "REQUEST_JSON\nBODY" (docs/abi.md), after checking its signature as ferry.yaml's
// webhook.signature says, so the request is the provider's.

import { Result } from "./ferry";
import { call, Op, utf8 } from "./host";
import { headerValues } from "./http";
import { decodeLists, JSONValue, Kind } from "./json";

/** The provider's HTTP request to Ferry's inbound webhook route. */
export class WebhookRequest {
  constructor(
    /** The HTTP method, normally POST. */
    public readonly method: string,
    /** The request's path on Ferry, /v1/hooks/INTEGRATION/CONNECTION. */
    public readonly path: string,
    /** The request's query parameters. */
    public readonly query: Map<string, string[]>,
    /** The request's headers, by their canonical names, signature included. */
    public readonly headers: Map<string, string[]>,
    /** The raw body, exactly as the provider sent it. */
    public readonly body: Uint8Array,
  ) {}

  /** The first value of header name (case-insensitive); null if absent. */
  header(name: string): string | null {
    const values = headerValues(this.headers, name);
    return values.length > 0 ? values[0] : null;
  }

  /** The body as text. */
  text(): string {
    return utf8(this.body);
  }

  /** The body as JSON, or an error quoting its start when it is not JSON. */
  json(): Result<JSONValue> {
    const v = JSONValue.parse(this.body);
    if (v !== null) return new Result<JSONValue>(v, null);
    return new Result<JSONValue>(new JSONValue(new Uint8Array(0), 0, 0), "ferry: decode webhook body " + excerpt(this.text()) + ": not JSON");
  }
}

/**
 * The provider's request, in a webhook handler (the export ferry.yaml's webhook.export
 * names). Whatever the handler sets with `output` is the body Ferry answers the provider with
 * (200); none answers 204. A handler that fails answers a non-2xx status, so a provider that
 * retries sends the event again: keep its writes idempotent (saves and deletes are).
 */
export function webhookRequest(): Result<WebhookRequest> {
  const empty = new WebhookRequest("", "", new Map<string, string[]>(), new Map<string, string[]>(), new Uint8Array(0));
  const reply = call(Op.Input, null);
  if (!reply.ok) return new Result<WebhookRequest>(empty, "ferry: read webhook request: " + (reply.error as string));
  const data = reply.data;
  if (data === null) return new Result<WebhookRequest>(empty, "ferry: read webhook request: no input: is this export the webhook handler?");
  const nl = data.indexOf(0x0a);
  const headBytes = nl < 0 ? data : data.subarray(0, nl);
  const head = JSONValue.parse(headBytes);
  if (head === null || head.kind != Kind.Object) {
    return new Result<WebhookRequest>(empty, "ferry: decode webhook request " + excerpt(utf8(headBytes)) + ": not a JSON object");
  }
  const req = new WebhookRequest(
    member(head, "method"),
    member(head, "path"),
    decodeLists(head.get("query")),
    decodeLists(head.get("headers")),
    nl < 0 ? new Uint8Array(0) : data.subarray(nl + 1),
  );
  return new Result<WebhookRequest>(req, null);
}

function member(v: JSONValue, key: string): string {
  const m = v.get(key);
  if (m === null) return "";
  const s = m.str();
  return s === null ? "" : s;
}

function excerpt(s: string): string {
  return s.length > 80 ? s.substring(0, 80) + "..." : s;
}
