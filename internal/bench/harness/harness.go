// Package harness measures flowhunt against the engines and floors a user
// would compare it with, on the same generated files in the same run:
// ingest against DuckDB's read_csv and parallel gunzip, the seed queries
// against a native DuckDB table, the full hunt per million records, and the
// decoder per core. It drives the flowhunt binary as a child process where
// peak memory matters, and returns a bench.Report.
package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the anchor's DuckDB (already linked by the store)

	"github.com/flowhunt/flowhunt/internal/bench"
	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// Config selects what a harness run measures.
type Config struct {
	Binary     string   // the flowhunt executable run as a child (generate, ingest, hunt); required
	BinaryArgs []string // arguments before the verb (a test binary's "-test.run=… --")
	ChildEnv   []string // extra environment of children (KEY=value)
	CacheDir   string   // generated data sets, reused across runs; required
	WorkDir    string   // scratch (data directories, DuckDB files); default a new directory in CacheDir, removed after
	Sizes      []int64  // records per data set; default 1M and 10M
	Seed       uint64   // simulator seed; default 1
	// Regenerate makes the data sets again even when the cache holds them,
	// so the generator's own figure is measured in this run.
	Regenerate bool

	IngestRounds int           // interleaved rounds of floor / flowhunt / read_csv per size; default 3
	QueryRuns    int           // runs of each seed query per engine at least; default 5
	QueryTime    time.Duration // and more runs (up to 50) until each engine ran this long; default 2s
	HuntRuns     int           // hunts per size; default 3 (the median is kept)

	// ClickHouse, a store URL (clickhouse://host:port,…/db?cluster=NAME),
	// adds the cluster: each data set is ingested into a database of its
	// own there (<db>_bench_<size>, dropped before and after; the URL's
	// database itself is not touched) and the seed queries run on it interleaved
	// with the embedded store. Empty: the cluster is not measured.
	ClickHouse string

	DecoderSample int64         // bytes of text decoded per pass; default 64 MiB
	DecoderCPU    time.Duration // CPU time spent decoding at least; default 2s

	Log io.Writer // progress lines; default io.Discard
}

// Validate fills in defaults and checks the values.
func (c *Config) Validate() error {
	if c.Binary == "" {
		return errors.New("cannot run bench: no flowhunt binary")
	}
	if c.CacheDir == "" {
		return errors.New("cannot run bench: no cache directory (set --cache)")
	}
	if len(c.Sizes) == 0 {
		c.Sizes = []int64{1_000_000, 10_000_000}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.IngestRounds <= 0 {
		c.IngestRounds = 3
	}
	if c.QueryRuns <= 0 {
		c.QueryRuns = 5
	}
	if c.QueryTime <= 0 {
		c.QueryTime = 2 * time.Second
	}
	if c.HuntRuns <= 0 {
		c.HuntRuns = 3
	}
	if c.DecoderSample <= 0 {
		c.DecoderSample = 64 << 20
	}
	if c.DecoderCPU <= 0 {
		c.DecoderCPU = 2 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return nil
}

type harness struct {
	cfg Config
	rep *bench.Report
	t0  time.Time
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.cfg.Log, "[%6.1fs] %s\n", time.Since(h.t0).Seconds(), fmt.Sprintf(format, args...))
}

// Run measures every figure at every size and returns the report.
func Run(ctx context.Context, cfg Config) (*bench.Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, t0: time.Now()}
	h.rep = &bench.Report{Started: h.t0, Host: bench.Host{Cores: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		LoadStart: loadAvg(), MemTotal: memTotal()}}
	work := cfg.WorkDir
	if work == "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create bench cache: %w", err)
		}
		w, err := os.MkdirTemp(cfg.CacheDir, "work-")
		if err != nil {
			return nil, fmt.Errorf("cannot create bench scratch directory: %w", err)
		}
		defer os.RemoveAll(w)
		work = w
	}
	var first *sizeResult
	for i, n := range cfg.Sizes {
		ds, err := h.dataset(ctx, n)
		if err != nil {
			return h.rep, err
		}
		h.rep.Datasets = append(h.rep.Datasets, ds)
		sr, err := h.measureSize(ctx, &h.rep.Datasets[len(h.rep.Datasets)-1], filepath.Join(work, ds.Name), first)
		if err != nil {
			return h.rep, err
		}
		if i == 0 {
			first = sr
			if err := h.decoder(ctx, sr.objects.Paths); err != nil {
				return h.rep, err
			}
		}
	}
	for _, ds := range h.rep.Datasets {
		f := bench.Figure{Key: "generate_seconds/" + ds.Name, Name: "generate " + ds.Name + " records", Unit: "s",
			Flowhunt: ds.GenSeconds}
		if ds.Name == "10M" {
			f.Goal = &bench.Goal{On: "value", Op: bench.AtMost, Limit: 60, Text: "< 60 s"}
		}
		if ds.GenCached {
			f.Note = "measured when the data set was generated (cached since)"
		}
		h.rep.Add(f)
	}
	h.rep.Host.LoadEnd = loadAvg()
	h.rep.Seconds = time.Since(h.t0).Seconds()
	if cfg.ClickHouse == "" {
		h.rep.Notes = append(h.rep.Notes, "ClickHouse: not measured in this run (flowhunt bench --clickhouse URL, or FLOWHUNT_STORE).")
	}
	return h.rep, nil
}

// sizeResult is what later sizes compare against.
type sizeResult struct {
	name        string
	huntPerM    float64
	huntCPUPerM float64
	objects     objectSet
	records     int64
}

func (h *harness) measureSize(ctx context.Context, ds *bench.Dataset, work string, first *sizeResult) (*sizeResult, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create bench scratch directory: %w", err)
	}
	defer os.RemoveAll(work)
	set, err := listObjects(ctx, ds.Dir)
	if err != nil {
		return nil, err
	}
	ds.Objects = len(set.Paths)
	ds.GzipBytes = set.GzipBytes
	sr := &sizeResult{name: ds.Name, objects: set, records: ds.Records}

	// Ingest: rounds of floor, flowhunt, read_csv and zcat, the order
	// rotating, so each side meets every phase of the machine's other load.
	var floorS, fhS, csvS, zcatS []float64
	var floorCPU, fhCPU, csvCPU, zcatCPU []float64
	var rss int64
	var fhDir string
	var native *sql.DB
	defer func() {
		if native != nil {
			native.Close()
		}
	}()
	for r := 0; r < h.cfg.IngestRounds; r++ {
		for k := 0; k < 4; k++ {
			switch (r + k) % 4 {
			case 0:
				t0, c0 := time.Now(), cpuTime()
				text, err := decompressFloor(ctx, set.Paths)
				if err != nil {
					return nil, err
				}
				floorS = append(floorS, time.Since(t0).Seconds())
				floorCPU = append(floorCPU, (cpuTime() - c0).Seconds())
				ds.TextBytes = text
				h.logf("%s round %d: decompression floor %.2fs", ds.Name, r+1, floorS[len(floorS)-1])
			case 1:
				dir := filepath.Join(work, fmt.Sprintf("flowhunt-%d", r))
				res, sum, err := h.flowhuntIngest(ctx, dir, ds.Dir)
				if err != nil {
					return nil, err
				}
				if sum.Records != ds.Records || sum.Rejects != 0 {
					return nil, fmt.Errorf("cannot trust ingest: flowhunt stored %d records and %d bad lines, the simulator wrote %d records", sum.Records, sum.Rejects, ds.Records)
				}
				fhS = append(fhS, res.Wall.Seconds())
				fhCPU = append(fhCPU, res.CPU.Seconds())
				rss = max(rss, res.MaxRSS)
				if fhDir != "" {
					os.RemoveAll(fhDir)
				}
				fhDir = dir
				h.logf("%s round %d: flowhunt ingest %.2fs, peak RSS %d MiB", ds.Name, r+1, res.Wall.Seconds(), res.MaxRSS>>20)
			case 2:
				path := filepath.Join(work, fmt.Sprintf("native-%d.duckdb", r))
				c0 := cpuTime()
				db, n, took, err := readCSV(ctx, path, set)
				cpu := cpuTime() - c0
				if err != nil {
					return nil, err
				}
				if n != ds.Records {
					db.Close()
					return nil, fmt.Errorf("cannot trust read_csv: it stored %d rows, the simulator wrote %d records", n, ds.Records)
				}
				csvS = append(csvS, took.Seconds())
				csvCPU = append(csvCPU, cpu.Seconds())
				if native != nil {
					native.Close()
					removeDuckDB(filepath.Join(work, fmt.Sprintf("native-%d.duckdb", r-1)))
				}
				native = db
				if h.rep.Host.DuckDB == "" {
					_ = db.QueryRowContext(ctx, "SELECT version()").Scan(&h.rep.Host.DuckDB)
				}
				h.logf("%s round %d: DuckDB read_csv %.2fs", ds.Name, r+1, took.Seconds())
			case 3:
				res, err := zcat(ctx, set.Paths)
				if err != nil {
					return nil, err
				}
				zcatS = append(zcatS, res.Wall.Seconds())
				zcatCPU = append(zcatCPU, res.CPU.Seconds())
				h.logf("%s round %d: zcat %.2fs", ds.Name, r+1, res.Wall.Seconds())
			}
		}
	}
	rate := func(secs []float64) []float64 {
		out := make([]float64, len(secs))
		for i, s := range secs {
			out[i] = float64(ds.Records) / s
		}
		return out
	}
	fhRate, csvRate, floorRate, zcatRate := rate(fhS), rate(csvS), rate(floorS), rate(zcatS)
	fhCPURate, csvCPURate, floorCPURate, zcatCPURate := bench.Median(rate(fhCPU)), bench.Median(rate(csvCPU)), bench.Median(rate(floorCPU)), bench.Median(rate(zcatCPU))
	h.rep.Add(bench.Figure{Key: "ingest_rate/" + ds.Name, Name: "ingest " + ds.Name + " records", Unit: "rec/s",
		Flowhunt: bench.Median(fhRate), Samples: fhRate, Anchor: bench.Median(csvRate), AnchorRuns: csvRate, AnchorName: "DuckDB read_csv",
		CPU: fhCPURate, AnchorCPU: csvCPURate,
		Goal: &bench.Goal{On: "ratio", Op: bench.AtLeast, Limit: 3, Text: ">= 3x read_csv", CPU: true}})
	h.rep.Add(bench.Figure{Key: "ingest_floor/" + ds.Name, Name: "ingest " + ds.Name + " vs decompression floor", Unit: "rec/s",
		Flowhunt: bench.Median(fhRate), Samples: fhRate, Anchor: bench.Median(floorRate), AnchorRuns: floorRate, AnchorName: floorName(),
		CPU: fhCPURate, AnchorCPU: floorCPURate})
	h.rep.Add(bench.Figure{Key: "ingest_zcat/" + ds.Name, Name: "ingest " + ds.Name + " vs zcat", Unit: "rec/s",
		Flowhunt: bench.Median(fhRate), Samples: fhRate, Anchor: bench.Median(zcatRate), AnchorRuns: zcatRate, AnchorName: "zcat, one process",
		CPU: fhCPURate, AnchorCPU: zcatCPURate,
		Note: fmt.Sprintf("gzip -dc of all %d objects to /dev/null in one process; CPU is the child's user+sys", len(set.Paths))})
	h.rep.Add(bench.Figure{Key: "ingest_rss/" + ds.Name, Name: "ingest " + ds.Name + " peak RSS", Unit: "MiB",
		Flowhunt: float64(rss) / (1 << 20), Goal: &bench.Goal{On: "value", Op: bench.AtMost, Limit: 1024, Text: "< 1 GiB"}})

	// Seed queries: flowhunt's Reader over its segments vs the native table.
	st, err := duckdb.Open(ctx, duckdb.Config{Dir: fhDir})
	if err != nil {
		return nil, err
	}
	rd, err := st.Reader(ctx, duckdb.ReaderOptions{Setup: query.DuckDBSetup()})
	if err != nil {
		return nil, err
	}
	for i, q := range SeedQueries {
		qt, err := seedQuery(ctx, rd, nativeQuerier{native}, q, h.cfg.QueryRuns, h.cfg.QueryTime)
		if err != nil {
			rd.Close()
			return nil, fmt.Errorf("seed query %d: %w", i+1, err)
		}
		f := bench.Figure{Key: fmt.Sprintf("query_q%d/%s", i+1, ds.Name), Name: fmt.Sprintf("seed query %d median, %s", i+1, ds.Name), Unit: "s",
			Flowhunt: bench.Median(qt.Flowhunt), Samples: qt.Flowhunt, Anchor: bench.Median(qt.Native), AnchorRuns: qt.Native,
			CPU: bench.Median(qt.FlowhuntCPU), AnchorCPU: bench.Median(qt.NativeCPU),
			AnchorName: "DuckDB native table", Goal: &bench.Goal{On: "ratio", Op: bench.AtMost, Limit: 1.2, Text: "<= 1.2x native", CPU: true},
			Note: fmt.Sprintf("%d rows, read by the client; %d runs each", qt.Rows, len(qt.Flowhunt))}
		h.rep.Add(f)
		h.logf("%s q%d: flowhunt %.3fs, native %.3fs (%d rows)", ds.Name, i+1, f.Flowhunt, f.Anchor, qt.Rows)
	}
	if native != nil {
		native.Close()
		native = nil
	}
	if h.cfg.ClickHouse != "" {
		if err := h.measureClickHouse(ctx, ds, rd, bench.Median(fhRate), fhCPURate); err != nil {
			rd.Close()
			return nil, fmt.Errorf("cannot measure the ClickHouse store: %w", err)
		}
	}
	rd.Close()

	// The full hunt, as a child for its peak RSS.
	var huntS, huntCPU []float64
	var huntRSS int64
	for r := 0; r < h.cfg.HuntRuns; r++ {
		var out countWriter
		res, err := h.runChild(ctx, &out, "hunt", "--data", fhDir, "--no-save", "--output", "jsonl")
		if err != nil {
			return nil, err
		}
		huntS = append(huntS, res.Wall.Seconds())
		huntCPU = append(huntCPU, res.CPU.Seconds())
		huntRSS = max(huntRSS, res.MaxRSS)
		h.logf("%s hunt: %.2fs, %d findings, peak RSS %d MiB", ds.Name, res.Wall.Seconds(), out.lines, res.MaxRSS>>20)
	}
	perM := make([]float64, len(huntS))
	for i, s := range huntS {
		perM[i] = s / (float64(ds.Records) / 1e6)
	}
	sr.huntPerM = bench.Median(perM)
	sr.huntCPUPerM = bench.Median(huntCPU) / (float64(ds.Records) / 1e6)
	f := bench.Figure{Key: "hunt_per_m/" + ds.Name, Name: "hunt " + ds.Name + ", seconds per M records", Unit: "s/M",
		Flowhunt: sr.huntPerM, Samples: perM, CPU: sr.huntCPUPerM}
	if first != nil {
		f.Anchor, f.AnchorName, f.AnchorCPU = first.huntPerM, "at "+first.name, first.huntCPUPerM
	}
	h.rep.Add(f)
	hs := bench.Figure{Key: "hunt_seconds/" + ds.Name, Name: "hunt " + ds.Name + " records", Unit: "s", Flowhunt: bench.Median(huntS), Samples: huntS}
	hr := bench.Figure{Key: "hunt_rss/" + ds.Name, Name: "hunt " + ds.Name + " peak RSS", Unit: "MiB", Flowhunt: float64(huntRSS) / (1 << 20)}
	if ds.Name == "10M" {
		hs.Goal = &bench.Goal{On: "value", Op: bench.AtMost, Limit: 60, Text: "< 60 s"}
		hr.Goal = &bench.Goal{On: "value", Op: bench.AtMost, Limit: 4096, Text: "< 4 GiB"}
	}
	h.rep.Add(hs)
	h.rep.Add(hr)
	return sr, nil
}

func (h *harness) decoder(ctx context.Context, paths []string) error {
	d, err := measureDecoder(ctx, paths, h.cfg.DecoderSample, h.cfg.DecoderCPU)
	if err != nil {
		return err
	}
	h.logf("decoder: %.0f MB/s per core (gunzip %.0f), %.4f allocs/record over %d passes of %.1f MB",
		d.DecodeMBps, d.GunzipMBps, d.AllocsPerRecord, d.Passes, float64(d.TextBytes)/1e6)
	h.rep.Add(bench.Figure{Key: "decoder_mbps", Name: "decoder, text MB/s per core", Unit: "MB/s",
		Flowhunt: d.DecodeMBps, Anchor: d.GunzipMBps, AnchorName: gunzipName() + ", same objects",
		Goal: &bench.Goal{On: "value", Op: bench.AtLeast, Limit: 300, Text: ">= 300 MB/s"},
		Note: fmt.Sprintf("per CPU second, %.0f MB of real objects (%d records) decoded %d times", float64(d.TextBytes)/1e6, d.Records, d.Passes)})
	h.rep.Add(bench.Figure{Key: "decoder_allocs", Name: "decoder, allocations per record", Unit: "allocs",
		Flowhunt: d.AllocsPerRecord, Goal: &bench.Goal{On: "value", Op: bench.AtMost, Limit: 0.01, Text: "0 (< 0.01 amortised)"},
		Note: fmt.Sprintf("%.1f heap bytes per record; per-object setup is amortised over the object's records", d.BytesPerRecord)})
	return nil
}

// countWriter counts the lines written to it (findings as JSON Lines).
type countWriter struct{ lines int }

func (c *countWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return len(p), nil
}

func removeDuckDB(path string) {
	os.Remove(path)
	os.Remove(path + ".wal")
}

// loadAvg reads the 1, 5 and 15 minute load averages.
func loadAvg() [3]float64 {
	var out [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	for i, f := range strings.Fields(string(b)) {
		if i >= 3 {
			break
		}
		out[i], _ = strconv.ParseFloat(f, 64)
	}
	return out
}

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
