package gosdk

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills cmd when the process that started it dies (a go test
// timeout kills only the test binary), so no server or namespace outlives
// its test run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
