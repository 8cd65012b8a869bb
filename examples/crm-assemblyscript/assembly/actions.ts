// The actions: create and update contacts at the provider, as examples/crm-go does (same
// requests, same records, same links, same outputs).

import {
  input,
  JSONValue,
  Kind,
  Links,
  Log,
  Metadata,
  output,
  pathEscape,
  quote,
  Records,
  Request,
  Result,
} from "@ferrysync/ferry-as";

/** The input fields of the contact actions that become provider fields. */
const CONTACT_FIELDS: string[] = ["email", "first_name", "last_name", "company"];

/**
 * The input of create-contact and update-contact: the app's record id and the contact fields
 * the app gave, by their input names. Only the fields given are sent.
 */
class ContactInput {
  appID: string = "";
  fields: Map<string, string> = new Map<string, string>();

  field(name: string): string {
    return this.fields.has(name) ? this.fields.get(name) : "";
  }
}

/**
 * Reads and checks an action's input: a JSON object of strings (null counts as ""). ferry.yaml's
 * input schema already refused anything else; this keeps the plugin correct on its own.
 */
function readContactInput(): Result<ContactInput> {
  const in_ = new ContactInput();
  const text = input();
  const fields = stringMap(text);
  if (fields === null) return new Result<ContactInput>(in_, "ferry: decode input " + excerpt(text) + ": want a JSON object of strings");
  const keys = fields.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k == "app_id") {
      in_.appID = fields.get(k);
    } else if (!CONTACT_FIELDS.includes(k)) {
      return new Result<ContactInput>(in_, "input field " + quote(k) + " is not one of app_id, " + CONTACT_FIELDS.join(", "));
    } else {
      in_.fields.set(k, fields.get(k));
    }
  }
  return new Result<ContactInput>(in_, null);
}

/**
 * Renames fields by the connection's field mapping, dropping those mapped to "". Two input
 * fields mapped to the same provider field are an error, since only one of them could be sent.
 */
function providerFields(fields: Map<string, string>, mapping: Map<string, string>): Result<Map<string, string>> {
  const out = new Map<string, string>();
  const from = new Map<string, string>(); // provider field -> the input field sent as it
  const keys = fields.keys();
  keys.sort(); // so the error names the same pair every time
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const to = mapping.has(k) ? mapping.get(k) : k;
    if (to.length == 0) continue;
    if (from.has(to)) {
      return new Result<Map<string, string>>(out,
        "field_mapping sends both " + quote(from.get(to)) + " and " + quote(k) + " as the provider's " + quote(to));
    }
    from.set(to, k);
    out.set(to, fields.get(k));
  }
  return new Result<Map<string, string>>(out, null);
}

/**
 * Applies the connection's field mapping to the input's fields. The metadata, which the app
 * sets, may hold {"field_mapping": {"company": "title"}}: the input's company is sent as the
 * provider's title. A field it leaves out keeps its name; one mapped to "" is not sent.
 */
function mappedFields(in_: ContactInput): Result<Map<string, string>> {
  const none = new Map<string, string>();
  const md = Metadata.get();
  if (!md.ok) return new Result<Map<string, string>>(none, md.error);
  const v = JSONValue.parseString(md.value);
  let mapping: Map<string, string> | null = new Map<string, string>();
  if (v === null || v.kind != Kind.Object) {
    mapping = null;
  } else {
    const m = v.get("field_mapping");
    if (m !== null && !m.isNull) mapping = stringMap(m.toString());
  }
  if (mapping === null) {
    return new Result<Map<string, string>>(none, "ferry: decode metadata " + excerpt(md.value) + ": field_mapping must be an object of strings");
  }
  const fields = providerFields(in_.fields, mapping);
  if (!fields.ok) return new Result<Map<string, string>>(none, "connection metadata: " + (fields.error as string));
  return fields;
}

/**
 * Finds the provider's contact with the input's email or creates it, links it to the app's id
 * when the input has one, and saves it in the cache. Its output is {"created": whether it was
 * created, "id": provider id}. Returns null on success, else the error.
 *
 * Finding first makes the action safe to repeat: a retried call finds the contact the first
 * call created instead of creating a second one.
 */
export function createContact(): string | null {
  const got = readContactInput();
  if (!got.ok) return got.error;
  const in_ = got.value;
  const email = in_.field("email");
  if (email.length == 0) return "create-contact: \"email\" is required";

  const found = sendJSON(Request.get("/contacts").param("email", email).param("limit", "1"));
  if (!found.ok) return "create-contact: look for " + email + ": " + (found.error as string);
  const data = found.value.get("data");
  if (data !== null && !data.isNull && data.kind != Kind.Array) {
    return "create-contact: look for " + email + ": \"data\" is " + excerpt(data.toString()) + ", want a JSON array";
  }
  const matches = data === null ? new Array<JSONValue>() : data.items();
  const created = matches.length == 0;
  let contact: JSONValue;
  let id: string;
  if (created) {
    const fields = mappedFields(in_);
    if (!fields.ok) return "create-contact: " + (fields.error as string);
    const sent = sendJSON(Request.to("POST", "/contacts").json(encodeFields(fields.value)));
    if (!sent.ok) return "create-contact " + email + ": " + (sent.error as string);
    contact = sent.value;
    const cid = contactID(contact);
    if (cid === null) return "create-contact " + email + ": the provider answered " + excerpt(contact.toString()) + ", not a contact";
    id = cid;
    Log.info("created contact " + id + " for " + email);
  } else {
    contact = matches[0];
    const cid = contactID(contact);
    if (cid === null) return "create-contact: look for " + email + ": the provider answered " + excerpt(contact.toString()) + ", not a contact";
    id = cid;
    Log.info("found contact " + id + " for " + email + "; nothing written");
  }
  if (in_.appID.length > 0) {
    const err = Links.put("Contact", in_.appID, id);
    if (err !== null) return "create-contact: " + err;
  }
  const err = saveContact(contact);
  if (err !== null) return "create-contact: " + err;
  // The keys in Go's order (encoding/json sorts a map's keys), so the outputs are identical.
  return output("{\"created\":" + (created ? "true" : "false") + ",\"id\":" + quote(id) + "}");
}

/**
 * Changes the provider's contact linked to the input's app_id with the input's fields and saves
 * what the provider answered. Its output is {"id", "updated": true}. Returns null on success,
 * else the error.
 */
export function updateContact(): string | null {
  const got = readContactInput();
  if (!got.ok) return got.error;
  const in_ = got.value;
  if (in_.appID.length == 0) return "update-contact: \"app_id\" is required";
  const linked = Links.byApp("Contact", in_.appID);
  if (!linked.ok) return "update-contact: " + (linked.error as string);
  const link = linked.value;
  if (link === null) {
    return "update-contact: no Contact is linked to app id " + quote(in_.appID) +
      ": create it with create-contact and this app_id, or put the link (PUT /v1/links/...)";
  }
  const fields = mappedFields(in_);
  if (!fields.ok) return "update-contact: " + (fields.error as string);

  const req = Request.to("PATCH", "/contacts/" + pathEscape(link.externalID)).json(encodeFields(fields.value));
  const sent = req.header("Accept", "application/json").send();
  const resp = sent.response;
  if (resp !== null && resp.status == 404) {
    return "update-contact: contact " + link.externalID + ", linked to app id " + quote(in_.appID) +
      ", is gone from the provider: " + (sent.err() as string);
  }
  if (resp === null || !resp.ok) return "update-contact " + link.externalID + ": " + (sent.err() as string);
  const body = resp.decode();
  if (!body.ok) return "update-contact " + link.externalID + ": " + (body.error as string);
  const contact = body.value;
  const id = contactID(contact);
  if (id === null) return "update-contact " + link.externalID + ": the provider answered " + excerpt(contact.toString()) + ", not a contact";

  const err = saveContact(contact);
  if (err !== null) return "update-contact: " + err;
  Log.info("updated contact " + id + " (app id " + in_.appID + "): " + fields.value.size.toString() + " fields");
  return output("{\"id\":" + quote(id) + ",\"updated\":true}");
}

/**
 * Saves the provider's contact as the contacts sync does (its JSON exactly as the provider
 * served it), making the cache current now; the next sync that fetches it counts it unchanged.
 */
export function saveContact(contact: JSONValue): string | null {
  const res = Records.saveJSON("Contact", "[" + contact.toString() + "]");
  return res.ok ? null : res.error;
}

/** A contact's "id": "" when it has none, null when the value is not an object with a string id. */
export function contactID(contact: JSONValue): string | null {
  if (contact.kind != Kind.Object) return null;
  const id = contact.get("id");
  if (id === null || id.isNull) return "";
  return id.str();
}

/**
 * Sends req asking for JSON and returns the 2xx response's body, else the error: the host's,
 * or the status and body (Ferry's Go SDK's GetJSON and SendJSON).
 */
function sendJSON(req: Request): Result<JSONValue> {
  const sent = req.header("Accept", "application/json").send();
  const resp = sent.success();
  if (resp === null) return new Result<JSONValue>(new JSONValue(new Uint8Array(0), 0, 0), sent.err());
  return resp.decode();
}

/** Encodes fields as a JSON object with sorted keys, the body Go's encoding/json writes. */
function encodeFields(fields: Map<string, string>): string {
  const keys = fields.keys();
  keys.sort();
  const parts = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) parts[i] = quote(keys[i]) + ":" + quote(fields.get(keys[i]));
  return "{" + parts.join(",") + "}";
}

/** Decodes a JSON object of strings (a null member is ""); "null" is empty; null for anything else. */
function stringMap(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  const v = JSONValue.parseString(text);
  if (v === null) return null;
  if (v.isNull) return out;
  if (v.kind != Kind.Object) return null;
  const keys = v.keys();
  const values = v.items();
  for (let i = 0; i < keys.length; i++) {
    const m = values[i];
    if (m.isNull) {
      out.set(keys[i], "");
      continue;
    }
    const s = m.str();
    if (s === null) return null;
    out.set(keys[i], s);
  }
  return out;
}

function excerpt(s: string): string {
  return s.length > 80 ? s.substring(0, 80) + "..." : s;
}
