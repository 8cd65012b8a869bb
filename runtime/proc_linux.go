package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// bindToParent makes the kernel kill the worker if the server dies, even by SIGKILL: a worker
// spinning in a guest loop never reads the pipe that would tell it.
func bindToParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// pipeSize is the buffer of the pipes to a worker: a page of records crosses in a few
// writes rather than in 64 KiB steps, each a switch between the two processes.
const pipeSize = 1 << 20

// enlargePipe raises the buffer of a pipe to pipeSize, as far as the system allows.
func enlargePipe(p any) {
	c, ok := p.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
}

// shareMemory makes the memory cmd's worker will share with the server (shared.go): a memfd
// handed to the worker as an extra file, named in its environment, and mapped here. It returns
// the mapping and the file, which the caller closes once the worker has started; or nils if
// the system offers no such memory, and host calls then cross the pipe whole.
func shareMemory(cmd *exec.Cmd) ([]byte, *os.File) {
	fd, err := unix.MemfdCreate("ferry-worker", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil
	}
	f := os.NewFile(uintptr(fd), "ferry-worker-shared")
	if f.Truncate(2*sharedRegion) != nil {
		f.Close()
		return nil, nil
	}
	mem, err := unix.Mmap(fd, 0, 2*sharedRegion, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", sharedFDEnv, 2+len(cmd.ExtraFiles)))
	return mem, f
}

// openSharedMemory maps the memory the server shared with this worker, or returns nil if it
// shared none (or it cannot be mapped: the worker then says nothing of it in its hello).
func openSharedMemory() []byte {
	fd, err := strconv.Atoi(os.Getenv(sharedFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	mem, err := unix.Mmap(fd, 0, 2*sharedRegion, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	_ = unix.Close(fd)
	return mem
}

// unshareMemory unmaps memory from shareMemory.
func unshareMemory(mem []byte) { _ = unix.Munmap(mem) }
