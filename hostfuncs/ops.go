package hostfuncs

// Op identifies one host function. Its numeric value crosses the pipe between a worker
// process and the server, so values are never reused.
type Op uint8

// The host functions of ABI version 1, named as in docs/abi.md.
const (
	OpLog Op = iota + 1
	OpInput
	OpHTTP
	OpRecordsSave
	OpRecordsUpdate
	OpRecordsDelete
	OpRecordsGet
	OpCheckpointGet
	OpCheckpointSave
	OpCheckpointClear
	OpMetadataGet
	OpMetadataSet
	OpLastSyncTime
	OpOutput
	OpFail
	OpLinksGet
	OpLinksPut
	OpLinksDelete
	OpTriggerSync
	OpHTTPSave
	OpRecordsQueue
	OpRecordsFlush
	OpHTTPStart
	OpHTTPWait
	opEnd // one past the last valid Op
)

var opNames = [...]string{
	OpLog:             "log",
	OpInput:           "input",
	OpHTTP:            "http",
	OpRecordsSave:     "records_save",
	OpRecordsUpdate:   "records_update",
	OpRecordsDelete:   "records_delete",
	OpRecordsGet:      "records_get",
	OpCheckpointGet:   "checkpoint_get",
	OpCheckpointSave:  "checkpoint_save",
	OpCheckpointClear: "checkpoint_clear",
	OpMetadataGet:     "metadata_get",
	OpMetadataSet:     "metadata_set",
	OpLastSyncTime:    "last_sync_time",
	OpOutput:          "output",
	OpFail:            "fail",
	OpLinksGet:        "links_get",
	OpLinksPut:        "links_put",
	OpLinksDelete:     "links_delete",
	OpTriggerSync:     "trigger_sync",
	OpHTTPSave:        "http_save",
	OpRecordsQueue:    "records_queue",
	OpRecordsFlush:    "records_flush",
	OpHTTPStart:       "http_start",
	OpHTTPWait:        "http_wait",
}

// String returns the import name of op, as a guest sees it.
func (op Op) String() string {
	if op == 0 || op >= opEnd {
		return "unknown"
	}
	return opNames[op]
}

// Valid reports whether op is a known host function.
func (op Op) Valid() bool { return op > 0 && op < opEnd }

// Ops returns every host function, in numeric order.
func Ops() []Op {
	ops := make([]Op, 0, opEnd-1)
	for op := OpLog; op < opEnd; op++ {
		ops = append(ops, op)
	}
	return ops
}

// readsOrWritesStore tells whether op reaches the store other than through a Call's Batch,
// and so must see the batch's writes committed first.
func (op Op) readsOrWritesStore() bool {
	switch op {
	case OpLog, OpInput, OpHTTP, OpHTTPStart, OpHTTPWait, OpHTTPSave, OpRecordsSave, OpRecordsQueue, OpRecordsFlush,
		OpCheckpointSave, OpMetadataGet, OpLastSyncTime, OpOutput, OpFail:
		return false
	}
	return true
}

// waitsForQueue tells whether op must wait for the call's queued writes to be carried out
// before it runs, because it reads or writes the store (docs/abi.md, "Queued saves").
// records_queue and checkpoint_save handle the queue themselves.
func (op Op) waitsForQueue() bool {
	switch op {
	case OpLog, OpInput, OpHTTP, OpHTTPStart, OpHTTPWait, OpMetadataGet, OpLastSyncTime, OpOutput, OpFail,
		OpRecordsQueue, OpCheckpointSave:
		return false
	}
	return true
}
