// Package wasmdata rewrites a WebAssembly module's data section into few segments, so that
// instantiating the module copies a few blocks of memory rather than tens of thousands.
//
// Go's linker splits a plugin's initial memory at every run of zeros, and wazero evaluates,
// bounds-checks and copies each piece on every instantiation: for a Go plugin, 40,000 to
// 60,000 segments and most of the cost of making an instance. Coalesce merges neighbouring
// segments, filling the gaps between them with the zeros the memory holds there anyway.
package wasmdata
