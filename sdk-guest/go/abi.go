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
// A reactor module spends a whole sync inside one export call, where the Go runtime's
// background collector may never get scheduled (knqyf263/go-plugin#78 is the same effect
// across calls), so garbage from page after page of results would grow linear memory to the
// manifest's limit. A forced collection every 16 MiB keeps the heap near its live size for
// the price of one collection per 16 MiB moved, small beside the work of decoding it.
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
