package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/bench"
	"github.com/flowhunt/flowhunt/internal/bench/harness"
)

// TestBenchChild is not a test: the harness test runs this test binary as
// its "flowhunt" child (`-test.run=^TestBenchChild$ -- ingest …`), so the
// real verbs run in a separate process with their own rusage.
func TestBenchChild(t *testing.T) {
	if os.Getenv("FLOWHUNT_BENCH_CHILD") != "1" {
		return
	}
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "no verb")
		os.Exit(exitUsage)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown verb %q\n", args[0])
		os.Exit(exitUsage)
	}
	if err := cmd.run(context.Background(), args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "flowhunt %s: %v\n", args[0], err)
		os.Exit(exitError)
	}
	os.Exit(exitOK)
}

// TestBenchHarness runs the whole harness on the smallest data set the
// simulator makes (about 190k records) with one run of everything: every
// figure must be there, measured, and the second run must reuse the data.
func TestBenchHarness(t *testing.T) {
	if os.Getenv("FLOWHUNT_BENCH_CHILD") == "1" {
		return
	}
	cache := t.TempDir()
	cfg := harness.Config{
		Binary:        os.Args[0],
		BinaryArgs:    []string{"-test.run=^TestBenchChild$", "--"},
		ChildEnv:      []string{"FLOWHUNT_BENCH_CHILD=1"},
		CacheDir:      cache,
		Sizes:         []int64{100_000},
		IngestRounds:  1,
		QueryRuns:     1,
		HuntRuns:      1,
		QueryTime:     time.Millisecond,
		DecoderSample: 2 << 20,
		DecoderCPU:    50 * time.Millisecond,
	}
	rep, err := harness.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Datasets) != 1 || rep.Datasets[0].Records < 100_000 || rep.Datasets[0].GenCached {
		t.Fatalf("data sets = %+v, want one freshly generated with at least 100k records", rep.Datasets)
	}
	ds := rep.Datasets[0]
	if ds.Objects == 0 || ds.GzipBytes == 0 || ds.TextBytes <= ds.GzipBytes {
		t.Errorf("data set sizes not measured: %+v", ds)
	}
	withAnchor := []string{"ingest_rate/100k", "ingest_floor/100k", "ingest_zcat/100k", "query_q1/100k", "query_q2/100k", "query_q3/100k", "query_q4/100k", "decoder_mbps"}
	plain := []string{"ingest_rss/100k", "hunt_per_m/100k", "hunt_seconds/100k", "hunt_rss/100k", "decoder_allocs", "generate_seconds/100k"}
	for _, k := range append(withAnchor, plain...) {
		f := rep.Figure(k)
		if f == nil {
			t.Errorf("report lacks figure %s", k)
			continue
		}
		if f.Flowhunt <= 0 && k != "decoder_allocs" {
			t.Errorf("%s: flowhunt figure %v", k, f.Flowhunt)
		}
	}
	for _, k := range withAnchor {
		if f := rep.Figure(k); f != nil && f.Anchor <= 0 {
			t.Errorf("%s: no anchor measured", k)
		}
	}
	if f := rep.Figure("query_q3/100k"); f != nil && !strings.Contains(f.Note, " rows") {
		t.Errorf("query note %q does not give the row count", f.Note)
	}
	if f := rep.Figure("ingest_rss/100k"); f != nil && (f.Flowhunt < 5 || f.Flowhunt > 64<<10) {
		t.Errorf("ingest peak RSS %v MiB is not a child's rusage", f.Flowhunt)
	}
	if f := rep.Figure("ingest_zcat/100k"); f != nil && (f.AnchorCPU <= 0 || f.AnchorCPU < f.Anchor*0.95) {
		t.Errorf("zcat: %v records per CPU second, %v per wall second; want a measured CPU time, not above the wall time of one single-threaded process", f.AnchorCPU, f.Anchor)
	}
	md := rep.Markdown()
	if !strings.Contains(md, "| ingest 100k records |") || !strings.Contains(md, "DuckDB read_csv") {
		t.Errorf("table:\n%s", md)
	}

	// The data set is cached: a second run generates nothing.
	cfg.Sizes = []int64{100_000}
	rep2, err := harness.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep2.Datasets[0].GenCached || rep2.Datasets[0].Records != ds.Records {
		t.Errorf("second run data set = %+v, want the cached one with %d records", rep2.Datasets[0], ds.Records)
	}
	var wall, cpu int
	for _, r := range bench.Spread([]*bench.Report{rep, rep2}) {
		if strings.HasSuffix(r.Key, "#cpu") {
			cpu++
		} else {
			wall++
		}
	}
	// Every anchored figure has a wall-clock ratio; ingest (3: read_csv,
	// parallel gunzip, zcat) and the seed queries (4) also a CPU-time one.
	if wall != len(withAnchor) || cpu != 7 {
		t.Errorf("Spread compared %d wall-clock and %d CPU ratios, want %d and 7", wall, cpu, len(withAnchor))
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "work-") || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("scratch left in the cache: %s", filepath.Join(cache, e.Name()))
		}
	}
}

// TestBenchHarnessClickHouse runs the harness with a cluster: the ingest
// and every seed query must be measured there beside the embedded store,
// with the servers' CPU counted when they run on this machine, and the
// bench database must be gone afterwards.
func TestBenchHarnessClickHouse(t *testing.T) {
	if os.Getenv("FLOWHUNT_BENCH_CHILD") == "1" {
		return
	}
	u := clickhouseStore(t)
	cfg := harness.Config{
		Binary:        os.Args[0],
		BinaryArgs:    []string{"-test.run=^TestBenchChild$", "--"},
		ChildEnv:      []string{"FLOWHUNT_BENCH_CHILD=1"},
		CacheDir:      t.TempDir(),
		Sizes:         []int64{100_000},
		IngestRounds:  1,
		QueryRuns:     1,
		HuntRuns:      1,
		QueryTime:     time.Millisecond,
		DecoderSample: 1 << 20,
		DecoderCPU:    10 * time.Millisecond,
		ClickHouse:    u,
	}
	rep, err := harness.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ch_ingest_rate/100k", "ch_query_q1/100k", "ch_query_q2/100k", "ch_query_q3/100k", "ch_query_q4/100k"} {
		f := rep.Figure(k)
		if f == nil {
			t.Errorf("report lacks figure %s", k)
			continue
		}
		if f.Flowhunt <= 0 || f.Anchor <= 0 || f.AnchorName != "embedded store" {
			t.Errorf("%s: ClickHouse %v, anchor %v (%q): not measured", k, f.Flowhunt, f.Anchor, f.AnchorName)
		}
	}
	if strings.Contains(u, "127.0.0.1") {
		if f := rep.Figure("ch_ingest_rate/100k"); f != nil && (f.CPU <= 0 || !strings.Contains(f.Note, "local servers")) {
			t.Errorf("local cluster: ingest CPU %v, note %q; want the servers' CPU counted", f.CPU, f.Note)
		}
	}
	pu, _ := url.Parse(u)
	db := strings.Trim(pu.Path, "/") + "_bench_100k"
	host := strings.Split(pu.Host, ",")[0]
	resp, err := http.Post("http://"+host+"/", "text/plain", strings.NewReader("SELECT count() FROM system.databases WHERE name = '"+db+"'"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.TrimSpace(string(b)) != "0" {
		t.Errorf("bench database %s left on the cluster (count %q)", db, b)
	}
}
