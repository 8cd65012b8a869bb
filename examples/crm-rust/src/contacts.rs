//! The contacts sync: incremental, by cursor, with the provider's deletion feed.

use ferry::{Context, CursorPagination, Request, Timestamp};
use serde::{Deserialize, Serialize};

/// A person at a company, as the provider serves it and as the cache keeps it. Its fields and
/// their order are the provider's, so the record is the provider's JSON (and crm-go's).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub company_id: String,
    /// `null` stays `null`, `[]` stays `[]`.
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub address: Address,
    #[serde(default)]
    pub notes: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A contact's postal address.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub street: String,
    pub city: String,
    pub country: String,
}

/// Where the contacts sync stands between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ContactsCheckpoint {
    /// The updated_after filter: of the listing in progress while `cursor` is set, of the
    /// next run's listing once it is "". Empty before the first complete run.
    updated_after: String,
    /// The provider's cursor for the next page of the listing in progress; "" when no
    /// listing is in progress.
    cursor: String,
    /// The newest updated_at saved by the listing in progress. It is kept apart from
    /// updated_after because the cursor belongs to the listing's own filter.
    #[serde(skip_serializing_if = "String::is_empty")]
    max_updated_at: String,
}

/// The provider's largest page.
const CONTACTS_PAGE_SIZE: usize = 1000;

/// An incremental sync: it fetches the contacts changed since the last run, saving and
/// checkpointing after every page so that a run that dies resumes at the page it was on,
/// then applies the provider's deletion feed. Each page is queued: the host saves it while
/// the sync fetches and decodes the next.
pub fn sync_contacts(s: &mut ferry::Sync) -> ferry::Result<()> {
    let cp: ContactsCheckpoint = s.checkpoint()?.unwrap_or_default();
    let since = cp.updated_after.clone(); // the filter of this listing, and where the deletion feed starts
    let mut max_updated = parse_time(&cp.max_updated_at).context("checkpoint max_updated_at")?;
    let prev = parse_time(&since).context("checkpoint updated_after")?;
    if prev > max_updated {
        max_updated = prev;
    }
    if !cp.cursor.is_empty() {
        ferry::info!(
            s,
            "resuming the contacts listing updated after {:?} at cursor {}",
            since,
            cp.cursor
        );
    }

    let mut req = Request::get("/contacts").query("limit", CONTACTS_PAGE_SIZE);
    if !since.is_empty() {
        req = req.query("updated_after", &since);
    }
    let mut pages = s.http().paginate(
        req,
        CursorPagination::new("data", "next_cursor", "cursor").start(&cp.cursor),
    );
    let mut n = 0;
    while let Some(page) = pages.next(s)? {
        let contacts: Vec<Contact> = page.decode()?;
        // The host saves the page while the loop fetches the next. A page it refuses fails
        // a later call that waits for the queue: a later page's queue_save, or the flush
        // below.
        s.queue_save("Contact", &contacts)?;
        for c in &contacts {
            if Some(c.updated_at) > max_updated {
                max_updated = Some(c.updated_at);
            }
        }
        // After the batch, never before: the host queues the checkpoint behind the page and
        // writes it once the page is saved (and drops it if saving the page fails). A crash in
        // between replays the page, harmlessly.
        s.save_checkpoint(&ContactsCheckpoint {
            updated_after: since.clone(),
            cursor: page.cursor().to_string(),
            max_updated_at: format_time(max_updated),
        })?;
        n += 1;
        ferry::debug!(s, "contacts page {}: {} contacts", n, contacts.len());
    }
    // Waits for the queued pages: what they saved, or the failure of one of them.
    let total = s.flush()?;

    let mut deleted = 0;
    if !since.is_empty() {
        // on the first run nothing is cached that could have been deleted
        deleted = delete_contacts(s, &since)?;
    }

    let last = ContactsCheckpoint {
        updated_after: format_time(max_updated),
        ..Default::default()
    };
    s.save_checkpoint(&last)?;
    ferry::info!(
        s,
        "contacts synced: {} pages, {} added, {} updated, {} unchanged, {} deleted; next run fetches changes after {}",
        n,
        total.added,
        total.updated,
        total.unchanged,
        deleted,
        or_none(&last.updated_after)
    );
    Ok(())
}

/// Applies the provider's deletion feed since the given time and returns how many cached
/// contacts it deleted.
fn delete_contacts(s: &mut ferry::Sync, since: &str) -> ferry::Result<u64> {
    #[derive(Deserialize)]
    struct Deletion {
        id: String,
    }
    #[derive(Deserialize)]
    struct Feed {
        #[serde(default)]
        data: Vec<Deletion>,
    }
    let feed: Feed = s
        .http()
        .get_json("/contacts/deleted", &[("since", since)])?;
    let ids: Vec<String> = feed.data.into_iter().map(|d| d.id).collect();
    s.delete("Contact", &ids)
}

fn parse_time(s: &str) -> ferry::Result<Option<Timestamp>> {
    if s.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(s).map(Some)
}

fn format_time(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_utc().to_string()).unwrap_or_default()
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "(none)"
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_json_round_trips_unchanged() {
        let provider = r#"{"id":"c-000001","first_name":"Ada","last_name":"Lovelace","email":"ada.lovelace.1@harboratlas1.example","phone":"+1-555-123-4567","title":"CTO","company_id":"co-0001","tags":["lead","vip"],"address":{"street":"12 Mill Lane","city":"Lyon","country":"France"},"notes":"lorem ipsum","created_at":"2024-01-01T00:00:41.3Z","updated_at":"2024-02-10T08:01:02.123456Z"}"#;
        let c: Contact = serde_json::from_str(provider).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), provider);
        let no_tags = provider.replace(r#"["lead","vip"]"#, "null");
        let c: Contact = serde_json::from_str(&no_tags).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), no_tags);
    }

    #[test]
    fn checkpoint_shape() {
        let cp = ContactsCheckpoint {
            updated_after: "a".into(),
            cursor: "c".into(),
            max_updated_at: "m".into(),
        };
        assert_eq!(
            serde_json::to_string(&cp).unwrap(),
            r#"{"updated_after":"a","cursor":"c","max_updated_at":"m"}"#
        );
        let last = ContactsCheckpoint {
            updated_after: "a".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            r#"{"updated_after":"a","cursor":""}"#
        );
        let read: ContactsCheckpoint = serde_json::from_str(r#"{"cursor":"x"}"#).unwrap();
        assert_eq!(
            (read.updated_after.as_str(), read.cursor.as_str()),
            ("", "x")
        );
    }

    #[test]
    fn times() {
        assert_eq!(format_time(parse_time("").unwrap()), "");
        assert_eq!(
            format_time(parse_time("2024-02-10T10:01:02.500+02:00").unwrap()),
            "2024-02-10T08:01:02.5Z"
        );
        assert!(parse_time("2024-02-10").is_err());
        // None is before any time, as Go's zero time is.
        assert!(parse_time("1970-01-01T00:00:00Z").unwrap() > None);
    }
}
