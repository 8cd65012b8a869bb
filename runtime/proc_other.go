//go:build !linux

package runtime

import (
	"os"
	"os/exec"
)

// bindToParent does nothing where the kernel offers no parent-death signal; a worker then ends
// when its pipe to the server closes.
func bindToParent(*exec.Cmd) {}

// enlargePipe leaves the pipe as it is.
func enlargePipe(any) {}

// shareMemory shares nothing: host calls cross the pipe whole.
func shareMemory(*exec.Cmd) ([]byte, *os.File) { return nil, nil }

// openSharedMemory finds nothing shared.
func openSharedMemory() []byte { return nil }

func unshareMemory([]byte) {}
