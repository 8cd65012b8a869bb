package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestCheckModule checks hand-assembled modules (see wasm_test.go) against
// testdata/valid/full.yaml, which names the exports sync_contacts,
// create_contact and on_webhook.
func TestCheckModule(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	m, err := Parse(readFile(t, "testdata/valid/full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"sync_contacts", "create_contact", "on_webhook"}

	extism := testModule{
		imports:     []testImport{{module: ExtismEnvModule, name: "output_set"}, {module: "extism:host/user", name: "ferry_http"}},
		memoryPages: 1,
	}
	for _, name := range all {
		extism.funcs = append(extism.funcs, testFunc{export: name, results: []byte{i32}})
	}

	tests := []struct {
		name    string
		wasm    []byte
		wantABI ABI
		// wantErrs are substrings of the problems reported, one each, in
		// order; empty means the module passes.
		wantErrs []string
		invalid  bool // the error wraps ErrInvalidModule
	}{
		{
			name:    "valid Ferry module",
			wasm:    ferryModule(all...).encode(),
			wantABI: ABIFerry,
		},
		{
			name: "valid Ferry module with WASI and extra exports",
			wasm: func() []byte {
				mod := ferryModule(append(all, "helper")...)
				mod.imports = append(mod.imports, testImport{module: "wasi_snapshot_preview1", name: "fd_write"})
				mod.funcs = append(mod.funcs, testFunc{export: "_initialize"})
				return mod.encode()
			}(),
			wantABI: ABIFerry,
		},
		{
			name:    "valid Extism module",
			wasm:    extism.encode(),
			wantABI: ABIExtism,
		},
		{
			name:     "not wasm",
			wasm:     []byte("\x7fELF\x02\x01\x01\x00 a native binary"),
			wantErrs: []string{`module is not valid WebAssembly: it does not start with the \0asm magic number`},
			invalid:  true,
		},
		{
			name:     "empty",
			wasm:     nil,
			wantErrs: []string{`module is not valid WebAssembly: it does not start with the \0asm magic number`},
			invalid:  true,
		},
		{
			name:     "truncated header",
			wasm:     []byte("\x00asm\x01"),
			wantErrs: []string{"module is not valid WebAssembly: it is truncated after 5 bytes"},
			invalid:  true,
		},
		{
			name:     "component",
			wasm:     []byte("\x00asm\x0d\x00\x01\x00"),
			wantErrs: []string{"module is not valid WebAssembly: it is a WebAssembly component, not a core module"},
			invalid:  true,
		},
		{
			name:     "corrupt body",
			wasm:     append(ferryModule(all...).encode(), 0x0b, 0xff, 0xff),
			wantErrs: []string{"module is not valid WebAssembly: "},
			invalid:  true,
		},
		{
			name:     "missing ABI marker",
			wasm:     testModule{funcs: []testFunc{{export: "sync_contacts", results: []byte{i32}}}}.encode(),
			wantErrs: []string{`module speaks no ABI Ferry knows: it neither exports "__ferry_abi_v1" (Ferry ABI, see docs/abi.md) nor imports "extism:host/env" (Extism ABI)`},
		},
		{
			name: "both ABIs",
			wasm: func() []byte {
				mod := ferryModule(all...)
				mod.imports = append(mod.imports, testImport{module: ExtismEnvModule, name: "input_length"})
				return mod.encode()
			}(),
			wantErrs: []string{`module both exports "__ferry_abi_v1" (Ferry ABI) and imports "extism:host/env" (Extism ABI); it must speak one`},
		},
		{
			name:    "missing exports",
			wasm:    ferryModule("create_contact", "sync_deals").encode(),
			wantABI: ABIFerry,
			wantErrs: []string{
				`export "sync_contacts" (syncs.contacts.export) not found in module; it exports: create_contact, sync_deals`,
				`export "on_webhook" (webhook.export) not found in module; it exports: create_contact, sync_deals`,
			},
		},
		{
			name:    "no plugin functions",
			wasm:    ferryModule().encode(),
			wantABI: ABIFerry,
			wantErrs: []string{
				`export "sync_contacts" (syncs.contacts.export) not found in module; it exports no plugin functions`,
				`export "create_contact" (actions.create-contact.export) not found in module; it exports no plugin functions`,
				`export "on_webhook" (webhook.export) not found in module; it exports no plugin functions`,
			},
		},
		{
			name: "wrong signatures",
			wasm: func() []byte {
				mod := ferryModule("create_contact")
				mod.funcs = append(mod.funcs,
					testFunc{export: "sync_contacts", params: []byte{i32}, results: []byte{i64}},
					testFunc{export: "on_webhook"},
				)
				mod.funcs[0].results = []byte{i32} // the marker
				return mod.encode()
			}(),
			wantABI: ABIFerry,
			wantErrs: []string{
				`export "__ferry_abi_v1" has signature () -> i32, want () -> ()`,
				`export "sync_contacts" (syncs.contacts.export) has signature (i32) -> i64, want () -> i32`,
				`export "on_webhook" (webhook.export) has signature () -> (), want () -> i32`,
			},
		},
		{
			name: "Extism module missing an export",
			wasm: func() []byte {
				mod := extism
				mod.funcs = mod.funcs[:2]
				return mod.encode()
			}(),
			wantABI:  ABIExtism,
			wantErrs: []string{`export "on_webhook" (webhook.export) not found in module; it exports: create_contact, sync_contacts`},
		},
		{
			name: "Ferry module importing what the host lacks",
			wasm: func() []byte {
				mod := ferryModule(all...)
				mod.imports = append(mod.imports,
					testImport{module: "env", name: "abort"},
					testImport{module: "env", name: "memory", memory: true},
				)
				mod.memoryPages = 0 // one memory only: the imported one
				return mod.encode()
			}(),
			wantABI: ABIFerry,
			wantErrs: []string{
				`module imports function "abort" from module "env", which the host does not provide (Ferry ABI modules may import from: ferry, wasi_snapshot_preview1)`,
				`module imports memory "memory" from module "env"`,
			},
		},
		{
			name: "memory above the limit",
			wasm: func() []byte {
				mod := ferryModule(all...)
				mod.memoryPages = 1025 // 64 MiB and one page
				return mod.encode()
			}(),
			wantABI:  ABIFerry,
			wantErrs: []string{"module's memory starts at 1025 pages (64.1 MiB), above limits.memory_mb (64)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			abi, err := CheckModule(ctx, rt, tt.wasm, m)
			if abi != tt.wantABI {
				t.Errorf("ABI = %q, want %q", abi, tt.wantABI)
			}
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("CheckModule: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckModule passed, want %q", tt.wantErrs)
			}
			if got := errors.Is(err, ErrInvalidModule); got != tt.invalid {
				t.Errorf("errors.Is(err, ErrInvalidModule) = %v, want %v", got, tt.invalid)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.wantErrs) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tt.wantErrs), err)
			}
			for i, want := range tt.wantErrs {
				if !strings.Contains(lines[i], want) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i, lines[i], want)
				}
			}
		})
	}
}

// TestCheckModuleListsAFewExports keeps the "not found" message readable for
// a module that exports hundreds of functions.
func TestCheckModuleListsAFewExports(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	m, err := Parse(readFile(t, "testdata/valid/minimal.yaml")) // action export "forecast"
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 25 {
		names = append(names, fmt.Sprintf("f%02d", i))
	}
	_, err = CheckModule(ctx, rt, ferryModule(names...).encode(), m)
	want := `export "forecast" (actions.forecast.export) not found in module; it exports: f00, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19 and 5 more`
	if err == nil || err.Error() != want {
		t.Errorf("CheckModule = %v\nwant %s", err, want)
	}
}

func TestCheckModuleCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rt := wazero.NewRuntime(context.Background())
	defer rt.Close(context.Background())
	_, err := CheckModule(ctx, rt, ferryModule().encode(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CheckModule with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestTestModuleRuns makes sure the hand-assembled modules are real ones: one
// instantiates against a host "ferry" module and its exports run.
func TestTestModuleRuns(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.NewHostModuleBuilder("ferry").
		NewFunctionBuilder().WithFunc(func() {}).Export("log").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, ferryModule("sync_contacts").encode())
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	res, err := mod.ExportedFunction("sync_contacts").Call(ctx)
	if err != nil || len(res) != 1 || res[0] != 0 {
		t.Errorf("sync_contacts() = %v, %v; want [0]", res, err)
	}
	if mem := mod.ExportedMemory("memory"); mem == nil || mem.Size() != 64<<10 {
		t.Errorf("exported memory = %v, want one page", mem)
	}
}
