package syncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/storage"
)

// TriggerAction is the trigger of a sync run an action asked for (trigger_sync).
const TriggerAction = "action"

// Errors of Invoke, besides ErrUnknownSync-like lookups and runtime's.
var (
	// ErrUnknownFunction: no such action, or no webhook handler, in the integration.
	ErrUnknownFunction = errors.New("no such function")
)

// InputError is an action input its schema refuses; the plugin was not called.
type InputError struct{ Err error }

func (e *InputError) Error() string {
	return "input does not match the action's schema: " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// CallError is how an action or webhook call failed once the plugin ran: Reason tells the
// API which status fits.
type CallError struct {
	Reason string // "plugin" (the plugin returned an error), "crash", "timeout", "output"
	Err    error
}

func (e *CallError) Error() string { return e.Err.Error() }

func (e *CallError) Unwrap() error { return e.Err }

// Invocation is a call of an action, or of the webhook handler, for one connection.
type Invocation struct {
	Kind        string // storage.KindAction or storage.KindWebhook
	Integration string
	Connection  string
	// Name is the action's name; "webhook" for the webhook handler.
	Name  string
	Input []byte
	// ID, if set, is the id of a queued call record to run (asynchronous actions).
	ID string
	// Attempts is the number of the attempt this is, from 1; MaxAttempts, for an
	// asynchronous action, how many it may take (0: a synchronous call, one attempt).
	Attempts, MaxAttempts int
}

// last tells whether an attempt that ended with err is the call's last.
func (inv Invocation) last(err error) bool {
	var in *InputError
	return err == nil || inv.MaxAttempts == 0 || inv.Attempts >= inv.MaxAttempts || errors.As(err, &in)
}

// Invoke runs an action or the webhook handler now, in a worker, with the same host functions
// and limits as syncs, and records the call as a run (with its log) of kind action or webhook.
// The records it writes are marked as the newest data, which syncs that started earlier do
// not overwrite. A webhook handler's changes are announced to the app like a sync's; an
// action's are not (the app asked for them). It returns the finished call; an error also means
// it did not succeed (*InputError: the plugin was not called; *CallError: it failed).
func (r *Runner) Invoke(ctx context.Context, inv Invocation) (storage.Run, error) {
	if r.isStopping() {
		return storage.Run{}, ErrStopping
	}
	d, err := r.cfg.Plugins.Active(ctx, inv.Integration)
	if err != nil {
		return storage.Run{}, fmt.Errorf("integration %s: %w", inv.Integration, err)
	}
	var export string
	switch inv.Kind {
	case storage.KindAction:
		a, ok := d.Manifest.Actions[inv.Name]
		if !ok {
			return storage.Run{}, fmt.Errorf("%w: action %q in %s version %d (it has %v)", ErrUnknownFunction, inv.Name, inv.Integration, d.Version.Version, d.Manifest.ActionNames())
		}
		export = a.Export
		if err := d.Schemas.Input(inv.Name, inv.Input); err != nil {
			return storage.Run{}, &InputError{Err: err}
		}
	case storage.KindWebhook:
		if d.Manifest.Webhook == nil {
			return storage.Run{}, fmt.Errorf("%w: %s has no webhook handler", ErrUnknownFunction, inv.Integration)
		}
		export = d.Manifest.Webhook.Export
	default:
		return storage.Run{}, fmt.Errorf("invoke: unknown kind %q", inv.Kind)
	}
	conn, err := r.cfg.Store.Connection(ctx, inv.Integration, inv.Connection)
	if err != nil {
		return storage.Run{}, err
	}
	target, err := r.target(d, conn)
	if err != nil {
		return storage.Run{}, err
	}
	if inv.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return storage.Run{}, err
		}
		inv.ID = id.String()
	}
	run := storage.Run{
		ID: inv.ID, Kind: inv.Kind, Integration: inv.Integration, Connection: inv.Connection, Sync: inv.Name,
		Version: d.Version.Version, Trigger: TriggerManual, Status: StatusRunning, StartedAt: time.Now().UTC(),
		Attempts: max(inv.Attempts, 1), MaxAttempts: inv.MaxAttempts,
	}
	if inv.Kind == storage.KindAction {
		run.Input = json.RawMessage(inv.Input)
	} else {
		run.Trigger = TriggerWebhook
	}
	store := context.WithoutCancel(ctx)
	if err := r.cfg.Store.PutRun(store, run); err != nil {
		return storage.Run{}, err
	}
	log := newRunLog(r.cfg.Store, run.ID, r.cfg.Logger)
	call := &hostfuncs.Call{
		Integration: inv.Integration,
		Connection:  inv.Connection,
		Models:      d.Manifest.ModelNames(),
		Input:       inv.Input,
		Metadata:    conn.Metadata,
		External:    true,
		Store:       r.cfg.Store,
		HTTP:        &fetcher{client: r.cfg.Proxy, target: target, log: log},
		Log:         log.add,
		Validate:    d.Schemas.Record,
		TriggerSync: func(ctx context.Context, sync string) error {
			_, err := r.Trigger(ctx, inv.Integration, inv.Connection, sync, TriggerOptions{Trigger: TriggerAction})
			return err
		},
	}
	log.add("info", fmt.Sprintf("%s %s of %s/%s (version %d, attempt %d)", inv.Kind, inv.Name, inv.Integration, inv.Connection, run.Version, run.Attempts))
	cursorFrom := map[string]string{}
	if inv.Kind == storage.KindWebhook {
		if cursorFrom, err = r.cursors(ctx, inv.Integration, inv.Connection, call.Models); err != nil {
			return storage.Run{}, err
		}
	}

	res, err := r.cfg.Pool.Run(ctx, r.job(d, export, call))
	_ = call.Flush() // waits for the writes the plugin queued; a failure is Fatal
	log.output("stdout", res.Stdout)
	log.output("stderr", res.Stderr)
	run.Counts = call.Counts()
	run.Output = call.Output()
	err = callOutcome(d, inv, res, err, call)
	ended := time.Now().UTC()
	run.EndedAt = &ended
	run.Status = StatusSucceeded
	if err != nil {
		run.Status, run.Error = StatusFailed, err.Error()
		log.add("error", run.Error)
		if !inv.last(err) {
			// Another attempt follows: the call stays queued, showing this attempt's error.
			run.Status, run.EndedAt = StatusQueued, nil
		}
	}
	log.add("info", fmt.Sprintf("%s %s in %s", inv.Kind, run.Status, ended.Sub(run.StartedAt).Round(time.Millisecond)))
	log.flush(store)

	var hooks hookInfo
	switch {
	case inv.Kind == storage.KindWebhook:
		hooks = hookInfo{syncType: "incremental", cursorFrom: cursorFrom}
	case inv.MaxAttempts > 0 && run.Status != StatusQueued:
		hooks = hookInfo{action: true}
	}
	if ferr := r.finish(store, run, hooks); ferr != nil {
		return run, ferr
	}
	return run, err
}

// DefaultMaxAttempts is how many times an asynchronous action call is tried by default.
const DefaultMaxAttempts = 3

// EnqueueAction queues an action call to run in the background and returns it at once, with
// the id to read its result by (a run of kind action). The input is checked first, so a call
// whose input its schema refuses is refused now (*InputError). A failed attempt is retried
// after 1s, 2s, 4s... up to maxAttempts; the last attempt's outcome sends the app an
// action.completed or action.failed webhook. Queued calls survive a restart (see Recover).
func (r *Runner) EnqueueAction(ctx context.Context, integration, connection, action string, input []byte, maxAttempts int) (storage.Run, error) {
	if r.isStopping() {
		return storage.Run{}, ErrStopping
	}
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	d, err := r.cfg.Plugins.Active(ctx, integration)
	if err != nil {
		return storage.Run{}, fmt.Errorf("integration %s: %w", integration, err)
	}
	if _, ok := d.Manifest.Actions[action]; !ok {
		return storage.Run{}, fmt.Errorf("%w: action %q in %s version %d (it has %v)", ErrUnknownFunction, action, integration, d.Version.Version, d.Manifest.ActionNames())
	}
	if err := d.Schemas.Input(action, input); err != nil {
		return storage.Run{}, &InputError{Err: err}
	}
	if _, err := r.cfg.Store.Connection(ctx, integration, connection); err != nil {
		return storage.Run{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return storage.Run{}, err
	}
	run := storage.Run{
		ID: id.String(), Kind: storage.KindAction, Integration: integration, Connection: connection, Sync: action,
		Version: d.Version.Version, Trigger: TriggerManual, Status: StatusQueued, StartedAt: time.Now().UTC(),
		Input: json.RawMessage(input), MaxAttempts: maxAttempts,
	}
	if err := r.cfg.Store.PutRun(ctx, run); err != nil {
		return storage.Run{}, err
	}
	r.retry(run, 1)
	return run, nil
}

// retry runs a queued asynchronous action call from attempt first on, in the background.
func (r *Runner) retry(run storage.Run, first int) {
	r.mu.Lock() // see Shutdown
	if r.isStopping() {
		r.mu.Unlock()
		return // the call stays queued; the next start takes it up
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		inv := Invocation{Kind: storage.KindAction, Integration: run.Integration, Connection: run.Connection,
			Name: run.Sync, Input: run.Input, ID: run.ID, MaxAttempts: run.MaxAttempts}
		for attempt := first; attempt <= run.MaxAttempts; attempt++ {
			inv.Attempts = attempt
			_, err := r.Invoke(r.ctx, inv)
			if inv.last(err) || errors.Is(err, ErrStopping) {
				return
			}
			select {
			case <-r.stopping:
				return // the call stays queued; the next start takes it up
			case <-time.After(time.Second << min(attempt-1, 10)):
			}
		}
	}()
}

// callOutcome turns the worker's verdict on an action or webhook call into its error.
func callOutcome(d plugins.Deployed, inv Invocation, res runtime.Result, err error, call *hostfuncs.Call) error {
	var trap *runtime.TrapError
	switch {
	case errors.Is(err, runtime.ErrTimeout):
		return &CallError{Reason: "timeout", Err: fmt.Errorf("%s %s exceeded its time limit of %s (limits.timeout) and was stopped", inv.Kind, inv.Name, d.Manifest.Limits.Timeout.Duration)}
	case errors.As(err, &trap):
		return &CallError{Reason: "crash", Err: fmt.Errorf("plugin crashed: %w", err)}
	case err != nil:
		return err
	case res.Status != 0:
		msg := call.Failure()
		if msg == "" {
			msg = fmt.Sprintf("export returned %d", res.Status)
		}
		return &CallError{Reason: "plugin", Err: errors.New(msg)}
	case call.Fatal() != nil:
		return fmt.Errorf("the call failed on an error the plugin ignored: %w", call.Fatal())
	}
	if inv.Kind == storage.KindAction {
		out := call.Output()
		if len(out) == 0 {
			out = []byte("null")
		}
		if err := d.Schemas.Output(inv.Name, out); err != nil {
			return &CallError{Reason: "output", Err: fmt.Errorf("the action's output does not match its schema: %w", err)}
		}
	}
	return nil
}

// job is the worker's job for an export of a deployed plugin.
func (r *Runner) job(d plugins.Deployed, export string, host runtime.Host) runtime.Job {
	return runtime.Job{
		ModulePath: d.ModulePath,
		ModuleID:   d.Version.WasmSHA256,
		Export:     export,
		MemoryMB:   d.Manifest.Limits.MemoryMB,
		ABI:        string(d.ABI),
		Timeout:    d.Manifest.Limits.Timeout.Duration,
		Host:       host,
	}
}

// cursors returns each model's last cursor, for webhooks' cursor_from.
func (r *Runner) cursors(ctx context.Context, integration, connection string, models []string) (map[string]string, error) {
	out := make(map[string]string, len(models))
	for _, m := range models {
		last, err := r.cfg.Store.LastCursor(ctx, storage.Scope{Integration: integration, Connection: connection, Model: m})
		if err != nil {
			return nil, fmt.Errorf("read the cursor of %s: %w", m, err)
		}
		out[m] = records.FormatCursor(last)
	}
	return out, nil
}
