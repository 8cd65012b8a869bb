package syncs

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/storage"
)

// flushEvery is how many log entries a run buffers before writing them, so that `ferry logs`
// shows a long run's progress without a store write per line.
const flushEvery = 200

// runLog buffers a run's log entries. The guest's host calls arrive one at a time, so it needs
// no lock.
type runLog struct {
	store   Store
	runID   string
	logger  *slog.Logger
	entries []storage.LogEntry
}

func newRunLog(store Store, runID string, logger *slog.Logger) *runLog {
	return &runLog{store: store, runID: runID, logger: logger}
}

func (l *runLog) add(level, msg string) {
	l.append(storage.LogEntry{Time: time.Now().UTC(), Level: level, Message: msg})
}

func (l *runLog) http(ex proxy.Exchange) {
	level := "info"
	if ex.Err != "" || ex.Status >= 400 {
		level = "warn"
	}
	l.append(storage.LogEntry{Time: time.Now().UTC(), Level: level, HTTP: &storage.HTTPLog{
		Method: ex.Method, URL: ex.URL, Status: ex.Status,
		DurationMS: float64(ex.Duration.Microseconds()) / 1000, Retries: ex.Retries, Error: ex.Err,
	}})
}

// output logs what the guest wrote to stdout or stderr, a line an entry.
func (l *runLog) output(stream string, b []byte) {
	for _, line := range outputLines(b) {
		l.add("info", stream+": "+line)
	}
}

func (l *runLog) append(e storage.LogEntry) {
	l.entries = append(l.entries, e)
	if len(l.entries) >= flushEvery {
		l.flush(context.Background())
	}
}

func (l *runLog) flush(ctx context.Context) {
	if len(l.entries) == 0 {
		return
	}
	if err := l.store.AppendRunLog(ctx, l.runID, l.entries); err != nil {
		l.logger.Error("write run log", "run", l.runID, "err", err)
	}
	l.entries = l.entries[:0]
}
