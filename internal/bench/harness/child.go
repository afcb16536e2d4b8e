package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
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

// runChild runs the flowhunt binary with args and measures it. Its peak RSS
// is the kernel's ru_maxrss of that process alone, which is why ingest and
// hunt run as children rather than in the harness. stdout goes to out when
// given, else into the result.
func (h *harness) runChild(ctx context.Context, out io.Writer, args ...string) (childResult, error) {
	cmd := exec.CommandContext(ctx, h.cfg.Binary, append(append([]string(nil), h.cfg.BinaryArgs...), args...)...)
	cmd.Env = append(os.Environ(), h.cfg.ChildEnv...)
	var stdout, stderr bytes.Buffer
	if out != nil {
		cmd.Stdout = out
	} else {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	res := childResult{Wall: time.Since(t0), Stdout: stdout.Bytes()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
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
