package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
)

// recursionModule is a hand-assembled module whose export "recurse" calls itself forever, as
// (module (func (export "recurse") (result i32) (call 0))). Unlike Go, which keeps its stack in
// linear memory, it recurses on the engine's own call stack, whose guard must end it.
var recursionModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // types: () -> i32
	0x03, 0x02, 0x01, 0x00, // functions: one of type 0
	0x07, 0x0b, 0x01, 0x07, 'r', 'e', 'c', 'u', 'r', 's', 'e', 0x00, 0x00, // export "recurse" = func 0
	0x0a, 0x06, 0x01, 0x04, 0x00, 0x10, 0x00, 0x0b, // code: call 0; end
}

// A guest that recurses without end on the engine's stack traps with a stack overflow; its
// worker survives it and runs the next call.
func TestEndlessRecursionTraps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recurse.wasm")
	if err := os.WriteFile(path, recursionModule, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(recursionModule)
	pool := newPool(t, 1, "")
	for range 2 {
		_, err := pool.Run(context.Background(), Job{ModulePath: path, ModuleID: hex.EncodeToString(sum[:]), Export: "recurse",
			MemoryMB: 16, Timeout: 30 * time.Second, Host: &hostfuncs.Call{}})
		var trap *TrapError
		if !errors.As(err, &trap) || !strings.Contains(err.Error(), "stack overflow") {
			t.Fatalf("err = %v, want a trap naming the stack overflow", err)
		}
	}
}
