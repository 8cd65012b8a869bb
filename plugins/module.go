package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ferrysync/ferry/internal/wasmdata"
)

// ABI is the calling convention between a module and the host.
type ABI string

const (
	// ABIFerry is Ferry's own ABI (docs/abi.md): host functions in the import
	// module "ferry" read and write the guest's memory in place. A module
	// declares it by exporting ABIMarker.
	ABIFerry ABI = "ferry"
	// ABIExtism is the Extism ABI, spoken by every Extism PDK. A module
	// declares it by importing ExtismEnvModule.
	ABIExtism ABI = "extism"
)

const (
	// ABIMarker is the export, of type () -> (), that declares a module
	// speaks version 1 of Ferry's ABI. It is never called.
	ABIMarker = "__ferry_abi_v1"
	// ExtismEnvModule is the import module of the Extism kernel; importing it
	// is what makes a module an Extism plugin.
	ExtismEnvModule = "extism:host/env"
)

// ferryImportModules are the only import modules a Ferry-ABI module may
// use: anything else would fail at every instantiation.
var ferryImportModules = []string{"ferry", "wasi_snapshot_preview1"}

var wasmMagic = []byte("\x00asm")

// maxListedExports bounds the export list quoted in a "not found" error.
const maxListedExports = 20

// CheckModule compiles wasm with rt and checks that it can serve m: it speaks
// exactly one of the two ABIs, exports every function m names (syncs,
// actions, webhook) with the signature () -> i32, imports nothing the host
// does not provide (Ferry ABI), and its initial memory fits
// m.Limits.MemoryMB. It returns the module's ABI and every problem at once.
//
// Bytes that are not a WebAssembly module are refused with an error wrapping
// ErrInvalidModule. Once the module speaks a known ABI, the ABI is returned
// even beside other problems. m should come from Parse; a nil m checks the
// ABI only.
//
// The compiled module is closed before CheckModule returns, which frees its
// code in rt; a compilation cache configured on rt keeps what it stored, so a
// worker's later compile of the module is fast.
func CheckModule(ctx context.Context, rt wazero.Runtime, wasm []byte, m *Manifest) (abi ABI, err error) {
	if err := checkHeader(wasm); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("check module: %w", err)
	}
	// The workers compile the module with its data segments coalesced; compiling the same
	// bytes here leaves them in the cache. Coalescing changes no part that compiling checks.
	compiled, err := rt.CompileModule(ctx, wasmdata.Coalesce(wasm))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidModule, err)
	}
	defer func() {
		if cerr := compiled.Close(ctx); cerr != nil && err == nil {
			err = fmt.Errorf("close compiled module: %w", cerr)
		}
	}()

	var errs []error
	exports := compiled.ExportedFunctions()
	marker, isFerry := exports[ABIMarker]
	isExtism := importsModule(compiled, ExtismEnvModule)
	switch {
	case isFerry && isExtism:
		return "", fmt.Errorf("module both exports %q (Ferry ABI) and imports %q (Extism ABI); it must speak one", ABIMarker, ExtismEnvModule)
	case isFerry:
		abi = ABIFerry
		if sig := signature(marker); sig != "() -> ()" {
			errs = append(errs, fmt.Errorf("export %q has signature %s, want () -> ()", ABIMarker, sig))
		}
		errs = append(errs, checkImports(compiled)...)
	case isExtism:
		abi = ABIExtism
	default:
		return "", fmt.Errorf("module speaks no ABI Ferry knows: it neither exports %q (Ferry ABI, see docs/abi.md) nor imports %q (Extism ABI)", ABIMarker, ExtismEnvModule)
	}

	if m != nil {
		for _, ref := range m.exportRefs() {
			def, ok := exports[ref.name]
			if !ok {
				errs = append(errs, fmt.Errorf("export %q (%s) not found in module; %s", ref.name, ref.path, listExports(exports)))
				continue
			}
			if sig := signature(def); sig != "() -> i32" {
				errs = append(errs, fmt.Errorf("export %q (%s) has signature %s, want () -> i32", ref.name, ref.path, sig))
			}
		}
		errs = append(errs, checkMemory(compiled, m.Limits.MemoryMB)...)
	}
	if len(errs) > 0 {
		return abi, errors.Join(errs...)
	}
	return abi, nil
}

// checkHeader gives bytes that are not a core WebAssembly module a clearer
// message than the compiler's.
func checkHeader(wasm []byte) error {
	switch {
	case !bytes.HasPrefix(wasm, wasmMagic):
		return fmt.Errorf("%w: it does not start with the \\0asm magic number (is it a .wasm file?)", ErrInvalidModule)
	case len(wasm) < 8:
		return fmt.Errorf("%w: it is truncated after %d bytes", ErrInvalidModule, len(wasm))
	case wasm[6] != 0 || wasm[7] != 0:
		// Components put a layer number here (e.g. 0d 00 01 00).
		return fmt.Errorf("%w: it is a WebAssembly component, not a core module; build a core module (e.g. wasm32-wasip1)", ErrInvalidModule)
	}
	return nil
}

func importsModule(compiled wazero.CompiledModule, module string) bool {
	for _, f := range compiled.ImportedFunctions() {
		if mod, _, _ := f.Import(); mod == module {
			return true
		}
	}
	for _, mem := range compiled.ImportedMemories() {
		if mod, _, _ := mem.Import(); mod == module {
			return true
		}
	}
	return false
}

// checkImports refuses imports a Ferry-ABI module would never get, so the
// deploy fails instead of every run.
func checkImports(compiled wazero.CompiledModule) []error {
	var errs []error
	refuse := func(kind, mod, name string) {
		errs = append(errs, fmt.Errorf("module imports %s %q from module %q, which the host does not provide (Ferry ABI modules may import from: %s)",
			kind, name, mod, strings.Join(ferryImportModules, ", ")))
	}
	for _, f := range compiled.ImportedFunctions() {
		if mod, name, _ := f.Import(); !slices.Contains(ferryImportModules, mod) {
			refuse("function", mod, name)
		}
	}
	for _, mem := range compiled.ImportedMemories() {
		mod, name, _ := mem.Import()
		refuse("memory", mod, name)
	}
	return errs
}

// checkMemory refuses a module whose initial memory is above the manifest's
// limit, since no run of it could start.
func checkMemory(compiled wazero.CompiledModule, limitMB int) []error {
	if limitMB <= 0 {
		return nil
	}
	const pageSize = 64 << 10
	mems := slices.Clone(compiled.ImportedMemories())
	for _, mem := range compiled.ExportedMemories() {
		mems = append(mems, mem)
	}
	for _, mem := range mems {
		if need := uint64(mem.Min()) * pageSize; need > uint64(limitMB)<<20 {
			// One error is enough: an exported memory may be the imported one.
			return []error{fmt.Errorf("module's memory starts at %d pages (%.1f MiB), above limits.memory_mb (%d)",
				mem.Min(), float64(need)/(1<<20), limitMB)}
		}
	}
	return nil
}

type exportRef struct {
	name string // the export
	path string // the manifest field that names it, e.g. syncs.contacts.export
}

// exportRefs lists the exports m names, in manifest order: syncs, actions,
// webhook, each sorted by name.
func (m *Manifest) exportRefs() []exportRef {
	var refs []exportRef
	for _, name := range m.SyncNames() {
		refs = append(refs, exportRef{m.Syncs[name].Export, joinPath("syncs", name) + ".export"})
	}
	for _, name := range m.ActionNames() {
		refs = append(refs, exportRef{m.Actions[name].Export, joinPath("actions", name) + ".export"})
	}
	if m.Webhook != nil {
		refs = append(refs, exportRef{m.Webhook.Export, "webhook.export"})
	}
	return refs
}

// signature formats a function type as in docs/abi.md: "(i32, i32) -> i64".
func signature(def api.FunctionDefinition) string {
	return "(" + typeList(def.ParamTypes()) + ") -> " + results(def.ResultTypes())
}

func results(types []api.ValueType) string {
	if len(types) == 1 {
		return api.ValueTypeName(types[0])
	}
	return "(" + typeList(types) + ")"
}

func typeList(types []api.ValueType) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

// listExports says which functions a module does export, for "not found"
// errors; the ABI's own exports (starting with "_") are left out.
func listExports(exports map[string]api.FunctionDefinition) string {
	var names []string
	for name := range exports {
		if !strings.HasPrefix(name, "_") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "it exports no plugin functions"
	}
	slices.Sort(names)
	more := ""
	if len(names) > maxListedExports {
		more = fmt.Sprintf(" and %d more", len(names)-maxListedExports)
		names = names[:maxListedExports]
	}
	return "it exports: " + strings.Join(names, ", ") + more
}
