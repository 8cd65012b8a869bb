// Package records holds the domain logic for the records a sync saves: parsing and validating
// batches sent by plugins, the canonical form and content hash used to tell a real change from
// a re-send, deep merge for partial updates, cursors, and the JSON shape of a record with its
// "_ferry" metadata. It does no I/O; package storage keeps the records.
package records
