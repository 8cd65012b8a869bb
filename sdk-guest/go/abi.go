package ferry

import (
	"errors"
	"runtime"
)

// ErrNoHost is returned by every host call when the module does not run inside Ferry: the SDK
// was compiled for a GOOS other than wasip1, as in a plain go test.
var ErrNoHost = errors.New("ferry: no Ferry host: host functions only work in a wasip1 module run by Ferry")

// hostFunc names one import of the host's "ferry" module.
type hostFunc uint8

const (
	fnLog hostFunc = iota
	fnInput
	fnHTTP
	fnRecordsSave
	fnRecordsUpdate
	fnRecordsDelete
	fnRecordsGet
	fnCheckpointGet
	fnCheckpointSave
	fnCheckpointClear
	fnMetadataGet
	fnMetadataSet
	fnLastSyncTime
	fnOutput
	fnFail
	fnLinksGet
	fnLinksPut
	fnLinksDelete
	fnTriggerSync
	fnHTTPSave
	fnRecordsQueue
	fnRecordsFlush
	fnHTTPStart
	fnHTTPWait
)

var hostFuncNames = [...]string{
	fnLog:             "log",
	fnInput:           "input",
	fnHTTP:            "http",
	fnRecordsSave:     "records_save",
	fnRecordsUpdate:   "records_update",
	fnRecordsDelete:   "records_delete",
	fnRecordsGet:      "records_get",
	fnCheckpointGet:   "checkpoint_get",
	fnCheckpointSave:  "checkpoint_save",
	fnCheckpointClear: "checkpoint_clear",
	fnMetadataGet:     "metadata_get",
	fnMetadataSet:     "metadata_set",
	fnLastSyncTime:    "last_sync_time",
	fnOutput:          "output",
	fnFail:            "fail",
	fnLinksGet:        "links_get",
	fnLinksPut:        "links_put",
	fnLinksDelete:     "links_delete",
	fnTriggerSync:     "trigger_sync",
	fnHTTPSave:        "http_save",
	fnRecordsQueue:    "records_queue",
	fnRecordsFlush:    "records_flush",
	fnHTTPStart:       "http_start",
	fnHTTPWait:        "http_wait",
}

// String returns the import's name in the "ferry" module.
func (f hostFunc) String() string {
	if int(f) < len(hostFuncNames) {
		return hostFuncNames[f]
	}
	return "unknown"
}

// abi is the seam every host call passes through: the wasip1 build implements it with the
// "ferry" imports, other builds with a stub, and tests with an in-memory host.
type abi interface {
	// call invokes f with arg, which the host reads in place and must not retain, and
	// returns f's result in a new slice the caller owns, or nil when f produced no result.
	// A failure reported by the host is returned as an error carrying the host's message.
	call(f hostFunc, arg []byte) ([]byte, error)
}

// hostError is a failure reported by the host: its message is the host's, unchanged, so
// that it reaches the run's record as the host wrote it.
type hostError string

func (e hostError) Error() string { return string(e) }

// gcEvery is how many bytes may cross the host boundary between two forced collections.
//
// In a reactor module the Go runtime's background collector only runs when the export's
// goroutine yields, which a sync rarely does (knqyf263/go-plugin#78 shows garbage piling up
// across many short calls). Within one long call, Go 1.26 still collects through allocation
// assists, but late: moving 300 pages of 1 MiB through a 64 MiB module peaked at 22 to 41 MiB
// of linear memory, which never shrinks. Forcing a collection every 16 MiB held the same run
// at 17 to 19 MiB, for about 5 ms a collection.
const gcEvery = 16 << 20

// maxScratch is the largest argument buffer a Host keeps for reuse; a larger one, from an
// unusually big batch, is dropped after its call so it does not pin memory for the rest of
// the run.
const maxScratch = 8 << 20

// call invokes f through the host's ABI, forcing a garbage collection first when enough bytes
// have crossed the boundary since the last one.
func (h *Host) call(f hostFunc, arg []byte) ([]byte, error) {
	h.crossed += len(arg)
	if h.crossed >= gcEvery {
		h.crossed = 0
		h.collections++
		runtime.GC()
	}
	res, err := h.abi.call(f, arg)
	h.crossed += len(res)
	return res, err
}
