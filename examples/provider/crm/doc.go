// Package crm holds Ferry's example provider: a small, CRM-like HTTP API with contacts and
// companies that the example plugins sync from and that tests and benchmarks run against on
// loopback.
//
// A [Server] keeps its data in memory, generated deterministically from a seed, and serves it
// the way real providers do: contacts through an opaque cursor with an updated-since filter and
// a deletion feed, companies through page numbers and an RFC 8288 Link header, every route
// behind a bearer token, optionally behind a rate limit. Contacts can be created and patched,
// as actions do, and every contact change can be POSTed to a webhook as a signed event, sent
// in change order from a goroutine of its own (webhook.go). Admin routes (and the matching Go
// methods, for tests running the server in-process) change the data between syncs.
//
// The read path is built for speed: contacts live in a slice ordered by (updated_at, id), each
// with its JSON encoding cached, so a page is a binary search and a concatenation of bytes.
// The HTTP API is documented in examples/provider/README.md.
package crm
