package runtime

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/internal/wasmdata"
)

// WorkerOptions configure ServeWorker.
type WorkerOptions struct {
	// CacheDir holds wazero's compilation cache, shared by all workers and the server's deploy
	// check; "" keeps compiled code in memory only.
	CacheDir string
}

// maxCompiled bounds the compiled modules a worker keeps in memory.
const maxCompiled = 16

// maxCapture bounds the guest stdout and stderr kept per call.
const maxCapture = 64 << 10

// ServeWorker is the worker process's main loop: it answers run frames from r, one at a time,
// writing host calls and outcomes to w, until r ends. The server kills the process to stop a
// runaway guest, so nothing here checks for interruption.
func ServeWorker(ctx context.Context, r io.Reader, w io.Writer, opts WorkerOptions) error {
	wk := &workerProc{
		in:       frameReader{r: bufio.NewReaderSize(r, 64<<10)},
		out:      frameWriter{w: bufio.NewWriterSize(w, 64<<10)},
		runtimes: make(map[int]*guestRuntime),
		memories: newMemories(),
	}
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return fmt.Errorf("open compilation cache %s: %w", opts.CacheDir, err)
		}
		wk.cache = cache
	} else {
		wk.cache = wazero.NewCompilationCache()
	}
	defer wk.close(ctx)
	var hello []byte
	if wk.shared = openSharedMemory(); wk.shared != nil {
		hello = []byte(helloShared)
	}
	if err := wk.out.write(frameHello, hello); err != nil {
		return fmt.Errorf("say hello: %w", err)
	}
	for {
		typ, payload, err := wk.in.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if typ != frameRun && typ != frameLoad {
			return fmt.Errorf("worker: unexpected frame %q while idle", typ)
		}
		var j job
		if err := json.Unmarshal(payload, &j); err != nil {
			return fmt.Errorf("worker: bad job: %w", err)
		}
		var out outcome
		if typ == frameLoad {
			out = wk.load(ctx, j)
		} else {
			out = wk.run(ctx, j)
		}
		data, _ := json.Marshal(out)
		if err := wk.out.write(frameDone, data); err != nil {
			return err
		}
	}
}

// workerProc is the state of one worker process.
type workerProc struct {
	in    frameReader
	out   frameWriter
	cache wazero.CompilationCache

	// runtimes has one wazero runtime per memory limit, since the limit is a runtime setting.
	runtimes map[int]*guestRuntime
	// extism holds the modules compiled for the Extism ABI (abi_extism.go).
	extism extismPlugins
	// memories makes the linear memories of the instances (memory_linux.go).
	memories experimental.MemoryAllocator

	// shared is the memory shared with the server (shared.go); nil when there is none.
	shared []byte
	// pending is the result of the last host call, until the guest copies it out.
	pending []byte
	// broken is set when the pipe to the server failed mid-call: the guest is then stopped.
	broken error
}

type guestRuntime struct {
	rt       wazero.Runtime
	compiled map[string]wazero.CompiledModule
	order    []string // insertion order, for eviction
}

func (wk *workerProc) close(ctx context.Context) {
	for _, gr := range wk.runtimes {
		gr.rt.Close(ctx)
	}
	wk.extism.close(ctx)
	wk.cache.Close(ctx)
}

func (wk *workerProc) runtimeFor(ctx context.Context, memoryMB int) (*guestRuntime, error) {
	if gr := wk.runtimes[memoryMB]; gr != nil {
		return gr, nil
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(wk.cache).
		WithMemoryLimitPages(uint32(memoryMB) * 16). // 64 KiB pages
		WithCloseOnContextDone(false)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	if err := wk.instantiateFerryABI(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate ferry host module: %w", err)
	}
	gr := &guestRuntime{rt: rt, compiled: make(map[string]wazero.CompiledModule)}
	wk.runtimes[memoryMB] = gr
	return gr, nil
}

// compiled returns the module compiled for gr, compiling it (through the disk cache) if this
// worker has not yet.
func (gr *guestRuntime) module(ctx context.Context, j job) (cm wazero.CompiledModule, compiled bool, err error) {
	if cm := gr.compiled[j.ModuleID]; cm != nil {
		return cm, false, nil
	}
	wasm, err := os.ReadFile(j.ModulePath)
	if err != nil {
		return nil, false, fmt.Errorf("read module: %w", err)
	}
	// Instances are made from the coalesced module: a Go plugin's tens of thousands of data
	// segments, each copied on its own, were most of the cost of making one.
	cm, err = gr.rt.CompileModule(ctx, wasmdata.Coalesce(wasm))
	if err != nil {
		return nil, false, fmt.Errorf("compile module: %w", err)
	}
	if len(gr.order) >= maxCompiled {
		old := gr.order[0]
		gr.order = gr.order[1:]
		gr.compiled[old].Close(ctx)
		delete(gr.compiled, old)
	}
	gr.compiled[j.ModuleID] = cm
	gr.order = append(gr.order, j.ModuleID)
	return cm, true, nil
}

// load compiles j's module (from the disk cache, usually) without running anything, so that
// the first call of a module after a start does not pay for it.
func (wk *workerProc) load(ctx context.Context, j job) (out outcome) {
	var err error
	if j.ABI == abiExtism {
		_, out.Compiled, err = wk.extismPlugin(ctx, j)
	} else {
		var gr *guestRuntime
		if gr, err = wk.runtimeFor(ctx, j.MemoryMB); err == nil {
			_, out.Compiled, err = gr.module(ctx, j)
		}
	}
	if err != nil {
		out.Trap = err.Error()
	} else {
		out.Returned = true
	}
	return out
}

func (wk *workerProc) run(ctx context.Context, j job) (out outcome) {
	wk.pending, wk.broken = nil, nil
	if j.ABI == abiExtism {
		return wk.runExtism(ctx, j)
	}
	gr, err := wk.runtimeFor(ctx, j.MemoryMB)
	if err != nil {
		out.Trap = err.Error()
		return out
	}
	cm, compiled, err := gr.module(ctx, j)
	out.Compiled = compiled
	if err != nil {
		out.Trap = err.Error()
		return out
	}
	stdout, stderr := &tail{max: maxCapture}, &tail{max: maxCapture}
	defer func() { out.Stdout, out.Stderr = stdout.bytes(), stderr.bytes() }()

	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous, so every call can instantiate the same module afresh
		WithStartFunctions().
		WithStdout(stdout).
		WithStderr(stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(crand.Reader)
	start := time.Now()
	mod, err := gr.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, wk.memories), cm, cfg)
	if err != nil {
		out.Trap = "instantiate module: " + describe(err)
		return out
	}
	defer mod.Close(ctx)
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			out.Trap = "initialize module: " + wk.describeCallErr(err)
			return out
		}
	}
	out.Instantiate = time.Since(start)
	fn := mod.ExportedFunction(j.Export)
	if fn == nil {
		out.Trap = fmt.Sprintf("export %q not found in module", j.Export)
		return out
	}
	// The call's deadline runs from here: loading is bounded separately, so that compiling a
	// module the cache does not have yet never eats into a run's time.
	if err := wk.out.write(frameStarted); err != nil {
		wk.broken = err
		out.Trap = "lost the server: " + err.Error()
		return out
	}
	results, err := fn.Call(ctx)
	if err != nil {
		out.Trap = wk.describeCallErr(err)
		return out
	}
	out.Returned = true
	if len(results) > 0 {
		out.Status = int32(api.DecodeI32(results[0]))
	}
	return out
}

// describeCallErr says why a guest call ended without returning.
func (wk *workerProc) describeCallErr(err error) string {
	if wk.broken != nil {
		return "lost the server: " + wk.broken.Error()
	}
	return describe(err)
}

func describe(err error) string {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return fmt.Sprintf("plugin exited with code %d", exit.ExitCode())
	}
	return err.Error()
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tail) bytes() []byte { return bytes.Clone(t.buf.Bytes()) }

// hostCall sends a host call to the server and waits for its answer.
func (wk *workerProc) hostCall(op hostfuncs.Op, arg []byte) (result []byte, ok bool, err error) {
	if len(arg) > hostfuncs.MaxArgSize {
		// It could not cross in one frame: the refusal the server would give.
		return []byte(hostfuncs.OversizeArg(op, len(arg)).Error()), false, nil
	}
	if err := wk.sendHostCall(op, arg); err != nil {
		return nil, false, err
	}
	typ, payload, err := wk.in.read()
	if err != nil {
		return nil, false, err
	}
	switch {
	case typ == frameHostResultShared:
		return wk.sharedResult(payload)
	case typ != frameHostResult || len(payload) == 0:
		return nil, false, fmt.Errorf("unexpected frame %q in answer to a host call", typ)
	}
	// The payload lives in the reader's buffer; the guest copies it out before the next read.
	return payload[1:], payload[0] == 0, nil
}
