package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/flowhunt/flowhunt/internal/bench"
	"github.com/flowhunt/flowhunt/internal/simulate"
)

// calibration is how many records `flowhunt generate --no-formats --days 2
// --seed 1` wrote at each --scale, measured at commit a8c082d (dual-stack
// simulator). The count is not
// proportional to the scale (attacks, NODATA markers and internet scanners
// do not scale), so ScaleFor interpolates between these points and
// extrapolates from the last two. The harness reports the count it got,
// not the target.
var calibration = []struct {
	scale   float64
	records float64
}{
	{0.01, 195_000}, // about: the fixed part
	{0.1, 275_176},
	{0.969, 1_049_115},
	{1, 1_078_737},
	{10.033, 10_521_593},
}

const datasetDays = 2.0

// ScaleFor returns the --scale that makes about n records over two days.
func ScaleFor(n int64) float64 {
	c := calibration
	x := float64(n)
	i := 1
	for i < len(c)-1 && x > c[i].records {
		i++
	}
	a, b := c[i-1], c[i]
	s := a.scale + (x-a.records)*(b.scale-a.scale)/(b.records-a.records)
	s = math.Round(s*1000) / 1000
	return math.Max(s, 0.01)
}

// SizeName prints a record count the way the flags take it: 1M, 10M, 250k.
func SizeName(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// ParseSize parses 1M, 10M, 100M, 250k or a plain number of records.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mul := int64(1)
	switch {
	case strings.HasSuffix(t, "M"), strings.HasSuffix(t, "m"):
		mul, t = 1_000_000, t[:len(t)-1]
	case strings.HasSuffix(t, "k"), strings.HasSuffix(t, "K"):
		mul, t = 1000, t[:len(t)-1]
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("cannot parse size %q: want a record count like 1M, 10M or 250k", s)
	}
	n := int64(v * float64(mul))
	if n < 10_000 {
		return 0, fmt.Errorf("cannot parse size %q: at least 10k records", s)
	}
	return n, nil
}

// dataset returns the generated data set of about n records, generating it
// (as a child `flowhunt generate`, timed) when the cache does not hold it.
// The cache key is the seed, the size, the scale and the simulator's
// OutputVersion, so neither a change of the calibration nor of the
// simulator reuses stale data.
func (h *harness) dataset(ctx context.Context, n int64) (bench.Dataset, error) {
	scale := ScaleFor(n)
	name := SizeName(n)
	dir := filepath.Join(h.cfg.CacheDir, fmt.Sprintf("seed%d-%s-scale%g-sim%d", h.cfg.Seed, name, scale, simulate.OutputVersion))
	meta := filepath.Join(dir, "bench-dataset.json")
	if b, err := os.ReadFile(meta); err == nil && !h.cfg.Regenerate {
		var d bench.Dataset
		if err := json.Unmarshal(b, &d); err != nil {
			return d, fmt.Errorf("cannot parse cached data set %q: %w (delete the directory)", meta, err)
		}
		d.GenCached = true
		d.Dir = dir
		return d, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return bench.Dataset{}, fmt.Errorf("cannot read cached data set: %w", err)
	}
	if err := os.MkdirAll(h.cfg.CacheDir, 0o755); err != nil {
		return bench.Dataset{}, fmt.Errorf("cannot create bench cache: %w", err)
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return bench.Dataset{}, fmt.Errorf("cannot clear %q: %w", tmp, err)
	}
	h.logf("generating %s records (seed %d, scale %g, %g days) into %s", name, h.cfg.Seed, scale, datasetDays, dir)
	res, err := h.runChild(ctx, nil, "generate", "--out", tmp, "--seed", strconv.FormatUint(h.cfg.Seed, 10),
		"--days", strconv.FormatFloat(datasetDays, 'g', -1, 64), "--scale", strconv.FormatFloat(scale, 'g', -1, 64), "--no-formats")
	if err != nil {
		return bench.Dataset{}, err
	}
	d := bench.Dataset{Name: name, Target: n, Seed: h.cfg.Seed, Scale: scale, Days: datasetDays,
		GenSeconds: res.Wall.Seconds(), GenRSS: res.MaxRSS}
	// "wrote DIR: N records in M S3 objects (…"
	line := string(res.Stdout)
	if i := strings.Index(line, ": "); i >= 0 {
		var objects int
		if _, err := fmt.Sscanf(line[i+2:], "%d records in %d S3 objects", &d.Records, &objects); err != nil {
			return d, fmt.Errorf("cannot read the output of flowhunt generate %q: %w", cut(line, 200), err)
		}
		d.Objects = objects
	}
	if d.Records == 0 {
		return d, fmt.Errorf("cannot read the output of flowhunt generate %q: no record count", cut(line, 200))
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "bench-dataset.json"), b, 0o644); err != nil {
		return d, fmt.Errorf("cannot write data set description: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return d, fmt.Errorf("cannot replace %q: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return d, fmt.Errorf("cannot move the data set into the cache: %w", err)
	}
	d.Dir = dir
	return d, nil
}

func cut(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
