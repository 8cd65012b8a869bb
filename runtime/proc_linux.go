package runtime

import (
	"os/exec"
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
