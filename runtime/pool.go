package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
)

// Host answers a guest's host calls on the server's side; *hostfuncs.Call implements it.
// A result is valid until the next Dispatch, which may reuse its buffer.
type Host interface {
	Dispatch(ctx context.Context, op hostfuncs.Op, arg []byte) ([]byte, error)
}

var _ Host = (*hostfuncs.Call)(nil)

// Job is one plugin call.
type Job struct {
	// ModulePath is the module's .wasm file; ModuleID identifies its content (its SHA-256), so
	// workers compile each module once.
	ModulePath string
	ModuleID   string
	// Export is the function to call: () -> i32.
	Export string
	// MemoryMB caps the guest's linear memory.
	MemoryMB int
	// ABI is the module's ABI, as plugins.ABI spells it: "extism" runs it through the Extism
	// SDK (abi_extism.go); anything else, Ferry's own ABI.
	ABI string
	// Timeout is the call's deadline, after which its worker is killed.
	Timeout time.Duration
	// Host serves the guest's host calls.
	Host Host
}

// Result is how a call that ran to its end ended.
type Result struct {
	// Status is the export's return value: 0 for success.
	Status int32
	// Stdout and Stderr are the tails of what the guest wrote there.
	Stdout, Stderr []byte
	// Compiled tells whether the worker compiled the module for this call (from the disk cache
	// if it had it) rather than finding it compiled in memory.
	Compiled bool
	// Instantiate is how long the worker took to make the call's instance, the module's
	// initialisation included.
	Instantiate time.Duration
}

// Errors from Pool.Run, beside the context's own.
var (
	// ErrTimeout means the call passed its deadline and its worker was killed.
	ErrTimeout = errors.New("plugin call exceeded its time limit")
	// ErrClosed means the pool was closed.
	ErrClosed = errors.New("worker pool closed")
)

// TrapError is a call that ended without returning: a trap, a panic, an exit, a module that would
// not load. Stderr holds what the guest wrote there, often the panic's message.
type TrapError struct {
	Message string
	Stderr  string
}

func (e *TrapError) Error() string {
	msg, _, _ := strings.Cut(e.Message, "\n") // wazero appends the wasm stack trace
	if cause := guestCause(e.Stderr); cause != "" {
		msg += " (" + cause + ")"
	}
	return msg
}

// guestCause finds the line in a guest's stderr that says why it died, as Go's runtime and
// Rust's panic handler write it.
func guestCause(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		for _, prefix := range []string{"fatal error: ", "panic: ", "thread 'main' panicked", "panicked at "} {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
	}
	return ""
}

// CrashError is a worker process that died during a call (not killed by the pool).
type CrashError struct {
	Err    error
	Stderr string
}

func (e *CrashError) Error() string {
	msg := "worker process crashed: " + e.Err.Error()
	if e.Stderr != "" {
		msg += ": " + lastLines(e.Stderr, 8)
	}
	return msg
}

func (e *CrashError) Unwrap() error { return e.Err }

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Size is the number of worker processes, hence of concurrent calls.
	Size int
	// Command starts a worker: the ferry binary with its worker arguments.
	Command []string
	// Env is the workers' environment; nil means none at all, so nothing of the server's
	// environment (which may hold secrets) reaches a worker.
	Env    []string
	Logger *slog.Logger
	// Preload are modules the pool's first workers compile as they start (from the disk
	// cache, usually), so that their first call after a server start is as quick as any.
	// Only ModulePath, ModuleID, MemoryMB and ABI matter. The spare worker (see Pool) loads
	// them too, and the modules of the latest calls. At most MaxPreload are loaded; a module
	// that kills the worker loading it is left out.
	Preload []Job
}

// MaxPreload is how many modules a worker loads ahead: as many as it keeps compiled.
const MaxPreload = maxCompiled

// recentModules is how many of the latest calls' modules the spare worker loads ahead.
const recentModules = 8

// Pool runs calls in worker processes, one call per worker at a time. It is safe for
// concurrent use.
//
// Beside its Size workers, a pool keeps one spare (from the end of its first call on),
// started and loaded with the modules of the latest calls, which takes the place of a worker that dies (a runaway guest's worker is
// killed at its deadline): the pool is back to full strength at once, and a new spare is
// made in the background.
type Pool struct {
	cfg       PoolConfig
	idle      chan *workerHandle
	spare     chan *workerHandle // at most one
	refilling atomic.Bool        // a spare is being made

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close
	all    map[*workerHandle]struct{}
	recent []Job // modules of the latest calls, newest last
}

// NewPool starts cfg.Size workers and waits until each is ready.
func NewPool(ctx context.Context, cfg PoolConfig) (*Pool, error) {
	if cfg.Size < 1 {
		cfg.Size = 1
	}
	if len(cfg.Command) == 0 {
		return nil, errors.New("worker pool: no worker command")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Preload = cfg.Preload[:min(len(cfg.Preload), MaxPreload)] // more would be evicted at once
	p := &Pool{cfg: cfg, idle: make(chan *workerHandle, cfg.Size), spare: make(chan *workerHandle, 1),
		done: make(chan struct{}), all: make(map[*workerHandle]struct{})}
	for range cfg.Size {
		w, err := p.start(ctx, cfg.Preload)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.idle <- w
	}
	return p, nil
}

// Close kills every worker; calls under way fail with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if !p.closed {
		close(p.done)
	}
	p.closed = true
	all := p.all
	p.all = map[*workerHandle]struct{}{}
	p.mu.Unlock()
	for w := range all {
		w.kill(ErrClosed)
		<-w.exited
		w.unshare()
	}
	return nil
}

// Run runs job in a worker, waiting for a free one. It returns a Result when the export
// returned, whatever its status; an error when it did not (*TrapError, *CrashError, ErrTimeout,
// the context's error), when no worker could be had, or when the Host failed the pipe.
func (p *Pool) Run(ctx context.Context, j Job) (Result, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return Result{}, ErrClosed
	}
	var w *workerHandle
	for w == nil {
		select {
		case w = <-p.idle:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-p.done:
			return Result{}, ErrClosed
		}
		if w.dead() { // died while idle: not this call's fault
			go p.replace(w)
			w = nil
		}
	}
	p.remember(j)
	res, err := w.run(ctx, j)
	if w.dead() {
		go p.replace(w)
	} else {
		p.idle <- w
	}
	p.ensureSpare()
	return res, err
}

// remember notes j's module as one of the latest calls', for the next spare to load.
func (p *Pool) remember(j Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recent = slices.DeleteFunc(p.recent, func(r Job) bool { return r.ModuleID == j.ModuleID })
	p.recent = append(p.recent, Job{ModulePath: j.ModulePath, ModuleID: j.ModuleID, MemoryMB: j.MemoryMB, ABI: j.ABI})
	if len(p.recent) > recentModules {
		p.recent = p.recent[1:]
	}
}

// replace reaps a dead worker and puts the spare in its place, then makes a new spare. With
// no spare ready, it starts a worker itself, retrying until it succeeds or the pool is
// closed, so the pool never shrinks for good.
func (p *Pool) replace(old *workerHandle) {
	<-old.exited
	old.unshare()
	p.mu.Lock()
	delete(p.all, old)
	p.mu.Unlock()
	select {
	case w := <-p.spare:
		p.idle <- w // should it have died meanwhile, Run replaces it in turn
		p.ensureSpare()
		return
	default:
	}
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		// This replacement loads nothing ahead: the call waiting for it compiles what it needs.
		w, err := p.start(context.Background(), nil)
		if err == nil {
			p.idle <- w
			return
		}
		if errors.Is(err, ErrClosed) {
			return
		}
		p.cfg.Logger.Error("start worker", "err", err)
		time.Sleep(delay)
	}
}

// ensureSpare starts a spare worker in the background unless the pool has one or is making
// one. The first spare is made once the first call has ended, so that it does not slow down
// the first call after a server start.
func (p *Pool) ensureSpare() {
	if len(p.spare) > 0 || !p.refilling.CompareAndSwap(false, true) {
		return
	}
	if len(p.spare) > 0 { // a refill that ended since the first look made one
		p.refilling.Store(false)
		return
	}
	go func() {
		defer p.refilling.Store(false)
		p.refillSpare()
	}()
}

// refillSpare starts a spare worker, loaded with the preloaded modules and those of the
// latest calls. A spare that cannot be started is no failure: the pool then replaces dead
// workers the slow way.
func (p *Pool) refillSpare() {
	p.mu.Lock()
	modules := slices.Clone(p.recent)
	slices.Reverse(modules) // newest first
	for _, m := range p.cfg.Preload {
		if !slices.ContainsFunc(modules, func(r Job) bool { return r.ModuleID == m.ModuleID }) {
			modules = append(modules, m)
		}
	}
	p.mu.Unlock()
	modules = modules[:min(len(modules), MaxPreload)]
	w, err := p.start(context.Background(), modules)
	if err != nil {
		if !errors.Is(err, ErrClosed) {
			p.cfg.Logger.Warn("start spare worker", "err", err)
		}
		return
	}
	p.spare <- w // only ensureSpare's one refill at a time sends, and only to an empty spare
}

// start starts a worker and waits for its hello, then has the worker compile the modules of
// preload.
func (p *Pool) start(ctx context.Context, preload []Job) (*workerHandle, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Env = slices.Clone(p.cfg.Env)
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	bindToParent(cmd)
	stderr := &syncTail{tail: tail{max: maxCapture}}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	enlargePipe(stdin)
	enlargePipe(stdout)
	shared, sharedFile := shareMemory(cmd)
	err = cmd.Start()
	if sharedFile != nil {
		sharedFile.Close() // the worker has its own descriptor
	}
	if err != nil {
		if shared != nil {
			unshareMemory(shared)
		}
		return nil, fmt.Errorf("start worker %s: %w", p.cfg.Command[0], err)
	}
	w := &workerHandle{
		shared: shared,
		cmd:    cmd,
		in:     frameWriter{w: bufio.NewWriterSize(stdin, 64<<10)},
		out:    frameReader{r: bufio.NewReaderSize(stdout, 64<<10)},
		stderr: stderr,
		exited: make(chan struct{}),
	}
	go func() {
		w.exitErr = cmd.Wait()
		close(w.exited)
	}()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		w.kill(ErrClosed)
		return nil, ErrClosed
	}
	p.all[w] = struct{}{}
	p.mu.Unlock()

	ready := make(chan error, 1)
	go func() {
		typ, payload, err := w.out.read()
		if err == nil && typ != frameHello {
			err = fmt.Errorf("unexpected frame %q", typ)
		}
		w.sharesResults = string(payload) == helloShared
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(30 * time.Second):
		err = errors.New("no hello within 30s")
	}
	if err != nil {
		w.kill(err)
		<-w.exited
		w.unshare()
		p.mu.Lock()
		delete(p.all, w)
		p.mu.Unlock()
		return nil, fmt.Errorf("start worker: %w: %s", err, lastLines(stderr.String(), 8))
	}
	for i, j := range preload {
		if err := w.load(j); err != nil {
			// Not fatal: the module's first call compiles it, and says what is wrong.
			p.cfg.Logger.Warn("preload module", "module", j.ModulePath, "err", err)
			if w.dead() { // the module killed it (a crash, LoadTimeout): start without it
				<-w.exited
				w.unshare()
				p.mu.Lock()
				delete(p.all, w)
				p.mu.Unlock()
				return p.start(ctx, slices.Delete(slices.Clone(preload), i, i+1))
			}
		}
	}
	return w, nil
}

// load has an idle worker compile j's module, within LoadTimeout.
func (w *workerHandle) load(j Job) error {
	timer := time.AfterFunc(LoadTimeout, func() { w.kill(errLoadTimeout) })
	defer timer.Stop()
	head, _ := json.Marshal(job{ModulePath: j.ModulePath, ModuleID: j.ModuleID, MemoryMB: j.MemoryMB, ABI: j.ABI})
	if err := w.in.write(frameLoad, head); err != nil {
		return w.failure(err)
	}
	typ, payload, err := w.out.read()
	if err != nil {
		return w.failure(err)
	}
	var out outcome
	if typ != frameDone || json.Unmarshal(payload, &out) != nil {
		return w.failure(fmt.Errorf("worker answered a load with frame %q", typ))
	}
	if !out.Returned {
		return errors.New(out.Trap)
	}
	return nil
}

// workerHandle is the server's end of one worker process.
type workerHandle struct {
	cmd    *exec.Cmd
	in     frameWriter
	out    frameReader
	stderr *syncTail
	exited chan struct{}
	// exitErr is valid once exited is closed.
	exitErr error

	mu sync.Mutex
	// killed says why the process was killed: by the pool (deadline, cancel, close) or, as
	// errCrashed, because it failed by itself.
	killed error
	// gen counts the calls run, so that a deadline or a cancellation that fires as its call
	// ends can never kill the worker under the next call.
	gen uint64
	// cancelCall cancels the context of the call under way, so that a host call in progress
	// on the server ends with the call.
	cancelCall context.CancelCauseFunc
	// shared is the memory shared with the worker (shared.go), nil once unmapped or when
	// there is none; arg holds the argument of a host call copied out of it.
	shared []byte
	arg    []byte
	// sharesResults is set when the worker's hello said it maps the shared memory.
	sharesResults bool
}

// errCrashed marks a worker that failed by itself.
var errCrashed = errors.New("worker crashed")

// kill kills the worker, whatever call it runs.
func (w *workerHandle) kill(reason error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.killLocked(reason)
}

// killCall kills the worker if it still runs call gen.
func (w *workerHandle) killCall(gen uint64, reason error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen == gen {
		w.killLocked(reason)
	}
}

func (w *workerHandle) killLocked(reason error) {
	if w.killed != nil {
		return
	}
	w.killed = reason
	_ = w.cmd.Process.Kill()
	if w.cancelCall != nil {
		w.cancelCall(reason)
	}
}

func (w *workerHandle) killReason() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.killed
}

// dead reports whether the worker can take no more calls.
func (w *workerHandle) dead() bool {
	select {
	case <-w.exited:
		return true
	default:
		return w.killReason() != nil
	}
}

// LoadTimeout bounds loading a module (compiling it, if the cache does not have it, and
// instantiating it) before a call's own deadline starts.
const LoadTimeout = 2 * time.Minute

// errLoadTimeout is a module that took longer than LoadTimeout to load.
var errLoadTimeout = fmt.Errorf("loading the module took longer than %s", LoadTimeout)

func (w *workerHandle) run(ctx context.Context, j Job) (Result, error) {
	callCtx, cancelCall := context.WithCancelCause(ctx)
	w.mu.Lock()
	w.gen++
	gen := w.gen
	w.cancelCall = cancelCall
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.gen++ // from here on, this call's timers kill nothing
		w.cancelCall = nil
		w.mu.Unlock()
		cancelCall(nil)
	}()
	timer := time.AfterFunc(LoadTimeout, func() { w.killCall(gen, errLoadTimeout) })
	defer func() { timer.Stop() }()
	stop := context.AfterFunc(ctx, func() { w.killCall(gen, context.Cause(ctx)) })
	defer stop()

	head, _ := json.Marshal(job{ModulePath: j.ModulePath, ModuleID: j.ModuleID, Export: j.Export, MemoryMB: j.MemoryMB, ABI: j.ABI})
	if err := w.in.write(frameRun, head); err != nil {
		return Result{}, w.failure(err)
	}
	for {
		typ, payload, err := w.out.read()
		if err != nil {
			return Result{}, w.failure(err)
		}
		switch typ {
		case frameStarted:
			if !timer.Stop() {
				return Result{}, w.failure(errLoadTimeout)
			}
			timer = time.AfterFunc(j.Timeout, func() { w.killCall(gen, ErrTimeout) })
		case frameHostCall, frameHostCallShared:
			var (
				op  hostfuncs.Op
				arg []byte
			)
			switch {
			case typ == frameHostCallShared:
				if op, arg, err = w.sharedArg(payload); err != nil {
					return Result{}, w.failure(err)
				}
			case len(payload) == 0:
				return Result{}, w.failure(errors.New("worker sent an empty host call"))
			default:
				op, arg = hostfuncs.Op(payload[0]), payload[1:]
			}
			res, herr := j.Host.Dispatch(callCtx, op, arg)
			status := byte(0)
			if herr != nil {
				status, res = 1, []byte(herr.Error())
			}
			if err := w.answer(status, res); err != nil {
				return Result{}, w.failure(err)
			}
		case frameDone:
			var out outcome
			if err := json.Unmarshal(payload, &out); err != nil {
				return Result{}, w.failure(fmt.Errorf("bad outcome: %w", err))
			}
			res := Result{Status: out.Status, Stdout: out.Stdout, Stderr: out.Stderr, Compiled: out.Compiled, Instantiate: out.Instantiate}
			if !out.Returned {
				return res, &TrapError{Message: out.Trap, Stderr: string(out.Stderr)}
			}
			return res, nil
		default:
			return Result{}, w.failure(fmt.Errorf("worker sent unexpected frame %q", typ))
		}
	}
}

// failure explains why talking to the worker failed with err: the pool killed it (deadline,
// cancel, close), or it died by itself.
func (w *workerHandle) failure(err error) error {
	w.kill(errCrashed) // no-op if already killed; makes the handle dead either way
	<-w.exited
	if reason := w.killReason(); reason != errCrashed {
		return reason
	}
	return &CrashError{Err: errors.Join(err, w.exitErr), Stderr: w.stderr.String()}
}

// syncTail is a tail written by exec's copying goroutine and read by the pool.
type syncTail struct {
	mu   sync.Mutex
	tail tail
}

func (t *syncTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tail.Write(p)
}

func (t *syncTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tail.buf.String()
}

// lastLines returns the last n lines of s, trimmed.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WorkerCommand is the default command for a Pool: this very binary, started with args.
func WorkerCommand(args ...string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the ferry binary for workers: %w", err)
	}
	return append([]string{exe}, args...), nil
}
