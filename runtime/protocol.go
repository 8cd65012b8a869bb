package runtime

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/ferrysync/ferry/hostfuncs"
)

// Frame types of the worker protocol. Every frame is a 4-byte big-endian length n, then n bytes:
// one type byte and the payload.
const (
	frameHello      = 'H' // worker → server: ready; payload empty
	frameRun        = 'R' // server → worker: JSON job
	frameLoad       = 'L' // server → worker: JSON job whose module to compile now; answered by frameDone
	frameStarted    = 'S' // worker → server: module loaded, the export is being called
	frameHostCall   = 'C' // worker → server: op byte, then the argument
	frameHostResult = 'r' // server → worker: 0 (ok) or 1 (error), then the result or message
	frameDone       = 'D' // worker → server: JSON outcome
)

// maxFrame bounds a frame so that neither side allocates more for one than the largest
// argument or result a host call may carry, with room for its header.
const maxFrame = hostfuncs.MaxArgSize + 1<<20

// job is what the server asks a worker to run.
type job struct {
	ModulePath string `json:"module_path"`
	ModuleID   string `json:"module_id"`
	Export     string `json:"export"`
	MemoryMB   int    `json:"memory_mb"`
	ABI        string `json:"abi,omitempty"`
}

// outcome is how a worker reports a finished call.
type outcome struct {
	// Returned is true when the export returned; Status is then its value.
	Returned bool  `json:"returned"`
	Status   int32 `json:"status"`
	// Trap is the error that ended the guest otherwise: a trap, a panic, an exit, a load failure.
	Trap     string `json:"trap,omitempty"`
	Stdout   []byte `json:"stdout,omitempty"`
	Stderr   []byte `json:"stderr,omitempty"`
	Compiled bool   `json:"compiled"`
	// Instantiate is how long making the call's instance took, initialisation included.
	Instantiate time.Duration `json:"instantiate_ns"`
}

// frameWriter writes frames; it is not safe for concurrent use.
type frameWriter struct{ w *bufio.Writer }

func (fw frameWriter) write(typ byte, parts ...[]byte) error {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the %d-byte limit", n, maxFrame)
	}
	var head [5]byte
	binary.BigEndian.PutUint32(head[:4], uint32(n))
	head[4] = typ
	if _, err := fw.w.Write(head[:]); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := fw.w.Write(p); err != nil {
			return err
		}
	}
	return fw.w.Flush()
}

// frameReader reads frames into a buffer it reuses: a payload is valid until the next read.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func (fr *frameReader) read() (typ byte, payload []byte, err error) {
	var head [4]byte
	if _, err := io.ReadFull(fr.r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n > maxFrame {
		return 0, nil, fmt.Errorf("bad frame length %d", n)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	buf := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, buf); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	// A huge frame's buffer is not kept, so one large batch does not pin memory for good.
	if n > 4<<20 {
		fr.buf = nil
	}
	return buf[0], buf[1:], nil
}
