package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/hostfuncs"
)

// A worker and the server share memory (on Linux, a memfd; shareMemory) of two regions:
// the first for the arguments of host calls, which the worker writes, the second for their
// results, which the server writes. A host call's argument or result of sharedMin to
// sharedRegion bytes crosses there, and only its length crosses the pipe: a page of records
// is then copied once on each side instead of through the kernel, which cost about 0.3 ms a
// megabyte on the reference machine, twice a page (the page in, its records out). Calls are
// one at a time, so each region holds one argument or result, valid until the next call.
const (
	sharedRegion = 4 << 20
	sharedMin    = 16 << 10
)

// sharedFDEnv names, in a worker's environment, the descriptor of the memory it shares.
const sharedFDEnv = "FERRY_WORKER_SHARED_FD"

// helloShared is a worker's hello when it maps the shared memory; the server then answers
// through it.
const helloShared = "shared"

// Frames of host calls whose argument or result is in the shared memory: the op byte (or the
// status byte) and the 4-byte big-endian length of what the region holds.
const (
	frameHostCallShared   = 'c' // worker → server: op byte, length of the argument
	frameHostResultShared = 's' // server → worker: status byte, length of the result
)

// fitsShared reports whether n bytes cross the shared memory rather than the pipe.
func fitsShared(n int) bool { return n >= sharedMin && n <= sharedRegion }

func sharedHead(b byte, n int) []byte {
	head := make([]byte, 5)
	head[0] = b
	binary.BigEndian.PutUint32(head[1:], uint32(n))
	return head
}

func parseSharedHead(payload []byte) (byte, int, error) {
	if len(payload) != 5 {
		return 0, 0, fmt.Errorf("shared-memory frame of %d bytes, want 5", len(payload))
	}
	n := binary.BigEndian.Uint32(payload[1:])
	if n > sharedRegion {
		return 0, 0, fmt.Errorf("shared-memory frame of %d bytes, over the region's %d", n, sharedRegion)
	}
	return payload[0], int(n), nil
}

// sharedArg returns the argument of a host call the worker left in the shared memory, copied:
// the worker could change the region while the host reads it.
func (w *workerHandle) sharedArg(payload []byte) (hostfuncs.Op, []byte, error) {
	op, n, err := parseSharedHead(payload)
	if err != nil {
		return 0, nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shared == nil {
		return 0, nil, errors.New("worker sent a host call in memory it does not share")
	}
	w.arg = append(w.arg[:0], w.shared[:n]...)
	return hostfuncs.Op(op), w.arg, nil
}

// answer sends a host call's status and result, through the shared memory when the worker
// maps it and the result is large enough to gain by it.
func (w *workerHandle) answer(status byte, res []byte) error {
	if w.sharesResults && fitsShared(len(res)) {
		w.mu.Lock()
		ok := w.shared != nil
		if ok {
			copy(w.shared[sharedRegion:], res)
		}
		w.mu.Unlock()
		if ok {
			return w.in.write(frameHostResultShared, sharedHead(status, len(res)))
		}
	}
	return w.in.write(frameHostResult, []byte{status}, res)
}

// unshare unmaps the memory shared with the worker, which must be gone.
func (w *workerHandle) unshare() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shared != nil {
		unshareMemory(w.shared)
		w.shared = nil
	}
}

// sendHostCall sends a host call's op and argument to the server, through the shared memory
// when there is one and the argument is large enough to gain by it.
func (wk *workerProc) sendHostCall(op hostfuncs.Op, arg []byte) error {
	if wk.shared != nil && fitsShared(len(arg)) {
		copy(wk.shared, arg)
		return wk.out.write(frameHostCallShared, sharedHead(byte(op), len(arg)))
	}
	return wk.out.write(frameHostCall, []byte{byte(op)}, arg)
}

// sharedResult returns the result the server left in the shared memory: valid until the next
// host call, as a result read from the pipe is.
func (wk *workerProc) sharedResult(payload []byte) (result []byte, ok bool, err error) {
	status, n, err := parseSharedHead(payload)
	if err != nil {
		return nil, false, err
	}
	if wk.shared == nil {
		return nil, false, errors.New("server answered in memory it does not share")
	}
	return wk.shared[sharedRegion : sharedRegion+n], status == 0, nil
}
