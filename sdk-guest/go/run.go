package ferry

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// stderr receives the stack of a recovered panic; the host captures the module's stderr into
// the run's log.
var stderr io.Writer = os.Stderr

// Host gives a function the capabilities the Ferry host offers every sync, action and webhook
// handler: records, data links, connection metadata, HTTP to the provider, sync triggers and
// logging. [Sync], [Action] and [Webhook] embed it.
//
// A Host is not safe for concurrent use; a module is single-threaded anyway.
type Host struct {
	// Log writes lines to the run's log.
	Log Logger
	// HTTP sends requests to the provider through the host's proxy, which adds the
	// connection's credentials, applies its rate limit and retries transient failures.
	HTTP HTTPClient
	// Links reads and writes the connection's data links between app and provider ids.
	Links Links

	abi         abi
	scratch     []byte // argument buffer, reused from call to call
	crossed     int    // bytes moved across the boundary since the last forced collection
	collections int    // forced collections so far, for tests
}

func newHost(a abi) *Host {
	h := &Host{abi: a}
	h.Log = Logger{h: h}
	h.HTTP = HTTPClient{h: h}
	h.Links = Links{h: h}
	return h
}

// Sync is what a sync function works with: the [Host] capabilities plus its checkpoint and the
// time of its last successful run.
type Sync struct {
	*Host
}

// Action is what an action function works with: the [Host] capabilities plus its JSON input
// and output.
type Action struct {
	*Host
}

// RunSync runs fn as the sync the host called, and returns the value the export must return:
// 0 when fn returned nil, non-zero when it returned an error or panicked, in which case the
// error's message (or "panic: " and the panic's value) becomes the run's error and a panic's
// stack goes to stderr, which the host captures into the run's log.
//
// Call it from the export named in ferry.yaml:
//
//	//go:wasmexport sync_contacts
//	func syncContacts() int32 { return ferry.RunSync(syncContactsImpl) }
func RunSync(fn func(s *Sync) error) int32 {
	return runSync(defaultABI, fn)
}

// RunAction runs fn as the action the host called, and returns the value the export must
// return, exactly as [RunSync] does. fn reads its input with [Action.Input] and returns its
// result with [Action.Output].
func RunAction(fn func(a *Action) error) int32 {
	return runAction(defaultABI, fn)
}

func runSync(a abi, fn func(s *Sync) error) int32 {
	h := newHost(a)
	return h.run(func() error { return fn(&Sync{Host: h}) })
}

func runAction(a abi, fn func(a *Action) error) int32 {
	h := newHost(a)
	return h.run(func() error { return fn(&Action{Host: h}) })
}

// run calls fn and reports its failure to the host, turning a panic into a failure too so the
// run ends with a message rather than a trap.
func (h *Host) run(fn func() error) (code int32) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("panic: %v", r)
			fmt.Fprintf(stderr, "%s\n\n%s", msg, debug.Stack())
			h.fail(msg)
			code = 1
		}
	}()
	if err := fn(); err != nil {
		h.fail(err.Error())
		return 1
	}
	return 0
}

// fail hands the host the message of the run's failure. Its own failure is ignored: the export
// returns non-zero either way, and the host then reports a generic failure.
func (h *Host) fail(msg string) {
	if msg == "" {
		msg = "failed without a message"
	}
	_, _ = h.call(fnFail, []byte(msg))
}
