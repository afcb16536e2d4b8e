package clickhouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/query"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
	"github.com/flowhunt/flowhunt/internal/store"
	"github.com/flowhunt/flowhunt/internal/store/duckdb"
)

// BenchmarkStores ingests the same simulated data set (seed 1, scale 10:
// about 10 M records over two days) into the embedded store and into the
// two-shard cluster, runs the full hunt (every detector) on each, and
// prints ingest records/s and hunt seconds side by side. It takes minutes,
// so it runs only with FLOWHUNT_BENCH_CH=1:
//
//	FLOWHUNT_BENCH_CH=1 go test ./internal/store/clickhouse -run '^$' -bench Stores -benchtime 1x
//
// FLOWHUNT_BENCH_GEN names the generator output to use (default
// $TMPDIR/flowhunt-bench-ch-gen, generated when absent); FLOWHUNT_BENCH_SCALE
// changes the scale of a new one. CPU seconds are this process's (decoding,
// DuckDB) plus, for the cluster, the servers' own when this test started them.
func BenchmarkStores(b *testing.B) {
	if os.Getenv("FLOWHUNT_BENCH_CH") == "" {
		b.Skip("set FLOWHUNT_BENCH_CH=1 (generates, ingests and hunts about 10 M records twice)")
	}
	needCluster(b)
	ctx := context.Background()
	gen := os.Getenv("FLOWHUNT_BENCH_GEN")
	if gen == "" {
		gen = filepath.Join(os.TempDir(), "flowhunt-bench-ch-gen")
	}
	if _, err := os.Stat(filepath.Join(gen, "s3")); err != nil {
		scale := 10.0
		if s := os.Getenv("FLOWHUNT_BENCH_SCALE"); s != "" {
			if scale, err = strconv.ParseFloat(s, 64); err != nil {
				b.Fatalf("cannot parse FLOWHUNT_BENCH_SCALE %q: %v", s, err)
			}
		}
		if _, err := simulate.Generate(ctx, simulate.Config{Seed: 1, Scale: scale, NoFormats: true, NoSideFiles: true}, gen); err != nil {
			b.Fatalf("cannot generate the data set: %v", err)
		}
	}
	type result struct {
		name                  string
		records               int64
		ingest, hunt          time.Duration
		ingestCPU, huntCPU    float64
		findings              int
		serverCPU, serverCPU2 float64
	}
	run := func(name string, be store.Backend, serverCPU func() float64) result {
		res := result{name: name}
		src, err := source.Open(ctx, filepath.Join(gen, "s3"), source.Config{})
		if err != nil {
			b.Fatal(err)
		}
		c0, s0 := selfCPU(), serverCPU()
		t0 := time.Now()
		sum, err := be.IngestSources(ctx, []source.Source{src}, store.IngestOptions{})
		if err != nil {
			b.Fatalf("ingest on %s: %v", name, err)
		}
		res.ingest, res.records = time.Since(t0), sum.Records
		c1, s1 := selfCPU(), serverCPU()
		res.ingestCPU, res.serverCPU = c1-c0, s1-s0
		rd, err := be.OpenReader(ctx, store.ReaderOptions{Setup: query.DuckDBSetup()})
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		t1 := time.Now()
		fs, err := detect.Hunt(ctx, rd, detect.Config{})
		if err != nil {
			b.Fatalf("hunt on %s: %v", name, err)
		}
		res.hunt, res.findings = time.Since(t1), len(fs)
		res.huntCPU, res.serverCPU2 = selfCPU()-c1, serverCPU()-s1
		return res
	}
	none := func() float64 { return 0 }
	var out []result
	for i := 0; i < b.N; i++ {
		dd, err := duckdb.Open(ctx, duckdb.Config{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, run("embedded DuckDB", dd, none))
		dd.Close()
		ch := openFresh(b)
		out = append(out, run(fmt.Sprintf("ClickHouse 18.16, %d shards", len(ch.shards)), ch, clusterCPU))
	}
	b.StopTimer()
	fmt.Printf("\n| store | records | ingest s | ingest records/s | ingest CPU s (flowhunt + servers) | full hunt s | hunt CPU s (flowhunt + servers) | findings |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range out {
		fmt.Printf("| %s | %d | %.1f | %.0f | %.1f + %.1f | %.1f | %.1f + %.1f | %d |\n", r.name, r.records, r.ingest.Seconds(),
			float64(r.records)/r.ingest.Seconds(), r.ingestCPU, r.serverCPU, r.hunt.Seconds(), r.huntCPU, r.serverCPU2, r.findings)
	}
	if len(out) == 2 && out[0].findings != out[1].findings {
		b.Errorf("%d findings on the embedded store, %d on the cluster", out[0].findings, out[1].findings)
	}
}

// selfCPU is this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// clusterCPU is the CPU seconds of the servers TestMain started (0 for a
// cluster given by FLOWHUNT_CLICKHOUSE).
func clusterCPU() float64 {
	if clusterDir == "" {
		return 0
	}
	var sum float64
	for i := 1; i <= 2; i++ {
		pid, err := os.ReadFile(filepath.Join(clusterDir, fmt.Sprintf("shard%d", i), "pid"))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis; utime and stime
		// are the 14th and 15th fields of the line, in clock ticks (100/s).
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 12 {
			u, _ := strconv.ParseFloat(f[11], 64)
			k, _ := strconv.ParseFloat(f[12], 64)
			sum += (u + k) / 100
		}
	}
	return sum
}
