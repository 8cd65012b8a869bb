package runtime

// The Extism ABI (docs/abi.md, "The Extism ABI"): a module built with an Extism PDK runs
// through the Extism Go SDK, with Ferry's host functions offered in extism:host/user. Its host
// calls reach the server as frames, exactly as on the Ferry path (abi_ferry.go).

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/internal/wasmdata"
)

// abiExtism is the job ABI of modules built with an Extism PDK (plugins.ABIExtism).
const abiExtism = "extism"

// extismHostPrefix prefixes the name of every Ferry host function in extism:host/user:
// Ferry's records_save is ferry_records_save there.
const extismHostPrefix = "ferry_"

// Result block status bytes of the Extism variant of the ABI (docs/abi.md).
const (
	extismOK    = 0
	extismError = 1
)

// extismPlugins holds the Extism modules a worker has compiled, each with its own wazero
// runtime, since the Extism SDK gives every compiled plugin one. The code itself comes from
// the worker's compilation cache, shared with the Ferry ABI path.
type extismPlugins struct {
	compiled map[extismKey]*extism.CompiledPlugin
	order    []extismKey // insertion order, for eviction
}

// extismKey names a compiled plugin: the memory limit is part of its runtime.
type extismKey struct {
	moduleID string
	memoryMB int
}

func (ep *extismPlugins) close(ctx context.Context) {
	for _, cp := range ep.compiled {
		cp.Close(ctx)
	}
}

// extismPlugin returns j's module compiled for the Extism SDK, compiling it (through the disk
// cache) if this worker has not yet.
func (wk *workerProc) extismPlugin(ctx context.Context, j job) (cp *extism.CompiledPlugin, compiled bool, err error) {
	ep := &wk.extism
	key := extismKey{j.ModuleID, j.MemoryMB}
	if cp := ep.compiled[key]; cp != nil {
		return cp, false, nil
	}
	wasm, err := os.ReadFile(j.ModulePath)
	if err != nil {
		return nil, false, fmt.Errorf("read module: %w", err)
	}
	pages := uint32(j.MemoryMB) * 16 // 64 KiB pages
	manifest := extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: wasmdata.Coalesce(wasm)}},
		// The limit holds for each memory: the module's own and the Extism kernel's, where
		// host call arguments and results live.
		Memory: &extism.ManifestMemory{MaxPages: pages, MaxVarBytes: 1 << 20},
		// No allowed hosts and no allowed paths: Extism's own http_request traps on any URL,
		// and the module has no file system. HTTP goes through ferry_http and the proxy.
	}
	cfg := extism.PluginConfig{
		RuntimeConfig: wazero.NewRuntimeConfig().
			WithCompilationCache(wk.cache).
			WithCloseOnContextDone(false), // the pool kills the worker at the deadline
		// WASI as on the Ferry path (no files, no environment): PDKs for Rust, Go and others
		// need it; modules that do not import it are unaffected.
		EnableWasi: true,
	}
	// NewCompiledPlugin panics if WASI cannot be instantiated; no panic leaves the worker.
	defer func() {
		if r := recover(); r != nil {
			cp, err = nil, fmt.Errorf("compile module for Extism: %v", r)
		}
	}()
	cp, err = extism.NewCompiledPlugin(ctx, manifest, cfg, wk.extismHostFunctions())
	if err != nil {
		return nil, false, fmt.Errorf("compile module for Extism: %w", err)
	}
	if ep.compiled == nil {
		ep.compiled = make(map[extismKey]*extism.CompiledPlugin)
	}
	if len(ep.order) >= maxCompiled {
		old := ep.order[0]
		ep.order = ep.order[1:]
		ep.compiled[old].Close(ctx)
		delete(ep.compiled, old)
	}
	ep.compiled[key] = cp
	ep.order = append(ep.order, key)
	return cp, true, nil
}

// runExtism runs j through the Extism SDK. Host calls take the same way to the server as on
// the Ferry path; what differs is where arguments and results live (the Extism kernel's
// memory, see docs/abi.md) and that Extism's own output and error are reported to the server
// as the output and fail host calls once the export returns.
func (wk *workerProc) runExtism(ctx context.Context, j job) (out outcome) {
	// The SDK logs about itself as it makes an instance, to the standard logger (the worker's
	// stderr) until the instance has a logger of its own: nothing is logged until then.
	extism.SetLogLevel(extism.LogLevelOff)

	cp, compiled, err := wk.extismPlugin(ctx, j)
	out.Compiled = compiled
	if err != nil {
		out.Trap = err.Error()
		return out
	}
	stdout, stderr := &tail{max: maxCapture}, &tail{max: maxCapture}
	defer func() { out.Stdout, out.Stderr = stdout.bytes(), stderr.bytes() }()

	cfg := wazero.NewModuleConfig().
		WithStdout(stdout).
		WithStderr(stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(crand.Reader)
	start := time.Now()
	p, err := cp.Instance(experimental.WithMemoryAllocator(ctx, wk.memories), extism.PluginInstanceConfig{ModuleConfig: cfg})
	if err != nil {
		out.Trap = "instantiate module: " + describe(err)
		return out
	}
	out.Instantiate = time.Since(start)
	defer p.Close(ctx)
	if !p.FunctionExists(j.Export) {
		out.Trap = fmt.Sprintf("export %q not found in module", j.Export)
		return out
	}
	logger := &extismLogger{wk: wk, start: "Calling function : " + j.Export}
	p.SetLogger(logger.log)
	// Extism's log functions reach the logger only at or above the process-wide level; the
	// worker forwards every level to the run log.
	extism.SetLogLevel(extism.LogLevelTrace)

	// The call's deadline runs from here, as on the Ferry path.
	if err := wk.out.write(frameStarted); err != nil {
		return wk.lostServer(out, err)
	}
	// The call's input is also Extism's input, so a PDK's own input function reads it. It
	// stays in the frame reader's buffer until the next host call, and the SDK copies it
	// into the kernel's memory before the guest runs.
	input, _, err := wk.hostCall(hostfuncs.OpInput, nil)
	if err != nil {
		return wk.lostServer(out, err)
	}
	status, output, err := p.CallWithContext(ctx, j.Export, input)
	extismErr := p.GetErrorWithContext(ctx)
	if err != nil && (extismErr == "" || err.Error() != extismErr) {
		// The export did not return: a trap, an exit, or the SDK failing around the call.
		out.Trap = wk.describeCallErr(err)
		var exit *sys.ExitError
		if extismErr != "" && !errors.As(err, &exit) && wk.broken == nil {
			// A PDK's abort handler may have said why before trapping.
			out.Trap = firstLine(out.Trap) + " (plugin error: " + extismErr + ")"
		}
		return out
	}
	out.Returned, out.Status = true, int32(status)
	if len(output) > 0 {
		if msg, ok, err := wk.hostCall(hostfuncs.OpOutput, output); err != nil {
			return wk.lostServer(out, err)
		} else if !ok {
			// Too large, say: the Ferry ABI would have told the guest; here the call fails.
			extismErr = cmp.Or(extismErr, "Extism output refused: "+string(msg))
		}
	}
	if extismErr != "" {
		if _, _, err := wk.hostCall(hostfuncs.OpFail, []byte(extismErr)); err != nil {
			return wk.lostServer(out, err)
		}
		// An Extism error fails the call, whatever the export returned.
		if out.Status == 0 {
			out.Status = 1
		}
	}
	return out
}

func (wk *workerProc) lostServer(out outcome, err error) outcome {
	wk.broken = err
	out.Returned, out.Status = false, 0
	out.Trap = "lost the server: " + err.Error()
	return out
}

// firstLine drops what wazero appends after a trap's message: the wasm stack trace.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// extismHostFunctions offers every Ferry host function in extism:host/user as
// ferry_<name>(i64) -> i64.
func (wk *workerProc) extismHostFunctions() []extism.HostFunction {
	ops := hostfuncs.Ops()
	fns := make([]extism.HostFunction, 0, len(ops))
	for _, op := range ops {
		fns = append(fns, extism.NewHostFunctionWithStack(extismHostPrefix+op.String(), wk.extismForward(op),
			[]extism.ValueType{extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR}))
	}
	return fns
}

// extismForward forwards a host call whose argument is the Extism memory block at the offset
// the guest passes (0 for none), and answers with a block the guest owns: one status byte,
// then the result or the error message; 0 for a success with no result. The argument is read
// in place and stays the guest's to free.
func (wk *workerProc) extismForward(op hostfuncs.Op) extism.HostFunctionStackCallback {
	name := extismHostPrefix + op.String()
	return func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
		var arg []byte
		if offset := stack[0]; offset != 0 {
			n, err := p.LengthWithContext(ctx, offset)
			if err != nil {
				panic(fmt.Errorf("%s: length of argument block %d: %w", name, offset, err))
			}
			var ok bool
			if offset+n <= math.MaxUint32 {
				arg, ok = p.Memory().Read(uint32(offset), uint32(n))
			}
			if !ok {
				// A guest that passes memory it does not have is broken: trap, naming the call.
				panic(fmt.Errorf("%s: argument (offset=%d, length=%d) is outside the %d bytes of Extism memory",
					name, offset, n, p.Memory().Size()))
			}
		}
		var (
			res []byte
			ok  bool
			err error
		)
		if res, ok, err = wk.hostCall(op, arg); err != nil {
			wk.broken = err
			panic(fmt.Errorf("%s: %w", name, err))
		}
		if ok && len(res) == 0 {
			stack[0] = 0
			return
		}
		offset, err := p.AllocWithContext(ctx, uint64(len(res))+1)
		if err == nil && offset == 0 {
			err = errors.New("out of memory")
		}
		if err != nil {
			panic(fmt.Errorf("%s: allocate a %d-byte result in Extism memory: %w", name, len(res)+1, err))
		}
		status := byte(extismOK)
		if !ok {
			status = extismError
		}
		mem := p.Memory()
		if !mem.WriteByte(uint32(offset), status) || !mem.Write(uint32(offset)+1, res) {
			panic(fmt.Errorf("%s: result block (offset=%d, length=%d) is outside Extism memory", name, offset, len(res)+1))
		}
		stack[0] = offset
	}
}

// extismLogger forwards the lines a guest logs with Extism's own log functions to the run log,
// as the log host call would. The SDK logs through the same function about itself ("Calling
// function : NAME", and the like while it initialises the guest), so lines are forwarded only
// from its last message before the export runs, which is start.
type extismLogger struct {
	wk      *workerProc
	start   string
	running bool
}

func (l *extismLogger) log(level extism.LogLevel, message string) {
	if !l.running {
		l.running = level == extism.LogLevelDebug && message == l.start
		return
	}
	var lvl string
	switch level {
	case extism.LogLevelTrace, extism.LogLevelDebug:
		lvl = "debug"
	case extism.LogLevelInfo:
		lvl = "info"
	case extism.LogLevelWarn:
		lvl = "warn"
	default:
		lvl = "error"
	}
	arg := make([]byte, 0, len(lvl)+1+len(message))
	arg = append(append(append(arg, lvl...), '\n'), message...)
	// A refused line (too long, say) is the host's to cut or drop; a lost server stops the guest.
	if _, _, err := l.wk.hostCall(hostfuncs.OpLog, arg); err != nil {
		l.wk.broken = err
		panic(fmt.Errorf("log: %w", err))
	}
}
