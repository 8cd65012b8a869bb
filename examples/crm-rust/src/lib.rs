//! Ferry's example plugin in Rust: it syncs the contacts and companies of the example CRM
//! provider (examples/provider) both ways, as examples/crm-go does: syncs read them, actions
//! create and update contacts, and a webhook handler applies the provider's change events as
//! they come. Build it with
//!
//! ```sh
//! /usr/bin/cargo build --release --target wasm32-wasi
//! ```
//!
//! The module's exports are the functions ferry.yaml names: sync_contacts, sync_companies,
//! create_contact, update_contact and on_webhook.

mod actions;
mod companies;
mod contacts;
mod webhook;

ferry::sync_export!(sync_contacts, contacts::sync_contacts);
ferry::sync_export!(sync_companies, companies::sync_companies);
ferry::action_export!(create_contact, actions::create_contact);
ferry::action_export!(update_contact, actions::update_contact);
ferry::webhook_export!(on_webhook, webhook::on_webhook);
