//! The companies sync: full, following the Link header.

use ferry::{LinkPagination, Request, SaveResult, Timestamp};
use serde::{Deserialize, Serialize};

/// An organisation contacts belong to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Company {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub employees: i64,
    pub updated_at: Timestamp,
}

/// A full sync: it saves every company, following the Link header from page to page. The
/// provider has no deletion feed for companies; the host marks the companies this run did not
/// save deleted once it succeeds.
pub fn sync_companies(s: &mut ferry::Sync) -> ferry::Result<()> {
    let mut pages = s.http().paginate(
        Request::get("/companies").query("per_page", 100),
        LinkPagination::new("data"),
    );
    let mut total = SaveResult::default();
    let (mut n, mut count) = (0, 0);
    while let Some(page) = pages.next(s)? {
        let companies: Vec<Company> = page.decode()?;
        let res = s.save("Company", &companies)?;
        n += 1;
        count += companies.len();
        total += res;
        ferry::debug!(
            s,
            "companies page {}: {} companies: {} added, {} updated, {} unchanged",
            n,
            companies.len(),
            res.added,
            res.updated,
            res.unchanged
        );
    }
    ferry::info!(
        s,
        "companies synced: {} pages, {} companies: {} added, {} updated, {} unchanged",
        n,
        count,
        total.added,
        total.updated,
        total.unchanged
    );
    Ok(())
}
