package plugins

// A tiny WebAssembly binary writer, so module tests need no toolchain. It
// covers what CheckModule looks at: function types, imports, functions,
// memories and exports. See the binary format in the WebAssembly core
// specification, section 5.

const (
	i32 byte = 0x7f
	i64 byte = 0x7e
)

type testFunc struct {
	export  string // empty: not exported
	params  []byte
	results []byte
}

type testImport struct {
	module, name string
	memory       bool // a memory (min 1 page) rather than a function () -> ()
}

type testModule struct {
	imports []testImport
	funcs   []testFunc
	// memoryPages, when > 0, defines a memory exported as "memory".
	memoryPages uint32
}

// ferryModule returns a Ferry-ABI module exporting the marker and, for each
// name, a function () -> i32.
func ferryModule(exports ...string) testModule {
	m := testModule{
		imports:     []testImport{{module: "ferry", name: "log"}},
		funcs:       []testFunc{{export: ABIMarker}},
		memoryPages: 1,
	}
	for _, name := range exports {
		m.funcs = append(m.funcs, testFunc{export: name, results: []byte{i32}})
	}
	return m
}

func (m testModule) encode() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")

	// Types: one per function, imported ones first; imports are () -> ().
	var types [][]byte
	for _, imp := range m.imports {
		if !imp.memory {
			types = append(types, funcType(nil, nil))
		}
	}
	for _, f := range m.funcs {
		types = append(types, funcType(f.params, f.results))
	}
	out = appendSection(out, 1, vec(types))

	var imports [][]byte
	typeIdx := uint32(0)
	numImportedFuncs := uint32(0)
	for _, imp := range m.imports {
		b := appendName(appendName(nil, imp.module), imp.name)
		if imp.memory {
			b = append(b, 0x02, 0x00) // memory, limits: min only
			b = appendU32(b, 1)
		} else {
			b = append(b, 0x00) // function
			b = appendU32(b, typeIdx)
			typeIdx++
			numImportedFuncs++
		}
		imports = append(imports, b)
	}
	if len(imports) > 0 {
		out = appendSection(out, 2, vec(imports))
	}

	var funcs [][]byte
	for range m.funcs {
		funcs = append(funcs, appendU32(nil, typeIdx))
		typeIdx++
	}
	out = appendSection(out, 3, vec(funcs))

	if m.memoryPages > 0 {
		mem := appendU32([]byte{0x00}, m.memoryPages) // limits: min only
		out = appendSection(out, 5, vec([][]byte{mem}))
	}

	var exports [][]byte
	for i, f := range m.funcs {
		if f.export != "" {
			b := appendName(nil, f.export)
			b = append(b, 0x00) // function
			b = appendU32(b, numImportedFuncs+uint32(i))
			exports = append(exports, b)
		}
	}
	if m.memoryPages > 0 {
		exports = append(exports, append(appendName(nil, "memory"), 0x02, 0x00))
	}
	out = appendSection(out, 7, vec(exports))

	var bodies [][]byte
	for _, f := range m.funcs {
		body := []byte{0x00} // no locals
		for _, r := range f.results {
			switch r {
			case i32:
				body = append(body, 0x41, 0x00) // i32.const 0
			case i64:
				body = append(body, 0x42, 0x00) // i64.const 0
			}
		}
		body = append(body, 0x0b) // end
		bodies = append(bodies, appendU32(nil, uint32(len(body)), body...))
	}
	return appendSection(out, 10, vec(bodies))
}

func funcType(params, results []byte) []byte {
	b := []byte{0x60}
	b = appendU32(b, uint32(len(params)), params...)
	return appendU32(b, uint32(len(results)), results...)
}

func appendSection(out []byte, id byte, content []byte) []byte {
	out = append(out, id)
	return appendU32(out, uint32(len(content)), content...)
}

func vec(items [][]byte) []byte {
	b := appendU32(nil, uint32(len(items)))
	for _, item := range items {
		b = append(b, item...)
	}
	return b
}

func appendName(b []byte, s string) []byte {
	return appendU32(b, uint32(len(s)), []byte(s)...)
}

// appendU32 appends v as unsigned LEB128, then rest.
func appendU32(b []byte, v uint32, rest ...byte) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			break
		}
	}
	return append(b, rest...)
}
