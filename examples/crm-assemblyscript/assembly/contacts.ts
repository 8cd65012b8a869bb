import { Checkpoint, JSONValue, Kind, Log, quote, Records, Request, Response } from "@ferrysync/ferry-as";

import { parseTime, Time } from "./times";

/** The provider's largest page. */
const PAGE_SIZE = 1000;

/**
 * Where the contacts sync stands between runs, as examples/crm-go keeps it:
 * {"updated_after", "cursor", "max_updated_at"}.
 *
 * updated_after is the filter of the listing in progress while cursor is set, and of the next
 * run's listing once it is "". cursor is the provider's cursor for the listing's next page.
 * max_updated_at is the newest updated_at saved by the listing in progress, kept apart from
 * updated_after because the cursor belongs to the listing's own filter.
 */
class ContactsCheckpoint {
  updatedAfter: string = "";
  cursor: string = "";
  maxUpdatedAt: string = "";

  static decode(text: string | null): ContactsCheckpoint {
    const cp = new ContactsCheckpoint();
    if (text === null) return cp;
    const v = JSONValue.parseString(text);
    if (v === null) return cp;
    cp.updatedAfter = member(v, "updated_after");
    cp.cursor = member(v, "cursor");
    cp.maxUpdatedAt = member(v, "max_updated_at");
    return cp;
  }

  encode(): string {
    let s = "{\"updated_after\":" + quote(this.updatedAfter) + ",\"cursor\":" + quote(this.cursor);
    if (this.maxUpdatedAt.length > 0) s += ",\"max_updated_at\":" + quote(this.maxUpdatedAt);
    return s + "}";
  }
}

function updatedAt(contact: JSONValue): Time | null {
  const v = contact.get("updated_at");
  if (v === null || v.kind != Kind.String) return null;
  return parseTime(v.str() as string);
}

function member(v: JSONValue, key: string): string {
  const m = v.get(key);
  if (m === null) return "";
  const s = m.str();
  return s === null ? "" : s;
}

/**
 * An incremental sync: it fetches the contacts changed since the last run, saving and
 * checkpointing after every page so that a run that dies resumes at the page it was on, then
 * applies the provider's deletion feed. Returns null on success, else the error.
 */
export function syncContacts(): string | null {
  const got = Checkpoint.get();
  if (!got.ok) return got.error;
  const cp = ContactsCheckpoint.decode(got.value);
  const since = cp.updatedAfter; // the filter of this listing, and where the deletion feed starts
  let maxUpdated = parseTime(cp.maxUpdatedAt);
  if (maxUpdated === null) return "checkpoint max_updated_at: not an RFC 3339 UTC time: " + quote(cp.maxUpdatedAt);
  const prev = parseTime(since);
  if (prev === null) return "checkpoint updated_after: not an RFC 3339 UTC time: " + quote(since);
  if (prev.after(maxUpdated)) maxUpdated = prev;
  if (cp.cursor.length > 0) {
    Log.info("resuming the contacts listing updated after " + quote(since) + " at cursor " + cp.cursor);
  }

  let cursor = cp.cursor;
  let pages = 0;
  let added: i64 = 0;
  let updated: i64 = 0;
  let unchanged: i64 = 0;
  while (true) {
    const req = Request.get("/contacts").param("limit", PAGE_SIZE.toString());
    if (since.length > 0) req.param("updated_after", since);
    if (cursor.length > 0) req.param("cursor", cursor);
    const page = fetchPage(req);
    if (page.error !== null) return page.error;
    const items = page.items as JSONValue;

    // The provider's objects are saved as they come, so the records are its JSON exactly.
    const res = Records.save("Contact", items.raw());
    if (!res.ok) return res.error;
    const contacts = items.items();
    for (let i = 0; i < contacts.length; i++) {
      const t = updatedAt(contacts[i]);
      if (t === null) return "contact " + i.toString() + " of page " + (pages + 1).toString() + ": updated_at is not an RFC 3339 UTC time";
      if (t.after(maxUpdated)) maxUpdated = t;
    }
    // The next page's cursor: "" (or the one that fetched this page) on the last.
    let next = member(page.body, "next_cursor");
    if (next == cursor) next = "";

    // After the batch, never before: a crash in between replays the page, harmlessly.
    const mid = new ContactsCheckpoint();
    mid.updatedAfter = since;
    mid.cursor = next;
    mid.maxUpdatedAt = maxUpdated.toString();
    const err = Checkpoint.save(mid.encode());
    if (err !== null) return err;

    pages++;
    added += res.value.added;
    updated += res.value.updated;
    unchanged += res.value.unchanged;
    Log.debug("contacts page " + pages.toString() + ": " + contacts.length.toString() + " contacts: " +
      res.value.added.toString() + " added, " + res.value.updated.toString() + " updated, " +
      res.value.unchanged.toString() + " unchanged");
    if (next.length == 0) break;
    cursor = next;
  }

  let deleted: i64 = 0;
  if (since.length > 0) { // on the first run nothing is cached that could have been deleted
    const feed = fetchPage(Request.get("/contacts/deleted").param("since", since));
    if (feed.error !== null) return feed.error;
    // The feed's objects carry their "id", which is all a delete needs.
    const res = Records.delete("Contact", (feed.items as JSONValue).raw());
    if (!res.ok) return res.error;
    deleted = res.value.deleted;
  }

  const final = new ContactsCheckpoint();
  final.updatedAfter = maxUpdated.toString();
  const err = Checkpoint.save(final.encode());
  if (err !== null) return err;
  Log.info("contacts synced: " + pages.toString() + " pages, " + added.toString() + " added, " +
    updated.toString() + " updated, " + unchanged.toString() + " unchanged, " + deleted.toString() +
    " deleted; next run fetches changes after " + (final.updatedAfter.length > 0 ? final.updatedAfter : "(none)"));
  return null;
}

/** A fetched page of a listing: its body and the items array at "data". */
export class Page {
  constructor(
    public readonly response: Response | null,
    public readonly body: JSONValue,
    public readonly items: JSONValue | null,
    public readonly error: string | null,
  ) {}
}

/** Sends req and finds the items array at "data" in a 2xx JSON response. */
export function fetchPage(req: Request): Page {
  const empty = new JSONValue(new Uint8Array(0), 0, 0);
  const sent = req.send();
  const resp = sent.success();
  if (resp === null) return new Page(null, empty, null, sent.err());
  const where = "ferry: paginate " + req.method + " " + req.target() + ": ";
  const body = resp.json();
  if (body === null) return new Page(resp, empty, null, where + "response body is not JSON: " + excerpt(resp.text()));
  const items = body.get("data");
  if (items === null) {
    // Not an empty page: a wrong path would otherwise end a full sync with nothing saved,
    // and everything cached marked deleted.
    return new Page(resp, body, null, where + "no items at \"data\" in response body " + excerpt(resp.text()));
  }
  if (items.kind == Kind.Null) return new Page(resp, body, JSONValue.parseString("[]"), null);
  if (items.kind != Kind.Array) return new Page(resp, body, null, where + "items at \"data\" are " + excerpt(items.toString()) + ", want a JSON array");
  return new Page(resp, body, items, null);
}

function excerpt(s: string): string {
  return s.length > 80 ? s.substring(0, 80) + "..." : s;
}
