package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/flowlog"
	"github.com/flowhunt/flowhunt/internal/inflate"
)

// decoderResult is the decoder's speed on real objects of a data set.
type decoderResult struct {
	TextBytes       int64   // decompressed bytes of the sample
	Records         int64   // records per pass
	DecodeMBps      float64 // MB of text per CPU second, one goroutine
	GunzipMBps      float64 // MB of text produced per CPU second by gunzip, same objects
	AllocsPerRecord float64
	BytesPerRecord  float64 // heap bytes allocated per record
	Passes          int
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureDecoder decodes objects of the data set held in memory with
// flowlog.Decode on one goroutine, for at least minCPU of CPU time, and
// gunzips the same objects the same way. Speeds are per CPU second of the
// process (nothing else runs in it meanwhile), so they are per core and
// less disturbed by other load on the machine than wall-clock figures.
func measureDecoder(ctx context.Context, paths []string, sampleBytes int64, minCPU time.Duration) (decoderResult, error) {
	var res decoderResult
	var texts, comps [][]byte
	zr := new(gzip.Reader)
	// Take objects spread over the whole set (both layouts, day and night).
	step := 1
	for i := 0; i < len(paths); i += step {
		if res.TextBytes >= sampleBytes {
			break
		}
		comp, err := os.ReadFile(paths[i])
		if err != nil {
			return res, fmt.Errorf("cannot read object: %w", err)
		}
		if err := zr.Reset(bytes.NewReader(comp)); err != nil {
			return res, fmt.Errorf("cannot decompress object %q: %w", paths[i], err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			return res, fmt.Errorf("cannot decompress object %q: %w", paths[i], err)
		}
		texts = append(texts, text)
		comps = append(comps, comp)
		res.TextBytes += int64(len(text))
		if i == 0 && len(paths) > 16 {
			// Estimate how many objects the sample needs and stride to spread them.
			if need := sampleBytes / int64(len(text)+1); need > 0 && need < int64(len(paths)) {
				step = max(1, len(paths)/int(need+1))
			}
		}
	}
	emit := func(*flowlog.Batch) error { return nil }
	var rejects int64
	reject := func(flowlog.Reject) error { rejects++; return nil }
	rd := new(bytes.Reader)
	pass := func() (int64, error) {
		var recs int64
		for i, t := range texts {
			rd.Reset(t)
			st, err := flowlog.Decode(ctx, rd, flowlog.DecodeOptions{Object: paths[i], Format: flowlog.FormatText}, emit, reject)
			if err != nil {
				return recs, err
			}
			recs += st.Records
		}
		return recs, nil
	}
	// One warm-up pass fills the decoder's pools.
	if _, err := pass(); err != nil {
		return res, fmt.Errorf("cannot decode sample: %w", err)
	}
	if rejects > 0 {
		return res, fmt.Errorf("cannot decode sample: %d lines rejected", rejects)
	}
	// Decode and gunzip passes alternate (ABAB…), each side's CPU time
	// summed on its own, so a phase of heavy load elsewhere on the machine
	// (which slows a CPU second too: shared caches, frequency) falls on
	// both sides alike and their ratio holds still.
	z := inflate.NewDecompressor() // the decoder's own inflater, when the system has it
	defer z.Free()
	var whole []byte
	gunzipPass := func() (int64, error) {
		var out int64
		for _, c := range comps {
			if z != nil {
				var err error
				if whole, err = z.Gunzip(whole, c, 1<<30); err != nil {
					return out, err
				}
				out += int64(len(whole))
				continue
			}
			if err := zr.Reset(bytes.NewReader(c)); err != nil {
				return out, err
			}
			n, err := io.Copy(io.Discard, zr)
			if err != nil {
				return out, err
			}
			out += n
		}
		return out, nil
	}
	if _, err := gunzipPass(); err != nil {
		return res, fmt.Errorf("cannot decompress sample: %w", err)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	var decCPU, gzCPU time.Duration
	var recs, gzOut int64
	var mallocs, allocBytes uint64
	for res.Passes < 2 || decCPU < minCPU {
		runtime.ReadMemStats(&m0)
		c0 := cpuTime()
		n, err := pass()
		decCPU += cpuTime() - c0
		runtime.ReadMemStats(&m1)
		if err != nil {
			return res, fmt.Errorf("cannot decode sample: %w", err)
		}
		mallocs += m1.Mallocs - m0.Mallocs
		allocBytes += m1.TotalAlloc - m0.TotalAlloc
		recs += n
		res.Passes++
		c0 = cpuTime()
		out, err := gunzipPass()
		gzCPU += cpuTime() - c0
		if err != nil {
			return res, fmt.Errorf("cannot decompress sample: %w", err)
		}
		gzOut += out
	}
	res.Records = recs / int64(res.Passes)
	res.DecodeMBps = float64(res.TextBytes) * float64(res.Passes) / 1e6 / decCPU.Seconds()
	res.AllocsPerRecord = float64(mallocs) / float64(recs)
	res.BytesPerRecord = float64(allocBytes) / float64(recs)
	res.GunzipMBps = float64(gzOut) / 1e6 / gzCPU.Seconds()
	return res, nil
}
