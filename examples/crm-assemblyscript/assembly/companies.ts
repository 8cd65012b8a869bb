import { JSONValue, Log, Records, Request } from "@ferrysync/ferry-as";

import { fetchPage } from "./contacts";

/**
 * A full sync: it saves every company, following the Link header from page to page. The
 * provider has no deletion feed for companies; the host marks the companies this run did not
 * save deleted once it succeeds. Returns null on success, else the error.
 */
export function syncCompanies(): string | null {
  let req: Request | null = Request.get("/companies").param("per_page", "100");
  let pages = 0;
  let count = 0;
  let added: i64 = 0;
  let updated: i64 = 0;
  let unchanged: i64 = 0;
  while (req !== null) {
    const page = fetchPage(req);
    if (page.error !== null) return page.error;
    const items = page.items as JSONValue;
    const res = Records.save("Company", items.raw());
    if (!res.ok) return res.error;
    const n = items.count();
    pages++;
    count += n;
    added += res.value.added;
    updated += res.value.updated;
    unchanged += res.value.unchanged;
    Log.debug("companies page " + pages.toString() + ": " + n.toString() + " companies: " +
      res.value.added.toString() + " added, " + res.value.updated.toString() + " updated, " +
      res.value.unchanged.toString() + " unchanged");
    const next = page.response!.nextRequest();
    // A page that links to itself would never end.
    req = next !== null && next.target() != req.target() ? next : null;
  }
  Log.info("companies synced: " + pages.toString() + " pages, " + count.toString() + " companies: " +
    added.toString() + " added, " + updated.toString() + " updated, " + unchanged.toString() + " unchanged");
  return null;
}
