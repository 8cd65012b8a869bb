// crm-assemblyscript is Ferry's example plugin in AssemblyScript, built with Extism's PDK: it
// syncs the contacts and companies of the example CRM provider (examples/provider) both ways,
// as examples/crm-go does: syncs read them (the same records and checkpoints), actions create
// and update contacts, and a webhook handler applies the provider's change events as they
// come. Build it with ./build.sh.
//
// The module's exports are the functions ferry.yaml names: sync_contacts, sync_companies,
// create_contact, update_contact and on_webhook.

import { run } from "@ferrysync/ferry-as";

import { createContact, updateContact } from "./actions";
import { syncCompanies } from "./companies";
import { syncContacts } from "./contacts";
import { onWebhook } from "./webhook";

export function sync_contacts(): i32 {
  return run(syncContacts);
}

export function sync_companies(): i32 {
  return run(syncCompanies);
}

export function create_contact(): i32 {
  return run(createContact);
}

export function update_contact(): i32 {
  return run(updateContact);
}

export function on_webhook(): i32 {
  return run(onWebhook);
}
