// Package ferry is the Go guest SDK for Ferry: it lets a sync, action or inbound webhook
// handler, compiled to WebAssembly, use the capabilities the Ferry host offers (HTTP to the
// provider through the host's proxy, batch record saves, updates and deletes, checkpoints,
// connection metadata, data links, sync triggers and logging) through Ferry's host ABI,
// version 1 (docs/abi.md in the Ferry repository).
//
// A plugin is a main package with an empty main function, built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// Each function named in ferry.yaml is a //go:wasmexport function of type func() int32 that
// hands its work to [RunSync], [RunAction] or [RunWebhook]:
//
//	//go:wasmexport sync_contacts
//	func syncContacts() int32 {
//		return ferry.RunSync(func(s *ferry.Sync) error {
//			var contacts []Contact
//			if err := s.HTTP.GetJSON("/contacts", nil, &contacts); err != nil {
//				return err
//			}
//			_, err := s.Save("Contact", contacts)
//			return err
//		})
//	}
//
// # Two-way sync
//
// Syncs read from the provider; actions write to it. An action finds the provider's record
// that matches an app's record through a data link ([Links]), saves what the provider
// answered so the cache is current before the next sync, and may ask for a sync to run
// ([Host.TriggerSync]). A webhook handler ([RunWebhook]) takes the provider's own change
// notifications and saves or deletes records as they happen.
//
// Importing the package is enough to mark the module as speaking ABI version 1: the package
// exports __ferry_abi_v1 itself.
//
// # Queued saves
//
// [Host.Save] returns once its batch is saved. [Host.QueueSave] returns at once, and the host
// saves the batch while the function goes on, typically fetching and decoding its next page;
// a checkpoint saved after it is written only after the batch. A failed queued batch is
// reported by the next call that waits for the queue, and the writes queued after it are
// dropped; [Host.Flush] waits for the queue and returns the counts. A sync that saves page
// after page should queue its pages and flush at the end.
//
// # Execution model
//
// Every run gets a fresh instance of the module, so package-level state never leaks from one
// run to the next. The SDK is single-threaded, like the module: a [Sync], [Action] or
// [Webhook] is not safe for concurrent use, and a plugin gains nothing from goroutines because every host call
// blocks the whole module.
//
// # Memory
//
// A reactor module runs a whole sync inside one export call, where the Go garbage collector
// runs late if at all, and linear memory, once grown, never shrinks; a long sync could hit the
// manifest's limits.memory_mb with mostly garbage. The SDK therefore forces a collection each
// time 16 MiB have crossed the host boundary since the last one, and reuses one buffer for the
// arguments it encodes. Let each page go once it is saved (do not collect a whole sync in one
// slice) and memory stays near one page's worth.
//
// Decoding JSON with encoding/json is the expensive part of a Go plugin (several times slower
// in WebAssembly than natively). A page whose items the cache should hold as the provider sent
// them can skip it: [Pager.Raw] and [Host.SaveRaw] pass the bytes through undecoded.
//
// # Outside WebAssembly
//
// On any other GOOS the host functions are replaced by stubs that return [ErrNoHost], so
// code using the SDK compiles and its pure logic can be unit-tested with plain go test.
//
// # TinyGo
//
// The package keeps to what TinyGo compiles (//go:wasmimport, //go:wasmexport,
// encoding/json, no goroutines), but it has only been built and tested with standard Go;
// TinyGo builds are untested.
package ferry
