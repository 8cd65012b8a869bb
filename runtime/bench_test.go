package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
)

// countingHost is a real host that counts the host calls it serves.
type countingHost struct {
	*hostfuncs.Call
	calls int
}

func (h *countingHost) Dispatch(ctx context.Context, op hostfuncs.Op, arg []byte) ([]byte, error) {
	h.calls++
	return h.Call.Dispatch(ctx, op, arg)
}

// benchJob is the call of export of the hostcalls test plugin, its module read and hashed once.
func benchJob(b *testing.B, export string) Job {
	return testJob(b, "hostcalls", export, 10*time.Minute, nil)
}

// runHostcalls runs j, a job of the hostcalls plugin, asking it for n host calls; it fails b
// unless the export succeeded and returns how many host calls it made.
func runHostcalls(b *testing.B, pool *Pool, j Job, n int) int {
	b.Helper()
	h := &countingHost{Call: &hostfuncs.Call{
		Integration: "hostcalls", Connection: "c",
		Input:    fmt.Appendf(nil, `{"n":%d}`, n),
		Metadata: json.RawMessage(`{"region":"eu"}`),
	}}
	j.Host = h
	res, err := pool.Run(context.Background(), j)
	if err != nil {
		b.Fatal(err)
	}
	if res.Status != 0 {
		b.Fatalf("%s: status %d, failure %q, stderr %s", j.Export, res.Status, h.Failure(), res.Stderr)
	}
	return h.calls
}

// BenchmarkHostCall is one host call round trip through a real worker process: guest to
// worker, over the pipe to the server's hostfuncs.Call and back, for metadata_get, a trivial
// host function (no argument, a small result). One plugin call makes b.N host calls, so ns/op
// (and us/call) is the cost of one, with the plugin call's own start (see BenchmarkInstantiate)
// spread over b.N; allocations are the server's. "raw" calls the import directly, "sdk" goes
// through the Go SDK's Metadata.
func BenchmarkHostCall(b *testing.B) {
	pool := newPool(b, 1, "")
	// The first call compiles the module (or loads it from the cache) in the worker.
	runHostcalls(b, pool, benchJob(b, "noop"), 0)
	for _, export := range []string{"raw", "sdk"} {
		job := benchJob(b, export)
		b.Run(export, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			calls := runHostcalls(b, pool, job, b.N)
			b.StopTimer()
			if want := b.N + 1; calls != want { // the loop's, and input
				b.Fatalf("%d host calls, want %d", calls, want)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "us/call")
		})
	}
}

// BenchmarkInstantiate is one call of a plugin export that does nothing, in a warm worker
// that has the module compiled: the fixed cost of every plugin call, which is creating the
// module's instance (its runtime's initialisation included), calling the export, and the
// job's and the outcome's trips over the pipe.
func BenchmarkInstantiate(b *testing.B) {
	pool := newPool(b, 1, "")
	job := benchJob(b, "noop")
	runHostcalls(b, pool, job, 0)
	b.ReportAllocs()
	for b.Loop() {
		if calls := runHostcalls(b, pool, job, 0); calls != 0 {
			b.Fatalf("noop made %d host calls", calls)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/call")
}
