package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/bench"
	"github.com/flowhunt/flowhunt/internal/bench/harness"
	"github.com/flowhunt/flowhunt/internal/store/clickhouse"
)

func init() {
	register("bench", "measure ingest, queries, hunt and decoder against DuckDB and decompression floors", runBench)
}

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "[--sizes 1M,10M] [--huge] [--clickhouse URL] [--out artifacts/bench] | --compare A.json B.json …")
	sizes := fs.String("sizes", "1M,10M", "data set sizes in records (comma-separated: 250k, 1M, 10M, 100M)")
	huge := fs.Bool("huge", false, "add the 100M-record data set")
	seed := fs.Uint64("seed", 1, "simulator seed of the data sets")
	cache := fs.String("cache", "", "where generated data sets are kept between runs (default $FLOWHUNT_BENCH_CACHE or the user cache dir)")
	out := fs.String("out", "artifacts/bench", "directory of the report files (bench-<time>.md and .json)")
	rounds := fs.Int("ingest-rounds", 3, "interleaved ingest rounds (floor, flowhunt, read_csv) per size; the median is kept")
	queryRuns := fs.Int("query-runs", 5, "runs of each seed query per engine at least; the median is kept")
	queryTime := fs.Duration("query-time", 2*time.Second, "more query runs (up to 50) until each engine ran this long")
	huntRuns := fs.Int("hunt-runs", 3, "hunts per size; the median is kept")
	regenerate := fs.Bool("regenerate", false, "generate the data sets again (measures the generator) even when cached")
	chURL := fs.String("clickhouse", "", "also measure a ClickHouse store: clickhouse://host:port,…/db?cluster=NAME (default $FLOWHUNT_STORE when it is one); data goes to databases <db>_bench_<size>")
	compare := fs.Bool("compare", false, "compare the ratios of report JSON files given as arguments instead of measuring")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *compare {
		return benchCompare(fs.Args())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg := harness.Config{Seed: *seed, Regenerate: *regenerate, IngestRounds: *rounds, QueryRuns: *queryRuns, QueryTime: *queryTime, HuntRuns: *huntRuns, Log: os.Stderr,
		ClickHouse: *chURL}
	if cfg.ClickHouse == "" && clickhouse.IsURL(os.Getenv("FLOWHUNT_STORE")) {
		cfg.ClickHouse = os.Getenv("FLOWHUNT_STORE")
	}
	for _, s := range strings.Split(*sizes, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := harness.ParseSize(s)
		if err != nil {
			return fmt.Errorf("%w: --sizes: %v", errUsage, err)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	if *huge {
		cfg.Sizes = append(cfg.Sizes, 100_000_000)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find the flowhunt binary: %w", err)
	}
	cfg.Binary = exe
	cfg.CacheDir = *cache
	if cfg.CacheDir == "" {
		cfg.CacheDir = os.Getenv("FLOWHUNT_BENCH_CACHE")
	}
	if cfg.CacheDir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("cannot find a cache directory (set --cache): %w", err)
		}
		cfg.CacheDir = filepath.Join(uc, "flowhunt", "bench")
	}
	rep, err := harness.Run(ctx, cfg)
	if err != nil {
		return err
	}
	md := rep.Markdown()
	fmt.Print(md)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("cannot create report directory: %w", err)
	}
	base := filepath.Join(*out, "bench-"+rep.Started.UTC().Format("20060102T150405Z"))
	js, err := rep.JSON()
	if err != nil {
		return fmt.Errorf("cannot encode report: %w", err)
	}
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s.md and %s.json in %s\n", base, base, time.Duration(rep.Seconds*float64(time.Second)).Round(time.Second))
	return nil
}

// benchCompare prints how much each ratio moved across reports.
func benchCompare(paths []string) error {
	if len(paths) < 2 {
		return fmt.Errorf("%w: --compare needs at least two report JSON files", errUsage)
	}
	var reps []*bench.Report
	for _, p := range paths {
		r, err := bench.LoadReport(p)
		if err != nil {
			return err
		}
		reps = append(reps, r)
	}
	fmt.Print(bench.SpreadMarkdown(bench.Spread(reps), 0.10))
	return nil
}
