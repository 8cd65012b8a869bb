//! The webhook handler: the provider's contact events, applied as they come.

use serde::Deserialize;

use crate::contacts::Contact;

/// The body of the provider's webhook: a contact that was created or updated, whole, or the
/// id of one that was deleted.
#[derive(Deserialize)]
struct ProviderEvent {
    #[serde(rename = "type", default)]
    kind: String,
    contact: Option<Contact>,
    #[serde(default)]
    id: String,
}

/// Applies one provider event to the cache as it happens: a created or updated contact is
/// saved (the same Contact the contacts sync saves, so that sync later counts it unchanged), a
/// deleted one deleted. The host has checked the event's signature. Saving and deleting are
/// idempotent, so an event the provider sends again changes nothing.
pub fn on_webhook(w: &mut ferry::Webhook) -> ferry::Result<()> {
    let ev: ProviderEvent = w.request()?.json()?;
    match ev.kind.as_str() {
        "contact.created" | "contact.updated" => {
            let c = match ev.contact {
                Some(c) if !c.id.is_empty() => c,
                _ => ferry::bail!("{} event without a contact id", ev.kind),
            };
            let res = w
                .save("Contact", std::slice::from_ref(&c))
                .map_err(|e| e.context(format!("{} {}", ev.kind, c.id)))?;
            ferry::info!(
                w,
                "{} {}: {} added, {} updated, {} unchanged",
                ev.kind,
                c.id,
                res.added,
                res.updated,
                res.unchanged
            );
        }
        "contact.deleted" => {
            if ev.id.is_empty() {
                ferry::bail!("{} event without an id", ev.kind);
            }
            let n = w
                .delete("Contact", &[&ev.id])
                .map_err(|e| e.context(format!("{} {}", ev.kind, ev.id)))?;
            ferry::info!(w, "{} {}: {} deleted", ev.kind, ev.id, n);
        }
        // A provider adds event types over time; an unknown one is not an error, or the
        // provider would retry it for nothing.
        _ => ferry::warn!(w, "ignored a provider event of type {:?}", ev.kind),
    }
    Ok(())
}
