package wasmdata

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

// memPages is the memory of the test modules, in 64 KiB pages.
const memPages = 1

// seg is a data segment of a test module: raw, if set, is its whole encoding; otherwise it
// is an active segment of memory 0 at offset.
type seg struct {
	offset int32
	data   string
	raw    []byte
}

func (s seg) encode() []byte {
	if s.raw != nil {
		return s.raw
	}
	b := appendS32([]byte{0, opI32Const}, s.offset)
	b = append(b, opEnd)
	b = binary.AppendUvarint(b, uint64(len(s.data)))
	return append(b, s.data...)
}

func section(id byte, content []byte) []byte {
	return append(binary.AppendUvarint([]byte{id}, uint64(len(content))), content...)
}

// testModule returns a module with one memory of memPages, exported as "memory", the given
// data segments, and extra sections (each complete) before its data section.
func testModule(segs []seg, extra ...[]byte) []byte {
	m := bytes.Clone(magic)
	m = append(m, section(5, []byte{1, 0, memPages})...)                    // memory: min memPages, no max
	m = append(m, section(7, append([]byte{1, 6}, "memory\x02\x00"...))...) // export "memory", memory 0
	for _, e := range extra {
		m = append(m, e...)
	}
	data := binary.AppendUvarint(nil, uint64(len(segs)))
	for _, s := range segs {
		data = append(data, s.encode()...)
	}
	m = append(m, section(sectionData, data)...)
	return append(m, section(0, append([]byte{4}, "name"...))...) // a custom section after it
}

// instantiate makes an instance of module with wazero's interpreter (compiling is not what is
// tested) and returns its memory, or the error that stopped it.
func instantiate(t testing.TB, module []byte) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	mod, err := rt.InstantiateWithConfig(ctx, module, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, err
	}
	mem, _ := mod.Memory().Read(0, mod.Memory().Size())
	return bytes.Clone(mem), nil
}

// segmentCount is how many data segments module has.
func segmentCount(t testing.TB, module []byte) int {
	t.Helper()
	_, start, end, ok := findData(module)
	if !ok {
		t.Fatal("no data section found")
	}
	n, k := u32(module[start:end])
	if k == 0 {
		t.Fatal("bad segment count")
	}
	return int(n)
}

// checkSame fails t unless coalesced instantiates as module does: the same memory, or an
// error for both.
func checkSame(t testing.TB, module, coalesced []byte) {
	t.Helper()
	want, wantErr := instantiate(t, module)
	got, err := instantiate(t, coalesced)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("instantiating: coalesced %v, original %v", err, wantErr)
	case !bytes.Equal(got, want):
		t.Fatal("the coalesced module's memory differs from the original's")
	}
}

func TestCoalesce(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 300))
	tests := []struct {
		name  string
		segs  []seg
		extra [][]byte
		want  int // segments after; 0: the module is returned as it is
	}{
		{"adjacent", []seg{{0, "ab", nil}, {2, "cd", nil}}, nil, 1},
		{"small gaps", []seg{{0, "0123456789", nil}, {12, "0123456789", nil}, {30, "0123456789", nil}}, nil, 1},
		{"out of order, as Go's linker writes them", []seg{{1000, "late", nil}, {10, "early", nil}, {500, long, nil}}, nil, 2},
		{"gap over the limit", []seg{{0, long, nil}, {300 + maxGap + 1, long, nil}}, nil, 0},
		{"gap at the limit", []seg{{0, long, nil}, {300 + maxGap, long, nil}}, nil, 1},
		{"zeros would outnumber the data", []seg{{0, "a", nil}, {100, "b", nil}}, nil, 0},
		{"empty segments", []seg{{0, "abc", nil}, {3, "", nil}, {5, "", nil}, {6, "d", nil}}, nil, 1},
		{"high addresses", []seg{{memPages<<16 - 8, "tail", nil}, {memPages<<16 - 3, "end", nil}}, nil, 1},
		{"past the memory: fails as before", []seg{{memPages<<16 - 2, "abc", nil}, {0, "x", nil}, {1, "y", nil}}, nil, 2},
		{"negative offset: fails as before", []seg{{-4, "abc", nil}, {0, "x", nil}}, nil, 0},
		{"one segment", []seg{{0, "abc", nil}}, nil, 0},
		{"overlap", []seg{{0, "abcd", nil}, {2, "XY", nil}}, nil, 0},
		{"passive segment", []seg{{0, "ab", nil}, {raw: []byte{1, 2, 'c', 'd'}}}, nil, 0},
		{"offset from a global", []seg{{0, "ab", nil}, {raw: []byte{0, 0x23, 0, opEnd, 2, 'c', 'd'}}}, nil, 0},
		{"data count section", []seg{{0, "ab", nil}, {2, "cd", nil}}, [][]byte{section(sectionDataCount, []byte{2})}, 0},
		{"truncated segment", []seg{{0, "ab", nil}, {raw: []byte{0, opI32Const, 2, opEnd, 9, 'c'}}}, nil, 0},
		{"over-long number", []seg{{0, "ab", nil}, {raw: []byte{0, opI32Const, 0x82, 0x80, 0x80, 0x80, 0x80, 0, opEnd, 1, 'c'}}}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			module := testModule(tt.segs, tt.extra...)
			got := Coalesce(module)
			if tt.want == 0 {
				if !bytes.Equal(got, module) {
					t.Fatal("the module was rewritten")
				}
				return
			}
			if n := segmentCount(t, got); n != tt.want {
				t.Fatalf("%d segments, want %d", n, tt.want)
			}
			checkSame(t, module, got)
		})
	}
}

func TestCoalesceNotAModule(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("\x00asm"), []byte("not wasm at all"), append(bytes.Clone(magic), 11, 0x80)} {
		if got := Coalesce(in); !bytes.Equal(got, in) {
			t.Errorf("Coalesce(%q) = %q, want it unchanged", in, got)
		}
	}
}

// TestCoalesceGoPlugin coalesces a plugin built by Go's linker, the case Coalesce is for.
func TestCoalesceGoPlugin(t *testing.T) {
	module, err := os.ReadFile("../../runtime/testdata/plugins/hostcalls/plugin.wasm")
	if err != nil {
		t.Fatalf("%v (make test-plugins builds it)", err)
	}
	before := segmentCount(t, module)
	got := Coalesce(module)
	after := segmentCount(t, got)
	if before < 1000 || after > 100 {
		t.Fatalf("%d segments before, %d after: want thousands joined into a few", before, after)
	}
	if image(t, got) == nil || !bytes.Equal(image(t, got), image(t, module)) {
		t.Fatal("the coalesced data does not lay out the same memory")
	}
	// Its imports (WASI, Ferry's host functions) keep it from instantiating alone here; the
	// runtime's tests run it coalesced.
	ctx := context.Background()
	if _, err := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter()).CompileModule(ctx, got); err != nil {
		t.Fatalf("compile the coalesced module: %v", err)
	}
}

// image lays out module's data segments in a buffer as instantiation would, or returns nil if
// they cannot be parsed.
func image(t testing.TB, module []byte) []byte {
	t.Helper()
	_, start, end, ok := findData(module)
	if !ok {
		return nil
	}
	segs, ok := parseSegments(module[start:end])
	if !ok {
		return nil
	}
	var mem []byte
	for _, s := range segs {
		if n := int(s.offset) + len(s.data); n > len(mem) {
			mem = append(mem, make([]byte, n-len(mem))...)
		}
		copy(mem[s.offset:], s.data)
	}
	return mem
}

// FuzzCoalesce builds a module from fuzzed segments and checks that the coalesced module
// instantiates as the original does; and that Coalesce takes any bytes as a module.
func FuzzCoalesce(f *testing.F) {
	f.Add([]byte{0, 0, 2, 'a', 'b', 4, 0, 2, 'c', 'd'})
	f.Add([]byte{200, 1, 3, 'x', 'y', 'z', 10, 0, 1, 'q', 0, 0, 0})
	f.Add([]byte{255, 255, 4, 1, 2, 3, 4, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = Coalesce(in)
		// Each segment: a 2-byte offset, a 1-byte length, its data.
		var segs []seg
		for len(in) >= 3 {
			off, n := int32(binary.LittleEndian.Uint16(in)), int(in[2])
			in = in[3:]
			n = min(n, len(in))
			segs = append(segs, seg{offset: off, data: string(in[:n])})
			in = in[n:]
		}
		module := testModule(segs)
		got := Coalesce(module)
		if !bytes.Equal(got, module) {
			checkSame(t, module, got)
		}
	})
}
