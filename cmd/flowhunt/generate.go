package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/flowhunt/flowhunt/internal/simulate"
)

func init() {
	register("generate", "write simulated VPC flow logs with labelled attacks", runGenerate)
}

func runGenerate(ctx context.Context, args []string) error {
	fs := newFlags("generate", "--out DIR [--seed N] [--start RFC3339] [--days N] [--scale X]")
	out := fs.String("out", "", "output directory (required)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed and flags give byte-identical output")
	start := fs.String("start", simulate.DefaultStart.Format(time.RFC3339), "first instant, RFC 3339 (rounded down to 5 minutes)")
	days := fs.Float64("days", 2, "days of traffic (fractions allowed, at least 1 hour)")
	scale := fs.Float64("scale", 1, "multiplies hosts and traffic (1 = about 1.5 M records over 2 days)")
	noFormats := fs.Bool("no-formats", false, "skip DIR/formats (CloudWatch, Firehose, Parquet, Hive copies)")
	workers := fs.Int("workers", 0, "parallel writers (default: number of CPUs)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	st, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return fmt.Errorf("%w: cannot parse --start %q: %v", errUsage, *start, err)
	}
	cfg := simulate.Config{Seed: *seed, Start: st, Duration: time.Duration(*days * float64(24*time.Hour)),
		Scale: *scale, NoFormats: *noFormats, Workers: *workers}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	sum, err := simulate.Generate(ctx, cfg, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "wrote %s: %d records in %d S3 objects (%.1f MB text, %.1f MB gzip), %d truth entries, %d format files, %d side files in %s (%.0f records/s)\n",
		sum.OutDir, sum.Records, sum.Objects, float64(sum.TextBytes)/1e6, float64(sum.GzipBytes)/1e6, sum.Attacks,
		sum.FormatFiles, sum.SideFiles, sum.Elapsed.Round(time.Millisecond), sum.RecordsPerSec)
	return nil
}
