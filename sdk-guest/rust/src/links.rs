//! Data links: an app's record id paired with the provider's id of the same record.

use serde::{Deserialize, Serialize};

use crate::abi::HostFn;
use crate::error::{excerpt, Error, Result};
use crate::host::Host;
use crate::records::check_model;

/// A data link: an app's record id paired with the provider's id of the same record, kept per
/// connection and model. The app reads and writes the same links over Ferry's REST API
/// (`/v1/links/...`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// The record's id in the app.
    pub app_id: String,
    /// The record's id at the provider.
    pub external_id: String,
}

/// Reads and writes the connection's data links, so that a push action can find the
/// provider's record that matches an app's record, and remember the one it created. Each
/// model has its own links: an app id may be linked to one external id per model, and an
/// external id to one app id. Get one from [`Host::links`].
pub struct Links<'a> {
    host: &'a mut Host,
}

impl Host {
    /// The connection's data links.
    pub fn links(&mut self) -> Links<'_> {
        Links { host: self }
    }
}

#[derive(Serialize)]
struct ByAppId<'a> {
    app_id: &'a str,
}

#[derive(Serialize)]
struct ByExternalId<'a> {
    external_id: &'a str,
}

impl<'a> Links<'a> {
    /// The link of `model` whose app id is `app_id`, or `None` when there is none.
    pub fn by_app_id(&mut self, model: &str, app_id: &str) -> Result<Option<Link>> {
        if app_id.is_empty() {
            return Err(Error::msg(format!(
                "ferry: get {} link: empty app id",
                model
            )));
        }
        self.get(model, &ByAppId { app_id }, &format!("app id {}", app_id))
    }

    /// The link of `model` whose external id is `external_id`, or `None` when there is none.
    pub fn by_external_id(&mut self, model: &str, external_id: &str) -> Result<Option<Link>> {
        if external_id.is_empty() {
            return Err(Error::msg(format!(
                "ferry: get {} link: empty external id",
                model
            )));
        }
        self.get(
            model,
            &ByExternalId { external_id },
            &format!("external id {}", external_id),
        )
    }

    fn get<T: Serialize>(&mut self, model: &str, key: &T, what: &str) -> Result<Option<Link>> {
        let res = self
            .call(HostFn::LinksGet, model, key)
            .map_err(|e| e.context(format!("ferry: get {} link of {}", model, what)))?;
        match res {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                Error::msg(format!(
                    "ferry: get {} link of {}: decode host result {:?}: {}",
                    model,
                    what,
                    excerpt(&b, 80),
                    e
                ))
            }),
        }
    }

    /// Stores `link` for `model`. It replaces the link of `link.app_id` and the link of
    /// `link.external_id`, if there are any, so each id stays linked once; putting the same
    /// link again changes nothing. Both ids must be set.
    pub fn put(&mut self, model: &str, link: &Link) -> Result<()> {
        if link.app_id.is_empty() || link.external_id.is_empty() {
            return Err(Error::msg(format!(
                "ferry: put {} link {:?}: both app_id and external_id must be set",
                model, link
            )));
        }
        self.call(HostFn::LinksPut, model, link).map_err(|e| {
            e.context(format!(
                "ferry: put {} link of app id {}",
                model, link.app_id
            ))
        })?;
        Ok(())
    }

    /// Removes the link of `model` whose app id is `app_id`. Deleting a link that does not
    /// exist is not an error, so a replayed deletion is harmless.
    pub fn delete(&mut self, model: &str, app_id: &str) -> Result<()> {
        if app_id.is_empty() {
            return Err(Error::msg(format!(
                "ferry: delete {} link: empty app id",
                model
            )));
        }
        self.call(HostFn::LinksDelete, model, &ByAppId { app_id })
            .map_err(|e| e.context(format!("ferry: delete {} link of app id {}", model, app_id)))?;
        Ok(())
    }

    /// Sends `MODEL\n{...}` to `f`.
    fn call<T: Serialize>(&mut self, f: HostFn, model: &str, v: &T) -> Result<Option<Vec<u8>>> {
        check_model(model)?;
        self.host
            .call_json(f, &format!("{}\n", model), v, b'{', "link")
    }
}
