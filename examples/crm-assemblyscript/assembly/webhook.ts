// The webhook handler: the provider's contact events, applied as they come, as examples/crm-go
// applies them.

import { JSONValue, Kind, Log, quote, Records, webhookRequest } from "@ferrysync/ferry-as";

import { contactID } from "./actions";

/**
 * Applies one provider event to the cache as it happens. The event is the provider's request
 * body: {"type": "contact.created" or "contact.updated", "contact": the contact, whole}, or
 * {"type": "contact.deleted", "id"}. A created or updated contact is saved (the provider's
 * JSON, as the contacts sync saves it, so that sync later counts it unchanged), a deleted one
 * deleted. The host has checked the event's signature. Saving and deleting are idempotent, so
 * an event the provider sends again changes nothing. Returns null on success, else the error.
 */
export function onWebhook(): string | null {
  const got = webhookRequest();
  if (!got.ok) return got.error;
  const body = got.value.json();
  if (!body.ok) return body.error;
  const ev = body.value;
  if (ev.kind != Kind.Object) return "ferry: decode webhook body " + excerpt(ev.toString()) + ": want a JSON object";
  const type = stringMember(ev, "type");
  if (type === null) return "ferry: decode webhook body " + excerpt(ev.toString()) + ": \"type\" is not a string";

  if (type == "contact.created" || type == "contact.updated") {
    const contact = ev.get("contact");
    const id = contact === null || contact.isNull ? "" : contactID(contact);
    if (id === null) return "ferry: decode webhook body " + excerpt(ev.toString()) + ": \"contact\" is not a contact";
    if (id.length == 0) return type + " event without a contact id";
    const res = Records.saveJSON("Contact", "[" + (contact as JSONValue).toString() + "]");
    if (!res.ok) return type + " " + id + ": " + (res.error as string);
    Log.info(type + " " + id + ": " + res.value.added.toString() + " added, " + res.value.updated.toString() +
      " updated, " + res.value.unchanged.toString() + " unchanged");
  } else if (type == "contact.deleted") {
    const id = stringMember(ev, "id");
    if (id === null) return "ferry: decode webhook body " + excerpt(ev.toString()) + ": \"id\" is not a string";
    if (id.length == 0) return type + " event without an id";
    const res = Records.deleteIDs("Contact", [id]);
    if (!res.ok) return type + " " + id + ": " + (res.error as string);
    Log.info(type + " " + id + ": " + res.value.deleted.toString() + " deleted");
  } else {
    // A provider adds event types over time; an unknown one is not an error, or the provider
    // would retry it for nothing.
    Log.warn("ignored a provider event of type " + quote(type));
  }
  return null;
}

/** The string member key of v: "" when it is missing or null, null when it is not a string. */
function stringMember(v: JSONValue, key: string): string | null {
  const m = v.get(key);
  if (m === null || m.isNull) return "";
  return m.str();
}

function excerpt(s: string): string {
  return s.length > 80 ? s.substring(0, 80) + "..." : s;
}
