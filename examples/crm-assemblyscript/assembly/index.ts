// crm-assemblyscript is Ferry's example plugin in AssemblyScript, built with Extism's PDK: it
// syncs the contacts and companies of the example CRM provider (examples/provider), as
// examples/crm-go does, and saves the same records and checkpoints. Build it with ./build.sh.
//
// The module's exports are the functions ferry.yaml names: sync_contacts and sync_companies.

import { run } from "@ferrysync/ferry-as";

import { syncCompanies } from "./companies";
import { syncContacts } from "./contacts";

export function sync_contacts(): i32 {
  return run(syncContacts);
}

export function sync_companies(): i32 {
  return run(syncCompanies);
}
