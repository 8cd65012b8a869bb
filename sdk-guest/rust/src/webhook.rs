//! Inbound webhooks: the provider's request and the answer to it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::abi::HostFn;
use crate::error::{excerpt, Error, Result};
use crate::host::Webhook;
use crate::http::Headers;

/// The provider's HTTP request to Ferry's inbound webhook route.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct WebhookRequest {
    /// The HTTP method, normally POST.
    #[serde(default)]
    pub method: String,
    /// The request's path on Ferry, `/v1/hooks/INTEGRATION/CONNECTION`.
    #[serde(default)]
    pub path: String,
    /// The request's query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, Vec<String>>,
    /// The request's headers, signature included.
    #[serde(default)]
    pub headers: Headers,
    /// The raw request body, exactly as the provider sent it.
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// Decodes the body as JSON into a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::msg(format!(
                "ferry: decode webhook body {}: {}",
                excerpt(&self.body, 80),
                e
            ))
        })
    }
}

impl Webhook {
    /// The provider's request. The host hands it over as the call's input,
    /// `REQUEST_JSON\nBODY` (docs/abi.md); it is read once, and later calls return a copy of
    /// the same request.
    pub fn request(&mut self) -> Result<WebhookRequest> {
        if let Some(req) = &self.req {
            return Ok(req.clone());
        }
        let res = self
            .call(HostFn::Input, &[])
            .map_err(|e| e.context("ferry: read webhook request"))?
            .unwrap_or_default();
        let (head, body) = match res.iter().position(|&c| c == b'\n') {
            Some(i) => (&res[..i], &res[i + 1..]),
            None => (&res[..], &[][..]),
        };
        let mut req: WebhookRequest = serde_json::from_slice(head).map_err(|e| {
            Error::msg(format!(
                "ferry: decode webhook request {:?}: {}",
                excerpt(head, 80),
                e
            ))
        })?;
        req.body = body.to_vec();
        self.req = Some(req.clone());
        Ok(req)
    }

    /// Sets the body Ferry answers the provider with, for providers that expect one (a
    /// challenge echoed back, say); the host answers 200 with it, or 204 No Content when the
    /// handler set none. Calling it again replaces the earlier body.
    pub fn respond(&mut self, body: &[u8]) -> Result<()> {
        self.call(HostFn::Output, body)
            .map_err(|e| e.context("ferry: set webhook response"))?;
        Ok(())
    }

    /// Sets the response body to `v` encoded as JSON, as [`Webhook::respond`] does.
    pub fn respond_json<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.output_json(v, "webhook response")
    }
}
