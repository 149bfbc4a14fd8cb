package function

import "syscall"

// sysProcAttr puts each function process in its own process group, so a
// kill reaches its children too. Pdeathsig kills the process if the gateway
// dies without Close (crash, SIGKILL), so no function outlives it. Linux
// sends it when the forking OS thread exits; Go keeps threads alive unless a
// goroutine locked to one exits, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
