//go:build unix

package flowlog

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used (user + system). The
// machines running these benchmarks are shared, so wall-clock MB/s swing
// with other load; MB per CPU-second is what one core does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
