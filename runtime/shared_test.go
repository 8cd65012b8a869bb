package runtime

import (
	"bytes"
	"context"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
)

// echoHost gives the kitchen plugin's echo its input and keeps its output.
type echoHost struct{ input, output []byte }

func (h *echoHost) Dispatch(_ context.Context, op hostfuncs.Op, arg []byte) ([]byte, error) {
	switch op {
	case hostfuncs.OpInput:
		return h.input, nil
	case hostfuncs.OpOutput:
		h.output = bytes.Clone(arg) // arg is the worker's, until the next call
	}
	return nil, nil
}

// Results and arguments of every size arrive whole and unchanged: those that cross the
// shared memory, those too small or too large to, and the sizes at either edge.
func TestHostCallsCrossSharedMemory(t *testing.T) {
	pool := newPool(t, 1, "")
	for _, n := range []int{2, sharedMin - 1, sharedMin, 1 << 20, sharedRegion, sharedRegion + 1, 2 * sharedRegion} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// A JSON string of n bytes, quotes included, whose bytes differ along it.
			in := make([]byte, n)
			for i := range in {
				in[i] = 'a' + byte(i%26)
			}
			in[0], in[n-1] = '"', '"'
			h := &echoHost{input: in}
			res, err := pool.Run(context.Background(), testJob(t, "kitchen", "echo", time.Minute, h))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 0 {
				t.Fatalf("status %d, stderr %s", res.Status, res.Stderr)
			}
			if !bytes.Equal(h.output, in) {
				t.Errorf("output of %d bytes differs from the input of %d", len(h.output), n)
			}
		})
	}
	if goruntime.GOOS != "linux" {
		return
	}
	// The worker said it maps the memory, and the largest argument that fits crossed it.
	pool.mu.Lock()
	defer pool.mu.Unlock()
	crossed := false
	for w := range pool.all {
		w.mu.Lock()
		crossed = crossed || w.sharesResults && w.shared != nil && cap(w.arg) >= sharedRegion
		w.mu.Unlock()
	}
	if !crossed {
		t.Error("no worker took an argument through the shared memory")
	}
}
