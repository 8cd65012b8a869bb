package ferry

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestRunSync(t *testing.T) {
	tests := []struct {
		name        string
		fn          func(s *Sync) error
		wantCode    int32
		wantFailure string
	}{
		{"success", func(*Sync) error { return nil }, 0, ""},
		{"error", func(*Sync) error { return errors.New("provider said no") }, 1, "provider said no"},
		{"wrapped host error", func(s *Sync) error {
			_, err := s.Save("Contact", []map[string]any{{"id": 1}})
			return err
		}, 1, `ferry: save Contact: save Contact batch: record 0: "id" must be a string`},
		{"panic", func(*Sync) error { panic("boom from plugin") }, 1, "panic: boom from plugin"},
		{"runtime error", func(*Sync) error {
			ids := []string{"c1"}
			at := func() int { return 3 }
			return errors.New(ids[at()])
		}, 1, "panic: runtime error: index out of range [3] with length 1"},
		{"empty error message", func(*Sync) error { return errors.New("") }, 1, "failed without a message"},
	}
	var panicOut bytes.Buffer
	stderr = &panicOut
	t.Cleanup(func() { stderr = os.Stderr })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			panicOut.Reset()
			th := newTestHost(t)
			if got := runSync(th, tt.fn); got != tt.wantCode {
				t.Errorf("code = %d, want %d", got, tt.wantCode)
			}
			if th.failure != tt.wantFailure {
				t.Errorf("failure = %q, want %q", th.failure, tt.wantFailure)
			}
			if tt.wantFailure == "" && th.count(fnFail) != 0 {
				t.Errorf("fail called on success")
			}
			// A panic's stack goes to stderr, which the host puts in the run's log.
			isPanic := strings.HasPrefix(tt.wantFailure, "panic: ")
			if gotStack := strings.Contains(panicOut.String(), "runtime/debug.Stack"); gotStack != isPanic {
				t.Errorf("stack on stderr = %v, want %v:\n%s", gotStack, isPanic, panicOut.String())
			}
		})
	}
}

func TestRunAction(t *testing.T) {
	th := newTestHost(t)
	th.input = []byte(`{"name":"Ada","tags":["a"]}`)
	code := runAction(th, func(a *Action) error {
		var in struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := a.Input(&in); err != nil {
			return err
		}
		return a.Output(map[string]any{"greeting": "hello " + in.Name, "tags": len(in.Tags)})
	})
	if code != 0 {
		t.Fatalf("code = %d, failure %q", code, th.failure)
	}
	if got, want := string(th.output), `{"greeting":"hello Ada","tags":1}`; got != want {
		t.Errorf("output = %s, want %s", got, want)
	}
}

func TestOutsideWasm(t *testing.T) {
	// With the default ABI of a non-wasip1 build, every host call fails with ErrNoHost.
	var saveErr error
	code := RunSync(func(s *Sync) error {
		_, saveErr = s.Save("Item", []map[string]string{{"id": "1"}})
		return saveErr
	})
	if code == 0 {
		t.Errorf("RunSync returned 0 without a host")
	}
	if !errors.Is(saveErr, ErrNoHost) {
		t.Errorf("Save error = %v, want ErrNoHost", saveErr)
	}
}

func TestForcedCollections(t *testing.T) {
	// Every 16 MiB that crosses the boundary buys one forced collection, so a reactor module
	// whose collector never gets scheduled still frees its garbage.
	th := newTestHost(t)
	h := newHost(th)
	arg := make([]byte, 1<<20)
	for range 40 {
		if _, err := h.call(fnLog, arg); err != nil {
			t.Fatal(err)
		}
	}
	if h.collections != 2 {
		t.Errorf("collections after 40 MiB = %d, want 2", h.collections)
	}
}
