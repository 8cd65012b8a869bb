// Command crm-go is Ferry's example plugin in Go: it syncs the contacts and companies of the
// example CRM provider (examples/provider). Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// The module's exports are the functions ferry.yaml names: sync_contacts and sync_companies.
package main

import ferry "github.com/ferrysync/ferry/sdk-guest/go"

// main is empty: the module is a WASI reactor, and the host calls its exports.
func main() {}

// Staticcheck does not know that //go:wasmexport makes a function used, hence the
// lint:ignore directives.

//go:wasmexport sync_contacts
//lint:ignore U1000 exported to the host
func syncContactsExport() int32 { return ferry.RunSync(syncContacts) }

//go:wasmexport sync_companies
//lint:ignore U1000 exported to the host
func syncCompaniesExport() int32 { return ferry.RunSync(syncCompanies) }
