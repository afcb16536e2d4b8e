package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// childResult is what one run of the flowhunt binary cost.
type childResult struct {
	Wall   time.Duration
	MaxRSS int64 // bytes, from the child's rusage
	CPU    time.Duration
	Stdout []byte // when not streamed elsewhere
}

// runChild runs the flowhunt binary with args and measures it; ingest and
// hunt run as children so their peak RSS is theirs alone. The peak is the
// child's VmHWM, polled from /proc while it runs: the ru_maxrss that wait4
// reports is useless here, because Go starts children with vfork, so the
// child's exec records the harness's own high-water mark as the child's
// (Linux keeps the larger in signal->maxrss). stdout goes to out when
// given, else into the result.
func (h *harness) runChild(ctx context.Context, out io.Writer, args ...string) (childResult, error) {
	cmd := exec.CommandContext(ctx, h.cfg.Binary, append(append([]string(nil), h.cfg.BinaryArgs...), args...)...)
	// The children work on the store their flags name: a FLOWHUNT_STORE of
	// the user's environment would send the embedded ingest to a cluster.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLOWHUNT_STORE=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, h.cfg.ChildEnv...)
	var stdout, stderr bytes.Buffer
	if out != nil {
		cmd.Stdout = out
	} else {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Start()
	var hwm atomic.Int64
	if err == nil {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				if v := readHWM(status); v > hwm.Load() {
					hwm.Store(v)
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		err = cmd.Wait()
		close(done)
		wg.Wait()
	}
	res := childResult{Wall: time.Since(t0), Stdout: stdout.Bytes(), MaxRSS: hwm.Load()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return res, fmt.Errorf("cannot run flowhunt %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return res, nil
}

// readHWM returns the VmHWM (peak resident set) of /proc/PID/status in
// bytes, or 0 when the process is gone or not yet exec'd.
func readHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("\nVmHWM:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+len("\nVmHWM:"):])
	if len(f) < 2 || string(f[1]) != "kB" {
		return 0
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

// runTool runs another program (an anchor such as gzip) with its stdout
// discarded and measures it as runChild does, without the RSS polling.
func runTool(ctx context.Context, name string, args ...string) (childResult, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return childResult{}, fmt.Errorf("cannot open %s: %w", os.DevNull, err)
	}
	defer null.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stdout = null // a file, so the tool writes to it directly
	cmd.Stderr = &stderr
	t0 := time.Now()
	err = cmd.Run()
	res := childResult{Wall: time.Since(t0)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return res, fmt.Errorf("cannot run %s: %w: %s", name, err, cut(strings.TrimSpace(stderr.String()), 2000))
	}
	return res, nil
}
