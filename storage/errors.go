package storage

import "errors"

// Sentinel errors, wrapped with what they are about, e.g. "connection fakecrm/acme: not
// found". Test with errors.Is.
var (
	// ErrNotFound: the integration, version, connection, record or run does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLocked: another process (another server on the same data directory) holds the
	// database file.
	ErrLocked = errors.New("database is locked by another process")
	// ErrTooLarge: a write would make a record larger than records.MaxRecordSize.
	ErrTooLarge = errors.New("too large")
	// ErrRefused: a write's Check refused the batch; nothing of it was written.
	ErrRefused = errors.New("refused")
)

// refusedError is a Check's error, which it carries unchanged, marked as ErrRefused.
type refusedError struct{ err error }

func (e *refusedError) Error() string        { return e.err.Error() }
func (e *refusedError) Unwrap() error        { return e.err }
func (e *refusedError) Is(target error) bool { return target == ErrRefused }
