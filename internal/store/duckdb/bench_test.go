package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowhunt/flowhunt/internal/inflate"
	"github.com/flowhunt/flowhunt/internal/simulate"
	"github.com/flowhunt/flowhunt/internal/source"
)

// TestIngestThroughput compares, on the same gzip S3-layout objects, the
// ingest against DuckDB's read_csv into a table and against the
// decompression floor. It runs only with FLOWHUNT_BENCH_RECORDS set
// (1000000, 10000000); FLOWHUNT_BENCH_DIR reuses objects made before by
// `flowhunt generate`.
func TestIngestThroughput(t *testing.T) {
	want, _ := strconv.ParseInt(os.Getenv("FLOWHUNT_BENCH_RECORDS"), 10, 64)
	if want <= 0 {
		t.Skip("set FLOWHUNT_BENCH_RECORDS=10000000 to run the ingest benchmark")
	}
	ctx := context.Background()
	dir := os.Getenv("FLOWHUNT_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
		// The simulator makes about 412 k records per day at scale 1.
		scale := float64(want) / 825e3
		t0 := time.Now()
		sum, err := simulate.Generate(ctx, simulate.Config{Seed: 1, Duration: 48 * time.Hour, Scale: scale, NoFormats: true}, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d records in %d objects (%.0f MB gzip) in %s", sum.Records, sum.Objects, float64(sum.GzipBytes)/1e6, time.Since(t0).Round(time.Millisecond))
	}
	s3dir := filepath.Join(dir, "s3")
	src, err := source.Open(ctx, s3dir, source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// CPU seconds of the process, so phases compare on a machine that others share.
	cpu := func() float64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	// Decompression floor: every object decompressed in parallel, output discarded.
	c0 := cpu()
	t0 := time.Now()
	var wg sync.WaitGroup
	ch := make(chan string)
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			zr := new(gzip.Reader)
			z := inflate.NewDecompressor() // as the decoder does, when the system has libdeflate
			defer z.Free()
			var comp, text []byte
			for p := range ch {
				f, err := os.Open(p)
				if err != nil {
					t.Error(err)
					continue
				}
				if z == nil {
					if err := zr.Reset(f); err == nil {
						io.Copy(io.Discard, zr)
					}
				} else if comp, err = inflate.ReadUpTo(f, comp[:0], 1<<30); err == nil {
					text, _ = z.Gunzip(text, comp, 1<<30)
				}
				f.Close()
			}
		}()
	}
	for _, o := range objs {
		ch <- o.Key
	}
	close(ch)
	wg.Wait()
	floor := time.Since(t0)
	floorCPU := cpu() - c0

	s := openStore(t, t.TempDir())
	c0 = cpu()
	t0 = time.Now()
	sum, err := s.Ingest(ctx, []source.Source{src}, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ingest := time.Since(t0)
	ingestCPU := cpu() - c0
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	peak := ru.Maxrss // KiB, the ingest's peak (read_csv runs after)

	if os.Getenv("FLOWHUNT_BENCH_NO_CSV") != "" {
		t.Logf("flowhunt ingest: %.2fs wall %.2fs CPU %.2f M records/s (%.0f ns CPU/record), floor %.2fs wall %.2fs CPU, peak RSS %d MiB",
			ingest.Seconds(), ingestCPU, float64(sum.Records)/ingest.Seconds()/1e6, 1e9*ingestCPU/float64(sum.Records), floor.Seconds(), floorCPU, peak/1024)
		return
	}
	var files []string
	for _, o := range objs {
		files = append(files, quoteString(o.Key))
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c0 = cpu()
	t0 = time.Now()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t AS SELECT * FROM read_csv(["+strings.Join(files, ",")+"], delim=' ', header=true, nullstr='-')"); err != nil {
		t.Fatal(err)
	}
	readCSV := time.Since(t0)
	csvCPU := cpu() - c0
	var csvRows int64
	db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&csvRows)
	if csvRows != sum.Records {
		t.Errorf("read_csv stored %d rows, flowhunt %d", csvRows, sum.Records)
	}
	rate := func(d time.Duration) float64 { return float64(sum.Records) / d.Seconds() / 1e6 }
	t.Logf("objects %d, records %d, cores %d", len(objs), sum.Records, runtime.GOMAXPROCS(0))
	t.Logf("decompression floor: %6.2fs wall %6.2fs CPU  %5.2f M records/s", floor.Seconds(), floorCPU, rate(floor))
	t.Logf("flowhunt ingest:     %6.2fs wall %6.2fs CPU  %5.2f M records/s  peak RSS %d MiB", ingest.Seconds(), ingestCPU, rate(ingest), peak/1024)
	t.Logf("duckdb read_csv:     %6.2fs wall %6.2fs CPU  %5.2f M records/s", readCSV.Seconds(), csvCPU, rate(readCSV))
	t.Logf("ingest vs read_csv: %.2fx wall (%.2fx CPU)   ingest reaches %.0f%% of the decompression floor (%.0f%% by CPU)",
		readCSV.Seconds()/ingest.Seconds(), csvCPU/ingestCPU, 100*floor.Seconds()/ingest.Seconds(), 100*floorCPU/ingestCPU)
}

// TestIngestEnrichCost ingests the same objects with and without
// enrichment (geo and ASN databases of 20 000 networks over the whole
// public IPv4 space, a 100 000-entry intel list) and prints the ratio. It
// runs only with FLOWHUNT_BENCH_RECORDS set; FLOWHUNT_BENCH_DIR reuses
// objects made by `flowhunt generate`.
func TestIngestEnrichCost(t *testing.T) {
	want, _ := strconv.ParseInt(os.Getenv("FLOWHUNT_BENCH_RECORDS"), 10, 64)
	if want <= 0 {
		t.Skip("set FLOWHUNT_BENCH_RECORDS=1000000 to run the enrichment benchmark")
	}
	ctx := context.Background()
	dir := os.Getenv("FLOWHUNT_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
		if _, err := simulate.Generate(ctx, simulate.Config{Seed: 1, Duration: 48 * time.Hour, Scale: float64(want) / 825e3, NoFormats: true}, dir); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var nets []string
	for a := 1; a < 224; a++ {
		if a != 10 && a != 127 {
			nets = append(nets, fmt.Sprintf("%d.0.0.0/8", a))
		}
	}
	for len(nets) < 20000 {
		nets = append(nets, fmt.Sprintf("%d.%d.%d.0/24", 11+rng.IntN(180), rng.IntN(256), rng.IntN(256)))
	}
	var list strings.Builder
	n := 0
	if b, err := os.ReadFile(filepath.Join(dir, "intel", "blocklist.txt")); err == nil {
		list.Write(b)
		n = strings.Count(string(b), "\n")
	}
	for ; n < 100000; n++ {
		fmt.Fprintf(&list, "%d.%d.%d.%d\n", 11+rng.IntN(180), rng.IntN(256), rng.IntN(256), rng.IntN(256))
	}
	e := testEnricher(t, nets, list.String())
	src, err := source.Open(ctx, filepath.Join(dir, "s3"), source.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cpu := func() float64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	run := func(opts IngestOptions) (wall, cpuS float64, recs int64) {
		s := openStore(t, t.TempDir())
		c0, t0 := cpu(), time.Now()
		sum, err := s.Ingest(ctx, []source.Source{src}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return time.Since(t0).Seconds(), cpu() - c0, sum.Records
	}
	pw, pc, recs := run(IngestOptions{})
	ew, ec, _ := run(IngestOptions{Enrich: e})
	t.Logf("records %d; geo/ASN networks %d, intel entries %d", recs, len(nets), e.IntelEntries())
	t.Logf("ingest plain:    %6.2fs wall %6.2fs CPU", pw, pc)
	t.Logf("ingest enriched: %6.2fs wall %6.2fs CPU", ew, ec)
	t.Logf("enrichment cost: %.2fx wall, %.2fx CPU (goal <= 1.3x)", ew/pw, ec/pc)
}
