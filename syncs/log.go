package syncs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/storage"
)

// flushEvery is how many log entries a run buffers before writing them, so that `ferry logs`
// shows a long run's progress without a store write per line.
const flushEvery = 200

// Bounds on one run's log, so a chatty or hostile plugin cannot fill the disk: past either,
// the log says it was truncated and keeps nothing more.
const (
	MaxLogEntries = 10_000
	MaxLogBytes   = 16 << 20
)

// runLog buffers a run's log entries. The guest's host calls arrive one at a time, but its
// queued writes log beside them (hostfuncs.Call.Log), hence the lock.
type runLog struct {
	mu      sync.Mutex
	store   Store
	runID   string
	logger  *slog.Logger
	entries []storage.LogEntry
	// count and size are what the run has logged so far.
	count, size int
	// writing is closed once the entries last handed to writeBehind are stored; nil before.
	writing chan struct{}
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
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count >= MaxLogEntries || l.size >= MaxLogBytes {
		return
	}
	l.count++
	l.size += len(e.Message) + 64
	if e.HTTP != nil {
		l.size += len(e.HTTP.URL) + len(e.HTTP.Error)
	}
	if l.count == MaxLogEntries || l.size >= MaxLogBytes {
		e = storage.LogEntry{Time: e.Time, Level: "warn",
			Message: fmt.Sprintf("log truncated: a run keeps at most %d entries and %d bytes of log", MaxLogEntries, MaxLogBytes)}
	}
	l.entries = append(l.entries, e)
	if len(l.entries) >= flushEvery {
		l.writeBehind()
	}
}

// writeBehind stores the buffered entries on a goroutine, after those handed to it before, so
// that the host call that logged does not wait for the store: its writer may be the run's own
// session, held for up to a commit's time (storage.Session). l.mu must be held.
func (l *runLog) writeBehind() {
	entries, prev, done := l.entries, l.writing, make(chan struct{})
	l.entries, l.writing = nil, done
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		l.write(context.Background(), entries)
	}()
}

// flush stores every entry logged so far, once those handed to writeBehind are stored.
func (l *runLog) flush(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writing != nil {
		<-l.writing
	}
	l.write(ctx, l.entries)
	l.entries = l.entries[:0]
}

func (l *runLog) write(ctx context.Context, entries []storage.LogEntry) {
	if len(entries) == 0 {
		return
	}
	if err := l.store.AppendRunLog(ctx, l.runID, entries); err != nil {
		l.logger.Error("write run log", "run", l.runID, "err", err)
	}
}

// logInstance says how the plugin's instance was made: the benchmark and anyone chasing a
// slow start read it.
func logInstance(l *runLog, res runtime.Result) {
	if res.Instantiate == 0 {
		return
	}
	how := "compiled module in memory"
	if res.Compiled {
		how = "module compiled (or loaded from the disk cache) for this run"
	}
	l.add("debug", fmt.Sprintf("plugin instance made in %.3f ms, %s", float64(res.Instantiate.Microseconds())/1000, how))
}
