// Command crm-go is Ferry's example plugin in Go: it syncs the contacts and companies of the
// example CRM provider (examples/provider) both ways: syncs read them, actions create and
// update contacts, and a webhook handler applies the provider's change events as they come.
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// The module's exports are the functions ferry.yaml names: sync_contacts,
// sync_contacts_passthrough, sync_companies, create_contact, update_contact and on_webhook.
package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

// main is empty: the module is a WASI reactor, and the host calls its exports.
func main() {}

// Staticcheck does not know that //go:wasmexport makes a function used, hence the
// lint:ignore directives.

//go:wasmexport sync_contacts
//lint:ignore U1000 exported to the host
func syncContactsExport() int32 { return ferry.RunSync(syncContacts) }

//go:wasmexport sync_contacts_passthrough
//lint:ignore U1000 exported to the host
func syncContactsPassthroughExport() int32 { return ferry.RunSync(syncContactsPassthrough) }

//go:wasmexport sync_companies
//lint:ignore U1000 exported to the host
func syncCompaniesExport() int32 { return ferry.RunSync(syncCompanies) }

//go:wasmexport create_contact
//lint:ignore U1000 exported to the host
func createContactExport() int32 { return ferry.RunAction(createContact) }

//go:wasmexport update_contact
//lint:ignore U1000 exported to the host
func updateContactExport() int32 { return ferry.RunAction(updateContact) }

//go:wasmexport on_webhook
//lint:ignore U1000 exported to the host
func onWebhookExport() int32 { return ferry.RunWebhook(onWebhook) }
