package runtime

import (
	"os/exec"
	"syscall"
)

// bindToParent makes the kernel kill the worker if the server dies, even by SIGKILL: a worker
// spinning in a guest loop never reads the pipe that would tell it.
func bindToParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
