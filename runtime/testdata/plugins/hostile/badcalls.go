package main

import "unsafe"

// Host calls no SDK would make: a pointer past the end of memory, a length of nearly 4 GiB, a
// result buffer outside memory. The host must trap the call, naming it, and store nothing.

//go:wasmimport ferry records_save
func recordsSave(ptr, size uint32) int64

//go:wasmimport ferry metadata_get
func metadataGet(ptr, size uint32) int64

//go:wasmimport ferry result
func result(ptr, size uint32) int64

// batch is a valid batch, so that only the pointer or the length is wrong.
var batch = []byte("Item\n[{\"id\":\"sneaky\"}]")

func batchPtr() uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(batch)))) }

//go:wasmexport bad_pointer
//lint:ignore U1000 exported to the host
func badPointer() int32 {
	recordsSave(0xFFFF0000, uint32(len(batch)))
	return 0
}

//go:wasmexport huge_length
//lint:ignore U1000 exported to the host
func hugeLength() int32 {
	recordsSave(batchPtr(), 0xFFFFFFF0)
	return 0
}

//go:wasmexport bad_result_buffer
//lint:ignore U1000 exported to the host
func badResultBuffer() int32 {
	if n := metadataGet(0, 0); n > 0 {
		result(0xFFFFFF00, uint32(n))
	}
	return 0
}
