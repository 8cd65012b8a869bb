//go:build wasip1

package ferry

import "unsafe"

// ferryABIv1 declares that the module speaks Ferry's host ABI, version 1. The host checks
// for the export at deploy and never calls it.
//
//go:wasmexport __ferry_abi_v1
//lint:ignore U1000 called by no Go code: it exists to be exported
func ferryABIv1() {}

// The host's imports. Each takes a (pointer, length) pair into the module's memory and
// returns the size of its pending result, or minus the size of its pending error message.

//go:wasmimport ferry result
func hostResult(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry log
func hostLog(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry input
func hostInput(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry http
func hostHTTP(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry http_start
func hostHTTPStart(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry http_wait
func hostHTTPWait(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry records_save
func hostRecordsSave(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry records_update
func hostRecordsUpdate(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry records_delete
func hostRecordsDelete(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry records_get
func hostRecordsGet(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry checkpoint_get
func hostCheckpointGet(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry checkpoint_save
func hostCheckpointSave(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry checkpoint_clear
func hostCheckpointClear(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry metadata_get
func hostMetadataGet(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry metadata_set
func hostMetadataSet(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry last_sync_time
func hostLastSyncTime(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry output
func hostOutput(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry fail
func hostFail(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry links_get
func hostLinksGet(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry links_put
func hostLinksPut(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry links_delete
func hostLinksDelete(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry trigger_sync
func hostTriggerSync(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry http_save
func hostHTTPSave(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry records_queue
func hostRecordsQueue(ptr unsafe.Pointer, size uint32) int64

//go:wasmimport ferry records_flush
func hostRecordsFlush(ptr unsafe.Pointer, size uint32) int64

// wasmABI calls the host through the "ferry" imports.
type wasmABI struct{}

var defaultABI abi = wasmABI{}

func (wasmABI) call(f hostFunc, arg []byte) ([]byte, error) {
	// The host reads the argument in place: no copy on this side of the boundary.
	ptr, size := unsafe.Pointer(unsafe.SliceData(arg)), uint32(len(arg))
	var r int64
	switch f {
	case fnLog:
		r = hostLog(ptr, size)
	case fnInput:
		r = hostInput(ptr, size)
	case fnHTTP:
		r = hostHTTP(ptr, size)
	case fnHTTPStart:
		r = hostHTTPStart(ptr, size)
	case fnHTTPWait:
		r = hostHTTPWait(ptr, size)
	case fnRecordsSave:
		r = hostRecordsSave(ptr, size)
	case fnRecordsUpdate:
		r = hostRecordsUpdate(ptr, size)
	case fnRecordsDelete:
		r = hostRecordsDelete(ptr, size)
	case fnRecordsGet:
		r = hostRecordsGet(ptr, size)
	case fnCheckpointGet:
		r = hostCheckpointGet(ptr, size)
	case fnCheckpointSave:
		r = hostCheckpointSave(ptr, size)
	case fnCheckpointClear:
		r = hostCheckpointClear(ptr, size)
	case fnMetadataGet:
		r = hostMetadataGet(ptr, size)
	case fnMetadataSet:
		r = hostMetadataSet(ptr, size)
	case fnLastSyncTime:
		r = hostLastSyncTime(ptr, size)
	case fnOutput:
		r = hostOutput(ptr, size)
	case fnFail:
		r = hostFail(ptr, size)
	case fnLinksGet:
		r = hostLinksGet(ptr, size)
	case fnLinksPut:
		r = hostLinksPut(ptr, size)
	case fnLinksDelete:
		r = hostLinksDelete(ptr, size)
	case fnHTTPSave:
		r = hostHTTPSave(ptr, size)
	case fnTriggerSync:
		r = hostTriggerSync(ptr, size)
	case fnRecordsQueue:
		r = hostRecordsQueue(ptr, size)
	case fnRecordsFlush:
		r = hostRecordsFlush(ptr, size)
	default:
		return nil, hostError("ferry: unknown host function " + f.String())
	}
	if r == 0 {
		return nil, nil
	}
	n := r
	if n < 0 {
		n = -n
	}
	// The one copy of a result: from the host straight into memory the caller owns.
	buf := make([]byte, n)
	got := hostResult(unsafe.Pointer(unsafe.SliceData(buf)), uint32(n))
	if got >= 0 && got < n {
		buf = buf[:got]
	}
	if r < 0 {
		return nil, hostError(buf)
	}
	return buf, nil
}
