//go:build unix && !linux

package function

import "syscall"

// sysProcAttr puts each function process in its own process group, so a
// kill reaches its children too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
