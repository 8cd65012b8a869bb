package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// maxPercent bounds the GOGC Start sets, so that a nearly empty heap does not let garbage
// pile up to the floor between collections that then have almost nothing to keep.
const maxPercent = 1000

const liveMetric = "/gc/heap/live:bytes"

// Start sets the collector's target after every collection so that the next one comes once
// the heap reaches floor bytes, or twice the live heap if that is more, and returns a
// function that stops doing so and sets Go's default, GOGC=100. It does nothing when the
// GOGC environment variable is set: the operator has chosen.
func Start(floor uint64) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	t := &tuner{floor: floor, sample: []metrics.Sample{{Name: liveMetric}}}
	t.tune()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.stopped = true
			debug.SetGCPercent(100)
		}
	}
}

type tuner struct {
	floor uint64

	mu      sync.Mutex
	sample  []metrics.Sample
	stopped bool
}

// tune sets GOGC for the live heap the last collection left, and has itself called again
// after the next collection: a cleanup runs once the object it is attached to is collected,
// and the new object is garbage at once.
func (t *tuner) tune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	metrics.Read(t.sample)
	debug.SetGCPercent(percent(t.floor, t.sample[0].Value.Uint64()))
	runtime.AddCleanup(new([16]byte), (*tuner).tune, t)
}

// percent is the GOGC that puts the next collection at floor for a live heap of live bytes,
// or at twice live (GOGC=100) once that is more.
func percent(floor, live uint64) int {
	if live == 0 || live*2 >= floor {
		return 100
	}
	return int(min(floor*100/live-100, maxPercent))
}
