// Package storage is Ferry's embedded store: one bbolt file holding integrations and their
// versions, connections, the records cache with its cursors, checkpoints, sync states, runs,
// run logs, and the outbox of webhook deliveries. Every method of DB runs in one bbolt
// transaction of its own, so each call is atomic and durable when it returns. A sync run
// writes its record batches and checkpoints through a Session instead, which groups them into
// few transactions (a commit costs two fsyncs) and never commits a checkpoint ahead of its
// records. Beside the file, ferry.db.reserve holds a few MiB that the store gives up when the
// disk is full, so that it can still record why a run failed.
//
// # Layout
//
// Names in quotes are buckets, <...> are keys; nested buckets are indented.
//
//	"meta"          <schema> → schema version (uint32, big-endian)
//	"integrations"  <integration id> → Integration (JSON)
//	"versions"
//	  <integration id>
//	    <version (uint32, big-endian)> → Version with its manifest (JSON)
//	"connections"
//	  <integration id>
//	    <connection id> → Connection with its sealed credentials (JSON)
//	"records"
//	  <integration id>
//	    <connection id>
//	      <model>                sequence = last cursor given out
//	        "ids"     <record id> → record header (binary, see below)
//	        "changes" <cursor (uint64, big-endian)> → record header, id, data
//	"checkpoints"
//	  <integration id>
//	    <connection id>
//	      <sync> → checkpoint (JSON)
//	"sync_states"
//	  <integration id>
//	    <connection id>
//	      <sync> → SyncState (JSON)
//	"links"
//	  <integration id>
//	    <connection id>
//	      <model>
//	        "app" <app id> → Link (JSON)
//	        "ext" <external id> → app id
//	"runs"          <run id> → Run (JSON)
//	"run_status"    <status> 0x00 <run id> → empty: index for RunsWithStatus
//	"run_logs"
//	  <run id>
//	    <sequence (uint64, big-endian)> → LogEntry (JSON)
//	"deliveries"      <delivery id> → Delivery (JSON, body as base64 so its bytes never change)
//	"delivery_status" <status> 0x00 <delivery id> → empty: index for Deliveries and pruning
//	"delivery_due"    <next attempt (uint64 Unix ns, big-endian)> <delivery id> → empty:
//	                  pending deliveries only, earliest first, for DueDeliveries
//	"webhook"         "config" → WebhookConfig with its sealed secret (JSON)
//
// Run and delivery ids are UUIDv7, so the key order of "runs" and "deliveries" is creation
// order. "deliveries" is the webhook outbox: FinishRun writes a run's deliveries in the
// transaction that finishes the run.
//
// # Records
//
// Each change to a record (add, update, delete, re-add) takes the next value of its model
// bucket's sequence as the record's cursor and writes the whole record into "changes" under
// it, removing the record's previous change. "changes" thus holds every record exactly once,
// at its latest change, in change order: reading "after cursor C" is a range scan that
// returns each record once, at its latest state. New changes always append, so a sync's
// records fill whole pages, written once, whatever order the provider sends ids in. "ids"
// holds each record's header alone, small enough that looking ids up to tell added, updated
// and unchanged records apart touches few pages. New files have 16 KiB pages (pageSize), so
// that a sync's commit writes few of them.
//
// A record header is, in order: a format byte (1), the cursor (uint64), the SHA-256 of the
// canonical content (32 bytes), first seen, last modified and deleted-at times (int64 Unix
// nanoseconds each; deleted-at is 0 unless deleted), and the last action (one byte; 0x80 set
// when an action or a webhook handler wrote it). A value of "changes" is the header, the
// length of the record id (uvarint), the id, then the record's compact JSON to the end of the
// value. Small cold values (integrations, connections, runs) are JSON for easy evolution;
// records, the hot path, are not.
//
// Schema version 1 kept the whole record in "ids" and only the id in "cursors"; Open moves
// such a store to version 2 (migrate.go).
package storage
